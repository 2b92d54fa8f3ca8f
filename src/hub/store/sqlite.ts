// The Store on SQLite through node:sqlite. The driver is synchronous; each
// method runs its statement at once and settles the returned Promise, which
// keeps the interface identical to the networked PostgreSQL store.
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { applyMigrations } from './migrations.ts';
import { describe, makePrivate, returning, toStoreError, type ConflictMessages } from './sqlite-driver.ts';
import { auditListQueryNamed } from './audit-query.ts';
import { SQL, type StatementName } from './sqlite-queries.ts';
import { SQLITE_SESSION_SQL, toGatewaySessionRecord } from './gateway-sessions-sql.ts';
import type { Exposure } from '../../domain/exposure.ts';
import { asExposureExists, exposureExists, exposureParams, toExposure, toExposureSet, type ExposureSet } from './store-exposures.ts';
import {
  integer, mapOptional, required, toAddonRecord, toAddonStatusRecord, toApiTokenRecord, toAuditRecord, toClusterRecord, toClusterSummary,
  toGrantRecord, toUserRecord,
} from './rows.ts';
import {
  type AddonDeletion, type AddonPut, type AddonPutOutcome, type AddonRecord, type AddonStatusRecord, type AddonSweepRecord, type ApiTokenRecord,
  type AuditQuery, type AuditEnd, type AuditRecord, type AuditRow, type AuditState, type AuditSweep, type ClusterRecord, type ClusterScan,
  type ClusterSummary, type ClusterTokenHashes, type ConnectionChange, type GatewaySessionRecord, type GrantRecord, type Heartbeat, type NewApiToken, type NewCluster,
  type Store, StoreError, StoreUnavailableError, type UserRecord,
} from './store.ts';

/** How long a write waits for another connection's lock before failing with SQLITE_BUSY. */
const BUSY_TIMEOUT_MS = 5_000;
export interface SqliteStoreOptions {
  /** A file path, or `:memory:` for a private in-memory database (tests). */
  path: string;
}

/** Opens (creating if needed) the SQLite database at `path`. Call `migrate()` before anything else. */
export function openSqliteStore(options: SqliteStoreOptions): Store {
  return new SqliteStore(openDatabase(options.path));
}

function openDatabase(path: string): DatabaseSync {
  let db: DatabaseSync | undefined;
  try {
    makePrivate(path);
    db = new DatabaseSync(path, { timeout: BUSY_TIMEOUT_MS, enableForeignKeyConstraints: true });
    // WAL lets readers (API requests) run while a writer (heartbeats) commits.
    // An in-memory database keeps its `memory` journal; that is fine.
    db.exec('PRAGMA journal_mode = WAL');
    // With WAL, NORMAL syncs at checkpoints instead of on every commit: a
    // process crash loses nothing, an OS crash at most the last commits. FULL
    // made every audit record an fsync on the hub's event loop, so it is kept
    // for the writes an API answer reports (see #durable).
    db.exec('PRAGMA synchronous = NORMAL');
    return db;
  } catch (error) {
    if (db?.isOpen === true) db.close();
    throw new StoreError(`cannot open the SQLite database at ${path}: ${describe(error)}`, { cause: error });
  }
}

// Statements are prepared once, on first use: the tables they read do not
// exist until migrate() has run.
type Statements = Record<StatementName, StatementSync>;

class SqliteStore implements Store {
  readonly #db: DatabaseSync;
  readonly #ping: StatementSync;
  #statements: Statements | undefined;
  readonly #dynamic = new Map<string, StatementSync>();
  /** Set when a write failed because the database cannot take writes; cleared by the next write that succeeds. */
  #unwritable: StoreUnavailableError | undefined;

  constructor(db: DatabaseSync) {
    this.#db = db;
    this.#ping = db.prepare('SELECT 1');
  }

