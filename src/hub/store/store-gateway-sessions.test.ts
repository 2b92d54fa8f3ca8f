import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { GatewaySessionRecord, Store } from './index.ts';
import { MAX_SESSIONS_PER_TOKEN } from './gateway-sessions-sql.ts';
import { STORE_BACKENDS, useStore } from './store-backends.test-helper.ts';

const CREATED_AT = '2026-01-02T03:04:05.000Z';

async function addUserWithToken(store: Store, user: string, token: string): Promise<void> {
  await store.createUser({ id: user, name: user, createdAt: CREATED_AT });
  await store.createApiToken({ id: token, userId: user, name: token, tokenHash: `sha256:${'c'.repeat(64)}`, createdAt: CREATED_AT });
}

function session(n: number, tokenId = 't1', userId = 'u1'): GatewaySessionRecord {
  const created = new Date(Date.parse(CREATED_AT) + n * 1000).toISOString();
  return { idHash: `sha256:${String(n).padStart(64, '0')}`, userId, tokenId, createdAt: created, expiresAt: new Date(Date.parse(created) + 3600_000).toISOString() };
}

for (const backend of STORE_BACKENDS) {
  describe(`store gateway sessions on ${backend}`, () => {
    const store = useStore(backend);

    it('store - keeps a session by the hash of its id until it is deleted', async () => {
      await addUserWithToken(store(), 'u1', 't1');
      await store().createGatewaySession(session(1));
      assert.deepEqual(await store().getGatewaySession(session(1).idHash), session(1));
      assert.equal(await store().getGatewaySession(session(2).idHash), undefined);
      assert.equal(await store().deleteGatewaySession(session(1).idHash), true);
      assert.equal(await store().deleteGatewaySession(session(1).idHash), false);
      assert.equal(await store().getGatewaySession(session(1).idHash), undefined);
    });

    it('store - a session goes with its token and with its user', async () => {
      await addUserWithToken(store(), 'u1', 't1');
      await addUserWithToken(store(), 'u2', 't2');
      await store().createGatewaySession(session(1));
      await store().createGatewaySession(session(2, 't2', 'u2'));
      await store().deleteApiToken('t1');
      assert.equal(await store().getGatewaySession(session(1).idHash), undefined);
      await store().deleteUser('u2');
      assert.equal(await store().getGatewaySession(session(2, 't2', 'u2').idHash), undefined);
    });

    it('store - refuses a session of a token that does not exist', async () => {
      await addUserWithToken(store(), 'u1', 't1');
      await assert.rejects(store().createGatewaySession(session(1, 't-missing')));
    });

    it('store - keeps the newest sessions of a token within the bound, and prunes expired ones', async () => {
      await addUserWithToken(store(), 'u1', 't1');
      for (let n = 1; n <= MAX_SESSIONS_PER_TOKEN + 2; n++) await store().createGatewaySession(session(n));
      assert.equal(await store().getGatewaySession(session(1).idHash), undefined);
      assert.equal(await store().getGatewaySession(session(2).idHash), undefined);
      assert.ok(await store().getGatewaySession(session(3).idHash));
      const pruned = await store().pruneGatewaySessions(session(10).expiresAt);
      assert.equal(pruned, 8);
      assert.equal(await store().getGatewaySession(session(10).idHash), undefined);
      assert.ok(await store().getGatewaySession(session(11).idHash));
    });
  });
}
