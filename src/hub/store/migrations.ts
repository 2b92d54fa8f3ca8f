// SQLite schema migrations, oldest first. Append new ones; never edit or
// reorder an applied one, because databases in the field have recorded it.
import type { DatabaseSync } from 'node:sqlite';
import { StoreError } from './store.ts';
import { SQLITE_GATEWAY_SESSIONS_SCHEMA } from './gateway-sessions-sql.ts';

export interface Migration {
  /** Strictly increasing, starting at 1. */
  version: number;
  /** What the migration does, recorded next to the version. */
  name: string;
  sql: string;
}

// Version 2. Each existing API token gets an owner: one user per distinct
// token name, with a fleet-wide grant of the token's old role (every v1 token
// was 'admin'). User ids follow hub/tokens.ts newId: 'u' and 12 chars of
// [a-z0-9]. api_tokens is rebuilt rather than altered because SQLite cannot
// add a NOT NULL foreign key column; the rebuild also drops its role column.
// grants.cluster_id NULL means every cluster; NULLs are distinct in a UNIQUE
// constraint, hence the IFNULL index. audit_log has no foreign keys on
// purpose: its rows outlive the users and clusters they name.
const MIGRATION_2_USERS_AND_AUDIT = `
  CREATE TABLE users (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created_at TEXT NOT NULL
  ) STRICT;
  CREATE UNIQUE INDEX users_name_unique ON users (name);

  CREATE TABLE grants (
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('admin', 'edit', 'view')),
    cluster_id TEXT REFERENCES clusters (id) ON DELETE CASCADE
  ) STRICT;
  CREATE UNIQUE INDEX grants_unique ON grants (user_id, role, IFNULL(cluster_id, ''));
  CREATE INDEX grants_cluster ON grants (cluster_id);

  INSERT INTO users (id, name, created_at)
    SELECT 'u' || lower(hex(randomblob(6))), name, MIN(created_at) FROM api_tokens GROUP BY name;
  INSERT OR IGNORE INTO grants (user_id, role, cluster_id)
    SELECT users.id, api_tokens.role, NULL FROM api_tokens JOIN users ON users.name = api_tokens.name
    WHERE api_tokens.role IN ('admin', 'edit', 'view');

  CREATE TABLE api_tokens_v2 (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    last_used_at TEXT
  ) STRICT;
  INSERT INTO api_tokens_v2 (id, user_id, name, token_hash, created_at, last_used_at)
    SELECT api_tokens.id, users.id, api_tokens.name, api_tokens.token_hash, api_tokens.created_at, api_tokens.last_used_at
    FROM api_tokens JOIN users ON users.name = api_tokens.name;
  DROP TABLE api_tokens;
  ALTER TABLE api_tokens_v2 RENAME TO api_tokens;
  CREATE INDEX api_tokens_user ON api_tokens (user_id);

  CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    user_id TEXT NOT NULL,
    user_name TEXT NOT NULL,
    cluster_id TEXT NOT NULL,
    cluster_name TEXT NOT NULL,
    verb TEXT NOT NULL,
    resource TEXT NOT NULL,
    subresource TEXT,
    namespace TEXT,
    name TEXT,
    path TEXT NOT NULL,
    status INTEGER NOT NULL,
    bytes_in INTEGER NOT NULL,
    bytes_out INTEGER NOT NULL,
    duration_ms REAL NOT NULL,
    command TEXT
  ) STRICT;
  CREATE INDEX audit_log_at ON audit_log (at);
  CREATE INDEX audit_log_cluster_at ON audit_log (cluster_id, at);
  CREATE INDEX audit_log_user_at ON audit_log (user_name, at);
`;

// Version 3. One row per add-on of a cluster, keyed by (cluster, name): the
// spec as JSON text (what parseAddonSpec returned, defaults filled in), a
// generation counted up on every change, and deleted_at for an add-on whose
// desired state is "uninstalled". Rows go with their cluster.
const MIGRATION_3_ADDONS = `
  CREATE TABLE addons (
    cluster_id TEXT NOT NULL REFERENCES clusters (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    spec TEXT NOT NULL,
    generation INTEGER NOT NULL CHECK (generation >= 1),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    deleted_at TEXT,
    PRIMARY KEY (cluster_id, name)
  ) STRICT;
`;

