// The Store on PostgreSQL through node-postgres, for hubs that run several
// replicas on one database. Same records and rules as the SQLite store
// (sqlite.ts); every commit is durable (PostgreSQL's synchronous_commit is on
// by default), heartbeats and what each new link costs are read and written
// in batches (postgres-batches.ts), and
// a lost database fails calls with STORE_UNAVAILABLE until it is back.
import type pg from 'pg';
import type { Logger } from '../../util/logger.ts';
import { throttledWarnings } from '../../util/logger.ts';
import { auditListQueryPositional } from './audit-query.ts';
import { PostgresBatches, type PostgresBatchStats } from './postgres-batches.ts';
import { postgresClientConfig, postgresPoolConfig, redactUrl, type PostgresConnectionOptions } from './postgres-config.ts';
import {
  createPool, inTransaction, isForeignKeyViolation, STORE_TYPES, toPostgresStoreError, withoutNul,
} from './postgres-driver.ts';
import { applyPostgresMigrations } from './postgres-migrations.ts';
import { PG_SQL } from './postgres-queries.ts';
import { POSTGRES_SESSION_SQL, toGatewaySessionRecord } from './gateway-sessions-sql.ts';
import type { Exposure } from '../../domain/exposure.ts';
import {
  asExposureExists, exposureExists, exposureValues, PG_EXPOSURE_SQL, toExposure, toExposureSet, type ExposureSet,
} from './store-exposures.ts';
import {
  integer, mapOptional, required, toAddonRecord, toAddonStatusRecord, toApiTokenRecord, toAuditRecord, toClusterRecord, toClusterSummary,
  toGrantRecord, toUserRecord, type Row,
} from './rows.ts';
import type { ConflictMessages } from './sqlite-driver.ts';
import {
  type AddonDeletion, type AddonPut, type AddonPutOutcome, type AddonRecord, type AddonStatusRecord, type AddonSweepRecord, type ApiTokenRecord, type AuditQuery,
  type AuditEnd, type AuditRecord, type AuditRow, type AuditState, type AuditSweep, type ClusterRecord, type ClusterScan, type ClusterSummary, type ClusterTokenHashes, type ConnectionChange, type GatewaySessionRecord, type GrantRecord, type Heartbeat,
  type NewApiToken, type NewCluster, type Store, StoreUnavailableError, type UserRecord,
} from './store.ts';

/** Rows forEachCluster reads per round trip, so a fleet list never holds the whole table. */
const CURSOR_BATCH_ROWS = 500;
/** The most rows a caller may ask forEachCluster to read per round trip. */
const MAX_CURSOR_BATCH_ROWS = 5000;

function batchRowsOf(scan: ClusterScan): number {
  const asked = scan.batchRows;
  return asked !== undefined && Number.isInteger(asked) && asked > 0 ? Math.min(asked, MAX_CURSOR_BATCH_ROWS) : CURSOR_BATCH_ROWS;
}

/** A database error warned about at most this often (an outage makes one per call). */
const WARN_INTERVAL_MS = 10_000;

export interface PostgresStoreOptions extends PostgresConnectionOptions {
  /** Where failures of idle connections are warned about (at most one line per 10 s). */
  log: Logger;
}

/** The pool's and the batch queues' state, for metrics. */
export interface PostgresStoreStats extends PostgresBatchStats {
  pool: { total: number; idle: number; waiting: number };
}

/**
 * Opens a pool on the database at `url` (no connection is made yet; a bad URL
 * or an unreadable password file throws a StoreError now). Call `migrate()`
 * before anything else.
 */
export function openPostgresStore(options: PostgresStoreOptions): PostgresStore {
  return new PostgresStore(options);
}

