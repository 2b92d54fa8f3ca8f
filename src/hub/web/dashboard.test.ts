// Serving the built dashboard: security headers, caching, gzip, and the page
// that says how to build it when it is missing.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import Fastify from 'fastify';
import { loadDashboard, registerDashboard } from './dashboard.ts';

function builtDashboard(): string {
  const dir = mkdtempSync(join(tmpdir(), 'uplink-web-'));
  mkdirSync(join(dir, 'assets'));
  writeFileSync(join(dir, 'index.html'), '<!doctype html><script type="module" src="/assets/index-abc.js"></script>');
  writeFileSync(join(dir, 'assets', 'index-abc.js'), `console.log(${JSON.stringify('x'.repeat(5000))});`);
  return dir;
}

describe('dashboard files', () => {
  it('dashboard - / has a strict CSP and no-cache; hashed assets are immutable, gzipped and answer 304 to their etag', async () => {
    const app = Fastify();
    registerDashboard(app, loadDashboard(builtDashboard()));
    const index = await app.inject({ url: '/' });
    assert.equal(index.statusCode, 200);
    assert.match(index.headers['content-type'] as string, /^text\/html/);
    assert.match(index.headers['content-security-policy'] as string, /script-src 'self';.*frame-ancestors 'none'/);
    assert.equal(index.headers['cache-control'], 'no-cache');
    assert.equal(index.headers['x-content-type-options'], 'nosniff');

    const js = await app.inject({ url: '/assets/index-abc.js', headers: { 'accept-encoding': 'gzip, br' } });
    assert.equal(js.statusCode, 200);
    assert.equal(js.headers['content-encoding'], 'gzip');
    assert.match(js.headers['cache-control'] as string, /immutable/);
    assert.match(gunzipSync(js.rawPayload).toString(), /^console\.log/);
    const again = await app.inject({ url: '/assets/index-abc.js', headers: { 'if-none-match': js.headers.etag as string } });
    assert.equal(again.statusCode, 304);

    const plain = await app.inject({ url: '/assets/index-abc.js' });
    assert.equal(plain.headers['content-encoding'], undefined);
    assert.equal((await app.inject({ url: '/assets/other.js' })).statusCode, 404);
    assert.equal((await app.inject({ url: '/assets/../../etc/passwd' })).statusCode, 404);
  });

  it('dashboard - without a build, / answers 503 with how to build it, and nothing else is served', async () => {
    const app = Fastify();
    registerDashboard(app, loadDashboard(mkdtempSync(join(tmpdir(), 'uplink-web-empty-'))));
    const index = await app.inject({ url: '/' });
    assert.equal(index.statusCode, 503);
    assert.match(index.body, /The dashboard is not built.*scripts\/setup\.sh/s);
    assert.equal((await app.inject({ url: '/index.html' })).statusCode, 404);
  });
});