// Version 4. The newest status each add-on's agent reported, as JSON text,
// and when the hub received it. The key doubles as a foreign key to the
// add-on's row: a status exists only beside its add-on (the store refuses
// others), so the table is bounded by the add-ons, and it goes with them and
// through them with the cluster. Rows are replaced, never appended: the
// history an operator sees is Helm's, inside the status.
const MIGRATION_4_ADDON_STATUS = `
  CREATE TABLE addon_status (
    cluster_id TEXT NOT NULL,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    reported_at TEXT NOT NULL,
    PRIMARY KEY (cluster_id, name),
    FOREIGN KEY (cluster_id, name) REFERENCES addons (cluster_id, name) ON DELETE CASCADE
  ) STRICT;
`;

// Version 5. Streams are audited from their start: a row is written
// `in_progress` when a stream is accepted and completed when it ends; rows a
// dead hub left open are marked `interrupted`. Existing rows are complete.
// replica_id names the replica that served a row (NULL on a hub alone). The
// partial index holds only the open rows, which the sweeps read.
const MIGRATION_5_AUDIT_STATE = `
  ALTER TABLE audit_log ADD COLUMN state TEXT NOT NULL DEFAULT 'complete'
    CHECK (state IN ('complete', 'in_progress', 'interrupted'));
  ALTER TABLE audit_log ADD COLUMN replica_id TEXT;
  CREATE INDEX audit_log_in_progress ON audit_log (replica_id, cluster_id) WHERE state = 'in_progress';
`;

// Version 6. The newest add-on sweep report of each cluster's agent, as JSON
// text with when the hub received it: every replica's cluster view reads it,
// and a restarted hub still knows it. One column beside the heartbeat's, so
// the fleet list reads it with the rest of the row.
const MIGRATION_6_ADDON_SWEEP = `
  ALTER TABLE clusters ADD COLUMN addon_sweep TEXT;
`;

// Version 7. The Service gateway's exposures: one published Service port
// per row, unique by (cluster, name), with a random opaque id (what the hub
// sends the agent) unique too. port is text: a number's digits or a port
// name. exposure_generations counts each cluster's changes to the set (one
// per put or delete, in the same transaction), so an agent can tell a newer
// push from an older one. Both go with their cluster.
const MIGRATION_7_EXPOSURES = `
  CREATE TABLE exposures (
    cluster_id TEXT NOT NULL REFERENCES clusters (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    id TEXT NOT NULL UNIQUE,
    namespace TEXT NOT NULL,
    service TEXT NOT NULL,
    port TEXT NOT NULL,
    min_role TEXT NOT NULL CHECK (min_role IN ('admin', 'edit', 'view')),
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (cluster_id, name)
  ) STRICT;
  CREATE TABLE exposure_generations (
    cluster_id TEXT PRIMARY KEY REFERENCES clusters (id) ON DELETE CASCADE,
    generation INTEGER NOT NULL CHECK (generation >= 1)
  ) STRICT;
`;

// Version 9. The exit of an exec, read from the API server's final Status
// when the stream ends: its code, or why there is none. NULL on every other
// row, and on the rows written before.
const MIGRATION_9_AUDIT_EXIT = `
  ALTER TABLE audit_log ADD COLUMN exit_code INTEGER;
  ALTER TABLE audit_log ADD COLUMN exit_reason TEXT;
`;

