// A plain kubectl request over the link: the body streams to the agent, the
// answer streams back as it comes (watches and `logs -f` included; each turn
// of the event loop's chunks in one write, body-writer.ts), with no overall
// timeout. If the link drops, the client's response ends at once
// with an error so kubectl notices and re-lists.
import http2 from 'node:http2';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { forwardedResponseHeaders, kubeStatus } from '../../kube/headers.ts';
import type { Logger } from '../../util/logger.ts';
import type { KubeTarget } from './proxy.ts';
import { BodyWriter } from './body-writer.ts';
import { openLinkStream } from './link-head.ts';
import { tieStreamToClient } from './stream-lifecycle.ts';

const NEWLINE = 0x0a;

/** A watch event that fails the watch, as the API server sends for e.g. 410 Gone. */
function watchErrorEvent(code: number, reason: string, message: string): string {
  return JSON.stringify({ type: 'ERROR', object: JSON.parse(kubeStatus(code, reason, message)) as unknown });
}

export interface ForwardOutcome {
  /** The API server's status, or 0 when no answer came. */
  status: number;
  bytesIn: number;
  bytesOut: number;
  /** An exec's exit code, read from the API server's final Status (forward-upgrade.ts); null when none was read. */
  exitCode?: number | null;
  /** Why an exec has no exit code, when its Status said. */
  exitReason?: string | null;
}

export interface ForwardRequestOptions {
  req: IncomingMessage;
  res: ServerResponse;
  target: KubeTarget;
  log: Logger;
  done: (outcome: ForwardOutcome) => void;
}

/**
 * Forwards the request; returns a function that ends it early with a
 * message (a revoked access): a Status answer, a watch's ERROR event, or a
 * broken connection, as for a dropped link.
 */
export function forwardRequest(options: ForwardRequestOptions): (message: string) => void {
  const { req, res, target } = options;
  const outcome: ForwardOutcome = { status: 0, bytesIn: 0, bytesOut: 0 };
  // node:http2 ends GET and DELETE requests at once unless told otherwise,
  // which would drop a DELETE's DeleteOptions body: decide from the request.
  const hasBody = req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0'
    || req.headers['transfer-encoding'] !== undefined;
  let stream: http2.ClientHttp2Stream;
  try {
    stream = openLinkStream(target, !hasBody);
  } catch {
    res.writeHead(503, { 'content-type': 'application/json' })
      .end(kubeStatus(503, 'ServiceUnavailable', `the link to cluster "${target.cluster.name}" closed`));
    options.done(outcome);
    return () => undefined;
  }
  req.on('data', (chunk: Buffer) => { outcome.bytesIn += chunk.length; });
  if (hasBody) req.pipe(stream);
  else req.resume();
  let contentType = '';
  let body: BodyWriter | undefined;
  stream.on('response', (headers) => {
    // The client may be gone, or a link failure may have answered already:
    // a late answer is dropped, never written twice (which would throw).
    if (res.headersSent || res.destroyed) {
      if (res.headersSent && !res.destroyed) options.log.warn({ path: target.apiPath }, 'late answer from the agent dropped');
      stream.close(http2.constants.NGHTTP2_CANCEL);
      return;
    }
    outcome.status = Number(headers[':status']);
    contentType = headers['content-type'] ?? '';
    res.writeHead(outcome.status, forwardedResponseHeaders(headers));
    // The head goes with the body when it came with it, else alone (a quiet watch): body-writer.ts.
    body = new BodyWriter(res);
  });
  let atEventBoundary = true;
  stream.on('data', (chunk: Buffer) => {
    outcome.bytesOut += chunk.length;
    atEventBoundary = chunk.at(-1) === NEWLINE;
    body?.write(chunk, stream);
  });
  /** Ends the answer with an error: `code` as the status if none was sent yet, else `eventCode` in a watch's ERROR event. */
  const fail = (code: number, reason: string, message: string, eventCode = code): void => {
    if (!res.headersSent) {
      res.writeHead(code, { 'content-type': 'application/json' }).end(kubeStatus(code, reason, message));
    } else if (!res.writableEnded) {
      const jsonWatch = target.info.verb === 'watch' && contentType.includes('json');
      // A JSON watch between events ends as the API server ends a failed
      // watch: an ERROR event with a Status, which kubectl reports. Anything
      // else breaks the connection so the client sees an error, not a clean end.
      if (jsonWatch && atEventBoundary && body !== undefined) {
        body.end(`${watchErrorEvent(eventCode, reason, message)}\n`);
      } else {
        res.destroy();
      }
    }
  };
  const broken = (): void => { fail(502, 'ServiceUnavailable', `the link to cluster "${target.cluster.name}" closed during the request`, 503); };
  // Called by tieStreamToClient, which tells a real end from a dropped link.
  const ended = (): void => {
    if (body === undefined) res.end();
    else body.end();
  };
  tieStreamToClient({ stream, linkOpen: () => target.session.isOpen, client: res, onEnd: ended, onBroken: broken, done: () => { options.done(outcome); } });
  return (message) => {
    fail(401, 'Unauthorized', message);
    if (!stream.closed) stream.close(http2.constants.NGHTTP2_CANCEL);
  };
}
