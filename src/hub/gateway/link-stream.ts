// The Service gateway's primitive on the hub: one raw byte stream to an
// endpoint of an exposed Service, over the cluster's link. The request names
// only the exposure's id (EXPOSURE_HEADER); the agent looks it up in the set
// the hub pushed, picks and dials an endpoint, and answers 200 before the
// bytes, or a JSON refusal whose code the returned promise rejects with.
import http2 from 'node:http2';
import type { Duplex } from 'node:stream';
import { CodedError } from '../../domain/error-codes.ts';
import { EXPOSURE_HEADER } from '../../link/exposures.ts';
import type { HubSession } from '../../link/hub-session.ts';
import { AGENT_PATHS } from '../../link/protocol.ts';
import { agentCode } from '../errors.ts';

/** Largest refusal body of the agent read. */
const MAX_REFUSAL_BYTES = 16 * 1024;
/** How long the agent gets to answer: resolving the Service and up to three dials of 5 s each fit. */
export const GATEWAY_OPEN_TIMEOUT_MS = 30_000;

export interface OpenGatewayStreamOptions {
  session: HubSession;
  exposureId: string;
  /** Aborts the opening (the client left); once the stream is returned, the caller ends it. */
  signal?: AbortSignal;
  /** Tests shorten it. */
  timeoutMs?: number;
}

/**
 * What brings the agent's exposure set up to date over a session (the hub
 * registers one per link: a push of the current set, resolved once the
 * agent answered). Kept by session, so hubs in one process never share one.
 */
const resyncs = new WeakMap<HubSession, () => Promise<unknown>>();

/**
 * Registers how to push the current exposure set over `session` (see
 * openGatewayStream's retry). Refusals arriving together (a page's many
 * requests right after a create) share one push.
 */
export function setExposureResync(session: HubSession, resync: () => Promise<unknown>): void {
  let running: Promise<unknown> | undefined;
  resyncs.set(session, () => {
    running ??= resync().catch(() => undefined).finally(() => { running = undefined; });
    return running;
  });
}

/**
 * Opens a gateway stream to the exposure `exposureId` over `session`.
 * Resolves on the agent's 200 with a Duplex carrying the raw bytes both ways
 * (the link stream itself: it ends when the endpoint ends, and is destroyed
 * when the link drops; an error listener is attached, so an unobserved
 * error never ends the process). Rejects with a CodedError: the agent's code
 * on a refusal (EXPOSURE_UNKNOWN, GATEWAY_NO_ENDPOINT, GATEWAY_UNREACHABLE,
 * TOO_MANY_GATEWAY_STREAMS), LINK_CLOSED or LINK_TIMEOUT; with the signal's
 * reason when aborted. An EXPOSURE_UNKNOWN right after a create (the push
 * not applied yet) is retried once after pushing the current set.
 */
export async function openGatewayStream(options: OpenGatewayStreamOptions): Promise<Duplex> {
  try {
    return await openOnce(options);
  } catch (error) {
    const resync = resyncs.get(options.session);
    if (!(error instanceof CodedError) || error.code !== 'EXPOSURE_UNKNOWN' || resync === undefined) throw error;
    await resync();
    return openOnce(options);
  }
}

function openOnce(options: OpenGatewayStreamOptions): Promise<Duplex> {
  const { session, signal } = options;
  if (signal?.aborted === true) return Promise.reject(signal.reason as Error);
  let stream: http2.ClientHttp2Stream;
  try {
    stream = session.request({ ':method': 'POST', ':path': AGENT_PATHS.gateway, [EXPOSURE_HEADER]: options.exposureId }, { endStream: false });
  } catch (error) {
    return Promise.reject(new CodedError('LINK_CLOSED', 'the link to the cluster is closed', { cause: error }));
  }
  // Errors come to the caller through the promise or its own listeners; never unobserved.
  stream.on('error', () => undefined);
  return new Promise<Duplex>((resolve, reject) => {
    let settled = false;
    const settle = (error: Error | undefined): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', aborted);
      if (error === undefined) {
        resolve(stream);
        return;
      }
      if (!stream.destroyed) stream.close(http2.constants.NGHTTP2_CANCEL);
      reject(error);
    };
    const aborted = (): void => { settle(signal?.reason as Error); };
    signal?.addEventListener('abort', aborted, { once: true });
    const timer = setTimeout(() => {
      settle(new CodedError('LINK_TIMEOUT', `the agent did not open the gateway stream within ${options.timeoutMs ?? GATEWAY_OPEN_TIMEOUT_MS} ms`));
    }, options.timeoutMs ?? GATEWAY_OPEN_TIMEOUT_MS);
    let answered = false;
    stream.once('response', (headers) => {
      answered = true;
      const status = Number(headers[':status']);
      if (status === 200) {
        settle(undefined);
        return;
      }
      readRefusal(stream, status).then(settle, settle);
    });
    // After an answer, the refusal's reading settles (it resolves at the close too).
    stream.once('close', () => { if (!answered) settle(new CodedError('LINK_CLOSED', 'the link stream closed before the agent answered')); });
  });
}

/** The agent's refusal as a CodedError with its code (AGENT_ERROR for a code the catalogue lacks). */
function readRefusal(stream: http2.ClientHttp2Stream, status: number): Promise<CodedError> {
  return new Promise((resolve) => {
    let body = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => { if (body.length < MAX_REFUSAL_BYTES) body += chunk; });
    const done = (): void => { resolve(refusalOf(body, status)); };
    stream.once('end', done);
    stream.once('close', done);
    // Our side ends too, or the stream would never close.
    stream.end();
  });
}

function refusalOf(body: string, status: number): CodedError {
  let parsed: { error?: { code?: unknown; message?: unknown } } | undefined;
  try {
    parsed = JSON.parse(body) as typeof parsed;
  } catch {
    parsed = undefined;
  }
  const message = typeof parsed?.error?.message === 'string' ? parsed.error.message.slice(0, 1000) : `the agent refused the gateway stream (${status})`;
  return new CodedError(agentCode(parsed?.error?.code), message);
}