// STRICT tables make SQLite reject values of the wrong type instead of storing
// them. labels and facts are JSON text; timestamps are ISO 8601 text; the
// heartbeat interval is REAL because tests run agents with sub-second beats.
export const SQLITE_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'clusters and api tokens',
    sql: `
      CREATE TABLE clusters (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        labels TEXT NOT NULL,
        token_hash TEXT NOT NULL,
        next_token_hash TEXT,
        created_at TEXT NOT NULL,
        agent_version TEXT,
        connected_at TEXT,
        disconnected_at TEXT,
        last_heartbeat_at TEXT,
        heartbeat_interval_seconds REAL,
        facts TEXT
      ) STRICT;
      CREATE UNIQUE INDEX clusters_name_unique ON clusters (name);

      CREATE TABLE api_tokens (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        role TEXT NOT NULL,
        token_hash TEXT NOT NULL,
        created_at TEXT NOT NULL,
        last_used_at TEXT
      ) STRICT;
    `,
  },
  {
    version: 2,
    name: 'users, grants, token owners and the audit log',
    sql: MIGRATION_2_USERS_AND_AUDIT,
  },
  {
    version: 3,
    name: 'add-ons',
    sql: MIGRATION_3_ADDONS,
  },
  {
    version: 4,
    name: 'add-on status',
    sql: MIGRATION_4_ADDON_STATUS,
  },
  {
    version: 5,
    name: 'audit rows of streams from their start',
    sql: MIGRATION_5_AUDIT_STATE,
  },
  {
    version: 6,
    name: 'add-on sweep reports',
    sql: MIGRATION_6_ADDON_SWEEP,
  },
  {
    version: 7,
    name: 'Service gateway exposures',
    sql: MIGRATION_7_EXPOSURES,
  },
  {
    // The gateway's browser sessions (gateway-sessions-sql.ts).
    version: 8,
    name: 'gateway sessions',
    sql: SQLITE_GATEWAY_SESSIONS_SCHEMA,
  },
  {
    version: 9,
    name: 'exit codes of execs in the audit log',
    sql: MIGRATION_9_AUDIT_EXIT,
  },
];

const CREATE_MIGRATIONS_TABLE = `
  CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at TEXT NOT NULL
  ) STRICT`;

/**
 * Applies the migrations `db` has not recorded yet, each in its own
 * transaction together with its schema_migrations row. BEGIN IMMEDIATE takes
 * the write lock before the "already applied?" check, so two hubs starting at
 * once on the same file cannot both apply a version.
 */
export function applyMigrations(db: DatabaseSync, migrations: readonly Migration[] = SQLITE_MIGRATIONS): void {
  checkOrder(migrations);
  db.exec(CREATE_MIGRATIONS_TABLE);
  refuseNewerSchema(db, migrations);
  const isApplied = db.prepare('SELECT 1 FROM schema_migrations WHERE version = ?');
  const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
  for (const migration of migrations) {
    db.exec('BEGIN IMMEDIATE');
    try {
      if (isApplied.get(migration.version) === undefined) {
        db.exec(migration.sql);
        record.run(migration.version, migration.name, new Date().toISOString());
      }
      db.exec('COMMIT');
    } catch (error) {
      if (db.isTransaction) db.exec('ROLLBACK');
      throw new StoreError(`migration ${migration.version} (${migration.name}) failed`, { cause: error });
    }
  }
}

/** Throws unless versions run 1, 2, 3, ... in order. */
export function checkOrder(migrations: readonly Migration[]): void {
  migrations.forEach((migration, index) => {
    if (migration.version !== index + 1) {
      throw new StoreError(`migration "${migration.name}" has version ${migration.version}, expected ${index + 1}`);
    }
  });
}

function refuseNewerSchema(db: DatabaseSync, migrations: readonly Migration[]): void {
  const row = db.prepare('SELECT MAX(version) AS version FROM schema_migrations').get();
  checkNotNewer(typeof row?.version === 'number' ? row.version : 0, migrations);
}

/** An older hub must not run against a schema a newer hub has changed. */
export function checkNotNewer(applied: number, migrations: readonly Migration[]): void {
  if (applied > migrations.length) {
    throw new StoreError(
      `database schema is at version ${applied} but this hub knows only up to ${migrations.length}; upgrade the hub`,
    );
  }
}
