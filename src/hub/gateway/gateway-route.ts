// The hub's Service gateway: `/gw/<cluster>/<name>/…` (and, with a gateway
// domain, `https://<name>--<cluster>.<domain>/…`) proxied to an exposed
// Service through the cluster's link. Each request is authenticated (an API
// token as Bearer, or the browser's session cookie), authorised (a role on
// the cluster at least the exposure's minRole; none at all reads as no such
// cluster), bounded (a streaming slot of the cluster's limiter, counted to
// the user's share), registered with the live streams (revoking the token,
// the user or the grant cuts it) and audited. Nothing reaches the agent
// before all of that passed.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { statusOf, type ErrorCode } from '../../domain/error-codes.ts';
import type { HubSession } from '../../link/hub-session.ts';
import type { Logger } from '../../util/logger.ts';
import { readCluster, type AccessCache } from '../access-cache.ts';
import { UNAUTHENTICATED_USER } from '../audit-sink.ts';
import { authenticateToken, type Principal } from '../auth.ts';
import type { ForwardedBodies } from '../client-errors.ts';
import type { Fleet } from '../fleet.ts';
import type { ClusterLimiter } from '../kube/limiter.ts';
import { requiresRole, type LiveStreams } from '../live-streams.ts';
import type { HubMetrics } from '../metrics.ts';
import { effectiveRole, ROLES } from '../rbac.ts';
import type { StreamAuditor } from '../stream-audit.ts';
import { StoreUnavailableError, type AuditRecord, type ClusterRecord, type Role, type Store } from '../store/index.ts';
import { gatewayAddressOf, isGatewayRequest, GATEWAY_PAGES_PREFIX, type GatewayAddress, type ServiceAddress } from './address.ts';
import { sessionIdOf } from './cookies.ts';
import { servePage } from './pages.ts';
import { errorBody, proxyRequest, type OpenServiceStream, type ProxyOutcome } from './proxy-http.ts';
import { proxyUpgrade, responseHead } from './proxy-upgrade.ts';
import { serviceHostsOf, type RewriteContext } from './rewrite.ts';
import type { GatewaySessions } from './sessions.ts';
import type { LinkAgents } from './link-agents.ts';

/** What the gateway needs of an exposure (src/domain/exposure.ts). */
export interface GatewayExposure {
  id: string;
  name: string;
  namespace: string;
  service: string;
  port: number | string;
  minRole: Role;
}

/** Characters of all request headers together the gateway passes on; beyond, 431. */
export const MAX_GATEWAY_HEADER_BYTES = 64 * 1024;

export interface GatewayRouteOptions {
  store: Store;
  fleet: Pick<Fleet, 'session'>;
  limiter: ClusterLimiter;
  metrics: Pick<HubMetrics, 'gatewayRequests' | 'gatewayStreamsOpen'>;
  log: Logger;
  /** Unary requests and refusals: one row each, at their end (bounded by the audit sink). */
  audit: (record: AuditRecord) => void;
  /** WebSockets: a row from the start, completed at the close. */
  streamAudit: StreamAuditor;
  liveStreams: Pick<LiveStreams, 'register'>;
  sessions: GatewaySessions;
  /** The exposure of that name on the cluster (Store.getExposure). */
  findExposure: (clusterId: string, name: string) => Promise<GatewayExposure | undefined>;
  /** openGatewayStream (link-stream.ts). */
  openStream: (options: { session: HubSession; exposureId: string; signal?: AbortSignal }) => Promise<Duplex>;
  /** `--gateway-domain`. */
  domain?: string | undefined;
  /** What browsers reach the hub with: `https` unless it serves plain HTTP. */
  proto: string;
  access?: AccessCache;
  forwardedBodies?: ForwardedBodies;
  /** Kept-alive connections per exposure and user; a link stream per request without. */
  linkAgents?: LinkAgents;
  idleMs?: number;
}

/** A request that passed every check and holds a slot. */
interface Admitted {
  principal: Principal;
  cluster: ClusterRecord;
  exposure: GatewayExposure;
  role: Role;
  session: HubSession;
  release: () => void;
}

