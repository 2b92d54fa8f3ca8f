// The hub's fastify application as every route runs in it: its body limit,
// the one error handler (toHttpError: the catalogue's code and status, 5xx
// logged) and the not-found answer (a Kubernetes-shaped hint for a stray
// kubectl request). The hub builds its app with this, and so do the route
// tests, so they test the wiring the hub runs.
import Fastify, { type FastifyInstance, type FastifyServerOptions, type FastifyServerFactory } from 'fastify';
import type { Logger } from '../../util/logger.ts';
import { toHttpError } from '../errors.ts';
import { isStrayKubeRequest, strayKubeRequestBody, strayKubeRequestWarning, type StrayHintOptions } from '../kube/stray-request.ts';

/** Largest API request body; cluster specs are small. */
export const MAX_BODY_BYTES = 1024 * 1024;

/**
 * A refused body is read and thrown away up to this many bytes (or for
 * REFUSED_BODY_DRAIN_MS) before the 413 goes out. Closing a connection with
 * unread bytes makes the kernel send a reset, which can wipe the answer from
 * the client's receive buffer before it reads it; draining first means the
 * client sees why it was refused. Beyond the bound the hub answers at once.
 */
export const REFUSED_BODY_DRAIN_BYTES = 16 * 1024 * 1024;
export const REFUSED_BODY_DRAIN_MS = 10_000;

/** How the draining of a refused body ended: at its end (or already ended), past the byte bound, or at the time bound. */
export type DrainOutcome = 'ended' | 'bytes' | 'time';

/** Reads and discards what is left of `stream`, resolving at its end or at either bound. */
export function drainRefusedBody(stream: NodeJS.ReadableStream & { readableEnded?: boolean; destroyed?: boolean }, maxBytes = REFUSED_BODY_DRAIN_BYTES, maxMs = REFUSED_BODY_DRAIN_MS): Promise<DrainOutcome> {
  if (stream.readableEnded === true || stream.destroyed === true) return Promise.resolve('ended');
  return new Promise((resolve) => {
    let seen = 0;
    const finish = (outcome: DrainOutcome): void => {
      clearTimeout(timer);
      stream.removeListener('data', onData);
      stream.removeListener('end', onEnd);
      stream.removeListener('error', onEnd);
      stream.removeListener('close', onEnd);
      resolve(outcome);
    };
    const onEnd = (): void => { finish('ended'); };
    const onData = (chunk: Buffer): void => {
      seen += chunk.length;
      if (seen > maxBytes) finish('bytes');
    };
    const timer = setTimeout(() => { finish('time'); }, maxMs);
    timer.unref();
    stream.on('data', onData);
    stream.once('end', onEnd);
    stream.once('error', onEnd);
    stream.once('close', onEnd);
    stream.resume();
  });
}

export interface ApiAppOptions {
  log: Logger;
  /** What a stray kubectl request is told (the hub's URL and kube domain, read when one comes). */
  strayHint?: () => StrayHintOptions;
  /** The hub's own HTTP(S) server; tests leave it to fastify. */
  serverFactory?: FastifyServerFactory;
  clientErrorHandler?: FastifyServerOptions['clientErrorHandler'];
  /** Counts each refused body drained, by how the draining ended. */
  onRefusedBody?: (outcome: DrainOutcome) => void;
}

export function buildApiApp(options: ApiAppOptions): FastifyInstance {
  const { log } = options;
  const app = Fastify({
    ...(options.serverFactory ? { serverFactory: options.serverFactory } : {}),
    ...(options.clientErrorHandler ? { clientErrorHandler: options.clientErrorHandler } : {}),
    bodyLimit: MAX_BODY_BYTES,
    logger: false,
    return503OnClosing: true,
  });
  app.setErrorHandler(async (error, req, reply) => {
    const { status, body } = toHttpError(error);
    if (status >= 500) log.error({ err: error, url: req.url }, 'API request failed');
    if (status === 413) options.onRefusedBody?.(await drainRefusedBody(req.raw));
    return reply.status(status).send(body);
  });
  const strayHint = options.strayHint ?? ((): StrayHintOptions => ({ publicUrl: '', kubeDomain: undefined }));
  app.setNotFoundHandler((req, reply) => {
    if (isStrayKubeRequest(req.url)) {
      void reply.status(404).type('application/json').header('warning', strayKubeRequestWarning(strayHint())).send(strayKubeRequestBody(strayHint(), req.method, req.url));
      return;
    }
    void reply.status(404).send({ error: { code: 'NOT_FOUND', message: `no route for ${req.method} ${req.url.split('?')[0] ?? ''}` } });
  });
  return app;
}
