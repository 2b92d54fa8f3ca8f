// The agent's life: link to the hub, serve it, and when the link ends,
// reconnect with exponential backoff and full jitter, forever. With leader
// election, that and the add-on engine run only in a term of leadership:
// every replica keeps its inventory warm, and a replica that loses the lease
// cuts its link and stops its engine at once.
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { AgentSession } from '../link/agent-session.ts';
import { Backoff } from '../link/backoff.ts';
import { LinkDialError } from '../link/dial.ts';
import { dialLink, type LinkTransportChoice } from '../link/dial-h2.ts';
import { DEFAULT_KEEPALIVE, type KeepaliveOptions } from '../link/keepalive.ts';
import { AGENT_FEATURES, LINK_CLOSE, type AgentFeature, type ClusterFacts } from '../link/protocol.ts';
import { fetchPinnedCa } from '../link/ca-pin.ts';
import { HubTlsError, caHashOf, parseCaHash } from '../link/tls.ts';
import { background } from '../util/background.ts';
import type { Logger } from '../util/logger.ts';
import { UPLINK_VERSION } from '../version.ts';
import type { DesiredAddons } from './addons/index.ts';
import type { AgentSettings } from './config.ts';
import { collectFacts } from './heartbeat.ts';
import type { Inventory } from './inventory/index.ts';
import type { KubeClient } from './kube.ts';
import { createKubeProxy } from './kube-proxy.ts';
import { AccessReviewer, subjectAccessReview } from './access-review.ts';
import { ResourceAccess } from './resource-access.ts';
import { ensureRoleBindings } from './rbac-bindings.ts';
import { createLinkHandler } from './link-handler.ts';
import { createForwardHandler, createForwardMetrics } from './forward/index.ts';
import { createGatewayHandler, createGatewayMetrics, HeldExposures } from './gateway/index.ts';
import type { LinkRequestHandler } from '../link/agent-session.ts';
import type { LinkAttemptResult, AgentMetrics } from './metrics.ts';
import type { ReadinessReport } from './health-server.ts';
import type { PublicIpLookup } from './public-ip.ts';
import type { AgentSelfUpgrade } from './self-upgrade.ts';
import type { AgentState, StateStore } from './state.ts';
import { LeaderElector, type LeaderElectionTimings, type LeaderState } from './leader-election.ts';
import { LeaderTerms, type AddonEngineLike, type LeaderTerm } from './leader-terms.ts';
import type { LeaseApi } from './lease-api.ts';
import type { AgentRuntimeHooks } from './runtime/index.ts';

/** A link that lasted this long resets the backoff; shorter ones keep growing it. */
export const STABLE_LINK_MS = 30_000;
/** How long shutdown waits for open streams after GOAWAY. */
export const DRAIN_TIMEOUT_MS = 5_000;
/** What this agent's link handler understands beyond the first link protocol, told to the hub on every link. */
const AGENT_LINK_FEATURES: readonly AgentFeature[] = [AGENT_FEATURES.kubeEnvelope];
/** The API server counts as reachable for this long after a successful call. */
const API_FRESHNESS_MS = 60_000;

export interface AgentOptions {
  settings: AgentSettings;
  log: Logger;
  kube: KubeClient;
  state: StateStore;
  /** The desired add-ons the hub pushes; loaded by run() before the first link. */
  desiredAddons: DesiredAddons;
  /**
   * The add-on engine of the first term of leadership (the only one without
   * leader election): started with the desired set loaded, fed every newer
   * set, stopped when the term ends.
   */
  addons: AddonEngineLike;
  /** Makes the engine of each later term, as a stopped engine does not start again; needed with leaderElection. */
  createAddons?: () => AddonEngineLike;
  /** Leader election among replicas (--leader-elect); without it this agent always leads. */
  leaderElection?: {
    api: LeaseApi; lease: string; identity: string; pod: string; timings: LeaderElectionTimings;
    /** Watches the Lease until the signal aborts, calling back when it is released (lease-watch.ts). */
    watch?: (onReleased: () => void, signal: AbortSignal) => Promise<void>;
  } | undefined;
  metrics: AgentMetrics;
  /** The watch-fed cache of the cluster's objects; started by run(). */
  inventory: Inventory;
  /** Upgrades of the agent's own release; its last one goes into every heartbeat. */
  selfUpgrade: AgentSelfUpgrade;
  /** The egress IP lookup of --report-public-ip; undefined when off. */
  egressIp?: PublicIpLookup | undefined;
  /** The token from --token or --token-file, if any. */
  configuredToken: string | undefined;
  keepalive?: KeepaliveOptions;
  /** Told of link, leader and add-on engine changes, for the runtime endpoints. */
  runtime?: AgentRuntimeHooks | undefined;
}

