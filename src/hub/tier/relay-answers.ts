// What the client hears when a relay fails before the peer answered: the
// status of the code in the catalogue (502 unreachable, 503 busy or moved,
// 504 timed out), as a Kubernetes Status on the kubectl endpoint and as the
// hub's `{ error: { code, message } }` on its JSON API, so each client reads
// it the way it reads every other refusal of that endpoint.
import type { ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { statusOf, type ErrorCode } from '../../domain/error-codes.ts';
import { kubeStatus } from '../../kube/headers.ts';
import { statusAnswer } from '../client-errors.ts';

/** The header a replica adds to its CLUSTER_MOVED refusal of a relayed request; relay-request.ts reads it. */
export const CLUSTER_MOVED_HEADER = 'x-uplink-cluster-moved';

/** A refusal of a relay: its code (status from the catalogue) and a sentence naming the replica. */
export interface RelayRefusal {
  code: ErrorCode;
  message: string;
  /** Seconds to wait before retrying, sent as Retry-After. */
  retryAfterSeconds?: number;
}

/** The Kubernetes Status reason for a relay refusal's status. */
function kubeReason(status: number): string {
  return status === 504 ? 'Timeout' : 'ServiceUnavailable';
}

function extraHeaders(refusal: RelayRefusal): Record<string, string> {
  return {
    ...(refusal.retryAfterSeconds === undefined ? {} : { 'Retry-After': String(refusal.retryAfterSeconds) }),
    // Tells the relaying replica to look for the cluster's new holder (relay-request.ts) instead of passing this on.
    ...(refusal.code === 'CLUSTER_MOVED' ? { [CLUSTER_MOVED_HEADER]: '1' } : {}),
  };
}

/** The body of a refusal in the request's form. */
export function refusalBody(refusal: RelayRefusal, form: 'kube' | 'api'): string {
  const status = statusOf(refusal.code);
  return form === 'kube'
    ? kubeStatus(status, kubeReason(status), refusal.message)
    : JSON.stringify({ error: { code: refusal.code, message: refusal.message } });
}

/** Answers a plain request with a refusal, unless an answer has begun (then the connection is cut). */
export function refuseRequest(res: ServerResponse, refusal: RelayRefusal, form: 'kube' | 'api'): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (res.destroyed) return;
  res.writeHead(statusOf(refusal.code), { 'content-type': 'application/json', ...extraHeaders(refusal) }).end(refusalBody(refusal, form));
}

/** Answers an upgrade request (always the kubectl endpoint) on its raw socket and closes it. */
export function refuseUpgrade(socket: Duplex, refusal: RelayRefusal): void {
  if (socket.destroyed || !socket.writable) {
    socket.destroy();
    return;
  }
  const status = statusOf(refusal.code);
  socket.end(statusAnswer(status, kubeReason(status), refusal.message, extraHeaders(refusal)));
}

/**
 * The refusal of a relayed request for a cluster this replica does not hold
 * the link of (it moved meanwhile): never relayed again, so a stale record
 * cannot bounce it between replicas; the client retries through any replica.
 */
export function clusterMoved(cluster: string): RelayRefusal {
  return {
    code: 'CLUSTER_MOVED', retryAfterSeconds: 1,
    message: `the link of cluster "${cluster}" moved to another hub replica while this request was relayed; retry`,
  };
}
