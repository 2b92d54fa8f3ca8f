import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { useMemoryStore } from '../store/memory-store.test-helper.ts';
import { hashSessionId, SESSION_TTL_MS } from './cookies.ts';
import { GatewaySessions } from './sessions.ts';

const START = Date.parse('2026-03-01T00:00:00.000Z');

describe('gateway sessions', () => {
  const store = useMemoryStore();

  async function setUp(): Promise<{ sessions: GatewaySessions; clock: { now: number } }> {
    await store().createUser({ id: 'u1', name: 'alice', createdAt: new Date(START).toISOString() });
    await store().createApiToken({ id: 't1', userId: 'u1', name: 'laptop', tokenHash: `sha256:${'c'.repeat(64)}`, createdAt: new Date(START).toISOString() });
    await store().addGrant({ userId: 'u1', role: 'view', clusterId: null });
    const clock = { now: START };
    return { sessions: new GatewaySessions({ store: store(), now: () => clock.now }), clock };
  }

  it('acts as the token it was made from, with the user\'s grants as they are now', async () => {
    const { sessions } = await setUp();
    const id = await sessions.create({ tokenId: 't1', userId: 'u1' });
    assert.ok(await store().getGatewaySession(hashSessionId(id)));
    const principal = await sessions.principalOf(id);
    assert.deepEqual(principal, { tokenId: 't1', userId: 'u1', userName: 'alice', grants: [{ userId: 'u1', role: 'view', clusterId: null }] });
    await store().removeGrant({ userId: 'u1', role: 'view', clusterId: null });
    assert.deepEqual((await sessions.principalOf(id))?.grants, []);
  });

  it('ends at its expiry, when its token is revoked, and when signed out', async () => {
    const { sessions, clock } = await setUp();
    const first = await sessions.create({ tokenId: 't1', userId: 'u1' });
    clock.now += SESSION_TTL_MS - 1;
    assert.ok(await sessions.principalOf(first));
    clock.now += 1;
    assert.equal(await sessions.principalOf(first), null);
    const second = await sessions.create({ tokenId: 't1', userId: 'u1' });
    await sessions.end(second);
    assert.equal(await sessions.principalOf(second), null);
    const third = await sessions.create({ tokenId: 't1', userId: 'u1' });
    await store().deleteApiToken('t1');
    assert.equal(await sessions.principalOf(third), null);
  });

  it('reads nothing for a malformed or unknown cookie', async () => {
    const { sessions } = await setUp();
    assert.equal(await sessions.principalOf(undefined), null);
    assert.equal(await sessions.principalOf('x'.repeat(43)), null);
    assert.equal(await sessions.principalOf('not a secret'), null);
    await sessions.end('not a secret');
  });
});
