// The live fleet: which clusters hold a link to this hub right now, their
// latest heartbeat and add-on sweep, and the online/offline judgement derived
// from them.
import type { HubSession } from '../link/hub-session.ts';
import type { LinkLeader } from '../link/leader-header.ts';
import { LINK_CLOSE, type ClusterFacts, type HeartbeatEvent } from '../link/protocol.ts';
import { background } from '../util/background.ts';
import type { Logger } from '../util/logger.ts';
import { AddonSweeps, type AddonSweepView } from './addons/sweeps.ts';
import { compareLeaders, storedLeader } from './leader-handover.ts';
import { LinkReplacements, MAX_REPLACEMENTS, REPLACEMENT_WINDOW_MS } from './link-replacements.ts';
import type { HubMetrics } from './metrics.ts';
import type { ClusterSummary, Store } from './store/index.ts';
import { soloTier, type ReplicaTier } from './tier/replica-tier.ts';

/**
 * How long a cluster stays online after its leader closed its link on
 * purpose (SIGTERM), for the standby to link: it watches the Lease and links
 * within about a second; the heartbeat's age still decides.
 */
export const HANDOVER_GRACE_MS = 5_000;
/** An agent's own close of its link (it drained on SIGTERM). */
const NORMAL_CLOSURE = 1000;
/** How often a draining hub looks whether its links' requests in flight have finished. */
const HANDOVER_POLL_MS = 100;

export type ClusterStatus = 'online' | 'offline' | 'never-connected';

/**
 * What becomes of a new link: accept (no link held, or the replacement rules
 * allow it), handover (a later leader of a leader-elected agent, or the same
 * one again: taken without counting), held (refused: replaced too often),
 * stale (refused: an earlier leader while a later one holds the link).
 */
export type LinkAdmission = 'accept' | 'handover' | 'held' | 'stale';

/** A cluster as the API shows it: the stored record plus its live state. */
export interface ClusterView {
  id: string;
  name: string;
  labels: Record<string, string>;
  createdAt: string;
  status: ClusterStatus;
  connected: boolean;
  /** The hub replica holding the link, while linked. */
  replica: string | null;
  agentVersion: string | null;
  connectedAt: string | null;
  disconnectedAt: string | null;
  lastHeartbeatAt: string | null;
  lastHeartbeatAgeSeconds: number | null;
  facts: ClusterFacts | null;
  /**
   * The agent's last add-on sweep and the lag since, or null before any: the
   * report this hub received, or the one stored by whichever replica holds
   * the link, whichever is newer.
   */
  addonSweep: AddonSweepView | null;
}

interface LiveLink {
  session: HubSession;
  /** The agent's term of leadership, from a leader-elected agent. */
  leader: LinkLeader | undefined;
  connectedAt: string;
  lastHeartbeatAt: string | null;
  facts: ClusterFacts | null;
  /** JSON.stringify(facts), made once per heartbeat for the store and for lists. */
  factsJson: string | null;
}

export interface FleetOptions {
  store: Store;
  log: Logger;
  metrics: HubMetrics;
  /** A linked cluster whose last heartbeat is older than this is offline. */
  offlineAfterMs: number;
  /** The hub's replicas; a tier of one unless set. */
  tier?: ReplicaTier;
  now?: () => number;
}

export class Fleet {
  private readonly links = new Map<string, LiveLink>();
  private readonly linkedListeners: ((clusterId: string) => void)[] = [];
  private readonly options: FleetOptions;
  private readonly now: () => number;
  private readonly addonSweeps: AddonSweeps;
  private readonly replacements: LinkReplacements;
  /**
   * Clusters whose leader closed its link to hand over, until when they stay
   * online without a link (one entry per cluster, dropped at the next link,
   * when read past its time, or with the cluster).
   */
  private readonly leaderHandovers = new Map<string, number>();
  private readonly tier: ReplicaTier;
  private handingOver = false;

