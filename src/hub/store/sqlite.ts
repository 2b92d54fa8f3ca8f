// The Store on SQLite through node:sqlite. The driver is synchronous; each
// method runs its statement at once and settles the returned Promise, which
// keeps the interface identical to the networked PostgreSQL store.
import { DatabaseSync, type SQLOutputValue, type StatementSync } from 'node:sqlite';
import type { ClusterFacts } from '../../link/protocol.ts';
import { UplinkError } from '../../util/errors.ts';
import { applyMigrations } from './migrations.ts';
import {
  type ApiTokenRecord,
  type ClusterRecord,
  type ClusterTokenHashes,
  type ConnectionChange,
  type Heartbeat,
  type NewApiToken,
  type NewCluster,
  type Store,
  StoreConflictError,
  StoreError,
} from './store.ts';

/** How long a write waits for another connection's lock before failing with SQLITE_BUSY. */
const BUSY_TIMEOUT_MS = 5_000;
/** Extended result codes (https://sqlite.org/rescode.html) that mean "already exists". */
const SQLITE_CONSTRAINT_PRIMARYKEY = 1555;
const SQLITE_CONSTRAINT_UNIQUE = 2067;

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
    db = new DatabaseSync(path, { timeout: BUSY_TIMEOUT_MS, enableForeignKeyConstraints: true });
    // WAL lets readers (API requests) run while a writer (heartbeats) commits.
    // An in-memory database keeps its `memory` journal; that is fine.
    db.exec('PRAGMA journal_mode = WAL');
    return db;
  } catch (error) {
    if (db?.isOpen === true) db.close();
    throw new StoreError(`cannot open the SQLite database at ${path}: ${describe(error)}`, { cause: error });
  }
}

// Every query, by name, bound by named parameters only (objects listing
// exactly the parameters: the driver rejects unknown names). Prepared once, on
// first use: the tables they read do not exist until migrate() has run.
const SQL = {
  insertCluster: `INSERT INTO clusters (id, name, labels, token_hash, created_at)
    VALUES (:id, :name, :labels, :tokenHash, :createdAt) RETURNING *`,
  selectCluster: 'SELECT * FROM clusters WHERE id = :id',
  selectClusterByName: 'SELECT * FROM clusters WHERE name = :name',
  selectClusters: 'SELECT * FROM clusters ORDER BY name',
  deleteCluster: 'DELETE FROM clusters WHERE id = :id',
  updateClusterTokens: `UPDATE clusters SET token_hash = :tokenHash, next_token_hash = :nextTokenHash
    WHERE id = :id`,
  recordConnected: `UPDATE clusters SET connected_at = :at, agent_version = COALESCE(:agentVersion, agent_version)
    WHERE id = :id`,
  recordDisconnected: `UPDATE clusters SET disconnected_at = :at, agent_version = COALESCE(:agentVersion, agent_version)
    WHERE id = :id`,
  recordHeartbeat: `UPDATE clusters SET last_heartbeat_at = :at, heartbeat_interval_seconds = :intervalSeconds,
    facts = :facts WHERE id = :id`,
  insertApiToken: `INSERT INTO api_tokens (id, name, role, token_hash, created_at)
    VALUES (:id, :name, :role, :tokenHash, :createdAt) RETURNING *`,
  selectApiToken: 'SELECT * FROM api_tokens WHERE id = :id',
  touchApiToken: 'UPDATE api_tokens SET last_used_at = :at WHERE id = :id',
  countApiTokens: 'SELECT COUNT(*) AS count FROM api_tokens',
} as const;

type Statements = Record<keyof typeof SQL, StatementSync>;

/** Conflict messages for a write, by which constraint it broke. */
interface ConflictMessages {
  primaryKey: string;
  unique?: string;
}

class SqliteStore implements Store {
  readonly #db: DatabaseSync;
  readonly #ping: StatementSync;
  #statements: Statements | undefined;

  constructor(db: DatabaseSync) {
    this.#db = db;
    this.#ping = db.prepare('SELECT 1');
  }