/** A refusal, with what was known for the audit row. */
class Refusal extends Error {
  readonly code: ErrorCode;
  readonly outcome: string;
  readonly known: { principal?: Principal; cluster?: ClusterRecord; exposure?: GatewayExposure };
  readonly headers: Record<string, string>;

  constructor(code: ErrorCode, outcome: string, message: string, known: Refusal['known'] = {}, headers: Record<string, string> = {}) {
    super(message);
    this.code = code;
    this.outcome = outcome;
    this.known = known;
    this.headers = headers;
  }
}

function rank(role: Role): number {
  return ROLES.indexOf(role);
}

/** Whether a request wants a page (a browser navigating), so an anonymous one is sent to sign in rather than refused. */
function wantsHtml(req: IncomingMessage): boolean {
  return (req.method === 'GET' || req.method === 'HEAD') && (req.headers.accept ?? '').includes('text/html');
}

function headerBytes(req: IncomingMessage): number {
  let total = 0;
  for (const part of req.rawHeaders) total += part.length + 2;
  return total;
}

export class GatewayRoute {
  readonly #options: GatewayRouteOptions;
  readonly #touched = new Map<string, number>();

  constructor(options: GatewayRouteOptions) {
    this.#options = options;
  }

  /** Whether a request is for the gateway (either form). */
  serves(req: Pick<IncomingMessage, 'url' | 'headers'>): boolean {
    return isGatewayRequest(req, { domain: this.#options.domain });
  }

  /** Serves a plain request; never throws, never leaves a rejection unhandled. */
  handleRequest(req: IncomingMessage, res: ServerResponse): void {
    const address = gatewayAddressOf(req, { domain: this.#options.domain });
    const at = new Date().toISOString();
    const started = performance.now();
    this.#route(req, res, address).catch((error: unknown) => { this.#refuse(req, res, this.#asRefusal(error), address, at, started); });
  }

  async #route(req: IncomingMessage, res: ServerResponse, address: GatewayAddress): Promise<void> {
    const { metrics } = this.#options;
    if (address.kind === 'invalid') throw new Refusal('BAD_REQUEST', 'bad_request', address.reason);
    if (address.kind === 'redirect') {
      res.writeHead(308, { location: address.location, 'cache-control': 'no-store' }).end();
      return;
    }
    if (address.kind === 'page') {
      await servePage(req, res, address.page, address.form, this.#pageActions());
      return;
    }
    const at = new Date().toISOString();
    const started = performance.now();
    let admitted: Admitted;
    try {
      admitted = await this.#admit(req, address);
    } catch (error) {
      this.#refuse(req, res, this.#asRefusal(error), address, at, started);
      return;
    }
    if (res.destroyed || req.socket.destroyed) {
      admitted.release();
      return;
    }
    metrics.gatewayStreamsOpen.inc();
    let end: () => void = () => undefined;
    const forget = this.#track(admitted, () => { end(); });
    const untime = this.#options.forwardedBodies?.exempt(req, res) ?? ((): void => undefined);
    end = proxyRequest({
      req, res, target: address.target, context: this.#context(req, address, admitted.exposure), open: this.#opener(admitted),
      agent: this.#options.linkAgents?.agentFor({
        session: admitted.session, exposureId: admitted.exposure.id, userId: admitted.principal.userId,
        open: () => this.#options.openStream({ session: admitted.session, exposureId: admitted.exposure.id }),
      }),
      ...(this.#options.idleMs === undefined ? {} : { idleMs: this.#options.idleMs }),
      done: (outcome) => {
        forget();
        untime();
        admitted.release();
        metrics.gatewayStreamsOpen.dec();
        this.#finish(req, address, admitted, outcome, at, started);
      },
    });
  }

  /** Serves an upgrade (WebSocket); never throws. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => undefined);
    const address = gatewayAddressOf(req, { domain: this.#options.domain });
    const at = new Date().toISOString();
    const started = performance.now();
    const refuse = (refusal: Refusal): void => {
      this.#auditRefusal(req, refusal, address, at);
      const body = errorBody(refusal.code, refusal.message);
      if (socket.writable) {
        socket.end(responseHead(statusOf(refusal.code), undefined, {
          'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...refusal.headers, connection: 'close',
        }) + body);
      }
    };
    if (address.kind !== 'service') {
      refuse(new Refusal(address.kind === 'invalid' ? 'BAD_REQUEST' : 'NOT_FOUND', 'bad_request', address.kind === 'invalid' ? address.reason : 'the gateway\'s pages take no upgrade'));
      return;
    }
    this.#admit(req, address).then(async (admitted) => {
      let row;
      try {
        row = await this.#options.streamAudit.open({ ...this.#auditFields(req, address, admitted, at), status: 0, bytesIn: 0, bytesOut: 0, durationMs: 0 });
      } catch (error) {
        admitted.release();
        throw error;
      }
      if (socket.destroyed) {
        admitted.release();
        row.end({ status: 0, bytesIn: 0, bytesOut: 0, durationMs: 0 });
        return;
      }
      this.#options.metrics.gatewayStreamsOpen.inc();
      let end: () => void = () => undefined;
      const forget = this.#track(admitted, () => { end(); });
      end = proxyUpgrade({
        req, socket, head, target: address.target, context: this.#context(req, address, admitted.exposure), open: this.#opener(admitted),
        ...(this.#options.idleMs === undefined ? {} : { idleMs: this.#options.idleMs }),
        done: (outcome) => {
          forget();
          admitted.release();
          this.#options.metrics.gatewayStreamsOpen.dec();
          this.#options.metrics.gatewayRequests.inc({ outcome: outcome.status === 0 ? 'failed' : 'proxied' });
          row.end({ status: outcome.status, bytesIn: outcome.bytesIn, bytesOut: outcome.bytesOut, durationMs: Math.round(performance.now() - started) });
        },
      });
    }).catch((error: unknown) => { refuse(this.#asRefusal(error)); });
  }

  /** Authenticates, authorises and takes a slot; rejects with a Refusal. */
  async #admit(req: IncomingMessage, address: ServiceAddress): Promise<Admitted> {
    const { fleet, limiter } = this.#options;
    if (headerBytes(req) > MAX_GATEWAY_HEADER_BYTES) throw new Refusal('GATEWAY_HEADERS_TOO_LARGE', 'bad_request', `the request's headers are larger than ${MAX_GATEWAY_HEADER_BYTES} bytes`);
    const principal = await this.#principalOf(req, address.form);
    if (principal === null) throw new Refusal('UNAUTHORIZED', 'unauthenticated', 'sign in first: an API token (Authorization: Bearer) or a gateway session');
    const cluster = await this.#cluster(address.clusterRef);
    const role = cluster === undefined ? undefined : effectiveRole(principal, cluster.id);
    if (cluster === undefined || role === undefined) throw new Refusal('NOT_FOUND', 'not_found', `no exposure "${address.name}" on cluster "${address.clusterRef}"`, { principal });
    const exposure = await this.#options.findExposure(cluster.id, address.name);
    if (exposure === undefined) throw new Refusal('NOT_FOUND', 'not_found', `no exposure "${address.name}" on cluster "${cluster.name}"`, { principal, cluster });
    if (rank(role) < rank(exposure.minRole)) {
      throw new Refusal('FORBIDDEN', 'forbidden', `exposure "${exposure.name}" needs the ${exposure.minRole} role on cluster "${cluster.name}"; you have ${role}`, { principal, cluster, exposure });
    }
    const session = fleet.session(cluster.id);
    if (session?.isOpen !== true) {
      throw new Refusal('CLUSTER_OFFLINE', 'offline', `cluster "${cluster.name}" is offline: its agent is not linked to the hub`, { principal, cluster, exposure }, { 'retry-after': '5' });
    }
    const release = limiter.tryAcquire(cluster.id, 'streaming', principal.userId);
    if (!release) {
      const yours = limiter.refusal(cluster.id, 'streaming', principal.userId) === 'user';
      throw new Refusal('TOO_MANY_REQUESTS', 'limited', yours
        ? `you hold your share of ${limiter.userLimit('streaming')} concurrent streams to cluster "${cluster.name}"; retry shortly`
        : `too many concurrent streams to cluster "${cluster.name}"; retry shortly`, { principal, cluster, exposure }, { 'retry-after': '1' });
    }
    return { principal, cluster, exposure, role, session, release };
  }

  /** The caller: a Bearer API token when the request has one, else the form's session cookie. */
  async #principalOf(req: IncomingMessage, form: 'path' | 'host'): Promise<Principal | null> {
    const { store, access, sessions } = this.#options;
    const authorization = req.headers.authorization;
    if (authorization !== undefined) {
      const token = /^Bearer (\S{1,256})$/.exec(authorization)?.[1];
      return token === undefined ? null : authenticateToken(store, token, this.#touched, access?.reads);
    }
    return sessions.principalOf(sessionIdOf(req.headers.cookie, form));
  }

  async #cluster(ref: string): Promise<ClusterRecord | undefined> {
    const { access, store, fleet } = this.#options;
    const remembered = await access?.cluster(ref);
    if (remembered !== undefined && fleet.session(remembered.id)?.isOpen === true) return remembered;
    return readCluster(store, ref);
  }

  #opener(admitted: Admitted): OpenServiceStream {
    return (signal) => this.#options.openStream({ session: admitted.session, exposureId: admitted.exposure.id, signal });
  }

