import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, describe, it } from 'node:test';
import { openSqliteStore, type Store } from './index.ts';
import { applyMigrations, SQLITE_MIGRATIONS } from './migrations.ts';

const tempDir = mkdtempSync(join(tmpdir(), 'uplink-migrations-'));
after(() => {
  rmSync(tempDir, { recursive: true, force: true });
});

/** A database file as a hub before users left it: schema version 1 and the given tokens. */
function createVersion1Database(path: string, tokens: { id: string; name: string; role: string; createdAt: string }[]): void {
  const db = new DatabaseSync(path);
  applyMigrations(db, SQLITE_MIGRATIONS.slice(0, 1));
  const insert = db.prepare(`INSERT INTO api_tokens (id, name, role, token_hash, created_at, last_used_at)
    VALUES (:id, :name, :role, :hash, :createdAt, :lastUsedAt)`);
  for (const token of tokens) insert.run({ ...token, hash: `sha256:${'d'.repeat(64)}`, lastUsedAt: '2026-01-05T00:00:00.000Z' });
  db.prepare(`INSERT INTO clusters (id, name, labels, token_hash, created_at) VALUES ('c1', 'prod', '{}', 'sha256:x', '2026-01-01T00:00:00.000Z')`).run();
  db.close();
}

describe('store migration 2 (users)', () => {
  it('migrations - version 2 gives each old token a user named after it, with a fleet-wide grant of its role', async () => {
    const path = join(tempDir, 'v1.db');
    createVersion1Database(path, [
      { id: 'tadmin', name: 'admin', role: 'admin', createdAt: '2026-01-01T00:00:00.000Z' },
      { id: 'tci1', name: 'ci', role: 'view', createdAt: '2026-01-03T00:00:00.000Z' },
      { id: 'tci2', name: 'ci', role: 'view', createdAt: '2026-01-02T00:00:00.000Z' },
    ]);
    const store = openSqliteStore({ path });
    await store.migrate();

    const users = await store.listUsers();
    assert.deepEqual(users.map((u) => [u.name, u.createdAt]), [['admin', '2026-01-01T00:00:00.000Z'], ['ci', '2026-01-02T00:00:00.000Z']]);
    const [admin, ci] = users;
    assert.ok(admin && ci);
    for (const user of users) assert.match(user.id, /^u[a-z0-9]{12}$/);
    assert.deepEqual(await store.listGrants(admin.id), [{ userId: admin.id, role: 'admin', clusterId: null }]);
    assert.deepEqual(await store.listGrants(ci.id), [{ userId: ci.id, role: 'view', clusterId: null }]);

    const token = await store.getApiToken('tadmin');
    assert.deepEqual(token, {
      id: 'tadmin', userId: admin.id, name: 'admin', tokenHash: `sha256:${'d'.repeat(64)}`,
      createdAt: '2026-01-01T00:00:00.000Z', lastUsedAt: '2026-01-05T00:00:00.000Z',
    });
    assert.deepEqual((await store.listApiTokens(ci.id)).map((t) => t.id), ['tci2', 'tci1']);
    assert.equal((await store.getClusterByName('prod'))?.id, 'c1');
    await store.close();

    const db = new DatabaseSync(path);
    const columns = db.prepare('PRAGMA table_info(api_tokens)').all().map((c) => c.name);
    assert.deepEqual(columns, ['id', 'user_id', 'name', 'token_hash', 'created_at', 'last_used_at']);
    assert.deepEqual(db.prepare('PRAGMA foreign_key_check').all(), []);
    db.close();
  });

  it('migrations - a token with a role outside admin, edit and view keeps its user but gets no grant', async () => {
    const path = join(tempDir, 'odd-role.db');
    createVersion1Database(path, [{ id: 'tx', name: 'robot', role: 'operator', createdAt: '2026-01-01T00:00:00.000Z' }]);
    const store = openSqliteStore({ path });
    await store.migrate();
    const robot = await store.getUserByName('robot');
    assert.ok(robot);
    assert.deepEqual(await store.listGrants(robot.id), []);
    assert.equal((await store.getApiToken('tx'))?.userId, robot.id);
    await store.close();
  });

  it('migrations - version 2 on an empty version 1 database creates no users', async () => {
    const path = join(tempDir, 'empty.db');
    createVersion1Database(path, []);
    const store = openSqliteStore({ path });
    await store.migrate();
    assert.deepEqual(await store.listUsers(), []);
    assert.equal(await store.countApiTokens(), 0);
    await store.close();
  });
});

/** A database file at schema `version` holding cluster c1 and the rows `seed` inserts. */
function createDatabaseAt(version: number, seed: string[] = []): string {
  const path = join(tempDir, `v${version}.db`);
  const db = new DatabaseSync(path);
  applyMigrations(db, SQLITE_MIGRATIONS.slice(0, version));
  db.prepare(`INSERT INTO clusters (id, name, labels, token_hash, created_at) VALUES ('c1', 'prod', '{}', 'sha256:x', '2026-01-01T00:00:00.000Z')`).run();
  for (const sql of seed) db.prepare(sql).run();
  db.close();
  return path;
}

