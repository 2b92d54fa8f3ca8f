// The PostgreSQL store's calls that come in floods, each gathered into one
// statement per batch (see keyed-batcher.ts): heartbeats (every agent every
// 15 s), and what each new link costs (the token check's cluster read, the
// connection record, the add-ons and exposures to push, the sweep report) — a replica's
// failover sends thousands of agents to the survivors within seconds, and
// one round trip per call would saturate their pools.
import type pg from 'pg';
import { KeyedBatcher, type KeyedBatcherStats } from './keyed-batcher.ts';
import { PG_BATCH_SQL } from './postgres-queries.ts';
import { PG_EXPOSURE_SQL } from './store-exposures.ts';
import type { Row } from './rows.ts';
import type { AddonSweepRecord, ConnectionChange, Heartbeat } from './store.ts';

/** Heartbeats arriving within this window go to the database in one statement. */
const HEARTBEAT_WINDOW_MS = 250;
/** Clusters in one statement at most (array parameters, whatever the count). */
const MAX_BATCH = 1_000;
/** Heartbeats waiting beyond this are refused: two full rounds of a 10,000-agent fleet. */
const HEARTBEAT_MAX_QUEUED = 20_000;
/** Other calls waiting beyond this are refused: a whole fleet linking at once. */
const MAX_QUEUED = 20_000;
/**
 * Reads run as soon as one may start (no window: a lone call is not
 * delayed), two batches at a time; calls arriving meanwhile gather.
 */
const READS_IN_FLIGHT = 2;
/** Writes other than heartbeats wait this long for others: a little, as they answer agents. */
const WRITE_WINDOW_MS = 5;

/** A connection change as it is batched: both times, so a link and its end in one batch keep both. */
interface ConnectionTimes {
  connectedAt: string | null;
  disconnectedAt: string | null;
  agentVersion: string | null;
}

/** The batch queues' state, for metrics. */
export interface PostgresBatchStats {
  heartbeats: KeyedBatcherStats;
  /** The other queues (cluster reads, connection records, add-on reads, sweep reports), summed. */
  links: KeyedBatcherStats;
}

export class PostgresBatches {
  readonly #pool: pg.Pool;
  readonly heartbeats: KeyedBatcher<Heartbeat>;
  readonly #clusters: KeyedBatcher<null, Row>;
  readonly #connections: KeyedBatcher<ConnectionTimes>;
  readonly #addons: KeyedBatcher<null, Row[]>;
  readonly #exposureSets: KeyedBatcher<null, Row[]>;
  readonly #sweeps: KeyedBatcher<AddonSweepRecord>;

