// The hub's kubectl endpoint, `/k8s/clusters/<cluster>/...` or, with a kube
// domain, `https://<cluster>.<domain>/...` (cluster-host.ts): authenticate the
// user, find the cluster and the user's role on it, take a concurrency slot,
// then forward over the cluster's link with the user's impersonation. Both
// forms, plain requests and upgrades share this resolution; they differ only
// in how the cluster is named and how bytes travel (see forward-request.ts
// and forward-upgrade.ts).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { HubSession } from '../../link/hub-session.ts';
import { forwardedRequestHeaders, kubeStatus, type HubRole } from '../../kube/headers.ts';
import { bearerTokenOf } from '../../kube/bearer.ts';
import { UplinkError } from '../../util/errors.ts';
import type { Logger } from '../../util/logger.ts';
import { readCluster, type AccessCache } from '../access-cache.ts';
import { authenticateToken, type Principal } from '../auth.ts';
import type { Fleet } from '../fleet.ts';
import { requiresRole, type LiveStreams } from '../live-streams.ts';
import type { HubMetrics } from '../metrics.ts';
import { effectiveRole } from '../rbac.ts';
import { StoreUnavailableError, type AuditRecord, type ClusterRecord, type Store } from '../store/index.ts';
import { forwardRequest, type ForwardOutcome } from './forward-request.ts';
import { forwardUpgrade, http1Head } from './forward-upgrade.ts';
import type { ClusterLimiter } from './limiter.ts';
import { parseKubeRequest, type KubeRequestInfo } from '../../kube/request-info.ts';
import { AGENT_FEATURES, KUBE_UPGRADE_HEADERS } from '../../link/protocol.ts';
import { planLinkHead, type LinkHead } from './link-head.ts';
import type { ForwardedBodies } from '../client-errors.ts';
import { KubeApiPathError, parseKubeApiPath } from '../../kube/api-path.ts';
import { clusterHostOf } from './cluster-host.ts';
import type { OpenStreamRow, StreamAuditor } from '../stream-audit.ts';
import { auditFields, refusedAuditFields } from './audit-fields.ts';
import { oncePerRequest } from './once-per-request.ts';

/** URL prefix of the kubectl endpoint. */
export const KUBE_PATH_PREFIX = '/k8s/clusters/';
/** Seconds a client over the concurrency limit is asked to wait. */
const RETRY_AFTER_SECONDS = 1;

export interface KubeProxyOptions {
  store: Store;
  fleet: Fleet;
  limiter: ClusterLimiter;
  metrics: HubMetrics;
  log: Logger;
  /** Receives one record per proxied unary request once it ends. */
  audit: (record: AuditRecord) => void;
  /** Stores a stream's row (watch, follow, upgrade) when it is accepted; its end completes the row. */
  streamAudit: StreamAuditor;
  /** Every forwarded request is registered here, so revoking its token, user or grant cuts it. */
  liveStreams: Pick<LiveStreams, 'register'>;
  /** With a kube domain, `<cluster>.<domain>` hosts are clusters' API servers (see cluster-host.ts). */
  kubeDomain?: string | undefined;
  /** Where a forwarded request whose body is still arriving is noted, so --request-timeout leaves it to the API server. */
  forwardedBodies?: ForwardedBodies;
  /** Tokens, users, grants and clusters as recently read (access-cache.ts); every request reads the store without it. */
  access?: AccessCache;
}

/** A request that passed every check and holds a concurrency slot. */
export interface KubeTarget {
  principal: Principal;
  cluster: ClusterRecord;
  role: HubRole;
  session: HubSession;
  /** The API server path and query, e.g. `/api/v1/pods?watch=1`. */
  apiPath: string;
  info: KubeRequestInfo;
  /** How the head travels on the link; the envelope, if any, is dropped once written. */
  link: LinkHead;
  release: () => void;
  started: number;
  /** Whether it holds a streaming slot (watch, follow, upgrade): audited from its start. */
  streaming: boolean;
}

/** An answer to send instead of forwarding, with what was known of the caller for the audit log. */
export interface KubeRefusal {
  status: number;
  reason: string;
  message: string;
  headers?: Record<string, string>;
  principal?: Principal;
  cluster?: { id: string; name: string };
}

/**
 * A kubectl endpoint URL the hub cannot read: a malformed percent-escape
 * (`%E0%A4%A`, `%zz`) in the cluster reference or the API path, or an API
 * path that is not a URL path. Answered 400 before anything else is done.
 */
export class KubeUrlError extends UplinkError {
  constructor(message: string) {
    super('KUBE_URL_INVALID', message);
  }
}

