// The kubectl endpoint's reads per request (the token, its user and grants,
// the cluster), counted as store calls: each is a round trip on PostgreSQL.
// Mock timers stand in for the clock.
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { ACCESS_FRESH_MS, AccessCache } from './access-cache.ts';
import { authenticateToken } from './auth.ts';
import { useMemoryStore } from './store/memory-store.test-helper.ts';
import type { Store } from './store/index.ts';
import { issueToken } from './tokens.ts';

const T0 = '2026-01-01T00:00:00Z';
const READS = ['getApiToken', 'getUser', 'listGrants', 'getCluster', 'getClusterByName', 'touchApiToken'] as const;

/** Counts the store's calls of the reads a kubectl request makes. */
function countReads(t: TestContext, store: Store): () => number {
  const mocks = READS.map((name) => t.mock.method(store, name));
  return () => mocks.reduce((sum, mock) => sum + mock.mock.callCount(), 0);
}

/** Alice with a view grant on cluster "prod" and an API token; returns the token. */
async function seed(store: Store): Promise<string> {
  await store.createUser({ id: 'ualice', name: 'alice', createdAt: T0 });
  await store.createCluster({ id: 'cprod', name: 'prod', labels: {}, tokenHash: 'sha256:00', createdAt: T0 });
  await store.addGrant({ userId: 'ualice', role: 'view', clusterId: 'cprod' });
  const issued = issueToken('api', 'talice');
  await store.createApiToken({ id: 'talice', userId: 'ualice', name: 'cli', tokenHash: issued.hash, createdAt: T0 });
  return issued.token;
}

describe('access cache', () => {
  const store = useMemoryStore();

  it('access cache - a kubectl request by cluster name reads the store 6 times without it, then none while fresh', async (t) => {
    t.mock.timers.enable({ apis: ['Date'], now: Date.parse(T0) });
    const token = await seed(store());
    const reads = countReads(t, store());
    const touched = new Map<string, number>();
    // Without the cache: token, user, grants, the cluster by id then by name (and lastUsedAt, once a minute).
    const direct = await authenticateToken(store(), token, touched);
    const cluster = (await store().getCluster('prod')) ?? (await store().getClusterByName('prod'));
    assert.equal(direct?.userName, 'alice');
    assert.equal(cluster?.id, 'cprod');
    assert.equal(reads(), 6);
    const access = new AccessCache({ store: store() });
    const before = reads();
    assert.deepEqual((await authenticateToken(store(), token, touched, access.reads))?.grants, direct.grants);
    assert.equal((await access.cluster('prod'))?.id, 'cprod');
    assert.equal(reads() - before, 5, 'the first request reads as before (lastUsedAt was just written)');
    for (let i = 0; i < 10; i += 1) {
      await authenticateToken(store(), token, touched, access.reads);
      await access.cluster('prod');
    }
    assert.equal(reads() - before, 5, 'ten more requests within the window read nothing');
    t.mock.timers.tick(ACCESS_FRESH_MS);
    await authenticateToken(store(), token, touched, access.reads);
    await access.cluster('prod');
    assert.equal(reads() - before, 10, 'past the window, read again');
  });

  it('access cache - a grant added and a token revoked are seen by the next request once the user is forgotten', async (t) => {
    t.mock.timers.enable({ apis: ['Date'], now: Date.parse(T0) });
    const token = await seed(store());
    const access = new AccessCache({ store: store() });
    const touched = new Map<string, number>();
    const principal = (): ReturnType<typeof authenticateToken> => authenticateToken(store(), token, touched, access.reads);
    assert.equal((await principal())?.grants.length, 1);
    await store().addGrant({ userId: 'ualice', role: 'edit', clusterId: 'cprod' });
    assert.equal((await principal())?.grants.length, 1, 'still the remembered grants within the window');
    access.forgetUser('ualice');
    assert.equal((await principal())?.grants.length, 2, 'a grant added');
    await store().deleteApiToken('talice');
    access.forgetUser('ualice');
    assert.equal(await principal(), null, 'a revoked token');
  });

  it('access cache - a cluster not found is asked again; a failed read is not remembered', async (t) => {
    await seed(store());
    const access = new AccessCache({ store: store() });
    assert.equal(await access.cluster('later'), undefined);
    await store().createCluster({ id: 'clater', name: 'later', labels: {}, tokenHash: 'sha256:01', createdAt: T0 });
    assert.equal((await access.cluster('later'))?.id, 'clater');
    const failing = t.mock.method(store(), 'getApiToken', () => Promise.reject(new Error('database lost')));
    await assert.rejects(access.reads.token('talice'), /database lost/);
    failing.mock.restore();
    assert.equal((await access.reads.token('talice'))?.userId, 'ualice');
    assert.deepEqual(access.sizes, { tokens: 1, users: 0, clusters: 1 });
  });

  it('access cache - bounded: past maxEntries the oldest entries go', async () => {
    const access = new AccessCache({ store: store(), maxEntries: 3 });
    for (const id of ['t1', 't2', 't3', 't4', 't5']) await access.reads.token(id);
    assert.equal(access.sizes.tokens, 3);
  });
});
