// Token checks, structurally rather than by stopwatch: a token whose id is
// unknown and a token with a wrong secret take the same path (one SHA-256,
// one constant-time comparison of equal-length digests) and answer alike.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { syncBuiltinESMExports } from 'node:module';
import { describe, it, type TestContext } from 'node:test';
import { authenticateToken } from './auth.ts';
import { useMemoryStore } from './store/memory-store.test-helper.ts';
import { issueToken, verifyStoredToken } from './tokens.ts';

/** Counts calls of node:crypto's timingSafeEqual and createHash as tokens.ts sees them (its named imports). */
function spyCrypto(t: TestContext): { compares: [number, number][]; hashes: () => number } {
  const compares: [number, number][] = [];
  const realCompare = crypto.timingSafeEqual.bind(crypto);
  const compare = t.mock.method(crypto, 'timingSafeEqual', (a: NodeJS.ArrayBufferView, b: NodeJS.ArrayBufferView) => {
    compares.push([a.byteLength, b.byteLength]);
    return realCompare(a, b);
  });
  const hash = t.mock.method(crypto, 'createHash');
  syncBuiltinESMExports();
  t.after(() => {
    compare.mock.restore();
    hash.mock.restore();
    syncBuiltinESMExports();
  });
  return { compares, hashes: () => hash.mock.callCount() };
}

describe('token checks', () => {
  const store = useMemoryStore();

  it('token timing - an unknown token id and a wrong secret each cost one hash and one constant-time comparison', async (t) => {
    await store().createUser({ id: 'ualice', name: 'alice', createdAt: '2026-01-01T00:00:00Z' });
    const issued = issueToken('api', 'tknown');
    await store().createApiToken({ id: 'tknown', userId: 'ualice', name: 'cli', tokenHash: issued.hash, createdAt: '2026-01-01T00:00:00Z' });
    const secret = issued.token.slice('upk_tknown_'.length);
    const wrongSecret = `upk_tknown_${secret.startsWith('A') ? 'B' : 'A'}${secret.slice(1)}`;
    const unknownId = `upk_tunknown_${secret}`;

    const spy = spyCrypto(t);
    const touched = new Map<string, number>();
    assert.equal(await authenticateToken(store(), wrongSecret, touched), null);
    assert.deepEqual([spy.compares, spy.hashes()], [[[32, 32]], 1], 'a wrong secret: one hash, one comparison of two SHA-256 digests');
    assert.equal(await authenticateToken(store(), unknownId, touched), null);
    assert.deepEqual([spy.compares, spy.hashes()], [[[32, 32], [32, 32]], 2], 'an unknown id: the same work again');
    assert.equal((await authenticateToken(store(), issued.token, touched))?.userName, 'alice');
  });

  it('token timing - verifyStoredToken never accepts without a stored hash, whatever the token', () => {
    const issued = issueToken('cluster', 'cone');
    assert.equal(verifyStoredToken(issued.token, issued.hash), true);
    assert.equal(verifyStoredToken(issued.token, undefined), false);
    assert.equal(verifyStoredToken('', undefined), false);
    assert.equal(verifyStoredToken(issued.token, 'sha256:not-hex'), false);
  });
});