  constructor(options: FleetOptions) {
    this.options = options;
    this.now = options.now ?? Date.now;
    this.tier = options.tier ?? soloTier('solo');
    this.addonSweeps = new AddonSweeps({ now: this.now });
    this.replacements = new LinkReplacements(this.now);
    // Each cluster's series comes from one replica: the one holding its link, or the last one that did.
    options.metrics.observeAddonSweeps(() => this.addonSweeps.samples((id) => this.tier.holderElsewhere(id) !== undefined));
    this.tier.subscribe((news) => {
      if (news.topic === 'claimed') for (const id of news.clusterIds) this.addonSweeps.forget(id);
    });
    // The cluster linked again through another replica: this link is stale (its
    // agent has moved on or is gone), or another agent shares its token. A link
    // still open here when that happens counts as replaced, tier-wide.
    this.tier.onClaimsLost((clusterIds) => {
      for (const id of clusterIds) {
        const session = this.links.get(id)?.session;
        if (session?.isOpen !== true) continue;
        session.close(LINK_CLOSE.replaced, 'the cluster linked to another hub replica');
        this.noteReplaced(id);
      }
    });
  }

  get connectedCount(): number {
    return this.links.size;
  }

  session(clusterId: string): HubSession | undefined {
    return this.handingOver ? undefined : this.links.get(clusterId)?.session;
  }

  /**
   * Hands every link over to the other replicas (the hub is draining): no
   * new request is sent over them, their claims are dropped so the others
   * wait for the agents, requests in flight get until `graceMs` to finish,
   * then each link closes with hubShutdown and its agent links again elsewhere.
   */
  async handOver(graceMs: number, sleep: (ms: number) => Promise<void>): Promise<void> {
    this.handingOver = true;
    const links = [...this.links];
    await Promise.allSettled(links.map(([id]) => this.tier.releaseLink(id)));
    const deadline = this.now() + graceMs;
    // One stream per link is its events stream; anything beyond is a request in flight.
    while (links.some(([, live]) => live.session.isOpen && live.session.openStreams > 1) && this.now() < deadline) await sleep(HANDOVER_POLL_MS);
    for (const [, live] of links) live.session.close(LINK_CLOSE.hubShutdown, 'hub replica draining; link to another');
  }

  /** Calls `listener` after each new link is registered (e.g. to push the cluster's desired add-ons). */
  onLinked(listener: (clusterId: string) => void): void {
    this.linkedListeners.push(listener);
  }

  /**
   * True when a new link for the cluster should be refused: one is open (here,
   * or on a live replica of the tier), and it already changed hands
   * MAX_REPLACEMENTS times within the window (two agents running with one
   * token). The agent holding it keeps it. Asks the database only when the
   * link is held and the tier is shared; rejects when it cannot.
   */
  async keepsCurrentLink(clusterId: string): Promise<boolean> {
    const heldHere = this.links.get(clusterId)?.session.isOpen === true;
    if (heldHere && this.replacements.exhausted(clusterId)) return true;
    if (!this.tier.shared || (!heldHere && this.tier.holderElsewhere(clusterId) === undefined)) return false;
    return (await this.tier.replacementsWhileHeld(clusterId, REPLACEMENT_WINDOW_MS)) >= MAX_REPLACEMENTS;
  }

  /**
   * Decides on a new link for `cluster` whose agent leads with `leader`
   * (undefined without leader election). The held link's leader is this
   * replica's live one, or, when another replica holds it, the one in the
   * facts stored at its last heartbeat. Rejects when the tier cannot be asked.
   */
  async admitLink(cluster: { id: string; facts: ClusterFacts | null }, leader: LinkLeader | undefined): Promise<LinkAdmission> {
    const live = this.links.get(cluster.id);
    const heldHere = live?.session.isOpen === true;
    if (heldHere || this.tier.holderElsewhere(cluster.id) !== undefined) {
      const verdict = compareLeaders(heldHere ? live.leader : storedLeader(cluster.facts?.leader), leader);
      if (verdict === 'stale') return 'stale';
      if (verdict !== 'unrelated') return 'handover';
    }
    return (await this.keepsCurrentLink(cluster.id)) ? 'held' : 'accept';
  }

  /** Counts a replacement of the cluster's live link here and across the tier. */
  private noteReplaced(clusterId: string): void {
    this.options.metrics.linkError('replaced');
    this.replacements.record(clusterId);
    this.tier.noteReplaced(clusterId).catch((error: unknown) => {
      this.options.log.warn({ err: error, clusterId }, 'could not record the replaced link for the other hub replicas');
    });
  }