/**
 * Splits `/k8s/clusters/<ref>/<api path>?query` into the cluster reference
 * and the API server path. Throws KubeUrlError when the reference does not
 * decode, or when the API path would not parse and decode segment by segment
 * as parseKubeRequest reads it, so nothing after this can throw on the URL.
 */
export function splitKubeUrl(url: string): { ref: string; apiPath: string } {
  const rest = url.slice(KUBE_PATH_PREFIX.length);
  const slash = rest.search(/[/?]/);
  const apiPath = slash === -1 ? '/' : rest.slice(slash).replace(/^\?/, '/?');
  let ref: string;
  try {
    ref = decodeURIComponent(slash === -1 ? rest : rest.slice(0, slash));
  } catch {
    throw new KubeUrlError('the cluster name in the URL has a malformed percent-escape');
  }
  return { ref, apiPath: checkedApiUrl(apiPath) };
}

/** The API path as sent, once it is known to parse and decode segment by segment; else KubeUrlError. */
function checkedApiUrl(apiPath: string): string {
  try {
    new URL(apiPath, 'http://kube.invalid').pathname.split('/').forEach((segment) => decodeURIComponent(segment));
  } catch {
    throw new KubeUrlError('the API path in the URL has a malformed percent-escape or is not a path');
  }
  return apiPath;
}

/**
 * The cluster reference and API path of a request in either form: a
 * `<cluster>.<domain>` Host wins (its path is the API server's as sent, even
 * one under KUBE_PATH_PREFIX), else the path form. Throws KubeUrlError as
 * splitKubeUrl does, and for a Host inside the domain that names no cluster.
 * Read once per request (once-per-request.ts): the router, the relay and the
 * proxy all ask.
 */
export const kubeAddressOf: (req: Pick<IncomingMessage, 'url' | 'headers'>, kubeDomain: string | undefined) => { ref: string; apiPath: string } = oncePerRequest(
  (req: Pick<IncomingMessage, 'url' | 'headers'>, kubeDomain: string | undefined): { ref: string; apiPath: string } => {
    const host = kubeDomain === undefined ? undefined : clusterHostOf(req.headers.host, kubeDomain);
    if (host === undefined) return splitKubeUrl(req.url ?? '/');
    if (host.kind === 'invalid') throw new KubeUrlError(host.reason);
    return { ref: host.label, apiPath: checkedApiUrl(req.url ?? '/') };
  },
);

/**
 * Whether a request is for the kubectl endpoint: on a cluster's host (with a
 * kube domain), or under KUBE_PATH_PREFIX on any other. Never throws.
 */
export function isKubeRequest(req: Pick<IncomingMessage, 'url' | 'headers'>, kubeDomain: string | undefined): boolean {
  return (kubeDomain !== undefined && clusterHostOf(req.headers.host, kubeDomain) !== undefined) || (req.url ?? '').startsWith(KUBE_PATH_PREFIX);
}

/** Audit user for requests whose token was missing or invalid. */
const UNAUTHENTICATED = '(unauthenticated)';

export class KubeProxy {
  private readonly options: KubeProxyOptions;
  private readonly touched = new Map<string, number>();

  constructor(options: KubeProxyOptions) {
    this.options = options;
  }

  /** Whether a request is for the kubectl endpoint (isKubeRequest). */
  serves(req: Pick<IncomingMessage, 'url' | 'headers'>): boolean {
    return isKubeRequest(req, this.options.kubeDomain);
  }

  /** Handles a plain HTTP request for the kubectl endpoint (see serves). Never throws, never leaves a rejection unhandled. */
  handleRequest(req: IncomingMessage, res: ServerResponse): void {
    this.resolve(req, undefined).then(async (target) => {
      if ('status' in target) {
        this.auditRefusal(req, target);
        res.writeHead(target.status, { 'content-type': 'application/json', ...target.headers }).end(kubeStatus(target.status, target.reason, target.message));
        return;
      }
      const row = await this.admit(target);
      // The client may have gone while we authenticated; its close event is past.
      if (res.destroyed || req.socket.destroyed) {
        this.finish(target, { status: 0, bytesIn: 0, bytesOut: 0 }, row);
        return;
      }
      let end: (message: string) => void = () => undefined;
      const forget = this.track(target, (message) => { end(message); });
      const untime = this.options.forwardedBodies?.exempt(req, res) ?? ((): void => undefined);
      end = forwardRequest({ req, res, target, log: this.options.log, done: (outcome) => { forget(); untime(); this.finish(target, outcome, row); } });
    }).catch((error: unknown) => {
      const failure = this.failure(error);
      if (res.headersSent) {
        res.destroy();
        return;
      }
      res.writeHead(failure.status, { 'content-type': 'application/json', connection: 'close' }).end(kubeStatus(failure.status, failure.reason, failure.message));
    });
  }

