// Who asks which cluster, over which link: the resolution every live-resource
// request starts with, and the errors that carry the cluster's state so a
// caller always sees whether the cluster is online, even in a refusal.
import type { FastifyRequest } from 'fastify';
import type { OutgoingHttpHeaders } from 'node:http';
import { forwardedRequestHeaders } from '../../kube/headers.ts';
import type { HubSession } from '../../link/hub-session.ts';
import { findCluster } from '../api/lookup.ts';
import { principalOf, type Principal } from '../auth.ts';
import { HttpError, notFound, type ErrorBody } from '../errors.ts';
import type { ErrorCode } from '../../domain/error-codes.ts';
import type { ClusterStatus, ClusterView, Fleet } from '../fleet.ts';
import type { ClusterLimiter, RequestClass } from '../kube/limiter.ts';
import type { ResourceOutcome } from '../metrics.ts';
import { effectiveRole } from '../rbac.ts';
import type { ClusterRecord, Role, Store } from '../store/index.ts';

/** Seconds a client is asked to wait when the cluster is offline. */
export const OFFLINE_RETRY_AFTER_SECONDS = 5;
/** Seconds a client over the concurrency limit is asked to wait. */
export const LIMITED_RETRY_AFTER_SECONDS = 1;

/** The cluster's state in every live-resource answer, so staleness and outages are always visible. */
export interface ClusterSummary {
  name: string;
  status: ClusterStatus;
  connected: boolean;
  lastHeartbeatAgeSeconds: number | null;
}

/** An answer's body plus the cluster's state. */
export type WithCluster<T> = T & { cluster: ClusterSummary };

export function summarizeCluster(view: ClusterView): ClusterSummary {
  return { name: view.name, status: view.status, connected: view.connected, lastHeartbeatAgeSeconds: view.lastHeartbeatAgeSeconds };
}

export interface ResourceAnswerErrorOptions {
  /** From the catalogue, which gives the status. */
  code: ErrorCode;
  message: string;
  outcome: ResourceOutcome;
  cluster: ClusterSummary;
  retryAfterSeconds?: number;
  cause?: unknown;
}

/**
 * A live-resource request refused or failed after its cluster was found:
 * offline, over the limit, or the agent's own error relayed. The body is the
 * usual error plus `cluster`.
 */
export class ResourceAnswerError extends HttpError {
  readonly outcome: ResourceOutcome;
  readonly cluster: ClusterSummary;
  readonly retryAfterSeconds: number | undefined;

  constructor(options: ResourceAnswerErrorOptions) {
    super(options.code, options.message, options.cause === undefined ? undefined : { cause: options.cause });
    this.outcome = options.outcome;
    this.cluster = options.cluster;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }

  get body(): WithCluster<ErrorBody> {
    return { error: { code: this.code, message: this.message }, cluster: this.cluster };
  }
}

/** A linked cluster the caller may read, with its link. */
export interface ResourceTarget {
  principal: Principal;
  record: ClusterRecord;
  role: Role;
  session: HubSession;
  /** The cluster's state now (heartbeat age moves on while a stream lives). */
  summary: () => ClusterSummary;
}

export interface TargetDeps {
  store: Store;
  fleet: Fleet;
  limiter: ClusterLimiter;
}

/** A cluster the caller holds a role on. */
export type ReadableCluster = Pick<ResourceTarget, 'principal' | 'record' | 'role'>;

/**
 * Finds the cluster named in the request and the caller's role on it; 404
 * without one: a cluster the caller cannot see does not exist for it.
 */
export async function findReadableCluster(deps: TargetDeps, req: FastifyRequest, ref: string): Promise<ReadableCluster> {
  const principal = principalOf(req);
  const record = await findCluster(deps.store, ref);
  const role = effectiveRole(principal, record.id);
  if (!role) throw notFound(`cluster '${ref}'`);
  return { principal, record, role };
}

/**
 * The impersonation the kubectl endpoint would set for the caller
 * (`uplink:<user>` in `uplink:<role>`): the agent answers inventory reads
 * and log requests only as far as the cluster's RBAC lets that identity read.
 */
export function identityHeaders(target: Pick<ResourceTarget, 'principal' | 'role'>): OutgoingHttpHeaders {
  return forwardedRequestHeaders({}, { user: target.principal.userName, role: target.role });
}

/** The cluster's link; 503 with the cluster's state when it has none. */
export function linkTo(deps: TargetDeps, cluster: ReadableCluster): ResourceTarget {
  const { record } = cluster;
  const summary = (): ClusterSummary => summarizeCluster(deps.fleet.view(record));
  const session = deps.fleet.session(record.id);
  if (!session?.isOpen) {
    const now = summary();
    const why = now.status === 'never-connected' ? 'its agent has never connected to the hub' : 'its agent is not linked to the hub';
    throw new ResourceAnswerError({
      code: 'CLUSTER_OFFLINE', message: `cluster '${record.name}' is offline: ${why}`,
      outcome: 'offline', cluster: now, retryAfterSeconds: OFFLINE_RETRY_AFTER_SECONDS,
    });
  }
  return { ...cluster, session, summary };
}

/** findReadableCluster, then linkTo. */
export async function resolveTarget(deps: TargetDeps, req: FastifyRequest, ref: string): Promise<ResourceTarget> {
  return linkTo(deps, await findReadableCluster(deps, req, ref));
}

/** Takes a slot of the cluster's limiter (shared with the kubectl endpoint); 429 when it or the caller's share is full. */
export function acquireSlot(limiter: ClusterLimiter, target: ResourceTarget, kind: RequestClass): () => void {
  const { userId } = target.principal;
  const release = limiter.tryAcquire(target.record.id, kind, userId);
  if (release) return release;
  const yours = limiter.refusal(target.record.id, kind, userId) === 'user';
  throw new ResourceAnswerError({
    code: 'TOO_MANY_REQUESTS', outcome: 'limited', cluster: target.summary(), retryAfterSeconds: LIMITED_RETRY_AFTER_SECONDS,
    message: yours
      ? `you hold your share of ${limiter.userLimit(kind)} concurrent ${kind} requests to cluster '${target.record.name}'; end one or retry shortly`
      : `too many concurrent ${kind} requests to cluster '${target.record.name}'; retry shortly`,
  });
}
