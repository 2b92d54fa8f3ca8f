import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BEARER_SUBPROTOCOL_PREFIX, MAX_BEARER_CHARS, bearerTokenOf, isBearerSubprotocol } from './bearer.ts';
import { allowedRequestHeaders } from './headers.ts';

const TOKEN = 'upk_alice_0123456789abcdef';
const subprotocol = (token: string): string => `${BEARER_SUBPROTOCOL_PREFIX}${Buffer.from(token).toString('base64url')}`;
const upgrade = (protocols: string): Record<string, string> => ({ upgrade: 'websocket', 'sec-websocket-protocol': protocols });

describe('kube bearer', () => {
  it('kube bearer - reads the Authorization header, bounded', () => {
    assert.equal(bearerTokenOf({ authorization: `Bearer ${TOKEN}` }), TOKEN);
    assert.equal(bearerTokenOf({ authorization: `Bearer ${'a'.repeat(MAX_BEARER_CHARS)}` }), 'a'.repeat(MAX_BEARER_CHARS));
    for (const bad of [`Bearer ${'a'.repeat(MAX_BEARER_CHARS + 1)}`, 'Basic abc', 'Bearer ', `Bearer ${TOKEN} x`, TOKEN]) {
      assert.equal(bearerTokenOf({ authorization: bad }), undefined, bad.slice(0, 20));
    }
    assert.equal(bearerTokenOf({}), undefined);
  });

  it('kube bearer - reads the token from one bearer subprotocol of an upgrade', () => {
    assert.equal(bearerTokenOf(upgrade(`v5.channel.k8s.io, v4.channel.k8s.io, ${subprotocol(TOKEN)}`)), TOKEN);
    assert.equal(bearerTokenOf(upgrade(subprotocol('a'.repeat(MAX_BEARER_CHARS)))), 'a'.repeat(MAX_BEARER_CHARS));
  });

  it('kube bearer - the header wins over the subprotocol', () => {
    assert.equal(bearerTokenOf({ ...upgrade(subprotocol('other')), authorization: `Bearer ${TOKEN}` }), TOKEN);
  });

  it('kube bearer - refuses a subprotocol token on a plain request, two of them, or a malformed one', () => {
    assert.equal(bearerTokenOf({ 'sec-websocket-protocol': subprotocol(TOKEN) }), undefined, 'not an upgrade');
    assert.equal(bearerTokenOf(upgrade(`${subprotocol(TOKEN)}, ${subprotocol(TOKEN)}`)), undefined, 'two');
    assert.equal(bearerTokenOf(upgrade('v5.channel.k8s.io')), undefined, 'none');
    assert.equal(bearerTokenOf(upgrade(BEARER_SUBPROTOCOL_PREFIX)), undefined, 'empty');
    assert.equal(bearerTokenOf(upgrade(`${BEARER_SUBPROTOCOL_PREFIX}dG9r=`)), undefined, 'padded');
    assert.equal(bearerTokenOf(upgrade(`${BEARER_SUBPROTOCOL_PREFIX}a+b/`)), undefined, 'not base64url');
    assert.equal(bearerTokenOf(upgrade(subprotocol('a'.repeat(MAX_BEARER_CHARS + 1)))), undefined, 'too long');
    assert.equal(bearerTokenOf(upgrade(subprotocol('two words'))), undefined, 'whitespace');
    assert.equal(bearerTokenOf(upgrade(`v5.channel.k8s.io, ${'x'.repeat(2000)}, ${subprotocol(TOKEN)}`)), undefined, 'header too long');
  });

  it('kube bearer - the bearer subprotocol is never forwarded', () => {
    assert.ok(isBearerSubprotocol(subprotocol(TOKEN)));
    assert.ok(!isBearerSubprotocol('v5.channel.k8s.io'));
    const forwarded = allowedRequestHeaders(upgrade(`v5.channel.k8s.io, ${subprotocol(TOKEN)}, v4.channel.k8s.io`));
    assert.equal(forwarded['sec-websocket-protocol'], 'v5.channel.k8s.io, v4.channel.k8s.io');
    assert.equal(allowedRequestHeaders(upgrade(subprotocol(TOKEN)))['sec-websocket-protocol'], undefined);
  });
});