  /** Handles an HTTP/1.1 upgrade (exec, attach, port-forward) for the kubectl endpoint (see serves). Never throws, never leaves a rejection unhandled. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => undefined);
    const refuse = (refusal: Pick<KubeRefusal, 'status' | 'reason' | 'message' | 'headers'>): void => {
      const body = kubeStatus(refusal.status, refusal.reason, refusal.message);
      socket.end(http1Head(refusal.status, {
        'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...refusal.headers, connection: 'close',
      }) + body);
    };
    this.resolve(req, req.headers.upgrade ?? '').then(async (target) => {
      if ('status' in target) {
        this.auditRefusal(req, target);
        refuse(target);
        return;
      }
      const row = await this.admit(target);
      if (socket.destroyed) {
        this.finish(target, { status: 0, bytesIn: 0, bytesOut: 0 }, row);
        return;
      }
      const forget = this.track(target, () => { socket.destroy(); });
      forwardUpgrade({ socket, head, target, log: this.options.log, done: (outcome) => { forget(); this.finish(target, outcome, row); } });
    }).catch((error: unknown) => {
      const failure = this.failure(error);
      // Bytes of a switched stream may be on the socket already: only a fresh one gets an answer.
      if (socket.destroyed || ((socket as Partial<Socket>).bytesWritten ?? 0) > 0) socket.destroy();
      else refuse(failure);
    });
  }

  /** Registers a forwarded request with the live streams; `cut` ends it when its access is revoked. */
  private track(target: KubeTarget, cut: (message: string) => void): () => void {
    return this.options.liveStreams.register({
      kind: 'kubectl', principal: target.principal, stillAllowed: requiresRole(target.cluster.id, target.role),
      end: (reason, message) => {
        this.options.log.info({ user: target.principal.userName, cluster: target.cluster.name, path: target.apiPath.split('?')[0], reason }, 'ended a kubectl stream: access revoked');
        cut(message);
      },
    });
  }

  /**
   * The answer for a request whose handling threw: 400 for a URL the hub
   * cannot read (counted, not logged: anyone can send one), else 500, logged
   * without the URL's text.
   */
  private failure(error: unknown): Pick<KubeRefusal, 'status' | 'reason' | 'message'> {
    if (error instanceof KubeUrlError) {
      this.options.metrics.kubeRequests.inc({ class: 'unary', outcome: 'malformed' });
      return { status: 400, reason: 'BadRequest', message: error.message };
    }
    if (error instanceof StoreUnavailableError) {
      this.options.metrics.kubeRequests.inc({ class: 'unary', outcome: 'error' });
      this.options.log.warn({ err: error }, 'a kubectl request was refused: the hub\'s database is unavailable');
      return { status: 503, reason: 'ServiceUnavailable', message: `the hub's database is unavailable (${error.code}); nothing was forwarded, retry shortly` };
    }
    this.options.metrics.kubeRequests.inc({ class: 'unary', outcome: 'error' });
    this.options.log.error({ err: error }, 'a kubectl request failed inside the hub');
    return { status: 500, reason: 'InternalError', message: 'the hub failed to handle this request; see its log' };
  }