  #track(admitted: Admitted, cut: () => void): () => void {
    return this.#options.liveStreams.register({
      kind: 'gateway', principal: admitted.principal, stillAllowed: requiresRole(admitted.cluster.id, admitted.exposure.minRole),
      end: (reason) => {
        this.#options.log.info({ user: admitted.principal.userName, cluster: admitted.cluster.name, exposure: admitted.exposure.name, reason }, 'ended a gateway stream: access revoked');
        cut();
      },
    });
  }

  #context(req: IncomingMessage, address: ServiceAddress, exposure: GatewayExposure): RewriteContext {
    return {
      ...serviceHostsOf(exposure.service, exposure.namespace, exposure.port),
      prefix: address.prefix, publicHost: req.headers.host ?? '', proto: this.#options.proto, clientAddress: req.socket.remoteAddress ?? '',
    };
  }

  #pageActions(): Parameters<typeof servePage>[4] {
    const { store, sessions, access, metrics } = this.#options;
    return {
      signIn: (token) => authenticateToken(store, token, this.#touched, access?.reads),
      createSession: (principal) => sessions.create(principal),
      sessionUser: async (id) => (await sessions.principalOf(id))?.userName,
      endSession: async (id) => {
        const principal = await sessions.principalOf(id);
        await sessions.end(id);
        return principal ?? undefined;
      },
      onOutcome: (event) => {
        metrics.gatewayRequests.inc({ outcome: event.outcome });
        // Sign-ins and sign-outs are audited like any credential use; anonymous refusals are rate-bounded by the sink.
        this.#options.audit({
          at: new Date().toISOString(), userId: event.user?.userId ?? '', userName: event.user?.userName ?? UNAUTHENTICATED_USER, clusterId: '', clusterName: '',
          verb: event.outcome === 'signed_out' ? 'delete' : 'create', resource: 'gateway-sessions', subresource: null, namespace: null, name: null,
          path: `${GATEWAY_PAGES_PREFIX}${event.page}`, status: event.status, bytesIn: 0, bytesOut: 0, durationMs: 0, command: null,
        });
      },
    };
  }

  #asRefusal(error: unknown): Refusal {
    if (error instanceof Refusal) return error;
    if (error instanceof StoreUnavailableError) return new Refusal('STORE_UNAVAILABLE', 'failed', `the hub's database is unavailable (${error.code}); retry shortly`);
    this.#options.log.error({ err: error }, 'a gateway request failed inside the hub');
    return new Refusal('INTERNAL', 'failed', 'the hub failed to handle this request; see its log');
  }

  /** Answers a refusal: anonymous browsers go to the sign-in page, the rest get the code's status. */
  #refuse(req: IncomingMessage, res: ServerResponse, refusal: Refusal, address: GatewayAddress, at: string, started: number): void {
    this.#auditRefusal(req, refusal, address, at, started);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (refusal.code === 'UNAUTHORIZED' && wantsHtml(req)) {
      const next = address.kind === 'service' ? `${address.prefix}${address.target}` : '/';
      res.writeHead(303, { location: `${GATEWAY_PAGES_PREFIX}login?next=${encodeURIComponent(next)}`, 'cache-control': 'no-store' }).end();
      return;
    }
    const extra = refusal.code === 'UNAUTHORIZED' ? { 'www-authenticate': 'Bearer realm="uplink-gateway"' } : {};
    res.writeHead(statusOf(refusal.code), { 'content-type': 'application/json', 'cache-control': 'no-store', ...refusal.headers, ...extra }).end(errorBody(refusal.code, refusal.message));
  }

  #auditRefusal(req: IncomingMessage, refusal: Refusal, address: GatewayAddress, at: string, started = performance.now()): void {
    this.#options.metrics.gatewayRequests.inc({ outcome: refusal.outcome });
    const { principal, cluster, exposure } = refusal.known;
    this.#options.audit({
      at, userId: principal?.userId ?? '', userName: principal?.userName ?? UNAUTHENTICATED_USER,
      clusterId: cluster?.id ?? '', clusterName: cluster?.name ?? (address.kind === 'service' ? address.clusterRef : ''),
      verb: (req.method ?? 'GET').toLowerCase(), resource: 'services', subresource: 'gateway',
      namespace: exposure?.namespace ?? null, name: exposure?.service ?? null,
      path: auditPath(req, address, cluster?.name), status: statusOf(refusal.code), bytesIn: 0, bytesOut: 0,
      durationMs: Math.round(performance.now() - started), command: null,
    });
  }

  #auditFields(req: IncomingMessage, address: ServiceAddress, admitted: Admitted, at: string): Omit<AuditRecord, 'status' | 'bytesIn' | 'bytesOut' | 'durationMs'> {
    return {
      at, userId: admitted.principal.userId, userName: admitted.principal.userName, clusterId: admitted.cluster.id, clusterName: admitted.cluster.name,
      verb: (req.method ?? 'GET').toLowerCase(), resource: 'services', subresource: 'gateway',
      namespace: admitted.exposure.namespace, name: admitted.exposure.service, path: auditPath(req, address, admitted.cluster.name, admitted.exposure.name), command: null,
    };
  }

  #finish(req: IncomingMessage, address: ServiceAddress, admitted: Admitted, outcome: ProxyOutcome, at: string, started: number): void {
    this.#options.metrics.gatewayRequests.inc({ outcome: outcome.status === 0 ? (outcome.failure === undefined ? 'failed' : 'refused') : 'proxied' });
    const status = outcome.status === 0 && outcome.failure !== undefined ? statusOf(outcome.failure) : outcome.status;
    this.#options.audit({
      ...this.#auditFields(req, address, admitted, at), status, bytesIn: outcome.bytesIn, bytesOut: outcome.bytesOut, durationMs: Math.round(performance.now() - started),
    });
  }
}

/** The audit row's path: `/gw/<cluster>/<exposure><path>` in either form, without the query string. */
function auditPath(req: IncomingMessage, address: GatewayAddress, clusterName?: string, exposureName?: string): string {
  if (address.kind !== 'service') return (req.url ?? '/').split('?')[0] ?? '/';
  const path = address.target.split('?')[0] ?? '/';
  return `/gw/${clusterName ?? address.clusterRef}/${exposureName ?? address.name}${path}`;
}
