// The live fleet for dashboards: one shared ticker computes every cluster's
// view once a second and each subscriber is sent only the clusters that
// changed for it. Stored records and add-on summaries are re-read every few
// seconds, not every tick, so a dashboard open on a large fleet costs the
// store little; the live part (links, heartbeats, facts) is in memory.
import type { Principal } from '../auth.ts';
import type { ClusterView, Fleet } from '../fleet.ts';
import type { Logger } from '../../util/logger.ts';
import type { ClusterLocation, ClusterLocator } from '../geo/locate.ts';
import { effectiveRole } from '../rbac.ts';
import type { AddonStatusRecord, ClusterRecord, Role, Store } from '../store/index.ts';

/** How many clusters' add-ons are in each state, for the fleet table. */
export interface AddonSummary {
  total: number;
  healthy: number;
  /** Health Degraded, Missing or Unknown, or a failed last operation. */
  unhealthy: number;
  /** Installing, upgrading, rolling back, waiting, or health Progressing. */
  progressing: number;
  drifted: number;
}

/**
 * A cluster as the fleet feed sends it: the API view without the fields that
 * change every second (ages and lags; the page computes them from the
 * timestamps and `serverTime`), plus the caller's role, a map location and
 * the add-on summary.
 */
export interface FleetItem extends Omit<ClusterView, 'lastHeartbeatAgeSeconds' | 'addonSweep'> {
  role: Role;
  location: ClusterLocation | null;
  addons: AddonSummary;
  addonSweep: { lastSweepAt: string; reportedAt: string; intervalSeconds: number; stopped: boolean } | null;
}

/** What a subscriber is sent: the whole fleet first, then changes. */
export type FleetFeedEvent =
  | { type: 'snapshot'; serverTime: string; offlineAfterSeconds: number; items: FleetItem[] }
  | { type: 'changed'; serverTime: string; items: FleetItem[] }
  | { type: 'removed'; serverTime: string; ids: string[] };

export interface FleetSubscriber {
  principal: Principal;
  send(event: FleetFeedEvent): void;
  /** Ends the subscriber's connection (hub shutdown). */
  close(): void;
}

export interface FleetFeedOptions {
  store: Pick<Store, 'listClusters' | 'listAddonStatuses'>;
  fleet: Pick<Fleet, 'view'>;
  locator: Pick<ClusterLocator, 'locate'>;
  /** Where a failed round is reported; the feed keeps ticking. */
  log: Pick<Logger, 'error'>;
  offlineAfterSeconds: number;
  tickMs?: number;
  /** Records and add-on summaries are re-read this often. */
  refreshMs?: number;
  now?: () => number;
}

interface Computed {
  /** Without role: roles differ per subscriber. */
  item: Omit<FleetItem, 'role'>;
  json: string;
}

interface Subscription {
  subscriber: FleetSubscriber;
  /** What this subscriber was last sent, by cluster id. */
  sent: Map<string, string>;
}

const EMPTY_SUMMARY: AddonSummary = { total: 0, healthy: 0, unhealthy: 0, progressing: 0, drifted: 0 };
const PROGRESSING_PHASES = new Set(['Pending', 'Waiting', 'Installing', 'Upgrading', 'RollingBack', 'Uninstalling']);

export function summarizeAddons(statuses: readonly AddonStatusRecord[]): AddonSummary {
  const summary = { ...EMPTY_SUMMARY };
  for (const { status } of statuses) {
    if (status.phase === 'Uninstalled') continue;
    summary.total++;
    const health = status.health?.status;
    if (status.drift?.state === 'Drifted') summary.drifted++;
    if (status.phase === 'Failed' || health === 'Degraded' || health === 'Missing' || health === 'Unknown') summary.unhealthy++;
    else if (PROGRESSING_PHASES.has(status.phase) || health === 'Progressing') summary.progressing++;
    else if (status.health?.healthy === true) summary.healthy++;
  }
  return summary;
}

export class FleetFeed {
  private readonly options: FleetFeedOptions;
  private readonly now: () => number;
  private readonly subscriptions = new Set<Subscription>();
  private records: ClusterRecord[] = [];
  private summaries = new Map<string, AddonSummary>();
  private refreshedAt = 0;
  private refreshing: Promise<void> | undefined;
  private computed = new Map<string, Computed>();
  private timer: NodeJS.Timeout | undefined;

  constructor(options: FleetFeedOptions) {
    this.options = options;
    this.now = options.now ?? Date.now;
  }

  get subscriberCount(): number {
    return this.subscriptions.size;
  }