export class Agent {
  private readonly options: AgentOptions;
  private readonly log: Logger;
  private readonly startedAt = Date.now();
  private readonly backoff: Backoff;
  private readonly eventStreams = new Set<() => void>();
  /** The link transport to dial; `auto` becomes `websocket` once an h2 upgrade was refused. */
  private transport: LinkTransportChoice;
  private state: AgentState = {};
  private session: AgentSession | undefined;
  private lastApiSuccess = 0;
  private lastFailure = '';
  private readonly kubeProxy: ReturnType<typeof createKubeProxy>;
  private readonly forward: LinkRequestHandler;
  /** The Service gateway: the exposure set the hub pushed (memory only) and the streams to it. */
  private readonly gateway: { held: HeldExposures; stream: LinkRequestHandler };
  /** Shared by every link session, so its cache of access reviews outlives a reconnect. */
  private readonly access: ResourceAccess;
  private readonly elector: LeaderElector | undefined;
  private readonly terms: LeaderTerms;
  private runSignal: AbortSignal | undefined;
  /** Ends run() with the error of a link loop that failed (no token, say). */
  private fail: ((error: unknown) => void) | undefined;

  constructor(options: AgentOptions) {
    this.options = options;
    this.log = options.log;
    this.transport = options.settings.linkTransport;
    this.kubeProxy = createKubeProxy({ kube: options.kube, log: options.log });
    const reviewer = new AccessReviewer({
      review: subjectAccessReview(options.kube),
      onOutcome: (outcome) => { options.metrics.accessReviews.inc({ outcome }); },
    });
    this.forward = createForwardHandler({ kube: options.kube, reviewer, log: options.log, metrics: createForwardMetrics(options.metrics.registry) });
    const held = new HeldExposures();
    this.gateway = { held, stream: createGatewayHandler({ kube: options.kube, held, log: options.log, metrics: createGatewayMetrics(options.metrics.registry) }) };
    this.access = new ResourceAccess({
      reviewer,
      namespaceNames: () => [...options.inventory.rows('namespaces')].map((row) => row.name),
    });
    this.backoff = new Backoff({ initialMs: options.settings.reconnectMin * 1000, maxMs: options.settings.reconnectMax * 1000 });
    const election = options.leaderElection;
    this.terms = new LeaderTerms({
      link: async (term) => {
        const unwatch = options.runtime?.engineStarted(term.engine);
        try {
          await this.linkLoop(term);
        } finally {
          unwatch?.();
        }
      },
      addons: options.addons, createAddons: options.createAddons, desiredAddons: options.desiredAddons, reloadDesired: election !== undefined,
      log: options.log, onFailure: (error) => { this.fail?.(error); },
    });
    this.elector = election && new LeaderElector({
      ...election, log: options.log, metrics: options.metrics,
      onStartedLeading: () => {
        options.runtime?.leader('leader');
        if (this.runSignal) this.terms.begin(this.runSignal);
      },
      onStoppedLeading: (reason) => {
        options.runtime?.leader('standby', reason);
        this.terms.end(reason !== 'stopped');
      },
    });
    if (!this.elector) {
      options.metrics.leader.set(1);
      options.runtime?.leader('leader');
    }
  }

