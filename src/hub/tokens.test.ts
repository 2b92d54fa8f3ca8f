import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hashToken, issueToken, looksLikeId, newId, parseToken, TokenIdError, verifyToken } from './tokens.ts';

const SECRET = 'A'.repeat(43);

describe('tokens', () => {
  it('tokens - issues tokens that parse back and verify against their hash', () => {
    const cluster = issueToken('cluster', 'cabc123def456');
    assert.match(cluster.token, /^upc_cabc123def456_[A-Za-z0-9_-]{43}$/);
    assert.deepEqual(parseToken(cluster.token), { kind: 'cluster', id: 'cabc123def456' });
    assert.equal(verifyToken(cluster.token, cluster.hash), true);

    const api = issueToken('api', 'tabc123def456');
    assert.match(api.token, /^upk_tabc123def456_/);
    assert.deepEqual(parseToken(api.token), { kind: 'api', id: 'tabc123def456' });
    assert.equal(verifyToken(api.token, api.hash), true);
  });

  it('tokens - issues a different token and hash every time', () => {
    const first = issueToken('cluster', 'c1');
    const second = issueToken('cluster', 'c1');
    assert.notEqual(first.token, second.token);
    assert.notEqual(first.hash, second.hash);
  });

  it('tokens - refuses to issue a token for an id parseToken would reject', () => {
    for (const id of ['', 'C1', 'c_1', 'c-1', 'c'.repeat(64)]) {
      assert.throws(() => issueToken('api', id), (error: unknown) => {
        assert.ok(error instanceof TokenIdError);
        assert.equal(error.code, 'TOKEN_ID_INVALID');
        return true;
      });
    }
  });

  it('tokens - parses a secret that contains _ and -', () => {
    const secret = `_-${'b'.repeat(41)}`;
    assert.deepEqual(parseToken(`upc_c1_${secret}`), { kind: 'cluster', id: 'c1' });
  });

  it('tokens - parse rejects each malformed form', () => {
    const malformed: Record<string, string> = {
      empty: '',
      'unknown prefix': `upx_c1_${SECRET}`,
      'uppercase prefix': `UPC_c1_${SECRET}`,
      'no prefix': `c1_${SECRET}`,
      'empty id': `upc__${SECRET}`,
      'uppercase id': `upc_C1_${SECRET}`,
      'id with a dash': `upc_c-1_${SECRET}`,
      'id with a dot': `upc_c.1_${SECRET}`,
      'secret one char short': `upc_c1_${SECRET.slice(1)}`,
      'secret one char long': `upc_c1_${SECRET}A`,
      'secret with padding': `upc_c1_${SECRET.slice(1)}=`,
      'secret with a plus': `upc_c1_${SECRET.slice(1)}+`,
      'missing secret': 'upc_c1',
      'trailing newline': `upc_c1_${SECRET}\n`,
      'leading space': ` upc_c1_${SECRET}`,
      'over 200 chars': `upc_${'a'.repeat(150)}_${SECRET}`,
    };
    for (const [form, token] of Object.entries(malformed)) {
      assert.equal(parseToken(token), undefined, form);
    }
  });

  it('tokens - hashes to sha256: and 64 lowercase hex chars, deterministically', () => {
    const token = `upc_c1_${SECRET}`;
    assert.match(hashToken(token), /^sha256:[0-9a-f]{64}$/);
    assert.equal(hashToken(token), hashToken(token));
    // SHA-256 of the empty string, to pin the algorithm and encoding.
    assert.equal(hashToken(''), 'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });

  it('tokens - verify rejects a token with one character changed', () => {
    const { token, hash } = issueToken('cluster', 'c1');
    const last = token.at(-1) === 'A' ? 'B' : 'A';
    assert.equal(verifyToken(token.slice(0, -1) + last, hash), false);
  });

  it('tokens - verify rejects a wrong-length or malformed stored hash', () => {
    const { token, hash } = issueToken('api', 't1');
    assert.equal(verifyToken(token, hash.slice(0, -1)), false);
    assert.equal(verifyToken(token, `${hash}0`), false);
    assert.equal(verifyToken(token, hash.replace('sha256:', 'sha512:')), false);
    assert.equal(verifyToken(token, hash.toUpperCase()), false);
    assert.equal(verifyToken(token, ''), false);
  });

  it('tokens - verify rejects a malformed token even if its hash was stored', () => {
    const token = 'not-a-token';
    assert.equal(verifyToken(token, hashToken(token)), false);
  });

  it('tokens - new ids are a prefix and 12 chars of [a-z0-9], all different', () => {
    const ids = new Set<string>();
    for (const prefix of ['c', 't', 'u'] as const) {
      for (let i = 0; i < 100; i++) {
        const id = newId(prefix);
        assert.match(id, /^[ctu][a-z0-9]{12}$/);
        assert.equal(id[0], prefix);
        ids.add(id);
      }
    }
    assert.equal(ids.size, 300);
  });
});

describe('record ids and names', () => {
  it('tokens - every new id has the id form, and names of that form are told apart', () => {
    for (const prefix of ['c', 't', 'u'] as const) assert.ok(looksLikeId(newId(prefix)));
    assert.ok(looksLikeId('cabc123def456'));
    for (const name of ['prod', 'c', 'cabc123def45', 'cabc123def4567', 'xabc123def456', 'c-bc123def456', 'Cabc123def456']) assert.ok(!looksLikeId(name), name);
  });
});
