// The hub CA shared through a real PostgreSQL (hub_secrets): sealed with the
// secrets key when there is one, sealed in place when it was stored plain,
// refused to a replica without the key or with another one.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { startPostgres, type RunningPostgres } from '../../../test/helpers/postgres.ts';
import { createLogger } from '../../util/logger.ts';
import { ensureHubCertificates } from '../tls-certificates.ts';
import { applyPostgresMigrations } from '../store/postgres-migrations.ts';
import { PgReplicaTier } from './pg-replica-tier.ts';
import { secretsKeyFrom } from './secret-box.ts';
import { adoptSharedCa } from './shared-ca.ts';

const log = createLogger({ name: 'shared-ca-test', level: 'silent' });
const noMetrics = {
  claims: () => undefined, renewals: () => undefined, newsSent: () => undefined,
  newsReceived: () => undefined, listenerConnected: () => undefined, heldElsewhere: () => undefined,
};
const keyA = secretsKeyFrom(Buffer.from('k'.repeat(40)), 'test');
const keyB = secretsKeyFrom(Buffer.from('z'.repeat(40)), 'test');

describe('shared hub CA', () => {
  let server: RunningPostgres;
  const pools: pg.Pool[] = [];
  const tiers: PgReplicaTier[] = [];

  before(async () => { server = await startPostgres(); });
  after(async () => {
    for (const tier of tiers) await tier.close();
    for (const pool of pools) await pool.end();
    await server.destroy();
  });

  async function database(name: string): Promise<pg.Pool> {
    const url = await server.createDatabase(name);
    await applyPostgresMigrations({ connectionString: url });
    const pool = new pg.Pool({ connectionString: url, max: 2 });
    pools.push(pool);
    return pool;
  }

  function tierOn(pool: pg.Pool, id: string): PgReplicaTier {
    const tier = new PgReplicaTier({
      replicaId: id, peerUrl: `https://${id}.test:8444`, pool, log, metrics: noMetrics,
      newClient: () => new pg.Client(pool.options),
    });
    tiers.push(tier);
    return tier;
  }

  /** A replica's data directory with a CA of its own, as a first start generates. */
  async function replicaDir(): Promise<string> {
    const dir = mkdtempSync(join(tmpdir(), 'uplink-shared-ca-'));
    await ensureHubCertificates({ dir, dnsNames: ['localhost'], ipAddresses: [] });
    return dir;
  }

  async function stored(pool: pg.Pool): Promise<string> {
    return (await pool.query<{ value: string }>("SELECT value FROM hub_secrets WHERE name = 'hub-ca'")).rows[0]?.value ?? '';
  }

  it('shared CA - with a key, the first replica\'s CA is stored sealed and the second adopts it', async () => {
    const pool = await database('sealed');
    const [one, two] = [await replicaDir(), await replicaDir()];
    assert.deepEqual(await adoptSharedCa(one, tierOn(pool, 'a'), keyA), { replaced: false, stored: 'sealed', sealedNow: false });
    const value = await stored(pool);
    assert.match(value, /^uplink-sealed:v1:/);
    assert.equal(value.includes('PRIVATE KEY'), false, 'no key in the database in the clear');
    assert.deepEqual(await adoptSharedCa(two, tierOn(pool, 'b'), keyA), { replaced: true, stored: 'sealed', sealedNow: false });
    assert.equal(readFileSync(join(two, 'ca.key'), 'utf8'), readFileSync(join(one, 'ca.key'), 'utf8'));
    assert.equal(readFileSync(join(two, 'ca.crt'), 'utf8'), readFileSync(join(one, 'ca.crt'), 'utf8'));
  });

  it('shared CA - a replica without the key or with another one cannot start on a sealed CA', async () => {
    const pool = await database('refused');
    await adoptSharedCa(await replicaDir(), tierOn(pool, 'a'), keyA);
    const stranger = await replicaDir();
    const before = readFileSync(join(stranger, 'ca.key'), 'utf8');
    await assert.rejects(adoptSharedCa(stranger, tierOn(pool, 'b')), /sealed: start this replica with --secrets-key-file/);
    await assert.rejects(adoptSharedCa(stranger, tierOn(pool, 'c'), keyB), /not the key it was sealed with/);
    assert.equal(readFileSync(join(stranger, 'ca.key'), 'utf8'), before, 'its own CA is left as it was');
  });

  it('shared CA - a CA stored plain stays usable and is sealed by the first replica with a key', async () => {
    const pool = await database('upgrade');
    const first = await replicaDir();
    assert.deepEqual(await adoptSharedCa(first, tierOn(pool, 'a')), { replaced: false, stored: 'plain', sealedNow: false });
    assert.match(await stored(pool), /PRIVATE KEY/);
    const second = await replicaDir();
    assert.deepEqual(await adoptSharedCa(second, tierOn(pool, 'b'), keyA), { replaced: true, stored: 'sealed', sealedNow: true });
    assert.match(await stored(pool), /^uplink-sealed:v1:/);
    assert.equal(readFileSync(join(second, 'ca.key'), 'utf8'), readFileSync(join(first, 'ca.key'), 'utf8'), 'the same CA, now sealed');
    assert.deepEqual(await adoptSharedCa(await replicaDir(), tierOn(pool, 'c'), keyA), { replaced: true, stored: 'sealed', sealedNow: false });
  });
});
