import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { authenticateToken } from './auth.ts';
import { bootstrapAdminUser, issueApiToken } from './users.ts';
import { useMemoryStore } from './store/memory-store.test-helper.ts';

describe('users', () => {
  const store = useMemoryStore();

  it('users - bootstrap creates admin with a fleet-wide admin grant and a working token, once', async () => {
    const token = await bootstrapAdminUser(store());
    assert.match(token ?? '', /^upk_t[a-z0-9]{12}_/);
    const admin = await store().getUserByName('admin');
    assert.ok(admin);
    assert.deepEqual(await store().listGrants(admin.id), [{ userId: admin.id, role: 'admin', clusterId: null }]);
    assert.deepEqual((await store().listApiTokens(admin.id)).map((t) => t.name), ['admin']);
    const principal = await authenticateToken(store(), token ?? '', new Map());
    assert.equal(principal?.userName, 'admin');
    assert.equal(await bootstrapAdminUser(store()), undefined);
    assert.equal((await store().listUsers()).length, 1);
  });

  it('users - bootstrap does nothing when any user exists', async () => {
    await store().createUser({ id: 'u1', name: 'alice', createdAt: '2026-01-01T00:00:00.000Z' });
    assert.equal(await bootstrapAdminUser(store()), undefined);
    assert.equal(await store().getUserByName('admin'), undefined);
  });

  it('users - a token authenticates as its user with the grants of the moment', async () => {
    await store().createUser({ id: 'u1', name: 'alice', createdAt: '2026-01-01T00:00:00.000Z' });
    const issued = await issueApiToken(store(), { userId: 'u1', name: 'laptop' });
    const touched = new Map<string, number>();
    let principal = await authenticateToken(store(), issued.token, touched);
    assert.deepEqual(principal, { tokenId: issued.id, userId: 'u1', userName: 'alice', grants: [] });
    assert.ok((await store().getApiToken(issued.id))?.lastUsedAt);
    await store().addGrant({ userId: 'u1', role: 'view', clusterId: null });
    principal = await authenticateToken(store(), issued.token, touched);
    assert.deepEqual(principal?.grants, [{ userId: 'u1', role: 'view', clusterId: null }]);
  });

  it('users - a wrong, revoked or orphaned token authenticates no one', async () => {
    await store().createUser({ id: 'u1', name: 'alice', createdAt: '2026-01-01T00:00:00.000Z' });
    const issued = await issueApiToken(store(), { userId: 'u1', name: 'laptop' });
    assert.equal(await authenticateToken(store(), `${issued.token.slice(0, -4)}AAAA`, new Map()), null);
    assert.equal(await authenticateToken(store(), 'not-a-token', new Map()), null);
    assert.equal(await authenticateToken(store(), issued.token.replace(/^upk_/, 'upc_'), new Map()), null);
    await store().deleteApiToken(issued.id);
    assert.equal(await authenticateToken(store(), issued.token, new Map()), null);
    const second = await issueApiToken(store(), { userId: 'u1', name: 'ci' });
    await store().deleteUser('u1');
    assert.equal(await authenticateToken(store(), second.token, new Map()), null);
  });
});
