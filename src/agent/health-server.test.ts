import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { gitCommit, startHealthServer } from './health-server.ts';
import { AgentMetrics } from './metrics.ts';

describe('health server', () => {
  it('health server - routes the runtime paths to the runtime, refuses other methods, and does not echo an unknown path', async (t) => {
    const seen: string[] = [];
    const server = await startHealthServer({
      host: '127.0.0.1', port: 0, metrics: new AgentMetrics(), readiness: () => ({ ready: true, reasons: [] }),
      runtime: {
        handle: (_req, res, path) => {
          seen.push(path);
          if (path !== '/api/health/detailed') return false;
          res.writeHead(200).end('runtime');
          return true;
        },
      },
    });
    t.after(() => { server.close(); });
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    assert.equal(await (await fetch(`${base}/api/health/detailed?x=1`)).text(), 'runtime');
    const missing = await fetch(`${base}/<script>alert(1)</script>`);
    assert.equal(missing.status, 404);
    assert.deepEqual(await missing.json(), { error: 'no such path' });
    assert.equal((await fetch(`${base}/api/health/detailed`, { method: 'POST' })).status, 405);
    assert.equal((await fetch(`${base}/favicon.ico`)).status, 204);
    const version = await (await fetch(`${base}/version`)).json() as { uplink: string; node: string; platform: string };
    assert.deepEqual([version.node, version.platform], [process.versions.node, `${process.platform}/${process.arch}`]);
    assert.deepEqual(seen, ['/api/health/detailed', '/%3Cscript%3Ealert(1)%3C/script%3E']);
  });

  it('health server - the git commit comes from UPLINK_GIT_COMMIT only when it is hex', () => {
    assert.equal(gitCommit({ UPLINK_GIT_COMMIT: ' 0B7A116 ' }), '0b7a116');
    assert.equal(gitCommit({ UPLINK_GIT_COMMIT: 'main' }), null);
    assert.equal(gitCommit({}), null);
  });
});