  /**
   * Registers a new link; an older link of the same cluster is closed (the
   * newest agent wins). A leader's handover is not counted as a replacement.
   */
  attach(clusterId: string, session: HubSession, agentVersion: string | undefined, leader?: LinkLeader): void {
    const previous = this.links.get(clusterId);
    if (previous) this.replacePrevious(clusterId, previous, leader);
    const at = new Date(this.now()).toISOString();
    this.links.set(clusterId, { session, leader, connectedAt: at, lastHeartbeatAt: null, facts: null, factsJson: null });
    this.leaderHandovers.delete(clusterId);
    this.options.metrics.agentsConnected.set(this.links.size);
    this.persist(clusterId, this.options.store.recordConnection(clusterId, { connected: true, at, ...(agentVersion ? { agentVersion } : {}) }));
    // A link the tier cannot record would be unreachable from the other replicas: the agent is sent to try again.
    this.tier.claimLink(clusterId).catch((error: unknown) => {
      this.options.metrics.linkError('store');
      this.options.log.error({ err: error, clusterId }, 'could not record which replica holds the link; closing it so the agent links again');
      session.close(LINK_CLOSE.hubShutdown, 'the hub cannot record the link now');
    });
    background(session.closed.then(({ code }) => { this.detach(clusterId, session, code); }), this.options.log, 'could not record a closed link');
    for (const listener of this.linkedListeners) listener(clusterId);
  }

  private replacePrevious(clusterId: string, previous: LiveLink, leader: LinkLeader | undefined): void {
    const verdict = compareLeaders(previous.leader, leader);
    if (verdict === 'handover' || verdict === 'same') {
      this.options.metrics.leaderHandovers.inc({ kind: verdict });
      this.options.log.info({ clusterId, from: previous.leader?.identity, to: leader?.identity, term: leader?.term }, verdict === 'handover'
        ? 'a new leader of the cluster\'s agents linked; closing the old leader\'s link'
        : 'the leader of the cluster\'s agents linked again; closing its old link');
      previous.session.close(LINK_CLOSE.replaced, verdict === 'handover' ? 'a newer leader linked' : 'replaced by a newer link');
      return;
    }
    this.options.log.warn({ clusterId }, 'a second agent linked with this cluster token; closing the older link');
    previous.session.close(LINK_CLOSE.replaced, 'replaced by a newer link');
    this.noteReplaced(clusterId);
  }

  private detach(clusterId: string, session: HubSession, code: number): void {
    const live = this.links.get(clusterId);
    if (live?.session !== session) return;
    this.links.delete(clusterId);
    // A leader that closed its link itself (SIGTERM: it drains, then releases
    // its Lease) is handing over: its standby links within about a second.
    if (live.leader !== undefined && code === NORMAL_CLOSURE) this.leaderHandovers.set(clusterId, this.now() + HANDOVER_GRACE_MS);
    this.options.metrics.agentsConnected.set(this.links.size);
    this.persist(clusterId, this.options.store.recordConnection(clusterId, { connected: false, at: new Date(this.now()).toISOString() }));
    this.persist(clusterId, this.tier.releaseLink(clusterId));
  }

  /** Takes a heartbeat from a linked agent. */
  heartbeat(clusterId: string, event: HeartbeatEvent): void {
    const live = this.links.get(clusterId);
    if (!live) return;
    const at = new Date(this.now()).toISOString();
    live.lastHeartbeatAt = at;
    live.facts = event.facts;
    live.factsJson = JSON.stringify(event.facts);
    this.options.metrics.heartbeats.inc();
    const beat = { at, intervalSeconds: event.intervalSeconds, facts: event.facts, factsJson: live.factsJson };
    this.persist(clusterId, this.options.store.recordHeartbeat(clusterId, beat));
  }