  /** Whether this agent may change releases now: always without leader election, else while it leads within its renew deadline. */
  get mayWrite(): boolean {
    return this.elector ? this.elector.leadingNow : true;
  }

  /** leader, standby or unknown; always leader without leader election. */
  get leaderState(): LeaderState {
    return this.elector?.state ?? 'leader';
  }

  /** When the Kubernetes API server last answered a heartbeat's questions (ms since the epoch), 0 before it did. */
  apiAnsweredAt(): number {
    return this.lastApiSuccess;
  }

  /** Whether a link to the hub is open now. */
  get linked(): boolean {
    return this.session !== undefined;
  }

  /**
   * Ready when the leader is linked, or a standby reads the lease (and so
   * reaches the API server); either way the API server must have answered
   * recently.
   */
  readiness(): ReadinessReport {
    const reasons: string[] = [];
    const leader = this.leaderState;
    if (leader === 'leader' && !this.session) reasons.push('not linked to the hub');
    if (leader === 'unknown') reasons.push('the leader lease could not be read');
    const apiFresh = leader === 'standby' || Date.now() - this.lastApiSuccess <= API_FRESHNESS_MS;
    if (!apiFresh) reasons.push('the Kubernetes API server has not answered recently');
    const term = this.elector?.leadership?.term;
    return { ready: reasons.length === 0, reasons, leader, ...(this.elector?.holder !== undefined ? { holder: this.elector.holder } : {}), ...(term !== undefined ? { term } : {}) };
  }

  /**
   * Until `signal` aborts: keeps the inventory, and, while leading (always
   * without leader election), the add-on engine and the link. Then drains
   * the link, stops the engine and releases the lease.
   */
  async run(signal: AbortSignal): Promise<void> {
    this.state = await this.options.state.load();
    await this.options.desiredAddons.load();
    if (this.options.settings.manageRbac) await ensureRoleBindings(this.options.kube, this.log);
    this.options.inventory.start();
    await this.gatherFacts();
    this.runSignal = signal;
    const failed = new Promise<never>((_resolve, reject) => { this.fail = reject; });
    failed.catch(() => undefined);
    const stopped = new Promise((resolve) => { signal.addEventListener('abort', resolve, { once: true }); });
    try {
      if (this.elector) {
        this.elector.start();
        const elector = this.elector;
        background(this.options.leaderElection?.watch?.(() => { elector.nudge(); }, signal) ?? Promise.resolve(), this.log, 'the watch on the leader lease ended');
      } else {
        this.terms.begin(signal);
      }
      if (!signal.aborted) await Promise.race([stopped, failed]);
    } finally {
      await this.terms.finish();
      await this.elector?.release();
    }
  }

  private async linkLoop(term: LeaderTerm): Promise<void> {
    const { signal } = term;
    while (!signal.aborted) {
      const delay = await this.linkOnce(term, signal);
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- the signal can abort during the await
      if (signal.aborted) break;
      try {
        await sleep(delay, undefined, { signal });
      } catch {
        break;
      }
    }
  }

