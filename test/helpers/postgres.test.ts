// The test PostgreSQL helper: a server that stops, starts again on the same
// data, takes a password for its password role, and leaves nothing behind.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { startPostgres, type RunningPostgres } from './postgres.ts';

async function query(config: pg.ClientConfig, sql: string): Promise<unknown[]> {
  const client = new pg.Client({ ...config, connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    return (await client.query<Record<string, unknown>>(sql)).rows;
  } finally {
    await client.end();
  }
}

describe('postgres test helper', () => {
  let server: RunningPostgres;
  before(async () => { server = await startPostgres(); });
  after(async () => { await server.destroy(); });

  it('postgres helper - keeps data across stop and start, on the same port', async () => {
    const url = await server.createDatabase('kept');
    await query({ connectionString: url }, 'CREATE TABLE t (v int); INSERT INTO t VALUES (7)');
    await server.stop();
    await assert.rejects(query({ connectionString: url }, 'SELECT 1'));
    await server.start();
    assert.deepEqual(await query({ connectionString: url }, 'SELECT v FROM t'), [{ v: 7 }]);
  });

  it('postgres helper - the password role needs its password', async () => {
    const { user, password } = server.passwordRole;
    const url = new URL(await server.createDatabase('secret', { owner: user }));
    const config = { host: url.hostname, port: Number(url.port), user, database: 'secret' };
    await assert.rejects(query({ ...config, password: 'wrong' }, 'SELECT 1'), /password authentication failed/);
    assert.deepEqual(await query({ ...config, password }, 'SELECT current_user AS u'), [{ u: user }]);
  });

  it('postgres helper - destroy removes the server and its directory', async () => {
    const other = await startPostgres();
    await other.destroy();
    assert.equal(existsSync(other.dataDir), false);
    await assert.rejects(query({ connectionString: other.url }, 'SELECT 1'));
  });
});
