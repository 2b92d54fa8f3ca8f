// PostgreSQL only, on a real server: replicas migrating together, an outage
// and the recovery after it, heartbeats written in batches, the password
// file, streaming a large fleet. The behaviour both stores share is in the
// store*.test.ts contract tests.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, describe, it } from 'node:test';
import pg from 'pg';
import { pino } from 'pino';
import type { Logger } from '../../util/logger.ts';
import { StoreError, StoreUnavailableError, type Store } from './index.ts';
import { openPostgresStore, type PostgresStore } from './postgres.ts';
import { applyPostgresMigrations, POSTGRES_MIGRATIONS } from './postgres-migrations.ts';
import { silentLog, usePostgresServer } from './store-backends.test-helper.ts';

const T1 = '2026-01-02T03:04:05.000Z';
const dir = mkdtempSync(join(tmpdir(), 'uplink-pg-store-'));
after(() => { rmSync(dir, { recursive: true, force: true }); });

/** A logger whose lines (parsed) land in `lines`. */
function capturingLog(): { log: Logger; lines: { msg: string }[] } {
  const lines: { msg: string }[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as { msg: string });
      done();
    },
  });
  return { log: pino({ level: 'warn' }, stream), lines };
}

async function until(condition: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('postgres store', () => {
  const postgres = usePostgresServer();
  let databases = 0;
  const freshDatabase = (owner?: string): Promise<string> => postgres.server().createDatabase(`db${++databases}`, owner === undefined ? {} : { owner });
  const cluster = (name: string): Parameters<Store['createCluster']>[0] => ({ id: `c-${name}`, name, labels: {}, tokenHash: 'sha256:x', createdAt: T1 });

  it('postgres store - two replicas migrating one empty database together make one schema, without error', async () => {
    const url = await freshDatabase();
    const first = openPostgresStore({ url, log: silentLog });
    const second = openPostgresStore({ url, log: silentLog });
    try {
      await Promise.all([first.migrate(), second.migrate()]);
      const { rows } = await first.pool.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
      assert.deepEqual(rows.map((r) => r.version), POSTGRES_MIGRATIONS.map((m) => m.version));
      await second.createCluster(cluster('alpha'));
      assert.equal((await first.getClusterByName('alpha'))?.id, 'c-alpha');
    } finally {
      await Promise.all([first.close(), second.close()]);
    }
  });

  it('postgres store - a failing migration is rolled back and named; a schema newer than the hub is refused', async () => {
    const url = await freshDatabase();
    const store = openPostgresStore({ url, log: silentLog });
    try {
      const broken = [...POSTGRES_MIGRATIONS, { version: POSTGRES_MIGRATIONS.length + 1, name: 'broken', sql: 'CREATE TABLE t (x int); NOT SQL' }];
      await assert.rejects(applyPostgresMigrations(store.clientConfig, broken), /migration \d+ \(broken\) failed/);
      assert.equal((await store.pool.query("SELECT 1 FROM pg_tables WHERE tablename = 't'")).rowCount, 0);
      assert.equal((await store.pool.query('SELECT * FROM schema_migrations')).rowCount, POSTGRES_MIGRATIONS.length);

      await store.pool.query("INSERT INTO schema_migrations VALUES ($1, 'future', now())", [POSTGRES_MIGRATIONS.length + 1]);
      await assert.rejects(store.migrate(), (error: unknown) => error instanceof StoreError && /upgrade the hub/.test(error.message));
    } finally {
      await store.close();
    }
  });

  it('postgres store - while the database is down every call fails as unavailable, and the same store works once it is back', async () => {
    const url = await freshDatabase();
    const { log, lines } = capturingLog();
    const store = openPostgresStore({ url, log });
    const crashes: unknown[] = [];
    const onCrash = (error: unknown): void => { crashes.push(error); };
    process.on('uncaughtException', onCrash);
    process.on('unhandledRejection', onCrash);
    try {
      await store.migrate();
      await store.createCluster(cluster('alpha'));
      // Several idle connections in the pool, each to fail when the server goes.
      await Promise.all([store.listClusters(), store.ping(), store.getCluster('c-alpha')]);
      assert.ok(store.stats().pool.idle > 0);

      await postgres.server().stop();
      await until(() => lines.some((line) => /idle connection/.test(line.msg)), 'the pool to warn about its idle connections');
      const calls: [string, () => Promise<unknown>][] = [
        ['ping', () => store.ping()],
        ['getCluster', () => store.getCluster('c-alpha')],
        ['forEachCluster', () => store.forEachCluster(() => undefined)],
        ['createUser', () => store.createUser({ id: 'u1', name: 'alice', createdAt: T1 })],
        ['recordHeartbeat', () => store.recordHeartbeat('c-alpha', { at: T1, intervalSeconds: 15, facts: null })],
        ['putAddonStatus', () => store.putAddonStatus({ clusterId: 'c-alpha', name: 'web', status: {} as never, reportedAt: T1 })],
      ];
      for (const [name, call] of calls) {
        await assert.rejects(call(), (error: unknown) => {
          assert.ok(error instanceof StoreUnavailableError, `${name}: ${String(error)}`);
          assert.equal(error.code, 'STORE_UNAVAILABLE', name);
          assert.match(error.message, /cannot be used/);
          return true;
        });
      }

      await postgres.server().start();
      await store.ping();
      assert.equal((await store.getCluster('c-alpha'))?.name, 'alpha');
      await store.recordHeartbeat('c-alpha', { at: T1, intervalSeconds: 15, facts: null });
      assert.equal((await store.getCluster('c-alpha'))?.lastHeartbeatAt, T1);
      assert.deepEqual(crashes, []);
    } finally {
      process.off('uncaughtException', onCrash);
      process.off('unhandledRejection', onCrash);
      await postgres.server().start().catch(() => undefined);
      await store.close();
    }
  });

  it('postgres store - heartbeats arriving together are written in one statement, the later of two for a cluster winning', async () => {
    const store = openPostgresStore({ url: await freshDatabase(), log: silentLog });
    try {
      await store.migrate();
      const names = Array.from({ length: 50 }, (_, i) => `c${String(i).padStart(2, '0')}`);
      for (const name of names) await store.createCluster(cluster(name));
      const before = store.stats().heartbeats;
      // All queued in one tick: the batch window cannot end in between.
      const beats = names.map((name, i) => store.recordHeartbeat(`c-${name}`, { at: T1, intervalSeconds: i, facts: null }));
      beats.push(store.recordHeartbeat('c-c00', { at: '2026-01-02T03:04:06.000Z', intervalSeconds: 99, facts: null }));
      beats.push(store.recordHeartbeat('c-unknown', { at: T1, intervalSeconds: 1, facts: null }));
      assert.equal(store.stats().heartbeats.queued, 52);
      await Promise.all(beats);
      const afterwards = store.stats().heartbeats;
      assert.equal(afterwards.batches - before.batches, 1);
      assert.equal(afterwards.written - before.written, 51);
      assert.equal(afterwards.queued, 0);
      const clusters = await store.listClusters();
      assert.deepEqual(clusters.map((c) => c.heartbeatIntervalSeconds), [99, ...names.slice(1).map((_, i) => i + 1)]);
      assert.equal(clusters[0]?.lastHeartbeatAt, '2026-01-02T03:04:06.000Z');
    } finally {
      await store.close();
    }
  });

  it('postgres store - the password comes from the file, read again for each new connection', async () => {
    const { user, password } = postgres.server().passwordRole;
    const url = await freshDatabase(user);
    const passwordFile = join(dir, 'password');
    writeFileSync(passwordFile, `${password}\n`);
    const store = openPostgresStore({ url, passwordFile, log: silentLog });
    try {
      await store.migrate();
      await store.createUser({ id: 'u1', name: 'alice', createdAt: T1 });

      const rotated = `${password}-rotated`;
      await store.pool.query(`ALTER ROLE ${user} PASSWORD '${rotated}'`);
      writeFileSync(passwordFile, rotated);
      const client = new pg.Client(store.clientConfig);
      await client.connect();
      await client.end();

      writeFileSync(passwordFile, 'wrong\n');
      await assert.rejects(new pg.Client(store.clientConfig).connect(), /password authentication failed/);
      const withUrlPassword = openPostgresStore({ url: url.replace(`${user}@`, `${user}:${encodeURIComponent(rotated)}@`), log: silentLog });
      assert.equal((await withUrlPassword.getUser('u1'))?.name, 'alice');
      await withUrlPassword.close();
    } finally {
      await store.close();
    }
    assert.throws(() => openPostgresStore({ url, passwordFile: join(dir, 'missing'), log: silentLog }), /cannot read the database password file .*missing/);
  });

  it('postgres store - a wrong password makes calls fail as unavailable, with no password in the message', async () => {
    const { user, password } = postgres.server().passwordRole;
    const url = (await freshDatabase(user)).replace(`${user}@`, `${user}:not-${password}@`);
    const store = openPostgresStore({ url, log: silentLog });
    try {
      await assert.rejects(store.ping(), (error: unknown) => {
        assert.ok(error instanceof StoreUnavailableError);
        assert.equal(error.code, 'STORE_UNAVAILABLE');
        assert.doesNotMatch(error.message, new RegExp(`not-${password}`));
        assert.match(error.message, /:\*\*\*@/);
        return true;
      });
    } finally {
      await store.close();
    }
  });

  it('postgres store - a fleet larger than a cursor batch is visited whole, in order; a visitor error releases the connection', async () => {
    const store: PostgresStore = openPostgresStore({ url: await freshDatabase(), log: silentLog });
    try {
      await store.migrate();
      await store.pool.query(`INSERT INTO clusters (id, name, labels, token_hash, created_at)
        SELECT 'c' || n, 'cluster-' || lpad(n::text, 5, '0'), '{}', 'sha256:x', now() FROM generate_series(1, 1234) AS n`);
      const names: string[] = [];
      await store.forEachCluster((summary) => { names.push(summary.name); });
      assert.equal(names.length, 1234);
      assert.deepEqual(names, [...names].sort());
      for (const batchRows of [1, 7, 501, 10_000, 0, -3, 2.5]) {
        const batched: string[] = [];
        await store.forEachCluster((summary) => { batched.push(summary.name); }, { batchRows, afterName: 'cluster-00100' });
        assert.deepEqual(batched, names.slice(100), `batches of ${batchRows} rows visit the same clusters`);
      }
      let visited = 0;
      await assert.rejects(store.forEachCluster(() => { if (++visited === 700) throw new Error('enough'); }), /enough/);
      assert.equal(store.stats().pool.total - store.stats().pool.idle, 0, 'no connection left checked out');
      assert.equal((await store.listClusters()).length, 1234);
    } finally {
      await store.close();
    }
  });

  it('postgres store - a write refused for a full disk (SQLSTATE 53100) is STORE_FULL, and ping fails until a write succeeds', async () => {
    const store = openPostgresStore({ url: await freshDatabase(), log: silentLog });
    try {
      await store.migrate();
      // The server's own error for a full disk, raised where filling a real disk under a test server cannot be done safely.
      await store.pool.query(`CREATE FUNCTION disk_full() RETURNS trigger LANGUAGE plpgsql AS
        $$ BEGIN RAISE EXCEPTION 'could not extend file: No space left on device' USING ERRCODE = '53100'; END $$;
        CREATE TRIGGER disk_full BEFORE INSERT ON users FOR EACH ROW EXECUTE FUNCTION disk_full()`);
      await assert.rejects(store.createUser({ id: 'u1', name: 'alice', createdAt: T1 }), (error: unknown) =>
        error instanceof StoreUnavailableError && error.code === 'STORE_FULL' && /create user "alice" was not stored/.test(error.message));
      await assert.rejects(store.ping(), { code: 'STORE_FULL' });
      await store.pool.query('DROP TRIGGER disk_full ON users');
      await store.createUser({ id: 'u1', name: 'alice', createdAt: T1 });
      await store.ping();
    } finally {
      await store.close();
    }
  });

  it('postgres store - names sort by their bytes, as on SQLite, also in a database whose collation sorts otherwise', async () => {
    const admin = new pg.Client({ connectionString: postgres.server().url });
    await admin.connect();
    await admin.query("CREATE DATABASE natural_language TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C'");
    await admin.end();
    const store = openPostgresStore({ url: postgres.server().url.replace(/\/postgres$/, '/natural_language'), log: silentLog });
    try {
      await store.migrate();
      const { rows } = await store.pool.query<{ n: string }>("SELECT n FROM (VALUES ('b'), ('B'), ('a')) AS v (n) ORDER BY n");
      assert.deepEqual(rows.map((r) => r.n), ['a', 'b', 'B'], 'the database itself sorts case-insensitively first');
      for (const name of ['b', 'B', 'a-1', 'a', '_x']) await store.createCluster(cluster(name));
      assert.deepEqual((await store.listClusters()).map((c) => c.name), ['B', '_x', 'a', 'a-1', 'b']);
    } finally {
      await store.close();
    }
  });

  it('postgres store - an audit row keeps a NUL the request carried as U+FFFD (PostgreSQL text cannot hold NUL)', async () => {
    const store = openPostgresStore({ url: await freshDatabase(), log: silentLog });
    try {
      await store.migrate();
      await store.insertAudit({
        at: T1, userId: 'u', userName: 'alice', clusterId: 'c', clusterName: 'prod', verb: 'get', resource: 'pods', subresource: null,
        namespace: null, name: 'a\0b', path: '/api/v1/pods/a\0b', status: 200, bytesIn: 0, bytesOut: 0, durationMs: 1, command: null,
      });
      const [row] = await store.listAudit({});
      assert.equal(row?.name, 'a\uFFFDb');
      assert.equal(row.path, '/api/v1/pods/a\uFFFDb');
    } finally {
      await store.close();
    }
  });
});