  /** One attempt: dial, serve until the link ends; returns the delay before the next attempt. */
  private async linkOnce(term: LeaderTerm, signal: AbortSignal): Promise<number> {
    const token = this.state.token ?? this.options.configuredToken;
    if (token === undefined) throw new Error('no cluster token: pass --token or --token-file');
    let socket;
    try {
      const ca = await this.hubCa();
      socket = await dialLink({
        hubUrl: this.options.settings.hubUrl, token, agentVersion: UPLINK_VERSION, features: AGENT_LINK_FEATURES, leader: this.elector?.leadership,
        rejectUnauthorized: !this.options.settings.insecureSkipTlsVerify, ...(ca ? { ca } : {}),
        transport: this.transport,
        onFallback: (why) => {
          // Something on the way does not upgrade to h2: stay on WebSocket for this process's life.
          this.transport = 'websocket';
          this.log.warn({ why }, 'the hub or a proxy did not upgrade the link to HTTP/2; using WebSocket');
        },
      });
    } catch (error) {
      return this.onDialFailure(error, token);
    }
    this.count('linked');
    this.lastFailure = '';
    const linkedAt = Date.now();
    const session = new AgentSession({ socket, handler: this.handler(term), log: this.log, keepalive: this.options.keepalive ?? DEFAULT_KEEPALIVE });
    this.session = session;
    this.options.metrics.linkUp.set(1);
    this.options.runtime?.linkUp(socket.kind);
    this.log.info({ hub: this.options.settings.hubUrl, transport: socket.kind }, 'linked to the hub');
    const onAbort = (): void => {
      if (term.lost) {
        this.log.warn('lost the leader lease: cutting the link to the hub');
        session.destroy();
        return;
      }
      background(session.drain(DRAIN_TIMEOUT_MS, () => { for (const end of this.eventStreams) end(); }), this.log, 'could not drain the link');
    };
    signal.addEventListener('abort', onAbort, { once: true });
    // The term may have ended while the dial was out.
    if (signal.aborted) onAbort();
    const closed = await session.closed;
    signal.removeEventListener('abort', onAbort);
    this.session = undefined;
    this.options.metrics.linkUp.set(0);
    this.options.runtime?.linkDown(closed.code, closed.reason);
    if (Date.now() - linkedAt >= STABLE_LINK_MS) this.backoff.reset();
    return this.onLinkClosed(closed.code, closed.reason);
  }

  private onLinkClosed(code: number, reason: string): number {
    if (code === LINK_CLOSE.tokenRotated) {
      this.log.info('the hub rotated the cluster token; reconnecting with the new one');
      this.backoff.reset();
      return 0;
    }
    if (code === LINK_CLOSE.replaced) {
      // Another agent linked with this token: the new pod of a rolling update, or a second copy. Coming
      // straight back would take the link from it, and it from us, until one stops; wait the longest backoff.
      this.log.warn({ code, waitSeconds: this.options.settings.reconnectMax }, 'another agent linked with this cluster token and replaced this one; waiting before linking again');
      return Math.max(this.options.settings.reconnectMax * 1000, this.backoff.next());
    }
    if (code === LINK_CLOSE.clusterDeleted) {
      this.log.error('the hub deleted this cluster; the agent keeps retrying in case it is registered again with this token');
    } else {
      this.log.warn({ code, reason }, 'the link to the hub closed; reconnecting');
    }
    return this.backoff.next();
  }

  private onDialFailure(error: unknown, token: string): number {
    if (error instanceof LinkDialError && error.code === 'LINK_UNAUTHORIZED') {
      this.count('unauthorized');
      // A rotated token in the state that the hub no longer knows (e.g. the
      // cluster was re-created): fall back to the configured one once.
      if (this.state.token !== undefined && this.options.configuredToken !== undefined && token !== this.options.configuredToken) {
        this.log.warn('the hub refused the stored token; trying the configured one');
        this.state = { ...this.state, token: undefined };
        return 0;
      }
      this.reportFailure('unauthorized', `the hub refused the cluster token (HTTP ${error.status}); check the token or rotate it with 'uplink clusters rotate-token'`);
      return this.backoff.next();
    }
    if (error instanceof LinkDialError && error.code === 'LINK_UNAVAILABLE') {
      this.count('unavailable');
      this.reportFailure('unavailable', `the hub is busy (HTTP ${error.status}); retrying`, 'warn');
      return Math.max(error.retryAfterMs ?? 0, this.backoff.next());
    }
    if (error instanceof LinkDialError && error.code === 'LINK_HELD') {
      // Another agent with this token keeps the link: retrying sooner would only be refused again.
      this.count('held');
      this.reportFailure('held', error.message);
      return Math.max(this.options.settings.reconnectMax * 1000, error.retryAfterMs ?? 0, this.backoff.next());
    }
    if (error instanceof HubTlsError) {
      this.count('tls');
      this.reportFailure(`tls:${error.code}`, error.message);
      return this.backoff.next();
    }
    const dial = error instanceof LinkDialError ? error : undefined;
    this.count(dial?.code === 'LINK_REFUSED' ? 'refused' : 'unreachable');
    this.reportFailure(`dial:${dial?.code ?? 'other'}`, (error as Error).message, 'warn');
    return this.backoff.next();
  }

