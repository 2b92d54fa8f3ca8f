// The replica tier on a real PostgreSQL: claims move between replicas, news
// arrives, turns are taken once, replacements are counted tier-wide, and a
// lost database is survived.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { startPostgres, type RunningPostgres } from '../../../test/helpers/postgres.ts';
import type { HubSession } from '../../link/hub-session.ts';
import { createLogger } from '../../util/logger.ts';
import { Fleet } from '../fleet.ts';
import { MAX_REPLACEMENTS, REPLACEMENT_WINDOW_MS } from '../link-replacements.ts';
import { HubMetrics } from '../metrics.ts';
import { openPostgresStore, type PostgresStore } from '../store/postgres.ts';
import { PgReplicaTier, type TierMetrics } from './pg-replica-tier.ts';
import type { TierNews } from './replica-tier.ts';
import { TIER_CHANNEL } from './tier-news.ts';
import { applyPostgresMigrations } from '../store/postgres-migrations.ts';

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
    await applyPostgresMigrations({ connectionString: url });
    const setup = new pg.Client({ connectionString: url });
    await setup.connect();
    await setup.query(`INSERT INTO clusters (id, name, labels, token_hash, created_at)
      VALUES ('c1', 'one', '{}', 'h1', now()), ('c2', 'two', '{}', 'h2', now()), ('c3', 'three', '{}', 'h3', now())`);
    await setup.end();
  });
  after(async () => {
    for (const tier of tiers) await tier.close();
    for (const pool of pools) await pool.end();
    await server.destroy();
  });

  /** A replica whose LISTEN connection is up: news sent before that is not for it. */
  async function replica(id: string, renewEveryMs = 200, more: Partial<TierMetrics> = {}): Promise<PgReplicaTier> {
    let listening = false;
    const pool = new pg.Pool({ connectionString: url, max: 3 });
    pool.on('error', () => undefined);
    pools.push(pool);
    const tier = new PgReplicaTier({
      replicaId: id, peerUrl: `https://${id}.test:8444`, pool, log, renewEveryMs, claimTtlMs: 2_000,
      metrics: { ...metrics, ...more, listenerConnected: (up) => { listening = up; } },
      newClient: () => new pg.Client({ connectionString: url }),
    });
    tiers.push(tier);
    await until(`${id} to listen`, () => listening);
    return tier;
  }

  test('tier - a claim moves to the replica that linked last, and the loser hears of it', async () => {
    const a = await replica('a');
    const b = await replica('b');
    const lostOnA: string[] = [];
    a.onClaimsLost((ids) => { lostOnA.push(...ids); });
    const newsOnA: TierNews[] = [];
    a.subscribe((news) => { newsOnA.push(news); });

    await a.claimLink('c1');
    assert.equal((await a.locateLink('one'))?.holder?.replicaId, 'a', 'by name');
    assert.equal((await a.locateLink('c1'))?.holder?.replicaId, 'a', 'by id');
    assert.deepEqual((await b.locateLink('one'))?.holder, { replicaId: 'a', peerUrl: 'https://a.test:8444' });
    await until('b to see a\'s claim', () => b.holderElsewhere('c1') === 'a');

    await b.claimLink('c1');
    await until('a to lose c1', () => lostOnA.includes('c1'));
    assert.deepEqual((await a.locateLink('one'))?.holder, { replicaId: 'b', peerUrl: 'https://b.test:8444' });
    // At the renewal or by news, whichever comes first; the news comes too.
    await until('a to hear b\'s claim', () => newsOnA.some((news) => news.from === 'b' && news.topic === 'claimed' && news.clusterIds.includes('c1')));

    // a's link closing afterwards must not drop b's claim.
    await a.releaseLink('c1');
    assert.deepEqual((await a.locateLink('one'))?.holder, { replicaId: 'b', peerUrl: 'https://b.test:8444' });
    await b.releaseLink('c1');
    assert.equal((await a.locateLink('one'))?.holder, undefined);
    assert.equal(b.recentlyReleased('c1'), true);
    await until('a to hear the link is moving', () => a.recentlyReleased('c1'));
    assert.equal(a.recentlyReleased('c2'), false);
  });

  test('tier - news of a claim older than this replica\'s own does not end its link', async () => {
    let renewals = 0;
    const m = await replica('m', 200, { renewals: () => { renewals += 1; } });
    const lost: string[] = [];
    m.onClaimsLost((ids) => { lost.push(...ids); });
    await m.claimLink('c1');
    // As if another replica's claim, made before m's, were announced late.
    const late = new pg.Client({ connectionString: url });
    await late.connect();
    await late.query('SELECT pg_notify($1, $2)', [TIER_CHANNEL, JSON.stringify({ from: 'n', topic: 'claimed', clusterIds: ['c1'] })]);
    await late.end();
    // Renewed past the claim's 2 s expiry: m still holds the link and renews it.
    const from = renewals;
    await until('m to renew past the expiry', () => renewals >= from + 12);
    assert.deepEqual(lost, []);
    assert.deepEqual((await m.locateLink('c1'))?.holder?.replicaId, 'm');
    assert.equal((await m.locateLink('c1'))?.stale, false);
    await m.releaseLink('c1');
  });

  test('tier - the release of a closed link does not drop the claim of a newer link of the same replica', async () => {
    const o = await replica('o');
    await o.claimLink('c2');
    // The agent links again to the same replica while the old link's release is on its way to the database.
    await Promise.all([o.releaseLink('c2'), o.claimLink('c2')]);
    assert.equal((await o.locateLink('c2'))?.holder?.replicaId, 'o');
    await o.releaseLink('c2');
    assert.equal((await o.locateLink('c2'))?.holder, undefined);
  });

  test('tier - a link that closes while its claim is being written leaves no claim behind', async () => {
    const o = await replica('o2');
    await Promise.all([o.claimLink('c3'), o.releaseLink('c3')]);
    assert.equal((await o.locateLink('c3'))?.holder, undefined);
  });

  test('tier - claims of many links made together each get their own result; the claim of a deleted cluster is refused', async () => {
    const p = await replica('p');
    const ids = ['c1', 'c2', 'c3'];
    const claims = await Promise.allSettled([...ids, 'no-such-cluster'].map((id) => p.claimLink(id)));
    assert.deepEqual(claims.map((c) => c.status), ['fulfilled', 'fulfilled', 'fulfilled', 'rejected']);
    for (const id of ids) assert.equal((await p.locateLink(id))?.holder?.replicaId, 'p');
    await Promise.all(ids.map((id) => p.releaseLink(id)));
    for (const id of ids) assert.equal((await p.locateLink(id))?.holder, undefined);
  });

  test('tier - a claim not renewed expires', async () => {
    const c = await replica('c', 60_000);
    const d = await replica('d');
    await c.claimLink('c2');
    assert.equal((await d.locateLink('two'))?.holder?.replicaId, 'c');
    await until('c\'s claim to expire', async () => (await d.locateLink('two'))?.stale === true);
  });

  test('tier - a job runs once per interval across replicas', async () => {
    const e = await replica('e');
    const f = await replica('f');
    const turns = await Promise.all([e.takeTurn('prune', 60_000), f.takeTurn('prune', 60_000)]);
    assert.deepEqual(turns.filter(Boolean).length, 1);
    assert.equal(await e.takeTurn('prune', 60_000), false);
    assert.equal(await e.takeTurn('other', 60_000), true);
  });

  test('tier - a user\'s access changed on one replica is news on the others, with the user\'s id, apart from cluster news', async () => {
    const [m, n] = [await replica('m'), await replica('n')];
    const heard = new Map<string, string[]>();
    n.subscribe(({ topic, clusterIds }) => { heard.set(topic, [...(heard.get(topic) ?? []), ...clusterIds]); });
    m.publish('access', 'ualice0000000');
    m.publish('addons', 'c9');
    await until('n to hear both', () => heard.has('access') && heard.has('addons'));
    assert.deepEqual([heard.get('access'), heard.get('addons')], [['ualice0000000'], ['c9']]);
  });

  test('tier - replacements are counted across replicas while a live replica holds the link', async () => {
    const i = await replica('i');
    const j = await replica('j');
    assert.equal(await j.replacementsWhileHeld('c2', REPLACEMENT_WINDOW_MS), 0);
    await i.claimLink('c2');
    await i.noteReplaced('c2');
    await j.noteReplaced('c2');
    assert.equal(await j.replacementsWhileHeld('c2', REPLACEMENT_WINDOW_MS), 2, 'both replicas\' records count');
    assert.equal(await i.replacementsWhileHeld('c2', 0), 0, 'only those within the window');
    for (let n = 0; n < 10; n++) await i.noteReplaced('c2');
    assert.equal(await i.replacementsWhileHeld('c2', REPLACEMENT_WINDOW_MS), 8, 'a bounded number is kept');
    await i.noteReplaced('c-deleted');
    await i.releaseLink('c2');
    assert.equal(await j.replacementsWhileHeld('c2', REPLACEMENT_WINDOW_MS), 0, 'nobody holds the link: nothing to keep');
  });

  test('tier - two agents sharing a token on two replicas: after two replacements the holder keeps the link', async () => {
    const stores: PostgresStore[] = [];
    const fleetOn = async (id: string): Promise<{ fleet: Fleet; tier: PgReplicaTier }> => {
      const store = openPostgresStore({ url, log });
      stores.push(store);
      const tier = await replica(id);
      return { fleet: new Fleet({ store, log, metrics: new HubMetrics(), tier, offlineAfterMs: 45_000 }), tier };
    };
    try {
      const k = await fleetOn('k');
      const l = await fleetOn('l');
      const agentOne = [openSession(), openSession()] as const;
      const agentTwo = openSession();
      // One agent links to k, the other to l, each pushing the other out in turn.
      k.fleet.attach('c1', agentOne[0], '1.0.0');
      await until('l to see k\'s claim', () => l.tier.holderElsewhere('c1') === 'k');
      const turns = [[l.fleet, agentTwo, agentOne[0]], [k.fleet, agentOne[1], agentTwo]] as const;
      assert.equal(turns.length, MAX_REPLACEMENTS);
      for (const [turn, [fleet, session, pushedOut]] of turns.entries()) {
        assert.equal(await fleet.keepsCurrentLink('c1'), false, `replacement ${turn + 1} is allowed`);
        fleet.attach('c1', session, '1.0.0');
        await until(`replacement ${turn + 1} to close the older link`, () => !pushedOut.isOpen);
      }
      // The next one, on either replica, is refused while k's link lives.
      await until('the replacements to be recorded', async () => (await l.fleet.keepsCurrentLink('c1')) && (await k.fleet.keepsCurrentLink('c1')));
      assert.equal(agentOne[1].isOpen, true, 'the holder keeps its link');
    } finally {
      for (const store of stores) await store.close();
    }
  });

  test('tier - news survives the database going away and coming back', async () => {
    const g = await replica('g');
    const h = await replica('h');
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

/** A link that stays open until `close`, which ends it as a real one does. */
function openSession(): HubSession {
  let end: () => void = () => undefined;
  const session = {
    isOpen: true,
    openStreams: 1,
    closed: new Promise<void>((resolve) => { end = resolve; }),
    close: () => {
      session.isOpen = false;
      end();
    },
  };
  return session as unknown as HubSession;
}
