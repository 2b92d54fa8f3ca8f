import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Store, StoreConflictError, StoreError } from './index.ts';
import { STORE_BACKENDS, useStore } from './store-backends.test-helper.ts';

const CREATED_AT = '2026-01-02T03:04:05.000Z';

async function addCluster(store: Store, name: string): Promise<string> {
  const id = `c-${name}`;
  await store.createCluster({ id, name, labels: {}, tokenHash: `sha256:${'a'.repeat(64)}`, createdAt: CREATED_AT });
  return id;
}

async function addUser(store: Store, name: string): Promise<string> {
  const id = `u-${name}`;
  await store.createUser({ id, name, createdAt: CREATED_AT });
  return id;
}

async function addToken(store: Store, userId: string, id: string): Promise<void> {
  await store.createApiToken({ id, userId, name: id, tokenHash: `sha256:${'c'.repeat(64)}`, createdAt: CREATED_AT });
}

for (const backend of STORE_BACKENDS) {
  describe(`store users, grants and tokens on ${backend}`, () => {
    const store = useStore(backend);

    it('store - creates users and finds them by id and name, listed by name', async () => {
      const created = await store().createUser({ id: 'u1', name: 'zoe', createdAt: CREATED_AT });
      assert.deepEqual(created, { id: 'u1', name: 'zoe', createdAt: CREATED_AT });
      await addUser(store(), 'alice');
      assert.deepEqual(await store().getUser('u1'), created);
      assert.deepEqual(await store().getUserByName('zoe'), created);
      assert.equal(await store().getUser('u-missing'), undefined);
      assert.equal(await store().getUserByName('missing'), undefined);
      assert.deepEqual((await store().listUsers()).map((u) => u.name), ['alice', 'zoe']);
    });

    it('store - rejects a duplicate user name with a clear conflict', async () => {
      await addUser(store(), 'alice');
      await assert.rejects(store().createUser({ id: 'u2', name: 'alice', createdAt: CREATED_AT }), (error: unknown) => {
        assert.ok(error instanceof StoreConflictError);
        assert.equal(error.message, 'a user named "alice" already exists');
        return true;
      });
      assert.equal((await store().listUsers()).length, 1);
    });

    it('store - adds grants idempotently and keeps fleet-wide and per-cluster grants apart', async () => {
      const alice = await addUser(store(), 'alice');
      const prod = await addCluster(store(), 'prod');
      await store().addGrant({ userId: alice, role: 'view', clusterId: null });
      await store().addGrant({ userId: alice, role: 'view', clusterId: null });
      await store().addGrant({ userId: alice, role: 'view', clusterId: prod });
      await store().addGrant({ userId: alice, role: 'edit', clusterId: prod });
      await store().addGrant({ userId: alice, role: 'view', clusterId: prod });
      assert.deepEqual(await store().listGrants(alice), [
        { userId: alice, role: 'view', clusterId: null },
        { userId: alice, role: 'edit', clusterId: prod },
        { userId: alice, role: 'view', clusterId: prod },
      ]);
    });

    it('store - removes exactly the grant named and says whether it existed', async () => {
      const alice = await addUser(store(), 'alice');
      const prod = await addCluster(store(), 'prod');
      await store().addGrant({ userId: alice, role: 'admin', clusterId: null });
      await store().addGrant({ userId: alice, role: 'admin', clusterId: prod });
      assert.equal(await store().removeGrant({ userId: alice, role: 'admin', clusterId: null }), true);
      assert.equal(await store().removeGrant({ userId: alice, role: 'admin', clusterId: null }), false);
      assert.equal(await store().removeGrant({ userId: alice, role: 'view', clusterId: prod }), false);
      assert.deepEqual(await store().listGrants(alice), [{ userId: alice, role: 'admin', clusterId: prod }]);
    });

    it('store - lists every grant of every user', async () => {
      const alice = await addUser(store(), 'alice');
      const bob = await addUser(store(), 'bob');
      await store().addGrant({ userId: bob, role: 'admin', clusterId: null });
      await store().addGrant({ userId: alice, role: 'view', clusterId: null });
      assert.deepEqual((await store().listAllGrants()).map((g) => `${g.userId}:${g.role}`), [`${alice}:view`, `${bob}:admin`]);
    });

    it('store - refuses a grant for an unknown user or cluster', async () => {
      const alice = await addUser(store(), 'alice');
      await assert.rejects(store().addGrant({ userId: 'u-missing', role: 'view', clusterId: null }), StoreError);
      await assert.rejects(store().addGrant({ userId: alice, role: 'view', clusterId: 'c-missing' }), StoreError);
      assert.deepEqual(await store().listAllGrants(), []);
    });

    it('store - deleting a user deletes its grants and tokens, not other users\'', async () => {
      const alice = await addUser(store(), 'alice');
      const bob = await addUser(store(), 'bob');
      await store().addGrant({ userId: alice, role: 'admin', clusterId: null });
      await store().addGrant({ userId: bob, role: 'view', clusterId: null });
      await addToken(store(), alice, 't1');
      await addToken(store(), bob, 't2');
      assert.equal(await store().deleteUser(alice), true);
      assert.equal(await store().deleteUser(alice), false);
      assert.deepEqual(await store().listGrants(alice), []);
      assert.equal(await store().getApiToken('t1'), undefined);
      assert.deepEqual(await store().listAllGrants(), [{ userId: bob, role: 'view', clusterId: null }]);
      assert.equal((await store().getApiToken('t2'))?.userId, bob);
    });

    it('store - deleting a cluster deletes the grants on it and keeps fleet-wide ones', async () => {
      const alice = await addUser(store(), 'alice');
      const prod = await addCluster(store(), 'prod');
      const dev = await addCluster(store(), 'dev');
      await store().addGrant({ userId: alice, role: 'view', clusterId: null });
      await store().addGrant({ userId: alice, role: 'edit', clusterId: prod });
      await store().addGrant({ userId: alice, role: 'edit', clusterId: dev });
      await store().deleteCluster(prod);
      assert.deepEqual(await store().listGrants(alice), [
        { userId: alice, role: 'view', clusterId: null },
        { userId: alice, role: 'edit', clusterId: dev },
      ]);
    });

    it('store - lists a user\'s tokens oldest first and deletes one', async () => {
      const alice = await addUser(store(), 'alice');
      await store().createApiToken({ id: 't2', userId: alice, name: 'late', tokenHash: 'sha256:x', createdAt: '2026-02-01T00:00:00.000Z' });
      await store().createApiToken({ id: 't1', userId: alice, name: 'early', tokenHash: 'sha256:x', createdAt: CREATED_AT });
      assert.deepEqual((await store().listApiTokens(alice)).map((t) => t.name), ['early', 'late']);
      assert.deepEqual(await store().listApiTokens('u-missing'), []);
      assert.equal(await store().deleteApiToken('t1'), true);
      assert.equal(await store().deleteApiToken('t1'), false);
      assert.deepEqual((await store().listApiTokens(alice)).map((t) => t.id), ['t2']);
    });

    it('store - refuses a token for an unknown user', async () => {
      await assert.rejects(addToken(store(), 'u-missing', 't1'), StoreError);
      assert.equal(await store().countApiTokens(), 0);
    });
  });
}
