// SQLite schema migrations, oldest first. Append new ones; never edit or
// reorder an applied one, because databases in the field have recorded it.
import type { DatabaseSync } from 'node:sqlite';
import { StoreError } from './store.ts';

export interface Migration {
  /** Strictly increasing, starting at 1. */
  version: number;
  /** What the migration does, recorded next to the version. */
  name: string;
  sql: string;
}

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

function checkOrder(migrations: readonly Migration[]): void {
  migrations.forEach((migration, index) => {
    if (migration.version !== index + 1) {
      throw new StoreError(`migration "${migration.name}" has version ${migration.version}, expected ${index + 1}`);
    }
  });
}

/** An older hub must not run against a schema a newer hub has changed. */
function refuseNewerSchema(db: DatabaseSync, migrations: readonly Migration[]): void {
  const row = db.prepare('SELECT MAX(version) AS version FROM schema_migrations').get();
  const applied = typeof row?.version === 'number' ? row.version : 0;
  if (applied > migrations.length) {
    throw new StoreError(
      `database schema is at version ${applied} but this hub knows only up to ${migrations.length}; upgrade the hub`,
    );
  }
}