  migrate(): Promise<void> {
    return this.#run('migrate', () => {
      applyMigrations(this.#db);
    });
  }

  ping(): Promise<void> {
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
    return this.#run(`create cluster "${input.name}"`, () => {
      const { id, name, tokenHash, createdAt } = input;
      const row = this.#sql.insertCluster.get({ id, name, labels: JSON.stringify(input.labels), tokenHash, createdAt });
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

  deleteCluster(id: string): Promise<boolean> {
    return this.#run(`delete cluster ${id}`, () => Number(this.#sql.deleteCluster.run({ id }).changes) > 0);
  }

  updateClusterTokens(id: string, hashes: ClusterTokenHashes): Promise<void> {
    return this.#run(`update tokens of cluster ${id}`, () => {
      this.#sql.updateClusterTokens.run({ id, tokenHash: hashes.tokenHash, nextTokenHash: hashes.nextTokenHash });
    });
  }

  recordConnection(id: string, change: ConnectionChange): Promise<void> {
    return this.#run(`record connection of cluster ${id}`, () => {
      const statement = change.connected ? this.#sql.recordConnected : this.#sql.recordDisconnected;
      statement.run({ id, at: change.at, agentVersion: change.agentVersion ?? null });
    });
  }

  recordHeartbeat(id: string, beat: Heartbeat): Promise<void> {
    return this.#run(`record heartbeat of cluster ${id}`, () => {
      this.#sql.recordHeartbeat.run({
        id,
        at: beat.at,
        intervalSeconds: beat.intervalSeconds,
        facts: JSON.stringify(beat.facts),
      });
    });
  }

  createApiToken(input: NewApiToken): Promise<ApiTokenRecord> {
    const conflict = { primaryKey: `an API token with id "${input.id}" already exists` };
    return this.#run(`create API token "${input.name}"`, () => {
      const { id, name, role, tokenHash, createdAt } = input;
      return toApiTokenRecord(required(this.#sql.insertApiToken.get({ id, name, role, tokenHash, createdAt })));
    }, conflict);
  }

  getApiToken(id: string): Promise<ApiTokenRecord | undefined> {
    return this.#run(`get API token ${id}`, () => mapOptional(this.#sql.selectApiToken.get({ id }), toApiTokenRecord));
  }

  touchApiToken(id: string, at: string): Promise<void> {
    return this.#run(`touch API token ${id}`, () => {
      this.#sql.touchApiToken.run({ id, at });
    });
  }

  countApiTokens(): Promise<number> {
    return this.#run('count API tokens', () => integer(required(this.#sql.countApiTokens.get()), 'count'));
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

  /** Runs `work` now and settles with its result; the one place driver errors are mapped. */
  #run<T>(action: string, work: () => T, conflict?: ConflictMessages): Promise<T> {
    try {
      return Promise.resolve(work());
    } catch (error) {
      return Promise.reject(toStoreError(action, error, conflict));
    }
  }
}

function toStoreError(action: string, error: unknown, conflict: ConflictMessages | undefined): UplinkError {
  if (error instanceof UplinkError) return error;
  const errcode = sqliteErrcode(error);
  const conflictMessage =
    errcode === SQLITE_CONSTRAINT_PRIMARYKEY ? conflict?.primaryKey
    : errcode === SQLITE_CONSTRAINT_UNIQUE ? conflict?.unique
    : undefined;
  if (conflictMessage !== undefined) return new StoreConflictError(conflictMessage, { cause: error });
  return new StoreError(`sqlite store: ${action} failed: ${describe(error)}`, { cause: error });
}

function sqliteErrcode(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null || !('errcode' in error)) return undefined;
  return typeof error.errcode === 'number' ? error.errcode : undefined;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

// Row mapping: the only code that knows column names. JSON columns hold only
// what this store wrote, so their parsed shape is trusted.

type Row = Record<string, SQLOutputValue>;

function toClusterRecord(row: Row): ClusterRecord {
  return {
    id: text(row, 'id'),
    name: text(row, 'name'),
    labels: JSON.parse(text(row, 'labels')) as Record<string, string>,
    tokenHash: text(row, 'token_hash'),
    nextTokenHash: textOrNull(row, 'next_token_hash'),
    createdAt: text(row, 'created_at'),
    agentVersion: textOrNull(row, 'agent_version'),
    connectedAt: textOrNull(row, 'connected_at'),
    disconnectedAt: textOrNull(row, 'disconnected_at'),
    lastHeartbeatAt: textOrNull(row, 'last_heartbeat_at'),
    heartbeatIntervalSeconds: numberOrNull(row, 'heartbeat_interval_seconds'),
    facts: row.facts === null ? null : (JSON.parse(text(row, 'facts')) as ClusterFacts),
  };
}

function toApiTokenRecord(row: Row): ApiTokenRecord {
  return {
    id: text(row, 'id'),
    name: text(row, 'name'),
    role: text(row, 'role'),
    tokenHash: text(row, 'token_hash'),
    createdAt: text(row, 'created_at'),
    lastUsedAt: textOrNull(row, 'last_used_at'),
  };
}

function mapOptional<T, R>(value: T | undefined, map: (value: T) => R): R | undefined {
  return value === undefined ? undefined : map(value);
}

function required(row: Row | undefined): Row {
  if (row === undefined) throw new StoreError('sqlite store: expected a row, the query returned none');
  return row;
}

function text(row: Row, column: string): string {
  const value = row[column];
  if (typeof value !== 'string') throw columnTypeError(column, 'text', value);
  return value;
}

function textOrNull(row: Row, column: string): string | null {
  return row[column] === null ? null : text(row, column);
}

function numberOrNull(row: Row, column: string): number | null {
  const value = row[column];
  if (value === null) return null;
  if (typeof value !== 'number') throw columnTypeError(column, 'a number', value);
  return value;
}

function integer(row: Row, column: string): number {
  const value = numberOrNull(row, column);
  if (value === null || !Number.isInteger(value)) throw columnTypeError(column, 'an integer', value);
  return value;
}

function columnTypeError(column: string, expected: string, value: SQLOutputValue | undefined): StoreError {
  const actual = value === null ? 'null' : typeof value;
  return new StoreError(`sqlite store: column ${column} holds ${actual}, expected ${expected}`);
}