  /** Logs a failure once per distinct kind, so a retry loop writes one clear line, not one per attempt. */
  private reportFailure(key: string, message: string, level: 'error' | 'warn' = 'error'): void {
    if (key === this.lastFailure) {
      this.log.debug({ attempt: this.backoff.attempt }, message);
      return;
    }
    this.lastFailure = key;
    this.options.runtime?.linkFailing(key, message);
    this.log[level](message);
  }

  private count(result: LinkAttemptResult): void {
    this.options.metrics.linkAttempts.inc({ result });
  }

  /** The CA to trust for the hub: a file, or one fetched once through the pin and kept in the state. */
  private async hubCa(): Promise<string | undefined> {
    const { hubCaFile, hubCaHash, hubUrl } = this.options.settings;
    if (hubCaFile !== undefined) return readFileSync(hubCaFile, 'utf8');
    if (hubCaHash === undefined) return undefined;
    const pin = parseCaHash(hubCaHash);
    if (this.state.hubCaPem !== undefined && caHashOf(this.state.hubCaPem) === pin) return this.state.hubCaPem;
    const caPem = await fetchPinnedCa({ url: hubUrl, caHash: pin });
    this.state = { ...this.state, hubCaPem: caPem };
    await this.options.state.save(this.state);
    this.log.info({ caHash: pin }, 'fetched the hub CA and checked it against the pin');
    return caPem;
  }

  private async gatherFacts(): Promise<ClusterFacts> {
    const end = this.options.metrics.heartbeatSeconds.startTimer();
    const { facts, apiReachable } = await collectFacts({ kube: this.options.kube, inventory: this.options.inventory, startedAt: this.startedAt });
    end();
    if (apiReachable) this.lastApiSuccess = Date.now();
    const egressIp = this.options.egressIp?.current();
    if (egressIp !== undefined) facts.egressIp = egressIp;
    const agentUpgrade = this.options.selfUpgrade.report();
    if (agentUpgrade !== undefined) facts.agentUpgrade = agentUpgrade;
    const leadership = this.elector?.leadership;
    if (leadership && this.options.leaderElection) facts.leader = { pod: this.options.leaderElection.pod, ...leadership };
    return facts;
  }

  /** Registers a long-lived stream that a draining link must end. */
  private trackStream(end: () => void): () => void {
    this.eventStreams.add(end);
    return () => { this.eventStreams.delete(end); };
  }

  private handler(term: LeaderTerm): ReturnType<typeof createLinkHandler> {
    const { inventory, kube } = this.options;
    return createLinkHandler({
      kubeProxy: this.kubeProxy,
      forward: this.forward,
      gateway: this.gateway,
      resources: { inventory, access: this.access, trackStream: (end) => this.trackStream(end) },
      logs: {
        kube, metrics: this.options.metrics, access: this.access,
        podsMatching: (namespace, selector) => inventory.podsMatching(namespace, selector),
      },
      log: this.log,
      metrics: this.options.metrics,
      heartbeatIntervalSeconds: this.options.settings.heartbeatInterval,
      collectFacts: () => this.gatherFacts(),
      storeToken: async (token) => {
        this.state = { ...this.state, token };
        await this.options.state.save(this.state);
      },
      trackEventsStream: (end) => this.trackStream(end),
      desiredAddons: this.options.desiredAddons,
      addons: term.engine,
      selfUpgrade: this.options.selfUpgrade,
    });
  }
}
