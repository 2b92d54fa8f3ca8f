// Moving a hub from SQLite to PostgreSQL: every row of the SQLite database
// copied into an empty, migrated PostgreSQL database in one transaction, ids,
// token hashes, add-on and exposure generations as they are, so agents' cluster tokens,
// users' API tokens and the audit log carry over. `uplink hub migrate-store`
// runs it.
import { existsSync } from 'node:fs';
import { DatabaseSync, type SQLOutputValue } from 'node:sqlite';
import type pg from 'pg';
import { applyMigrations } from './migrations.ts';
import type { PostgresStore } from './postgres.ts';
import { inTransaction, withoutNul } from './postgres-driver.ts';
import { StoreError } from './store.ts';

/** Rows per INSERT: bounded memory for an audit log of millions of rows, few round trips. */
const BATCH_ROWS = 1_000;

/**
 * The tables in foreign-key order, each column with the PostgreSQL type its
 * array parameter is cast to. The same names on both sides (migrations.ts,
 * postgres-migrations.ts).
 */
const TABLES = [
  ['clusters', {
    id: 'text', name: 'text', labels: 'json', token_hash: 'text', next_token_hash: 'text', created_at: 'timestamptz',
    agent_version: 'text', connected_at: 'timestamptz', disconnected_at: 'timestamptz', last_heartbeat_at: 'timestamptz',
    heartbeat_interval_seconds: 'double precision', facts: 'json', addon_sweep: 'json',
  }],
  ['users', { id: 'text', name: 'text', created_at: 'timestamptz' }],
  ['grants', { user_id: 'text', role: 'text', cluster_id: 'text' }],
  ['api_tokens', { id: 'text', user_id: 'text', name: 'text', token_hash: 'text', created_at: 'timestamptz', last_used_at: 'timestamptz' }],
  ['addons', {
    cluster_id: 'text', name: 'text', spec: 'json', generation: 'integer', created_at: 'timestamptz', updated_at: 'timestamptz', deleted_at: 'timestamptz',
  }],
  ['addon_status', { cluster_id: 'text', name: 'text', status: 'json', reported_at: 'timestamptz' }],
  ['exposures', {
    cluster_id: 'text', name: 'text', id: 'text', namespace: 'text', service: 'text', port: 'text', min_role: 'text', created_by: 'text', created_at: 'timestamptz',
  }],
  ['exposure_generations', { cluster_id: 'text', generation: 'integer' }],
  ['audit_log', {
    id: 'bigint', at: 'timestamptz', user_id: 'text', user_name: 'text', cluster_id: 'text', cluster_name: 'text', verb: 'text', resource: 'text',
    subresource: 'text', namespace: 'text', name: 'text', path: 'text', status: 'integer', bytes_in: 'bigint', bytes_out: 'bigint',
    duration_ms: 'double precision', command: 'text', state: 'text', replica_id: 'text', exit_code: 'integer', exit_reason: 'text',
  }],
] as const satisfies readonly (readonly [string, Record<string, string>])[];

export type CopiedTable = (typeof TABLES)[number][0];

/** Rows copied, by table, in copy order. */
export type CopyCounts = Record<CopiedTable, number>;

export interface CopyToPostgresOptions {
  /** The SQLite database file (the hub's `<data-dir>/hub.db`). Stop the hub first. */
  sqlitePath: string;
  /** The target; migrated here, and refused unless every table is empty. */
  target: PostgresStore;
}

/**
 * Copies every row. The SQLite file is first brought to the current schema,
 * as a hub does at start, then read in one transaction (a consistent
 * snapshot); the PostgreSQL side is written in one transaction with its
 * tables locked against writers, so it ends with all rows or none.
 */
export async function copySqliteToPostgres(options: CopyToPostgresOptions): Promise<CopyCounts> {
  if (!existsSync(options.sqlitePath)) throw new StoreError(`no SQLite database at ${options.sqlitePath}`);
  const source = new DatabaseSync(options.sqlitePath, { enableForeignKeyConstraints: true });
  try {
    applyMigrations(source);
    await options.target.migrate();
    source.exec('BEGIN');
    return await inTransaction(options.target.pool, async (client) => {
      await client.query(`LOCK TABLE ${TABLES.map(([table]) => table).join(', ')} IN EXCLUSIVE MODE`);
      await refuseNonEmpty(client);
      const counts: Partial<CopyCounts> = {};
      for (const [table, columns] of TABLES) counts[table] = await copyTable(source, client, table, columns);
      // Later audit rows continue after the copied ids.
      await client.query("SELECT setval(pg_get_serial_sequence('audit_log', 'id'), COALESCE(MAX(id), 0) + 1, false) FROM audit_log");
      return counts as CopyCounts;
    });
  } finally {
    if (source.isTransaction) source.exec('ROLLBACK');
    source.close();
  }
}

async function refuseNonEmpty(client: pg.PoolClient): Promise<void> {
  const checks = TABLES.map(([table]) => `(SELECT COUNT(*) FROM ${table})::int AS ${table}`).join(', ');
  const { rows } = await client.query<Record<string, number>>(`SELECT ${checks}`);
  const held = Object.entries(rows[0] ?? {}).filter(([, count]) => count > 0).map(([table, count]) => `${count} in ${table}`);
  if (held.length > 0) throw new StoreError(`the PostgreSQL database is not empty (${held.join(', ')}); copy into an empty database`);
}

async function copyTable(source: DatabaseSync, client: pg.PoolClient, table: string, columns: Record<string, string>): Promise<number> {
  const names = Object.keys(columns);
  const casts = Object.values(columns).map((type, i) => `$${i + 1}::${type}[]`);
  const insert = `INSERT INTO ${table} (${names.join(', ')}) SELECT * FROM unnest(${casts.join(', ')})`;
  let batch: SQLOutputValue[][] = names.map(() => []);
  let copied = 0;
  const flush = async (): Promise<void> => {
    if (batch[0]?.length === 0) return;
    try {
      await client.query(insert, batch);
    } catch (error) {
      throw new StoreError(`copying ${table} failed: ${(error as Error).message}`, { cause: error });
    }
    batch = names.map(() => []);
  };
  for (const row of source.prepare(`SELECT ${names.join(', ')} FROM ${table} ORDER BY rowid`).iterate()) {
    names.forEach((name, i) => { batch[i]?.push(withoutNul(row[name] ?? null)); });
    copied += 1;
    if (copied % BATCH_ROWS === 0) await flush();
  }
  await flush();
  return copied;
}

