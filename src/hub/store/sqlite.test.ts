// SQLite only: the file on disk, its journal mode and the SQLite migrations.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, describe, it } from 'node:test';
import { type NewCluster, openSqliteStore, StoreError } from './index.ts';
import { applyMigrations, SQLITE_MIGRATIONS } from './migrations.ts';

const CREATED_AT = '2026-01-02T03:04:05.000Z';

function newCluster(name: string, id = `c-${name}`): NewCluster {
  return { id, name, labels: { env: 'test' }, tokenHash: `sha256:${'a'.repeat(64)}`, createdAt: CREATED_AT };
}

const tempDir = mkdtempSync(join(tmpdir(), 'uplink-store-'));
after(() => {
  rmSync(tempDir, { recursive: true, force: true });
});

describe('store on a file', () => {
  it('store - keeps data when the file is reopened', async () => {
    const path = join(tempDir, 'reopen.db');
    const first = openSqliteStore({ path });
    await first.migrate();
    await first.createCluster(newCluster('alpha'));
    await first.createUser({ id: 'u1', name: 'ci', createdAt: CREATED_AT });
    await first.createApiToken({ id: 't1', userId: 'u1', name: 'ci', tokenHash: 'sha256:x', createdAt: CREATED_AT });
    await first.close();

    const second = openSqliteStore({ path });
    await second.migrate();
    assert.equal((await second.getClusterByName('alpha'))?.id, 'c-alpha');
    assert.equal(await second.countApiTokens(), 1);
    await second.close();
  });

  it('store - uses WAL and records each migration once', async () => {
    const path = join(tempDir, 'wal.db');
    const store = openSqliteStore({ path });
    await store.migrate();
    await store.migrate();
    await store.close();

    const db = new DatabaseSync(path);
    assert.deepEqual({ ...db.prepare('PRAGMA journal_mode').get() }, { journal_mode: 'wal' });
    const versions = db.prepare('SELECT version FROM schema_migrations ORDER BY version').all();
    assert.deepEqual(versions.map((row) => row.version), SQLITE_MIGRATIONS.map((migration) => migration.version));
    db.close();
  });

  it('store - fails to open a path in a missing directory with a StoreError', () => {
    assert.throws(() => openSqliteStore({ path: join(tempDir, 'missing', 'x.db') }), StoreError);
  });
});

describe('store migrations', () => {
  it('store - rolls back a failing migration and names it', () => {
    const db = new DatabaseSync(':memory:');
    const broken = [...SQLITE_MIGRATIONS, { version: SQLITE_MIGRATIONS.length + 1, name: 'broken', sql: 'CREATE TABLE t (x); NOT SQL' }];
    assert.throws(() => { applyMigrations(db, broken); }, /migration \d+ \(broken\) failed/);
    assert.equal(db.prepare("SELECT name FROM sqlite_master WHERE name = 't'").get(), undefined);
    assert.equal(db.prepare('SELECT COUNT(*) AS n FROM schema_migrations').get()?.n, SQLITE_MIGRATIONS.length);
    db.close();
  });

  it('store - refuses a schema newer than the migrations it knows', () => {
    const db = new DatabaseSync(':memory:');
    applyMigrations(db);
    db.prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, 'future', '')").run(SQLITE_MIGRATIONS.length + 1);
    assert.throws(() => { applyMigrations(db); }, /newer|upgrade the hub/);
    db.close();
  });

  it('store - refuses a migration list out of order', () => {
    const db = new DatabaseSync(':memory:');
    assert.throws(() => { applyMigrations(db, [{ version: 2, name: 'two', sql: '' }]); }, /expected 1/);
    db.close();
  });
});
