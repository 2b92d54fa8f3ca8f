// Asking the agent over the link: unary JSON calls with a timeout, streams
// opened up to their response headers, and the agent's errors turned into
// answers that carry the cluster's state.
import http2 from 'node:http2';
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { LinkRequestError } from '../../link/hub-session.ts';
import { UplinkError } from '../../util/errors.ts';
import { readLimited } from '../../util/read-limited.ts';
import { ResourceAnswerError, identityHeaders, type ClusterSummary, type ResourceTarget } from './target.ts';
import { agentCode, linkFailureCode } from '../errors.ts';

/** Limit for a unary inventory query; the agent answers from memory, so this is generous. */
export const UNARY_TIMEOUT_MS = 15_000;
/** Limit for a stream's response headers (a log stream waits for the API server first). */
export const STREAM_ANSWER_TIMEOUT_MS = 30_000;
/** Largest error body read from the agent. */
const MAX_AGENT_ERROR_BYTES = 64 * 1024;

/** The client went away before the agent answered. */
export class ClientGoneError extends UplinkError {
  constructor() {
    super('CLIENT_GONE', 'the client closed the connection before the agent answered');
  }
}

/** The agent's error answer (`{ error: { code, message } }`) passed on with its code's status; a code the catalogue lacks is AGENT_ERROR (502). */
export function agentError(status: number, body: unknown, cluster: ClusterSummary): ResourceAnswerError {
  const error = (body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  const code = agentCode(error?.code);
  const message = typeof error?.message === 'string' ? error.message : `the agent of cluster '${cluster.name}' answered ${status}`;
  return new ResourceAnswerError({ code, message, outcome: 'agent_error', cluster });
}

/** A failed link request as an answer: 504 for a timeout, 502 otherwise. */
export function linkFailure(error: unknown, target: ResourceTarget): ResourceAnswerError {
  const timeout = error instanceof LinkRequestError && error.code === 'LINK_TIMEOUT';
  const detail = error instanceof Error ? error.message : String(error);
  return new ResourceAnswerError({
    code: timeout ? 'LINK_TIMEOUT' : linkFailureCode(error), outcome: 'link_failed',
    message: `cluster '${target.record.name}': ${detail}`, cluster: target.summary(), cause: error,
  });
}

/**
 * A unary GET to the agent, as the caller's impersonated identity (whose
 * rights in the cluster the agent checks): the body on 200, else the agent's
 * error relayed.
 */
export async function getJson<T extends object>(target: ResourceTarget, path: string): Promise<T> {
  let answer: { status: number; body: unknown };
  try {
    answer = await target.session.requestJson<unknown>('GET', path, undefined, UNARY_TIMEOUT_MS, identityHeaders(target));
  } catch (error) {
    throw linkFailure(error, target);
  }
  if (answer.status !== 200) throw agentError(answer.status, answer.body, target.summary());
  if (typeof answer.body !== 'object' || answer.body === null) {
    throw linkFailure(new LinkRequestError('LINK_BAD_RESPONSE', `${path}: the agent answered 200 without a JSON object`), target);
  }
  return answer.body as T;
}

export interface OpenStreamOptions {
  target: ResourceTarget;
  path: string;
  /** The caller's impersonated identity is always added (see identityHeaders). */
  headers?: OutgoingHttpHeaders;
  /** The client's response: if it closes while we wait, the stream is cancelled. */
  client: ServerResponse;
}

/**
 * Opens a streaming GET to the agent and waits for its response headers.
 * Resolves with the stream on 200; otherwise reads the agent's (small) error
 * body and throws it as an answer. The caller owns a resolved stream.
 */
export async function openAgentStream(options: OpenStreamOptions): Promise<{ stream: http2.ClientHttp2Stream; contentType: string }> {
  const { target, path, client } = options;
  let stream: http2.ClientHttp2Stream;
  try {
    stream = target.session.request({ ':method': 'GET', ':path': path, ...options.headers, ...identityHeaders(target) }, { endStream: true });
  } catch (error) {
    throw linkFailure(error, target);
  }
  // Errors after the answer are judged by the relay at 'close'; none may go unheard.
  stream.on('error', () => undefined);
  const headers = await new Promise<http2.IncomingHttpHeaders & http2.IncomingHttpStatusHeader>((resolve, reject) => {
    const timer = setTimeout(() => {
      fail(new LinkRequestError('LINK_TIMEOUT', `GET ${path.split('?')[0] ?? ''} over the link got no answer within ${STREAM_ANSWER_TIMEOUT_MS} ms`));
    }, STREAM_ANSWER_TIMEOUT_MS);
    const onClientClose = (): void => { fail(new ClientGoneError()); };
    const onError = (error: Error): void => { fail(new LinkRequestError('LINK_CLOSED', `the link failed: ${error.message}`, { cause: error })); };
    const onClose = (): void => { fail(new LinkRequestError('LINK_CLOSED', 'the link closed before the agent answered')); };
    const settle = (): void => {
      clearTimeout(timer);
      client.off('close', onClientClose);
      stream.off('error', onError);
      stream.off('close', onClose);
    };
    function fail(error: Error): void {
      settle();
      if (!stream.closed) stream.close(http2.constants.NGHTTP2_CANCEL);
      reject(error);
    }
    client.once('close', onClientClose);
    stream.once('error', onError);
    stream.once('close', onClose);
    stream.once('response', (answer) => {
      settle();
      resolve(answer);
    });
  }).catch((error: unknown) => {
    throw error instanceof ClientGoneError ? error : linkFailure(error, target);
  });
  const status = Number(headers[':status']);
  if (status === 200) return { stream, contentType: headers['content-type'] ?? '' };
  let body: unknown;
  try {
    const text = await readLimited(stream, MAX_AGENT_ERROR_BYTES);
    body = JSON.parse(text) as unknown;
  } catch {
    body = undefined;
  } finally {
    if (!stream.closed) stream.close(http2.constants.NGHTTP2_CANCEL);
  }
  throw agentError(status, body, target.summary());
}