/** Migrates the file through the store, running `check` on the store, then opens it raw with foreign keys on. */
async function migrateAndOpen(path: string, check: (store: Store) => Promise<void>): Promise<DatabaseSync> {
  const store = openSqliteStore({ path });
  await store.migrate();
  await check(store);
  await store.close();
  return new DatabaseSync(path, { enableForeignKeyConstraints: true });
}

describe('store migration 3 (add-ons)', () => {
  it('migrations - version 3 adds the addons table to a version 2 database, tied to its clusters', async () => {
    const migrated = await migrateAndOpen(createDatabaseAt(2), async (store) => {
      assert.deepEqual(await store.listAddons('c1'), []);
    });
    const columns = migrated.prepare('PRAGMA table_info(addons)').all().map((c) => c.name);
    assert.deepEqual(columns, ['cluster_id', 'name', 'spec', 'generation', 'created_at', 'updated_at', 'deleted_at']);
    const keys = migrated.prepare('PRAGMA foreign_key_list(addons)').all().map((k) => [k.table, k.from, k.on_delete]);
    assert.deepEqual(keys, [['clusters', 'cluster_id', 'CASCADE']]);
    assert.throws(() => migrated.prepare(`INSERT INTO addons VALUES ('c1', 'web', '{}', 0, 't', 't', NULL)`).run(), /CHECK constraint/);
    migrated.close();
  });
});

describe('store migration 4 (add-on status)', () => {
  it('migrations - version 4 adds addon_status to a version 3 database, keyed by and tied to the add-on rows', async () => {
    const path = createDatabaseAt(3, [`INSERT INTO addons VALUES ('c1', 'web', '{}', 1, 't', 't', NULL)`]);
    const migrated = await migrateAndOpen(path, async (store) => {
      assert.deepEqual(await store.listAddonStatuses('c1'), []);
    });
    const columns = migrated.prepare('PRAGMA table_info(addon_status)').all().map((c) => [c.name, c.pk]);
    assert.deepEqual(columns, [['cluster_id', 1], ['name', 2], ['status', 0], ['reported_at', 0]]);
    const keys = migrated.prepare('PRAGMA foreign_key_list(addon_status)').all().map((k) => [k.table, k.from, k.to, k.on_delete]);
    assert.deepEqual(keys, [['addons', 'cluster_id', 'cluster_id', 'CASCADE'], ['addons', 'name', 'name', 'CASCADE']]);
    assert.throws(() => migrated.prepare(`INSERT INTO addon_status VALUES ('c1', 'ghost', '{}', 't')`).run(), /FOREIGN KEY constraint/);
    assert.throws(() => migrated.prepare(`INSERT INTO addon_status VALUES ('c1', 'web', NULL, 't')`).run(), /NOT NULL constraint/);
    migrated.close();
  });
});

describe('store migration 5 (audit rows of streams)', () => {
  it('migrations - version 5 keeps existing audit rows as complete, with no replica, and checks the state', async () => {
    const path = createDatabaseAt(4, [`INSERT INTO audit_log (at, user_id, user_name, cluster_id, cluster_name, verb, resource, path, status,
      bytes_in, bytes_out, duration_ms) VALUES ('2026-01-01T00:00:00.000Z', 'u1', 'alice', 'c1', 'prod', 'watch', 'pods', '/api/v1/pods', 200, 0, 9, 5)`]);
    const migrated = await migrateAndOpen(path, async (store) => {
      const [row] = await store.listAudit({});
      assert.equal(row?.state, 'complete');
      assert.equal(row.replica, null);
      assert.equal(row.bytesOut, 9);
    });
    assert.throws(() => migrated.prepare(`UPDATE audit_log SET state = 'lost'`).run(), /CHECK constraint/);
    const indexes = migrated.prepare('PRAGMA index_list(audit_log)').all().filter((i) => i.partial === 1).map((i) => i.name);
    assert.deepEqual(indexes, ['audit_log_in_progress']);
    migrated.close();
  });
});

describe('store migration 9 (exit codes of execs)', () => {
  it('migrations - version 9 leaves existing audit rows without an exit, and the columns take an integer and a text', async () => {
    const path = createDatabaseAt(8, [`INSERT INTO audit_log (at, user_id, user_name, cluster_id, cluster_name, verb, resource, path, status,
      bytes_in, bytes_out, duration_ms) VALUES ('2026-01-01T00:00:00.000Z', 'u1', 'alice', 'c1', 'prod', 'create', 'pods', '/api/v1/x', 101, 1, 2, 3)`]);
    const migrated = await migrateAndOpen(path, async (store) => {
      const [row] = await store.listAudit({});
      assert.deepEqual([row?.exitCode, row?.exitReason, row?.bytesOut], [null, null, 2]);
    });
    assert.throws(() => migrated.prepare(`UPDATE audit_log SET exit_code = 'three'`).run(), /cannot store TEXT value in INTEGER column/);
    migrated.close();
  });
});
