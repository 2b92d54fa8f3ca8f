// The hub's TCP forward route for `uplink forward`: an HTTP/1.1 upgrade to
// FORWARD_UPGRADE at `/api/v1/clusters/<cluster>/forward?kind=&namespace=&name=&port=`
// with the user's API token. The user needs a role on the cluster; the agent
// then checks the cluster's RBAC (pods/portforward) for the identity the hub
// impersonates. Each forward takes a streaming slot of the cluster's limit
// (the user's share, as kubectl streams do), is audited from its start, and
// ends when its token, user or grant is revoked.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { statusOf, type ErrorCode } from '../../domain/error-codes.ts';
import { IMPERSONATION, AGENT_PATHS } from '../../link/protocol.ts';
import {
  describeForwardTarget, FORWARD_UPGRADE, forwardTargetHeaders, ForwardTargetError, parseForwardTarget, type ForwardTarget,
} from '../../link/forward.ts';
import type { Logger } from '../../util/logger.ts';
import { readCluster, type AccessCache } from '../access-cache.ts';
import { authenticateToken, type Principal } from '../auth.ts';
import type { Fleet } from '../fleet.ts';
import type { ClusterLimiter } from '../kube/limiter.ts';
import { requiresRole, type LiveStreams } from '../live-streams.ts';
import { effectiveRole } from '../rbac.ts';
import type { StreamAuditor } from '../stream-audit.ts';
import { StoreUnavailableError, type AuditRecord, type ClusterRecord, type Store } from '../store/index.ts';
import { upgradeRefusal } from './answers.ts';
import { spliceForward, type ForwardOutcome } from './forward-splice.ts';

/** The route's path: `/api/v1/clusters/<cluster>/forward`. */
const FORWARD_PATH = /^\/api\/v1\/clusters\/([^/?]{1,256})\/forward$/;
/** Audit user of an upgrade without a valid token. */
const UNAUTHENTICATED = '(unauthenticated)';

export interface ForwardRouteOptions {
  store: Store;
  fleet: Pick<Fleet, 'session'>;
  limiter: ClusterLimiter;
  log: Logger;
  /** Refusals, one row each. */
  audit: (record: AuditRecord) => void;
  /** Accepted forwards: a row from the start, completed at the end. */
  streamAudit: StreamAuditor;
  liveStreams: Pick<LiveStreams, 'register'>;
  access?: AccessCache;
}

/** What the route refuses with, and what was known of the caller for the audit row. */
class Refusal extends Error {
  readonly code: ErrorCode;
  readonly known: { principal?: Principal; cluster?: Pick<ClusterRecord, 'id' | 'name'>; target?: ForwardTarget };

  constructor(code: ErrorCode, message: string, known: Refusal['known'] = {}) {
    super(message);
    this.code = code;
    this.known = known;
  }
}

/** Whether a request is for the forward route (any method; only upgrades are answered). */
export function isForwardRequest(url: string | undefined): boolean {
  return FORWARD_PATH.test((url ?? '').split('?')[0] ?? '');
}

export class ForwardRoute {
  readonly #options: ForwardRouteOptions;
  readonly #touched = new Map<string, number>();

  constructor(options: ForwardRouteOptions) {
    this.#options = options;
  }

