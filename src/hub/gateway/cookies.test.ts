import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  cookieValue, csrfCookie, sessionIdOf, csrfMatches, hashSessionId, isSecret, newSecret, safeNext, sameOriginPost, sessionCookie, clearedSessionCookie,
} from './cookies.ts';

describe('gateway cookies', () => {
  it('makes 32-byte secrets and stores only their hash', () => {
    const id = newSecret();
    assert.ok(isSecret(id));
    assert.equal(Buffer.from(id, 'base64url').length, 32);
    assert.notEqual(newSecret(), id);
    assert.match(hashSessionId(id), /^sha256:[0-9a-f]{64}$/);
    assert.ok(!hashSessionId(id).includes(id));
    assert.equal(isSecret('short'), false);
    assert.equal(isSecret(undefined), false);
  });

  it('sets the session cookie HttpOnly, Secure, SameSite=Lax, on /gw/ or the whole wildcard host, for 12 hours', () => {
    assert.equal(sessionCookie('v', 'path'), 'uplink_gw=v; Path=/gw/; Max-Age=43200; HttpOnly; Secure; SameSite=Lax');
    assert.equal(sessionCookie('v', 'host'), '__Host-uplink_gw=v; Path=/; Max-Age=43200; HttpOnly; Secure; SameSite=Lax');
    assert.match(clearedSessionCookie('path'), /^uplink_gw=; Path=\/gw\/; Max-Age=0;/);
    assert.match(csrfCookie('c'), /SameSite=Strict/);
    assert.ok(!sessionCookie('v', 'path').toLowerCase().includes('domain'));
  });

  it('reads one cookie of a header', () => {
    assert.equal(cookieValue('a=1; uplink_gw=xyz; b=2', 'uplink_gw'), 'xyz');
    assert.equal(cookieValue('uplink_gwx=1', 'uplink_gw'), undefined);
    assert.equal(cookieValue(undefined, 'uplink_gw'), undefined);
    assert.equal(cookieValue(`a=${'x'.repeat(20_000)}; uplink_gw=1`, 'uplink_gw'), undefined);
  });

  it('reads the session of the form\'s cookie, and none when two of that name came (one tossed from a sibling host)', () => {
    assert.equal(sessionIdOf('a=1; uplink_gw=abc', 'path'), 'abc');
    assert.equal(sessionIdOf('uplink_gw=abc; uplink_gw=evil', 'path'), undefined);
    assert.equal(sessionIdOf('__Host-uplink_gw=abc; uplink_gw=x', 'host'), 'abc');
    assert.equal(sessionIdOf('uplink_gw=abc', 'host'), undefined);
    assert.equal(sessionIdOf(undefined, 'path'), undefined);
  });

  it('accepts a form only with the cookie\'s CSRF value', () => {
    const value = newSecret();
    assert.equal(csrfMatches(value, value), true);
    assert.equal(csrfMatches(value, newSecret()), false);
    assert.equal(csrfMatches(undefined, value), false);
    assert.equal(csrfMatches(value, undefined), false);
    assert.equal(csrfMatches('x', 'x'), false);
  });

  it('accepts a post only from a page of the same host', () => {
    assert.equal(sameOriginPost({ origin: 'https://hub.example.com:8443', host: 'hub.example.com:8443' }), true);
    assert.equal(sameOriginPost({ referer: 'https://hub.example.com/gw/-/login', host: 'hub.example.com' }), true);
    assert.equal(sameOriginPost({ origin: 'https://evil.example', host: 'hub.example.com' }), false);
    assert.equal(sameOriginPost({ origin: 'null', host: 'hub.example.com' }), false);
    assert.equal(sameOriginPost({ host: 'hub.example.com' }), false);
    assert.equal(sameOriginPost({ origin: 'not a url', host: 'hub.example.com' }), false);
    assert.equal(sameOriginPost({ origin: 'https://a--b.gw.example.com', host: 'c--d.gw.example.com' }), false);
  });

  it('redirects after sign-in only to a gateway path on this host', () => {
    assert.equal(safeNext('/gw/prod/grafana/d?x=1', 'path'), '/gw/prod/grafana/d?x=1');
    for (const bad of ['https://evil.example/gw/', '//evil.example/gw/a/b/', '/\\evil.example', '/gw/-/logout', '/api/v1/users', 'gw/a/b/', '/gw/a\nb', undefined]) {
      assert.equal(safeNext(bad, 'path'), '/gw/-/login', String(bad));
    }
    assert.equal(safeNext('/d/abc', 'host'), '/d/abc');
    assert.equal(safeNext('//evil.example/', 'host'), '/');
    assert.equal(safeNext('/gw/a/../../api/', 'path'), '/gw/-/login');
  });
});