  /** Sends the snapshot, then changes each tick; returns the unsubscribe function. */
  async subscribe(subscriber: FleetSubscriber): Promise<() => void> {
    const subscription: Subscription = { subscriber, sent: new Map() };
    await this.refresh(true);
    this.compute();
    const items = [...this.computed].flatMap(([id, entry]) => this.itemFor(subscription, id, entry));
    subscriber.send({ type: 'snapshot', serverTime: this.serverTime(), offlineAfterSeconds: this.options.offlineAfterSeconds, items });
    this.subscriptions.add(subscription);
    this.timer ??= setInterval(() => {
      // A round that fails (the store down, facts of a shape nothing expected)
      // is logged and the next one tries again: a rejection here would end the hub.
      this.tick().catch((error: unknown) => { this.options.log.error({ err: error }, 'the fleet feed could not compute a round'); });
    }, this.options.tickMs ?? 1000);
    return () => {
      this.subscriptions.delete(subscription);
      if (this.subscriptions.size === 0) this.pause();
    };
  }

  /** Re-reads the stored records at the next tick (another replica's link opened or closed). */
  refreshSoon(): void {
    this.refreshedAt = 0;
  }

  /** Ends every subscription (hub shutdown). */
  close(): void {
    for (const { subscriber } of [...this.subscriptions]) subscriber.close();
    this.subscriptions.clear();
    this.pause();
  }

  /** Clusters the feed holds in memory: the whole fleet while anyone watches, none after. */
  get heldClusters(): number {
    return this.records.length;
  }

  /** No one watches: the timer stops and the fleet's records go (the next subscriber reads them again). */
  private pause(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.records = [];
    this.summaries = new Map();
    this.computed = new Map();
    this.refreshedAt = 0;
  }

  /** One round: recompute, then send each subscriber what changed for it. */
  async tick(): Promise<void> {
    await this.refresh(false);
    // The last subscriber may have left while the store was read: keep nothing for no one.
    if (this.subscriptions.size === 0) {
      this.pause();
      return;
    }
    this.compute();
    const serverTime = this.serverTime();
    for (const subscription of this.subscriptions) {
      const changed: FleetItem[] = [];
      for (const [id, entry] of this.computed) {
        if (subscription.sent.get(id) !== entry.json) changed.push(...this.itemFor(subscription, id, entry));
      }
      const removed = [...subscription.sent.keys()].filter((id) => !this.computed.has(id));
      for (const id of removed) subscription.sent.delete(id);
      if (changed.length > 0) subscription.subscriber.send({ type: 'changed', serverTime, items: changed });
      if (removed.length > 0) subscription.subscriber.send({ type: 'removed', serverTime, ids: removed });
    }
  }

  private serverTime(): string {
    return new Date(this.now()).toISOString();
  }

  /** The item for one subscriber, recorded as sent; none when the caller has no role on the cluster. */
  private itemFor(subscription: Subscription, id: string, entry: Computed): FleetItem[] {
    const role = effectiveRole(subscription.subscriber.principal, id);
    if (role === undefined) return [];
    subscription.sent.set(id, entry.json);
    return [{ ...entry.item, role }];
  }

  private async refresh(force: boolean): Promise<void> {
    if (!force && this.now() - this.refreshedAt < (this.options.refreshMs ?? 5000)) return;
    this.refreshing ??= (async () => {
      try {
        const records = await this.options.store.listClusters();
        const summaries = new Map<string, AddonSummary>();
        for (const record of records) summaries.set(record.id, summarizeAddons(await this.options.store.listAddonStatuses(record.id)));
        this.records = records;
        this.summaries = summaries;
        this.refreshedAt = this.now();
      } finally {
        this.refreshing = undefined;
      }
    })();
    await this.refreshing;
  }

  private compute(): void {
    const computed = new Map<string, Computed>();
    for (const record of this.records) {
      try {
        computed.set(record.id, this.computeOne(record));
      } catch (error) {
        // One cluster that cannot be shown must not hide the others; it keeps what subscribers were last sent.
        const previous = this.computed.get(record.id);
        if (previous) computed.set(record.id, previous);
        this.options.log.error({ err: error, clusterId: record.id }, 'the fleet feed could not compute a cluster');
      }
    }
    this.computed = computed;
  }

  private computeOne(record: ClusterRecord): Computed {
    const { addonSweep, ...view } = this.options.fleet.view(record);
    delete (view as Partial<ClusterView>).lastHeartbeatAgeSeconds;
    const item: Omit<FleetItem, 'role'> = {
      ...view,
      addonSweep: addonSweep === null ? null : {
        lastSweepAt: addonSweep.lastSweepAt, reportedAt: addonSweep.reportedAt,
        intervalSeconds: addonSweep.intervalSeconds, stopped: addonSweep.stopped,
      },
      location: this.options.locator.locate(view.facts),
      addons: this.summaries.get(record.id) ?? EMPTY_SUMMARY,
    };
    return { item, json: JSON.stringify(item) };
  }
}