  constructor(pool: pg.Pool) {
    this.#pool = pool;
    const read = { windowMs: 0, maxBatch: MAX_BATCH, maxQueued: MAX_QUEUED, maxInFlight: READS_IN_FLIGHT };
    const write = { windowMs: WRITE_WINDOW_MS, maxBatch: MAX_BATCH, maxQueued: MAX_QUEUED };
    this.heartbeats = new KeyedBatcher({
      what: 'heartbeats', windowMs: HEARTBEAT_WINDOW_MS, maxBatch: MAX_BATCH, maxQueued: HEARTBEAT_MAX_QUEUED,
      write: (batch) => this.#writeHeartbeats(batch),
    });
    this.#clusters = new KeyedBatcher({ ...read, what: 'cluster reads', write: (batch) => this.#readClusters(batch) });
    this.#connections = new KeyedBatcher({
      ...write, what: 'connection records', write: (batch) => this.#writeConnections(batch),
      merge: (earlier, later) => ({
        connectedAt: later.connectedAt ?? earlier.connectedAt,
        disconnectedAt: later.disconnectedAt ?? earlier.disconnectedAt,
        agentVersion: later.agentVersion ?? earlier.agentVersion,
      }),
    });
    this.#addons = new KeyedBatcher({ ...read, what: 'add-on reads', write: (batch) => this.#readAddons(batch) });
    this.#exposureSets = new KeyedBatcher({
      ...read, what: 'exposure reads', write: async (batch) => groupByCluster((await this.#pool.query<Row>(PG_EXPOSURE_SQL.selectExposureSets, [[...batch.keys()]])).rows),
    });
    this.#sweeps = new KeyedBatcher({ ...write, what: 'sweep reports', write: (batch) => this.#writeSweeps(batch) });
  }

  /** The cluster's row, or undefined. */
  cluster(id: string): Promise<Row | undefined> {
    // No id holds NUL, and PostgreSQL text cannot: it would fail the whole batch, other callers' reads with it.
    return id.includes('\0') ? Promise.resolve(undefined) : this.#clusters.add(id, null);
  }

  /** The cluster's add-ons' rows, by name. */
  async addons(clusterId: string): Promise<Row[]> {
    return clusterId.includes('\0') ? [] : (await this.#addons.add(clusterId, null)) ?? [];
  }

  /** The rows of the cluster's exposure set (store-exposures.ts toExposureSet); none before its first exposure. */
  async exposureSet(clusterId: string): Promise<Row[]> {
    return clusterId.includes('\0') ? [] : (await this.#exposureSets.add(clusterId, null)) ?? [];
  }

  connection(id: string, change: ConnectionChange): Promise<void> {
    const times = change.connected
      ? { connectedAt: change.at, disconnectedAt: null, agentVersion: change.agentVersion ?? null }
      : { connectedAt: null, disconnectedAt: change.at, agentVersion: change.agentVersion ?? null };
    return this.#connections.add(id, times);
  }

  sweep(id: string, sweep: AddonSweepRecord): Promise<void> {
    return this.#sweeps.add(id, sweep);
  }

  stats(): PostgresBatchStats {
    const links = [this.#clusters, this.#connections, this.#addons, this.#exposureSets, this.#sweeps].map((batcher) => batcher.stats());
    const sum = (key: keyof KeyedBatcherStats): number => links.reduce((total, stats) => total + stats[key], 0);
    return { heartbeats: this.heartbeats.stats(), links: { queued: sum('queued'), batches: sum('batches'), written: sum('written'), refused: sum('refused') } };
  }

  /** Runs what is queued and refuses further calls. */
  async close(): Promise<void> {
    await Promise.all([this.heartbeats, this.#clusters, this.#connections, this.#addons, this.#exposureSets, this.#sweeps].map((batcher) => batcher.close()));
  }

  /**
   * Writes update rows in id order, the same order in every replica's
   * batches, so two replicas' batches cannot deadlock.
   */
  async #writeHeartbeats(batch: ReadonlyMap<string, Heartbeat>): Promise<undefined> {
    const ids = [...batch.keys()].sort();
    const beats = ids.map((id) => batch.get(id) as Heartbeat);
    await this.#pool.query(PG_BATCH_SQL.recordHeartbeats, [
      ids, beats.map((b) => b.at), beats.map((b) => b.intervalSeconds), beats.map((b) => b.factsJson ?? JSON.stringify(b.facts)),
    ]);
    return undefined;
  }

  async #writeConnections(batch: ReadonlyMap<string, ConnectionTimes>): Promise<undefined> {
    const ids = [...batch.keys()].sort();
    const changes = ids.map((id) => batch.get(id) as ConnectionTimes);
    await this.#pool.query(PG_BATCH_SQL.recordConnections, [
      ids, changes.map((c) => c.connectedAt), changes.map((c) => c.disconnectedAt), changes.map((c) => c.agentVersion),
    ]);
    return undefined;
  }

  async #writeSweeps(batch: ReadonlyMap<string, AddonSweepRecord>): Promise<undefined> {
    const ids = [...batch.keys()].sort();
    await this.#pool.query(PG_BATCH_SQL.recordAddonSweeps, [ids, ids.map((id) => JSON.stringify(batch.get(id)))]);
    return undefined;
  }

  async #readClusters(batch: ReadonlyMap<string, null>): Promise<Map<string, Row>> {
    const { rows } = await this.#pool.query<Row>(PG_BATCH_SQL.selectClustersById, [[...batch.keys()]]);
    return new Map(rows.map((row) => [String(row.id), row]));
  }

  async #readAddons(batch: ReadonlyMap<string, null>): Promise<Map<string, Row[]>> {
    return groupByCluster((await this.#pool.query<Row>(PG_BATCH_SQL.selectAddonsOfClusters, [[...batch.keys()]])).rows);
  }
}

/** Rows by their cluster_id, in their order. */
function groupByCluster(rows: readonly Row[]): Map<string, Row[]> {
  const byCluster = new Map<string, Row[]>();
  for (const row of rows) {
    const clusterId = String(row.cluster_id);
    const list = byCluster.get(clusterId);
    if (list === undefined) byCluster.set(clusterId, [row]);
    else list.push(row);
  }
  return byCluster;
}