  /** Serves one upgrade; never throws, never leaves a rejection unhandled. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => undefined);
    const started = performance.now();
    const at = new Date().toISOString();
    this.#admit(req).then(async ({ principal, cluster, target, role, release }) => {
      const fields = { ...auditFieldsOf(target, cluster.name), at, userId: principal.userId, userName: principal.userName, clusterId: cluster.id, clusterName: cluster.name };
      let row;
      try {
        row = await this.#options.streamAudit.open({ ...fields, status: 0, bytesIn: 0, bytesOut: 0, durationMs: 0 });
      } catch (error) {
        release();
        throw error;
      }
      const session = this.#options.fleet.session(cluster.id);
      if (session === undefined || socket.destroyed) {
        release();
        row.end({ status: 0, bytesIn: 0, bytesOut: 0, durationMs: 0 });
        socket.destroy();
        return;
      }
      const forget = this.#options.liveStreams.register({
        kind: 'forward', principal, stillAllowed: requiresRole(cluster.id, role),
        end: (reason) => {
          this.#options.log.info({ user: principal.userName, cluster: cluster.name, target: describeForwardTarget(target), reason }, 'ended a forward: access revoked');
          socket.destroy();
        },
      });
      const headers = {
        ':method': 'POST', ':path': AGENT_PATHS.forward, ...forwardTargetHeaders(target),
        'impersonate-user': `${IMPERSONATION.userPrefix}${principal.userName}`, 'impersonate-group': IMPERSONATION.groups[role],
      };
      spliceForward({
        session, headers, socket, head, clusterName: cluster.name,
        done: (outcome: ForwardOutcome) => {
          forget();
          release();
          row.end({ ...outcome, durationMs: Math.round(performance.now() - started) });
        },
      });
    }).catch((error: unknown) => { this.#refuse(socket, error, at); });
  }

  /** Authenticates, authorises and takes a slot; rejects with a Refusal. */
  async #admit(req: IncomingMessage): Promise<{ principal: Principal; cluster: ClusterRecord; target: ForwardTarget; role: keyof typeof IMPERSONATION.groups; release: () => void }> {
    const { store, fleet, limiter } = this.#options;
    const url = new URL(req.url ?? '/', 'http://hub.invalid');
    let ref: string;
    try {
      ref = decodeURIComponent(FORWARD_PATH.exec(url.pathname)?.[1] ?? '');
    } catch {
      throw new Refusal('BAD_REQUEST', 'the cluster name in the URL has a malformed percent-escape');
    }
    const token = /^Bearer (\S{1,256})$/.exec(req.headers.authorization ?? '')?.[1];
    const principal = token === undefined ? null : await authenticateToken(store, token, this.#touched, this.#options.access?.reads);
    if (!principal) throw new Refusal('UNAUTHORIZED', 'an API token is required: Authorization: Bearer <token> (see uplink login)');
    const cluster = await readCluster(store, ref);
    const role = cluster ? effectiveRole(principal, cluster.id) : undefined;
    if (!cluster || !role) throw new Refusal('NOT_FOUND', `cluster "${ref.slice(0, 80)}" not found`, { principal });
    if ((req.headers.upgrade ?? '').toLowerCase() !== FORWARD_UPGRADE) throw new Refusal('BAD_REQUEST', `the forward route takes an HTTP/1.1 upgrade to ${FORWARD_UPGRADE}`, { principal, cluster });
    let target: ForwardTarget;
    try {
      const q = url.searchParams;
      target = parseForwardTarget({ kind: q.get('kind'), namespace: q.get('namespace'), name: q.get('name'), port: q.get('port') });
    } catch (error) {
      if (!(error instanceof ForwardTargetError)) throw error;
      throw new Refusal('BAD_FORWARD', error.message, { principal, cluster });
    }
    if (fleet.session(cluster.id)?.isOpen !== true) throw new Refusal('CLUSTER_OFFLINE', `cluster "${cluster.name}" is offline: its agent is not linked to the hub`, { principal, cluster, target });
    const release = limiter.tryAcquire(cluster.id, 'streaming', principal.userId);
    if (!release) {
      const yours = limiter.refusal(cluster.id, 'streaming', principal.userId) === 'user';
      throw new Refusal('TOO_MANY_REQUESTS', yours
        ? `you hold your share of ${limiter.userLimit('streaming')} concurrent streams to cluster "${cluster.name}"; end one or retry shortly`
        : `too many concurrent streams to cluster "${cluster.name}"; retry shortly`, { principal, cluster, target });
    }
    return { principal, cluster, target, role, release };
  }

  #refuse(socket: Duplex, error: unknown, at: string): void {
    let refusal: Refusal;
    if (error instanceof Refusal) refusal = error;
    else if (error instanceof StoreUnavailableError) refusal = new Refusal('STORE_UNAVAILABLE', `the hub's database is unavailable (${error.code}); nothing was forwarded, retry shortly`);
    else {
      this.#options.log.error({ err: error }, 'a forward failed inside the hub');
      refusal = new Refusal('INTERNAL', 'the hub failed to handle this forward; see its log');
    }
    const { principal, cluster, target } = refusal.known;
    this.#options.audit({
      ...(target ? auditFieldsOf(target, cluster?.name ?? '') : { verb: 'create', resource: '', subresource: 'forward', namespace: null, name: null, path: '/api/v1/clusters/forward', command: null }),
      at, userId: principal?.userId ?? '', userName: principal?.userName ?? UNAUTHENTICATED, clusterId: cluster?.id ?? '', clusterName: cluster?.name ?? '',
      status: statusOf(refusal.code), bytesIn: 0, bytesOut: 0, durationMs: 0,
    });
    const retry: Record<string, string> = refusal.code === 'TOO_MANY_REQUESTS' ? { 'retry-after': '1' } : refusal.code === 'CLUSTER_OFFLINE' ? { 'retry-after': '5' } : {};
    if (!socket.destroyed) socket.end(upgradeRefusal(refusal.code, refusal.message, retry));
  }
}

/** The audit row's fields that say what was forwarded. */
function auditFieldsOf(target: ForwardTarget, clusterName: string): Pick<AuditRecord, 'verb' | 'resource' | 'subresource' | 'namespace' | 'name' | 'path' | 'command'> {
  return {
    verb: 'create', resource: target.kind === 'service' ? 'services' : target.kind === 'pod' ? 'pods' : 'deployments', subresource: 'forward',
    namespace: target.namespace, name: target.name, path: `/api/v1/clusters/${clusterName}/forward`, command: `uplink forward ${describeForwardTarget(target)}`,
  };
}