export class PostgresStore implements Store {
  /**
   * The store's pool, for other users of the same database (replica
   * coordination): borrow connections with `pool.connect()` and release them.
   * Closed by close().
   */
  readonly pool: pg.Pool;
  /**
   * The settings of the store's connections (URL, password file, timeouts),
   * for a dedicated connection outside the pool, e.g. one that LISTENs:
   * `new pg.Client(store.clientConfig)`.
   */
  readonly clientConfig: pg.ClientConfig;
  readonly #where: string;
  readonly #batches: PostgresBatches;
  /**
   * One connection of its own for ping() (readiness): behind a pool that is
   * busy with a flood of new links, a ping would wait its turn past the load
   * balancer's check timeout, and busy replicas would all be taken out at once.
   */
  readonly #healthPool: pg.Pool;
  /** The ping in flight: checks arriving together share it. */
  #ping: Promise<void> | undefined;
  /** Set when a write failed for a full disk; cleared by the next write that succeeds. SELECT 1 alone cannot tell. */
  #full: StoreUnavailableError | undefined;

  constructor(options: PostgresStoreOptions) {
    this.#where = redactUrl(options.url);
    this.clientConfig = { ...postgresClientConfig(options), types: STORE_TYPES };
    this.pool = createPool(postgresPoolConfig(options), throttledWarnings(options.log, WARN_INTERVAL_MS), this.#where);
    this.#batches = new PostgresBatches(this.pool);
    this.#healthPool = createPool({ ...postgresPoolConfig(options), max: 1 }, throttledWarnings(options.log, WARN_INTERVAL_MS), this.#where);
  }

  stats(): PostgresStoreStats {
    const { totalCount: total, idleCount: idle, waitingCount: waiting } = this.pool;
    return { pool: { total, idle, waiting }, ...this.#batches.stats() };
  }

  migrate(): Promise<void> {
    return this.#run('migrate', () => applyPostgresMigrations(this.clientConfig));
  }

  ping(): Promise<void> {
    if (this.#full !== undefined) return Promise.reject(this.#full);
    this.#ping ??= this.#run('ping', async () => { await this.#healthPool.query('SELECT 1'); }).finally(() => { this.#ping = undefined; });
    return this.#ping;
  }

  /** Runs the batches queued, then closes the pool. */
  async close(): Promise<void> {
    await this.#batches.close();
    for (const pool of [this.pool, this.#healthPool]) if (!pool.ended && !pool.ending) await pool.end();
  }

  createCluster(input: NewCluster): Promise<ClusterRecord> {
    const conflict = {
      primaryKey: `a cluster with id "${input.id}" already exists`,
      unique: `a cluster named "${input.name}" already exists`,
    };
    const { id, name, tokenHash, createdAt } = input;
    return this.#write(`create cluster "${name}"`, async () =>
      toClusterRecord(required(await this.#first(PG_SQL.insertCluster, [id, name, JSON.stringify(input.labels), tokenHash, createdAt]))), conflict);
  }

  getCluster(id: string): Promise<ClusterRecord | undefined> {
    return this.#run(`get cluster ${id}`, async () => mapOptional(await this.#batches.cluster(id), toClusterRecord));
  }

  getClusterByName(name: string): Promise<ClusterRecord | undefined> {
    return this.#run(`get cluster "${name}"`, async () => mapOptional(await this.#first(PG_SQL.selectClusterByName, [name]), toClusterRecord));
  }

  listClusters(): Promise<ClusterRecord[]> {
    return this.#run('list clusters', async () => (await this.#rows(PG_SQL.selectClusters, [])).map(toClusterRecord));
  }

  /**
   * Keyset batches, each its own `WHERE name > $1 ORDER BY name LIMIT $2`:
   * the planner walks the name index and stops, where one cursor over the
   * rest of the fleet had it sort every later cluster first (an on-disk
   * merge at 6,000 clusters), and no connection is held between batches.
   * Each batch is read at its own moment, as pages of the list are anyway.
   */
  async forEachCluster(visit: (cluster: ClusterSummary) => boolean | undefined, scan: ClusterScan = {}): Promise<void> {
    let batchRows = batchRowsOf(scan);
    let after = scan.afterName ?? '';
    for (;;) {
      const limit = batchRows;
      const rows = await this.#run('list clusters', () => this.#rows(PG_SQL.selectClusterSummaries, [after, limit]));
      // The visitor's own error is thrown as it threw it: it is not a store failure.
      for (const row of rows) if (visit(toClusterSummary(row)) === false) return;
      const last = rows.at(-1);
      if (rows.length < limit || last === undefined) return;
      after = String(last.name);
      // A visitor that skips most rows (a user with roles on few clusters) must not cost a round trip per page entry.
      batchRows = Math.min(batchRows * 2, MAX_CURSOR_BATCH_ROWS);
    }
  }

  deleteCluster(id: string): Promise<boolean> {
    return this.#write(`delete cluster ${id}`, async () => (await this.#count(PG_SQL.deleteCluster, [id])) > 0);
  }

  updateClusterTokens(id: string, hashes: ClusterTokenHashes): Promise<void> {
    return this.#write(`update tokens of cluster ${id}`, async () => {
      await this.#count(PG_SQL.updateClusterTokens, [id, hashes.tokenHash, hashes.nextTokenHash]);
    });
  }

  recordConnection(id: string, change: ConnectionChange): Promise<void> {
    return this.#write(`record connection of cluster ${id}`, () => this.#batches.connection(id, change));
  }

  /** Queued and written with other clusters' heartbeats (see postgres-batches.ts); resolves once committed. */
  recordHeartbeat(id: string, beat: Heartbeat): Promise<void> {
    return this.#write(`record heartbeat of cluster ${id}`, () => this.#batches.heartbeats.add(id, beat));
  }

  recordAddonSweep(id: string, sweep: AddonSweepRecord): Promise<void> {
    return this.#write(`record add-on sweep of cluster ${id}`, () => this.#batches.sweep(id, sweep));
  }

  createUser(input: UserRecord): Promise<UserRecord> {
    const conflict = {
      primaryKey: `a user with id "${input.id}" already exists`,
      unique: `a user named "${input.name}" already exists`,
    };
    return this.#write(`create user "${input.name}"`, async () =>
      toUserRecord(required(await this.#first(PG_SQL.insertUser, [input.id, input.name, input.createdAt]))), conflict);
  }

  getUser(id: string): Promise<UserRecord | undefined> {
    return this.#run(`get user ${id}`, async () => mapOptional(await this.#first(PG_SQL.selectUser, [id]), toUserRecord));
  }

  getUserByName(name: string): Promise<UserRecord | undefined> {
    return this.#run(`get user "${name}"`, async () => mapOptional(await this.#first(PG_SQL.selectUserByName, [name]), toUserRecord));
  }

  listUsers(): Promise<UserRecord[]> {
    return this.#run('list users', async () => (await this.#rows(PG_SQL.selectUsers, [])).map(toUserRecord));
  }

  deleteUser(id: string): Promise<boolean> {
    return this.#write(`delete user ${id}`, async () => (await this.#count(PG_SQL.deleteUser, [id])) > 0);
  }

  addGrant(grant: GrantRecord): Promise<void> {
    return this.#write(`add grant ${grant.role} to user ${grant.userId}`, async () => {
      await this.#count(PG_SQL.insertGrant, [grant.userId, grant.role, grant.clusterId]);
    });
  }

  removeGrant(grant: GrantRecord): Promise<boolean> {
    return this.#write(`remove grant ${grant.role} from user ${grant.userId}`, async () =>
      (await this.#count(PG_SQL.deleteGrant, [grant.userId, grant.role, grant.clusterId])) > 0);
  }

  listGrants(userId: string): Promise<GrantRecord[]> {
    return this.#run(`list grants of user ${userId}`, async () => (await this.#rows(PG_SQL.selectGrants, [userId])).map(toGrantRecord));
  }

  listAllGrants(): Promise<GrantRecord[]> {
    return this.#run('list all grants', async () => (await this.#rows(PG_SQL.selectAllGrants, [])).map(toGrantRecord));
  }

  createApiToken(input: NewApiToken): Promise<ApiTokenRecord> {
    const conflict = { primaryKey: `an API token with id "${input.id}" already exists` };
    const { id, userId, name, tokenHash, createdAt } = input;
    return this.#write(`create API token "${name}"`, async () =>
      toApiTokenRecord(required(await this.#first(PG_SQL.insertApiToken, [id, userId, name, tokenHash, createdAt]))), conflict);
  }

  getApiToken(id: string): Promise<ApiTokenRecord | undefined> {
    return this.#run(`get API token ${id}`, async () => mapOptional(await this.#first(PG_SQL.selectApiToken, [id]), toApiTokenRecord));
  }

  listApiTokens(userId: string): Promise<ApiTokenRecord[]> {
    return this.#run(`list API tokens of user ${userId}`, async () =>
      (await this.#rows(PG_SQL.selectApiTokensOfUser, [userId])).map(toApiTokenRecord));
  }

  deleteApiToken(id: string): Promise<boolean> {
    return this.#write(`delete API token ${id}`, async () => (await this.#count(PG_SQL.deleteApiToken, [id])) > 0);
  }

  touchApiToken(id: string, at: string): Promise<void> {
    return this.#write(`touch API token ${id}`, async () => { await this.#count(PG_SQL.touchApiToken, [id, at]); });
  }

  countApiTokens(): Promise<number> {
    return this.#run('count API tokens', async () => integer(required(await this.#first(PG_SQL.countApiTokens, [])), 'count'));
  }

  /**
   * In one transaction: the row is locked (FOR UPDATE) before it is compared,
   * and a create that another replica won meanwhile (the insert does nothing)
   * continues as a replace of its row.
   */
  putAddon(input: AddonPut): Promise<{ record: AddonRecord; outcome: AddonPutOutcome }> {
    const { clusterId, name, at } = input;
    const spec = JSON.stringify(input.spec);
    return this.#write(`put add-on "${name}" of cluster ${clusterId}`, () => inTransaction(this.pool, async (client) => {
      const first = async (sql: string, values: unknown[]): Promise<Row | undefined> => (await client.query<Row>(sql, values)).rows[0];
      let existing = await first(PG_SQL.selectAddonForUpdate, [clusterId, name]);
      if (existing === undefined) {
        const inserted = await first(PG_SQL.insertAddon, [clusterId, name, spec, at]);
        if (inserted !== undefined) return { record: toAddonRecord(inserted), outcome: 'created' };
        existing = required(await first(PG_SQL.selectAddonForUpdate, [clusterId, name]));
      }
      const live = existing.deleted_at === null;
      if (live && existing.spec === spec) return { record: toAddonRecord(existing), outcome: 'unchanged' };
      const replaced = required(await first(PG_SQL.replaceAddon, [clusterId, name, spec, at]));
      return { record: toAddonRecord(replaced), outcome: live ? 'updated' : 'created' };
    }));
  }

  getAddon(clusterId: string, name: string): Promise<AddonRecord | undefined> {
    return this.#run(`get add-on "${name}" of cluster ${clusterId}`, async () =>
      mapOptional(await this.#first(PG_SQL.selectAddon, [clusterId, name]), toAddonRecord));
  }

  listAddons(clusterId: string): Promise<AddonRecord[]> {
    return this.#run(`list add-ons of cluster ${clusterId}`, async () =>
      (await this.#batches.addons(clusterId)).map(toAddonRecord));
  }

  deleteAddon(input: AddonDeletion): Promise<AddonRecord | undefined> {
    const { clusterId, name, at } = input;
    return this.#write(`delete add-on "${name}" of cluster ${clusterId}`, async () =>
      mapOptional(await this.#first(PG_SQL.deleteAddon, [clusterId, name, at]), toAddonRecord));
  }

  putAddonStatus(record: AddonStatusRecord): Promise<boolean> {
    const { clusterId, name, reportedAt } = record;
    return this.#write(`put the status of add-on "${name}" of cluster ${clusterId}`, async () => {
      try {
        return (await this.#count(PG_SQL.upsertAddonStatus, [clusterId, name, JSON.stringify(record.status), reportedAt])) > 0;
      } catch (error) {
        // The add-on went (with its cluster, on another replica) between the check and the insert: as if it was never there.
        if (isForeignKeyViolation(error)) return false;
        throw error;
      }
    });
  }

  getAddonStatus(clusterId: string, name: string): Promise<AddonStatusRecord | undefined> {
    return this.#run(`get the status of add-on "${name}" of cluster ${clusterId}`, async () =>
      mapOptional(await this.#first(PG_SQL.selectAddonStatus, [clusterId, name]), toAddonStatusRecord));
  }

  listAddonStatuses(clusterId: string): Promise<AddonStatusRecord[]> {
    return this.#run(`list add-on statuses of cluster ${clusterId}`, async () =>
      (await this.#rows(PG_SQL.selectAddonStatusesOfCluster, [clusterId])).map(toAddonStatusRecord));
  }

  listExposures(clusterId: string): Promise<Exposure[]> {
    return this.#run(`list exposures of cluster ${clusterId}`, async () => (await this.#rows(PG_EXPOSURE_SQL.selectExposures, [clusterId])).map(toExposure));
  }

  getExposure(clusterId: string, name: string): Promise<Exposure | undefined> {
    return this.#run(`get exposure "${name}" of cluster ${clusterId}`, async () =>
      mapOptional(await this.#first(PG_EXPOSURE_SQL.selectExposure, [clusterId, name]), toExposure));
  }

  getExposureSet(clusterId: string): Promise<ExposureSet> {
    return this.#run(`read the exposure set of cluster ${clusterId}`, async () => toExposureSet(await this.#batches.exposureSet(clusterId)));
  }

  /** The insert and the generation in one transaction; a name another replica took meanwhile fails at the key. */
  putExposure(exposure: Exposure): Promise<Exposure> {
    const conflict = { primaryKey: 'exists', unique: 'exists' };
    return this.#write(`put exposure "${exposure.name}" of cluster ${exposure.clusterId}`, () => inTransaction(this.pool, async (client) => {
      const { clusterId, name } = exposure;
      if ((await client.query(PG_EXPOSURE_SQL.selectExposure, [clusterId, name])).rowCount !== 0) throw exposureExists(exposure);
      const row = required((await client.query<Row>(PG_EXPOSURE_SQL.insertExposure, exposureValues(exposure))).rows[0]);
      await client.query(PG_EXPOSURE_SQL.bumpExposureGeneration, [clusterId]);
      return toExposure(row);
    }), conflict).catch(asExposureExists(exposure));
  }

  deleteExposure(clusterId: string, name: string): Promise<boolean> {
    return this.#write(`delete exposure "${name}" of cluster ${clusterId}`, () => inTransaction(this.pool, async (client) => {
      const deleted = ((await client.query(PG_EXPOSURE_SQL.deleteExposure, [clusterId, name])).rowCount ?? 0) > 0;
      if (deleted) await client.query(PG_EXPOSURE_SQL.bumpExposureGeneration, [clusterId]);
      return deleted;
    }));
  }

  insertAudit(record: AuditRecord): Promise<void> {
    return this.#write('insert an audit row', async () => { await this.#insertAudit(record, 'complete'); });
  }

  openAudit(record: AuditRecord): Promise<number> {
    return this.#write('open an audit row', () => this.#insertAudit(record, 'in_progress'));
  }

  endAudit(id: number, end: AuditEnd): Promise<void> {
    const values = [id, end.status, end.bytesIn, end.bytesOut, end.durationMs, end.exitCode ?? null, withoutNul(end.exitReason ?? null)];
    return this.#write('complete an audit row', async () => { await this.#count(PG_SQL.endAudit, values); });
  }

  interruptAudit(sweep: AuditSweep): Promise<number> {
    return this.#write('mark open audit rows interrupted', () => {
      if (sweep.kind === 'all') return this.#count(PG_SQL.interruptAllAudit, []);
      if (sweep.kind === 'replica') return this.#count(PG_SQL.interruptReplicaAudit, [sweep.replicaId]);
      return this.#count(PG_SQL.interruptUnclaimedAudit, []);
    });
  }

  async #insertAudit(record: AuditRecord, state: AuditState): Promise<number> {
    const { at, userId, userName, clusterId, clusterName, verb, resource, subresource, namespace, name } = record;
    const { path, status, bytesIn, bytesOut, durationMs, command } = record;
    const values = [at, userId, userName, clusterId, clusterName, verb, resource, subresource, namespace, name,
      path, status, bytesIn, bytesOut, durationMs, command, record.replica ?? null, state].map(withoutNul);
    return integer(required(await this.#first(PG_SQL.insertAudit, values)), 'id');
  }

  listAudit(query: AuditQuery): Promise<AuditRow[]> {
    const { sql, values } = auditListQueryPositional(query);
    return this.#run('list audit rows', async () => (await this.#rows(sql, values)).map(toAuditRecord));
  }

  pruneAudit(olderThan: string): Promise<number> {
    return this.#write('prune the audit log', () => this.#count(PG_SQL.pruneAudit, [olderThan]));
  }

  createGatewaySession(record: GatewaySessionRecord): Promise<void> {
    const { idHash, userId, tokenId, createdAt, expiresAt } = record;
    return this.#write('create a gateway session', () => inTransaction(this.pool, async (client) => {
      await client.query(POSTGRES_SESSION_SQL.insert, [idHash, userId, tokenId, createdAt, expiresAt]);
      await client.query(POSTGRES_SESSION_SQL.trim, [tokenId]);
    }));
  }

  getGatewaySession(idHash: string): Promise<GatewaySessionRecord | undefined> {
    return this.#run('get a gateway session', async () => mapOptional(await this.#first(POSTGRES_SESSION_SQL.select, [idHash]), toGatewaySessionRecord));
  }

  deleteGatewaySession(idHash: string): Promise<boolean> {
    return this.#write('delete a gateway session', async () => (await this.#count(POSTGRES_SESSION_SQL.delete, [idHash])) > 0);
  }

  pruneGatewaySessions(now: string): Promise<number> {
    return this.#write('prune gateway sessions', () => this.#count(POSTGRES_SESSION_SQL.prune, [now]));
  }

  async #rows(sql: string, values: unknown[]): Promise<Row[]> {
    return (await this.pool.query<Row>(sql, values)).rows;
  }

  async #first(sql: string, values: unknown[]): Promise<Row | undefined> {
    return (await this.#rows(sql, values))[0];
  }

  async #count(sql: string, values: unknown[]): Promise<number> {
    return (await this.pool.query(sql, values)).rowCount ?? 0;
  }

  /** A write: like #run, and a full disk is remembered for ping(). */
  #write<T>(action: string, work: () => Promise<T>, conflict?: ConflictMessages): Promise<T> {
    const result = this.#run(action, work, conflict);
    result.then(() => { this.#full = undefined; }, (error: unknown) => {
      if (error instanceof StoreUnavailableError && error.code === 'STORE_FULL') this.#full = error;
    });
    return result;
  }

  /** Runs `work`; the one place driver errors are mapped. */
  async #run<T>(action: string, work: () => Promise<T>, conflict?: ConflictMessages): Promise<T> {
    try {
      return await work();
    } catch (error) {
      throw toPostgresStoreError(action, error, conflict, this.#where);
    }
  }
}