  /** `upgrade` is the client's Upgrade value for an upgrade request, undefined for a plain one. */
  private async resolve(req: IncomingMessage, upgrade: string | undefined): Promise<KubeTarget | KubeRefusal> {
    const { store, fleet, limiter, metrics } = this.options;
    const { ref, apiPath: requested } = kubeAddressOf(req, this.options.kubeDomain);
    const token = bearerTokenOf(req.headers);
    // A store that cannot be read is the hub's failure (500, see failure()), not the caller's: never a 401.
    const principal = token === undefined ? null : await authenticateToken(store, token, this.touched, this.options.access?.reads);
    if (!principal) return { status: 401, reason: 'Unauthorized', message: 'a valid Uplink API token is required (see uplink kubeconfig)' };
    const cluster = await this.findCluster(ref);
    const role = cluster ? effectiveRole(principal, cluster.id) : undefined;
    if (!cluster || !role) return { status: 404, reason: 'NotFound', message: `cluster "${ref}" not found`, principal, cluster: { id: '', name: ref } };
    // The same check the agent applies: a path that could reach past the API
    // server is never forwarded, and its refusal is audited under the user.
    let apiPath: string;
    try {
      apiPath = parseKubeApiPath(requested).target;
    } catch (error) {
      if (!(error instanceof KubeApiPathError)) throw error;
      return { status: 400, reason: 'BadRequest', message: error.message, principal, cluster };
    }
    const session = fleet.session(cluster.id);
    if (!session?.isOpen) {
      return {
        status: 503, reason: 'ServiceUnavailable', message: `cluster "${cluster.name}" is offline: its agent is not linked to the hub`,
        headers: { 'Retry-After': '5' }, principal, cluster,
      };
    }
    const info = parseKubeRequest(req.method ?? 'GET', apiPath);
    const kind = info.streaming || req.headers.upgrade !== undefined ? 'streaming' : 'unary';
    const headers = forwardedRequestHeaders(req.headers, { user: principal.userName, role });
    if (upgrade !== undefined) headers[KUBE_UPGRADE_HEADERS.upgrade] = upgrade;
    const link = planLinkHead({
      method: req.method ?? 'GET', apiPath, headers, envelopes: session.supports(AGENT_FEATURES.kubeEnvelope), clusterName: cluster.name,
    });
    if ('tooLong' in link) {
      metrics.kubeRequests.inc({ class: kind, outcome: 'too_long' });
      return { status: 431, reason: 'RequestHeaderFieldsTooLarge', message: link.tooLong, principal, cluster };
    }
    const release = limiter.tryAcquire(cluster.id, kind, principal.userId);
    if (!release) {
      const yours = limiter.refusal(cluster.id, kind, principal.userId) === 'user';
      metrics.kubeRequests.inc({ class: kind, outcome: yours ? 'limited_user' : 'limited' });
      return {
        status: 429, reason: 'TooManyRequests', headers: { 'Retry-After': String(RETRY_AFTER_SECONDS) },
        message: yours
          ? `you hold your share of ${limiter.userLimit(kind)} concurrent ${kind} requests to cluster "${cluster.name}"; end one or retry shortly`
          : `too many concurrent ${kind} requests to cluster "${cluster.name}"; retry shortly`,
        principal, cluster,
      };
    }
    metrics.kubeInFlight.inc({ class: kind });
    return {
      principal, cluster, role, session, apiPath, info, link, started: performance.now(), streaming: kind === 'streaming',
      release: () => {
        release();
        metrics.kubeInFlight.dec({ class: kind });
      },
    };
  }

  /**
   * The cluster a request names. A remembered record is used only while the
   * cluster's link is open here: a cluster deleted since has had its link
   * closed, and is read again (not found).
   */
  private async findCluster(ref: string): Promise<ClusterRecord | undefined> {
    const { access, store, fleet } = this.options;
    const remembered = await access?.cluster(ref);
    if (remembered !== undefined && fleet.session(remembered.id)?.isOpen === true) return remembered;
    return readCluster(store, ref);
  }

  /**
   * A stream's audit row, stored before a byte is forwarded (see
   * stream-audit.ts); undefined for a unary request, audited at its end.
   * When the row cannot be stored, the slot is given back and the store's
   * error rejects: the stream does not run unaudited.
   */
  private async admit(target: KubeTarget): Promise<OpenStreamRow | undefined> {
    if (!target.streaming) return undefined;
    try {
      return await this.options.streamAudit.open({ ...this.auditOf(target), status: 0, bytesIn: 0, bytesOut: 0, durationMs: 0 });
    } catch (error) {
      target.release();
      throw error;
    }
  }

  private finish(target: KubeTarget, outcome: ForwardOutcome, row: OpenStreamRow | undefined): void {
    target.release();
    const kind = target.info.streaming ? 'streaming' : 'unary';
    this.options.metrics.kubeRequests.inc({ class: kind, outcome: outcome.status === 0 ? 'failed' : 'forwarded' });
    const end = { ...outcome, durationMs: Math.round((performance.now() - target.started) * 10) / 10 };
    if (row !== undefined) row.end(end);
    else this.options.audit({ ...this.auditOf(target), ...end });
  }

  /** The row's fields that name who asked what, stamped now. */
  private auditOf(target: KubeTarget): Omit<AuditRecord, 'status' | 'bytesIn' | 'bytesOut' | 'durationMs'> {
    return {
      ...auditFields(target.info, target.apiPath),
      at: new Date().toISOString(),
      userId: target.principal.userId,
      userName: target.principal.userName,
      clusterId: target.cluster.id,
      clusterName: target.cluster.name,
    };
  }

  private auditRefusal(req: IncomingMessage, refusal: KubeRefusal): void {
    const { ref, apiPath } = kubeAddressOf(req, this.options.kubeDomain);
    this.options.audit({
      ...refusedAuditFields(req.method ?? 'GET', apiPath),
      at: new Date().toISOString(),
      userId: refusal.principal?.userId ?? '',
      userName: refusal.principal?.userName ?? UNAUTHENTICATED,
      clusterId: refusal.cluster?.id ?? '',
      clusterName: refusal.cluster?.name ?? ref,
      status: refusal.status,
      bytesIn: 0,
      bytesOut: 0,
      durationMs: 0,
    });
  }
}