  /**
   * Takes an add-on sweep report from a linked agent (a bad one is logged on
   * `log` and dropped), and stores it when due (see AddonSweeps). Ignored once
   * the link is closing, so a report racing a cluster's deletion cannot bring
   * back its metric series. Resolves once stored or skipped; never rejects.
   */
  addonSweep(cluster: { id: string; name: string }, report: unknown, log: Logger): Promise<void> {
    if (this.links.get(cluster.id)?.session.isOpen !== true) return Promise.resolve();
    const due = this.addonSweeps.receive(cluster, report, log);
    if (due === undefined) return Promise.resolve();
    return this.options.store.recordAddonSweep(cluster.id, due).then(() => { this.addonSweeps.storeSettled(cluster.id, due, true); }, (error: unknown) => {
      this.addonSweeps.storeSettled(cluster.id, due, false);
      this.options.metrics.linkError('store');
      log.error({ err: error }, 'could not store the add-on sweep report; the next report tries again');
    });
  }

  /** Within the grace after a leader handed its link over; forgets the handover once the grace is past. */
  private inLeaderHandover(clusterId: string): boolean {
    const until = this.leaderHandovers.get(clusterId);
    if (until === undefined) return false;
    if (this.now() < until) return true;
    this.leaderHandovers.delete(clusterId);
    return false;
  }

  /** Drops what is kept in memory about a deleted cluster (its last sweep, and so its metric series). */
  forget(clusterId: string): void {
    this.leaderHandovers.delete(clusterId);
    this.addonSweeps.forget(clusterId);
    this.replacements.forget(clusterId);
  }

  /** Closes a cluster's link, if it has one. */
  disconnect(clusterId: string, code: number, reason: string): void {
    this.links.get(clusterId)?.session.close(code, reason);
  }

  /** Closes every link (hub shutdown). */
  closeAll(code: number, reason: string): void {
    for (const live of this.links.values()) live.session.close(code, reason);
  }

  /** The API view of a stored cluster, with live state folded in. */
  view(record: ClusterSummary): ClusterView {
    const live = this.links.get(record.id);
    return { ...this.linkState(record, live), facts: live?.facts ?? record.facts, addonSweep: this.addonSweeps.view(record.id, record.addonSweep) };
  }

  /**
   * `{...view(record), ...extra}` as JSON text, for lists of the whole fleet.
   * The facts go in as the JSON text they were made into at the heartbeat or
   * read from the store as: at 5,000 clusters, parsing and serialising every
   * cluster's facts for each list took half of its time and most of its garbage.
   */
  viewJson(record: ClusterSummary, extra: Record<string, unknown>): string {
    const live = this.links.get(record.id);
    const facts = live?.factsJson ?? record.factsJson ?? JSON.stringify(record.facts);
    const head = JSON.stringify(this.linkState(record, live));
    const tail = JSON.stringify({ addonSweep: this.addonSweeps.view(record.id, record.addonSweep), ...extra });
    return `${head.slice(0, -1)},"facts":${facts},${tail.slice(1)}`;
  }

  /** The view's fields before its facts: identity, status and link times. */
  private linkState(record: ClusterSummary, live: LiveLink | undefined): Omit<ClusterView, 'facts' | 'addonSweep'> {
    const lastHeartbeatAt = live?.lastHeartbeatAt ?? record.lastHeartbeatAt;
    const age = lastHeartbeatAt === null ? null : Math.max(0, (this.now() - Date.parse(lastHeartbeatAt)) / 1000);
    // Linked through another replica: what that replica stored is the live state.
    const holder = live === undefined ? this.tier.holderElsewhere(record.id) : this.tier.replicaId;
    const linked = holder !== undefined;
    let status: ClusterStatus = 'offline';
    if ((linked || this.inLeaderHandover(record.id)) && age !== null && age * 1000 < this.options.offlineAfterMs) status = 'online';
    else if (!linked && record.connectedAt === null) status = 'never-connected';
    return {
      id: record.id,
      name: record.name,
      labels: record.labels,
      createdAt: record.createdAt,
      status,
      connected: linked,
      replica: holder ?? null,
      agentVersion: record.agentVersion,
      connectedAt: live?.connectedAt ?? record.connectedAt,
      disconnectedAt: linked ? null : record.disconnectedAt,
      lastHeartbeatAt,
      lastHeartbeatAgeSeconds: age === null ? null : Math.round(age * 10) / 10,
    };
  }

  private persist(clusterId: string, write: Promise<void>): void {
    write.catch((error: unknown) => {
      this.options.metrics.linkError('store');
      this.options.log.error({ err: error, clusterId }, 'could not record link state');
    });
  }
}