  migrate(): Promise<void> {
    return this.#write('migrate', () => {
      applyMigrations(this.#db);
    });
  }

  /** Fails while the last write failed for want of disk or I/O: SELECT 1 alone cannot tell. */
  ping(): Promise<void> {
    if (this.#unwritable !== undefined) return Promise.reject(this.#unwritable);
    return this.#run('ping', () => {
      this.#ping.get();
    });
  }

  close(): Promise<void> {
    return this.#run('close', () => {
      if (this.#db.isOpen) this.#db.close();
    });
  }

  createCluster(input: NewCluster): Promise<ClusterRecord> {
    const conflict = {
      primaryKey: `a cluster with id "${input.id}" already exists`,
      unique: `a cluster named "${input.name}" already exists`,
    };
    return this.#durable(`create cluster "${input.name}"`, () => {
      const { id, name, tokenHash, createdAt } = input;
      const row = returning(this.#sql.insertCluster, { id, name, labels: JSON.stringify(input.labels), tokenHash, createdAt });
      return toClusterRecord(required(row));
    }, conflict);
  }

  getCluster(id: string): Promise<ClusterRecord | undefined> {
    return this.#run(`get cluster ${id}`, () => mapOptional(this.#sql.selectCluster.get({ id }), toClusterRecord));
  }

  getClusterByName(name: string): Promise<ClusterRecord | undefined> {
    return this.#run(`get cluster "${name}"`, () =>
      mapOptional(this.#sql.selectClusterByName.get({ name }), toClusterRecord),
    );
  }

  listClusters(): Promise<ClusterRecord[]> {
    return this.#run('list clusters', () => this.#sql.selectClusters.all().map(toClusterRecord));
  }

  async forEachCluster(visit: (cluster: ClusterSummary) => boolean | undefined, scan: ClusterScan = {}): Promise<void> {
    let failure: { error: unknown } | undefined;
    await this.#run('list clusters', () => {
      // Leaving the loop early ends the iterator, which resets the statement.
      for (const row of this.#sql.selectClusterSummaries.iterate({ afterName: scan.afterName ?? '' })) {
        try {
          if (visit(toClusterSummary(row)) === false) return;
        } catch (error) {
          failure = { error };
          return;
        }
      }
    });
    // The visitor's own error, as it threw it: it is not a store failure.
    if (failure) throw failure.error;
  }

  deleteCluster(id: string): Promise<boolean> {
    return this.#durable(`delete cluster ${id}`, () => Number(this.#sql.deleteCluster.run({ id }).changes) > 0);
  }

  updateClusterTokens(id: string, hashes: ClusterTokenHashes): Promise<void> {
    return this.#durable(`update tokens of cluster ${id}`, () => {
      this.#sql.updateClusterTokens.run({ id, tokenHash: hashes.tokenHash, nextTokenHash: hashes.nextTokenHash });
    });
  }

  recordConnection(id: string, change: ConnectionChange): Promise<void> {
    return this.#write(`record connection of cluster ${id}`, () => {
      const statement = change.connected ? this.#sql.recordConnected : this.#sql.recordDisconnected;
      statement.run({ id, at: change.at, agentVersion: change.agentVersion ?? null });
    });
  }

  recordHeartbeat(id: string, beat: Heartbeat): Promise<void> {
    return this.#write(`record heartbeat of cluster ${id}`, () => {
      this.#sql.recordHeartbeat.run({
        id,
        at: beat.at,
        intervalSeconds: beat.intervalSeconds,
        facts: beat.factsJson ?? JSON.stringify(beat.facts),
      });
    });
  }

  recordAddonSweep(id: string, sweep: AddonSweepRecord): Promise<void> {
    return this.#write(`record add-on sweep of cluster ${id}`, () => {
      this.#sql.recordAddonSweep.run({ id, sweep: JSON.stringify(sweep) });
    });
  }

  createUser(input: UserRecord): Promise<UserRecord> {
    const conflict = {
      primaryKey: `a user with id "${input.id}" already exists`,
      unique: `a user named "${input.name}" already exists`,
    };
    return this.#durable(`create user "${input.name}"`, () => {
      const { id, name, createdAt } = input;
      return toUserRecord(required(returning(this.#sql.insertUser, { id, name, createdAt })));
    }, conflict);
  }

  getUser(id: string): Promise<UserRecord | undefined> {
    return this.#run(`get user ${id}`, () => mapOptional(this.#sql.selectUser.get({ id }), toUserRecord));
  }

  getUserByName(name: string): Promise<UserRecord | undefined> {
    return this.#run(`get user "${name}"`, () => mapOptional(this.#sql.selectUserByName.get({ name }), toUserRecord));
  }

  listUsers(): Promise<UserRecord[]> {
    return this.#run('list users', () => this.#sql.selectUsers.all().map(toUserRecord));
  }

  deleteUser(id: string): Promise<boolean> {
    return this.#durable(`delete user ${id}`, () => Number(this.#sql.deleteUser.run({ id }).changes) > 0);
  }

  addGrant(grant: GrantRecord): Promise<void> {
    return this.#durable(`add grant ${grant.role} to user ${grant.userId}`, () => {
      this.#sql.insertGrant.run({ userId: grant.userId, role: grant.role, clusterId: grant.clusterId });
    });
  }

  removeGrant(grant: GrantRecord): Promise<boolean> {
    return this.#durable(`remove grant ${grant.role} from user ${grant.userId}`, () => {
      const { changes } = this.#sql.deleteGrant.run({ userId: grant.userId, role: grant.role, clusterId: grant.clusterId });
      return Number(changes) > 0;
    });
  }

  listGrants(userId: string): Promise<GrantRecord[]> {
    return this.#run(`list grants of user ${userId}`, () => this.#sql.selectGrants.all({ userId }).map(toGrantRecord));
  }

  listAllGrants(): Promise<GrantRecord[]> {
    return this.#run('list all grants', () => this.#sql.selectAllGrants.all().map(toGrantRecord));
  }

  createApiToken(input: NewApiToken): Promise<ApiTokenRecord> {
    const conflict = { primaryKey: `an API token with id "${input.id}" already exists` };
    return this.#durable(`create API token "${input.name}"`, () => {
      const { id, userId, name, tokenHash, createdAt } = input;
      return toApiTokenRecord(required(returning(this.#sql.insertApiToken, { id, userId, name, tokenHash, createdAt })));
    }, conflict);
  }

  getApiToken(id: string): Promise<ApiTokenRecord | undefined> {
    return this.#run(`get API token ${id}`, () => mapOptional(this.#sql.selectApiToken.get({ id }), toApiTokenRecord));
  }

  listApiTokens(userId: string): Promise<ApiTokenRecord[]> {
    return this.#run(`list API tokens of user ${userId}`, () =>
      this.#sql.selectApiTokensOfUser.all({ userId }).map(toApiTokenRecord),
    );
  }

  deleteApiToken(id: string): Promise<boolean> {
    return this.#durable(`delete API token ${id}`, () => Number(this.#sql.deleteApiToken.run({ id }).changes) > 0);
  }

  touchApiToken(id: string, at: string): Promise<void> {
    return this.#write(`touch API token ${id}`, () => {
      this.#sql.touchApiToken.run({ id, at });
    });
  }

  countApiTokens(): Promise<number> {
    return this.#run('count API tokens', () => integer(required(this.#sql.countApiTokens.get()), 'count'));
  }

  putAddon(input: AddonPut): Promise<{ record: AddonRecord; outcome: AddonPutOutcome }> {
    return this.#durable(`put add-on "${input.name}" of cluster ${input.clusterId}`, () => this.#transaction(() => {
      const { clusterId, name, at } = input;
      const params = { clusterId, name, at, spec: JSON.stringify(input.spec) };
      const existing = this.#sql.selectAddon.get({ clusterId, name });
      if (existing === undefined) return { record: toAddonRecord(required(returning(this.#sql.insertAddon, params))), outcome: 'created' };
      const live = existing.deleted_at === null;
      if (live && existing.spec === params.spec) return { record: toAddonRecord(existing), outcome: 'unchanged' };
      return { record: toAddonRecord(required(returning(this.#sql.replaceAddon, params))), outcome: live ? 'updated' : 'created' };
    }));
  }

  getAddon(clusterId: string, name: string): Promise<AddonRecord | undefined> {
    return this.#run(`get add-on "${name}" of cluster ${clusterId}`, () =>
      mapOptional(this.#sql.selectAddon.get({ clusterId, name }), toAddonRecord),
    );
  }

  listAddons(clusterId: string): Promise<AddonRecord[]> {
    return this.#run(`list add-ons of cluster ${clusterId}`, () =>
      this.#sql.selectAddonsOfCluster.all({ clusterId }).map(toAddonRecord),
    );
  }

  deleteAddon(input: AddonDeletion): Promise<AddonRecord | undefined> {
    return this.#durable(`delete add-on "${input.name}" of cluster ${input.clusterId}`, () => this.#transaction(() => {
      const { clusterId, name, at } = input;
      const marked = returning(this.#sql.markAddonDeleted, { clusterId, name, at });
      return mapOptional(marked ?? this.#sql.selectAddon.get({ clusterId, name }), toAddonRecord);
    }));
  }

  putAddonStatus(record: AddonStatusRecord): Promise<boolean> {
    return this.#write(`put the status of add-on "${record.name}" of cluster ${record.clusterId}`, () => {
      const { clusterId, name, reportedAt } = record;
      const { changes } = this.#sql.upsertAddonStatus.run({ clusterId, name, reportedAt, status: JSON.stringify(record.status) });
      return Number(changes) > 0;
    });
  }

  getAddonStatus(clusterId: string, name: string): Promise<AddonStatusRecord | undefined> {
    return this.#run(`get the status of add-on "${name}" of cluster ${clusterId}`, () =>
      mapOptional(this.#sql.selectAddonStatus.get({ clusterId, name }), toAddonStatusRecord),
    );
  }

  listAddonStatuses(clusterId: string): Promise<AddonStatusRecord[]> {
    return this.#run(`list add-on statuses of cluster ${clusterId}`, () =>
      this.#sql.selectAddonStatusesOfCluster.all({ clusterId }).map(toAddonStatusRecord),
    );
  }

  listExposures(clusterId: string): Promise<Exposure[]> {
    return this.#run(`list exposures of cluster ${clusterId}`, () => this.#sql.selectExposures.all({ clusterId }).map(toExposure));
  }

  getExposure(clusterId: string, name: string): Promise<Exposure | undefined> {
    return this.#run(`get exposure "${name}" of cluster ${clusterId}`, () => mapOptional(this.#sql.selectExposure.get({ clusterId, name }), toExposure));
  }

  getExposureSet(clusterId: string): Promise<ExposureSet> {
    return this.#run(`read the exposure set of cluster ${clusterId}`, () => toExposureSet(this.#sql.selectExposureSet.all({ clusterId })));
  }

  putExposure(exposure: Exposure): Promise<Exposure> {
    const conflict = { primaryKey: 'exists', unique: 'exists' };
    return this.#durable(`put exposure "${exposure.name}" of cluster ${exposure.clusterId}`, () => this.#transaction(() => {
      const { clusterId, name } = exposure;
      if (this.#sql.selectExposure.get({ clusterId, name }) !== undefined) throw exposureExists(exposure);
      const row = required(returning(this.#sql.insertExposure, exposureParams(exposure)));
      this.#sql.bumpExposureGeneration.run({ clusterId });
      return toExposure(row);
    }), conflict).catch(asExposureExists(exposure));
  }

  deleteExposure(clusterId: string, name: string): Promise<boolean> {
    return this.#durable(`delete exposure "${name}" of cluster ${clusterId}`, () => this.#transaction(() => {
      const deleted = Number(this.#sql.deleteExposure.run({ clusterId, name }).changes) > 0;
      if (deleted) this.#sql.bumpExposureGeneration.run({ clusterId });
      return deleted;
    }));
  }

  insertAudit(record: AuditRecord): Promise<void> {
    return this.#write('insert an audit row', () => { this.#insertAudit(record, 'complete'); });
  }

  openAudit(record: AuditRecord): Promise<number> {
    return this.#write('open an audit row', () => this.#insertAudit(record, 'in_progress'));
  }

  endAudit(id: number, end: AuditEnd): Promise<void> {
    const { status, bytesIn, bytesOut, durationMs } = end;
    const exit = { exitCode: end.exitCode ?? null, exitReason: end.exitReason ?? null };
    return this.#write('complete an audit row', () => { this.#sql.endAudit.run({ id, status, bytesIn, bytesOut, durationMs, ...exit }); });
  }

  interruptAudit(sweep: AuditSweep): Promise<number> {
    return this.#write('mark open audit rows interrupted', () => {
      // No claims on SQLite: a hub alone marks its rows at start ('all').
      if (sweep.kind === 'unclaimed') return 0;
      const run = sweep.kind === 'all' ? this.#sql.interruptAllAudit.run() : this.#sql.interruptReplicaAudit.run({ replicaId: sweep.replicaId });
      return Number(run.changes);
    });
  }

  #insertAudit(record: AuditRecord, state: AuditState): number {
    // Listed one by one: the driver rejects extra keys a caller's object may carry.
    const { at, userId, userName, clusterId, clusterName, verb, resource, subresource, namespace, name } = record;
    const { path, status, bytesIn, bytesOut, durationMs, command } = record;
    const row = returning(this.#sql.insertAudit, {
      at, userId, userName, clusterId, clusterName, verb, resource, subresource, namespace, name,
      path, status, bytesIn, bytesOut, durationMs, command, replica: record.replica ?? null, state,
    });
    return integer(required(row), 'id');
  }

  listAudit(query: AuditQuery): Promise<AuditRow[]> {
    return this.#run('list audit rows', () => {
      const { sql, params } = auditListQueryNamed(query);
      return this.#prepareCached(sql).all(params).map(toAuditRecord);
    });
  }

  pruneAudit(olderThan: string): Promise<number> {
    return this.#write('prune the audit log', () => Number(this.#sql.pruneAudit.run({ olderThan }).changes));
  }

  createGatewaySession(record: GatewaySessionRecord): Promise<void> {
    return this.#write('create a gateway session', () => {
      this.#transaction(() => {
        this.#prepareCached(SQLITE_SESSION_SQL.insert).run({ ...record });
        this.#prepareCached(SQLITE_SESSION_SQL.trim).run({ tokenId: record.tokenId });
      });
    });
  }

  getGatewaySession(idHash: string): Promise<GatewaySessionRecord | undefined> {
    return this.#run('get a gateway session', () => mapOptional(this.#prepareCached(SQLITE_SESSION_SQL.select).get({ idHash }), toGatewaySessionRecord));
  }

  deleteGatewaySession(idHash: string): Promise<boolean> {
    return this.#write('delete a gateway session', () => Number(this.#prepareCached(SQLITE_SESSION_SQL.delete).run({ idHash }).changes) > 0);
  }

  pruneGatewaySessions(now: string): Promise<number> {
    return this.#write('prune gateway sessions', () => Number(this.#prepareCached(SQLITE_SESSION_SQL.prune).run({ now }).changes));
  }

  /** Statements built per query shape (listAudit), prepared once each. */
  #prepareCached(sql: string): StatementSync {
    let statement = this.#dynamic.get(sql);
    if (statement === undefined) {
      statement = this.#db.prepare(sql);
      this.#dynamic.set(sql, statement);
    }
    return statement;
  }

  get #sql(): Statements {
    if (this.#statements === undefined) {
      try {
        const entries = Object.entries(SQL).map(([name, sql]) => [name, this.#db.prepare(sql)] as const);
        this.#statements = Object.fromEntries(entries) as Statements;
      } catch (error) {
        throw new StoreError(`cannot prepare statements (has migrate() run?): ${describe(error)}`, { cause: error });
      }
    }
    return this.#statements;
  }

  /**
   * Runs `work` in one transaction. BEGIN IMMEDIATE takes the write lock
   * before the first read, so another hub on the same file cannot change the
   * rows between what `work` reads and what it writes.
   */
  #transaction<T>(work: () => T): T {
    this.#db.exec('BEGIN IMMEDIATE');
    try {
      const result = work();
      this.#db.exec('COMMIT');
      return result;
    } catch (error) {
      if (this.#db.isTransaction) this.#db.exec('ROLLBACK');
      throw error;
    }
  }

  /** A write through #run that also records whether the database takes writes, for ping(). */
  #write<T>(action: string, work: () => T, conflict?: ConflictMessages): Promise<T> {
    const result = this.#run(action, work, conflict);
    result.then(() => { this.#unwritable = undefined; }, (error: unknown) => {
      if (error instanceof StoreUnavailableError) this.#unwritable = error;
    });
    return result;
  }

  /**
   * A write an API answer reports as done (a cluster, user, grant, token or
   * add-on spec): committed with synchronous FULL, so the answer comes after
   * the fsync and not even an OS crash loses it. Fleet bookkeeping
   * (heartbeats, connections, statuses, audit rows) stays NORMAL.
   */
  #durable<T>(action: string, work: () => T, conflict?: ConflictMessages): Promise<T> {
    return this.#write(action, () => {
      this.#db.exec('PRAGMA synchronous = FULL');
      try {
        return work();
      } finally {
        this.#db.exec('PRAGMA synchronous = NORMAL');
      }
    }, conflict);
  }

  /** Runs `work` now and settles with its result; the one place driver errors are mapped. */
  #run<T>(action: string, work: () => T, conflict?: ConflictMessages): Promise<T> {
    try {
      return Promise.resolve(work());
    } catch (error) {
      return Promise.reject(toStoreError(action, error, conflict));
    }
  }
}
