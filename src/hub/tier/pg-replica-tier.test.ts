// The replica tier on a real PostgreSQL: claims move between replicas, news
// arrives, turns are taken once, and a lost database is survived.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { startPostgres, type RunningPostgres } from '../../../test/helpers/postgres.ts';
import { createLogger } from '../../util/logger.ts';
import { PgReplicaTier, type TierMetrics } from './pg-replica-tier.ts';
import type { TierNews } from './replica-tier.ts';
import { TIER_SCHEMA_SQL } from './tier-schema.ts';

const log = createLogger({ name: 'tier-test', level: 'silent' });
const metrics: TierMetrics = {
  claims: () => undefined, renewals: () => undefined, newsSent: () => undefined,
  newsReceived: () => undefined, listenerConnected: () => undefined, heldElsewhere: () => undefined,
};

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('PgReplicaTier', () => {
  let server: RunningPostgres;
  let url: string;
  const pools: pg.Pool[] = [];
  const tiers: PgReplicaTier[] = [];

  before(async () => {
    server = await startPostgres();
    url = await server.createDatabase('tier');
    const setup = new pg.Client({ connectionString: url });
    await setup.connect();
    await setup.query(`CREATE TABLE clusters (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE); ${TIER_SCHEMA_SQL}`);
    await setup.query("INSERT INTO clusters VALUES ('c1', 'one'), ('c2', 'two')");
    await setup.end();
  });
  after(async () => {
    for (const tier of tiers) await tier.close();
    for (const pool of pools) await pool.end();
    await server.destroy();
  });

  function replica(id: string, renewEveryMs = 200): PgReplicaTier {
    const pool = new pg.Pool({ connectionString: url, max: 3 });
    pool.on('error', () => undefined);
    pools.push(pool);
    const tier = new PgReplicaTier({
      replicaId: id, peerUrl: `https://${id}.test:8444`, pool, log, metrics, renewEveryMs, claimTtlMs: 2_000,
      newClient: () => new pg.Client({ connectionString: url }),
    });
    tiers.push(tier);
    return tier;
  }

  test('tier - a claim moves to the replica that linked last, and the loser hears of it', async () => {
    const a = replica('a');
    const b = replica('b');
    const lostOnA: string[] = [];
    a.onClaimsLost((ids) => { lostOnA.push(...ids); });
    const newsOnA: TierNews[] = [];
    a.subscribe((news) => { newsOnA.push(news); });

    await a.claimLink('c1');
    assert.equal(await a.ownerByName('one'), undefined, 'its own claim is not "elsewhere"');
    assert.deepEqual(await b.ownerByName('one'), { replicaId: 'a', peerUrl: 'https://a.test:8444' });
    await until('b to see a\'s claim', () => b.holderElsewhere('c1') === 'a');

    await b.claimLink('c1');
    await until('a to lose c1', () => lostOnA.includes('c1'));
    assert.deepEqual(await a.ownerByName('one'), { replicaId: 'b', peerUrl: 'https://b.test:8444' });
    assert.ok(newsOnA.some((news) => news.from === 'b' && news.topic === 'claimed' && news.clusterIds.includes('c1')));

    // a's link closing afterwards must not drop b's claim.
    await a.releaseLink('c1');
    assert.deepEqual(await a.ownerByName('one'), { replicaId: 'b', peerUrl: 'https://b.test:8444' });
    await b.releaseLink('c1');
    assert.equal(await a.ownerByName('one'), undefined);
  });

  test('tier - a claim not renewed expires', async () => {
    const c = replica('c', 60_000);
    const d = replica('d');
    await c.claimLink('c2');
    assert.equal((await d.ownerByName('two'))?.replicaId, 'c');
    await until('c\'s claim to expire', async () => (await d.ownerByName('two')) === undefined);
  });

  test('tier - a job runs once per interval across replicas', async () => {
    const e = replica('e');
    const f = replica('f');
    const turns = await Promise.all([e.takeTurn('prune', 60_000), f.takeTurn('prune', 60_000)]);
    assert.deepEqual(turns.filter(Boolean).length, 1);
    assert.equal(await e.takeTurn('prune', 60_000), false);
    assert.equal(await e.takeTurn('other', 60_000), true);
  });

  test('tier - news survives the database going away and coming back', async () => {
    const g = replica('g');
    const h = replica('h');
    const heard: string[] = [];
    h.subscribe((news) => { if (news.topic === 'addons') heard.push(...news.clusterIds); });
    g.publish('addons', 'c1');
    await until('h to hear the first news', () => heard.includes('c1'));
    await server.stop();
    await assert.rejects(g.claimLink('c2'));
    await server.start();
    // The listener reconnects by itself; news sent after that arrives.
    await until('h to hear news after the restart', async () => {
      g.publish('addons', 'c2');
      await new Promise((resolve) => setTimeout(resolve, 200));
      return heard.includes('c2');
    }, 60_000);
  });
});
