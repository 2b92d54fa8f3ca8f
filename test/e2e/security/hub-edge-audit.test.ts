// What anonymous clients can make the hub write, and what a full disk does to
// writes: a real hub (bin/uplink hub) whose data directory is a small tmpfs
// the test fills. Anonymous requests with escape sequences in what the audit
// log keeps are printed escaped by the real `uplink audit`; a flood of
// anonymous requests with 7,000-character paths leaves the database about as
// small as it was; with the disk full, API writes answer 5xx, never a success
// for something not stored, /readyz says so, and writes work again once there
// is room. Mounting a tmpfs needs root, as the test cluster does.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { AuditView } from '../../../src/hub/api/audit.ts';
import { testTempDir } from '../../helpers/cluster.ts';
import { eventually, hubMetricsText, metricValue, startHub, suiteContext, uplink, type HubHandle } from '../../helpers/uplink.ts';

const FS_BYTES = 24 * 1024 * 1024;
const FLOOD_REQUESTS = 2000;
const PATH_CHARS = 7000;
/** Bytes the flood may add to the database: a few dozen bounded rows and a summary, not 42 MB. */
const FLOOD_GROWTH_LIMIT = 2 * 1024 * 1024;
/** Any byte a terminal obeys: C0 (but the line feeds the CLI prints), DEL, C1. */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/u;

interface Answer {
  status: number;
  body: string;
}

describe('hub edge: audit amplification and writes on a full disk', () => {
  let hub: HubHandle;
  let mountPoint: string;
  let caPem: string;
  const { t: setupContext, runCleanups } = suiteContext('hub-edge-audit');

  before(async () => {
    mountPoint = testTempDir(setupContext, 'uplink-full-disk-');
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${FS_BYTES}`, 'tmpfs', mountPoint]);
    setupContext.after(() => { execFileSync('umount', ['-l', mountPoint]); });
    const dataDir = join(mountPoint, 'hub');
    mkdirSync(dataDir);
    hub = await startHub(setupContext, { dataDir });
    caPem = readFileSync(join(dataDir, 'tls', 'ca.crt'), 'utf8');
  });

  after(async () => {
    await runCleanups();
  });

  function request(method: string, path: string, options: { token?: string; body?: unknown } = {}): Promise<Answer> {
    const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
    return new Promise((resolve, reject) => {
      const req = https.request(`${hub.url}${path}`, {
        method, ca: caPem,
        headers: {
          ...(options.token === undefined ? {} : { authorization: `Bearer ${options.token}` }),
          ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
        },
      }, (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => { body += chunk.toString(); });
        res.on('end', () => { resolve({ status: res.statusCode ?? 0, body }); });
      });
      req.on('error', reject);
      req.end(payload);
    });
  }

  const databaseBytes = (): number => ['hub.db', 'hub.db-wal'].reduce((sum, file) => {
    try {
      return sum + statSync(join(hub.dataDir, file)).size;
    } catch {
      return sum;
    }
  }, 0);

  it('hub edge - escape sequences an anonymous client puts in the audit log reach the admin\'s terminal escaped', async () => {
    const ref = encodeURIComponent('\u001b]0;owned\u0007\u001b[2J');
    const command = encodeURIComponent('\u001b[1A\u001b[2Kfake row\u0007\u009b31m');
    const answer = await request('GET', `/k8s/clusters/${ref}/api/v1/namespaces/default/pods/p/exec?command=${command}&stdout=1`);
    assert.equal(answer.status, 401);
    // The row really holds the raw characters: escaping is the printer's job.
    const rows = await hub.client.request<{ items: AuditView[] }>('GET', '/api/v1/audit?user=(unauthenticated)');
    assert.ok(rows.items.some((row) => row.clusterName.includes('\u001b]0;owned') && row.command?.includes('\u001b[1A') === true));
    for (const output of ['table', 'json', 'yaml']) {
      const result = await uplink(['audit', '--user', '(unauthenticated)', '-o', output], hub.cliConfig);
      assert.equal(result.code, 0, result.stderr);
      assert.doesNotMatch(result.stdout, RAW_CONTROL, `uplink audit -o ${output} printed a raw control character`);
      assert.match(result.stdout, /\\(x1b|u001b|e)\]0;owned/, `-o ${output} shows the sequence visibly`);
    }
  });

  it('hub edge - 2,000 anonymous requests with 7,000-character paths leave the database about as small as it was', async () => {
    const before = databaseBytes();
    const path = `/k8s/clusters/c/api/v1/namespaces/${'n'.repeat(PATH_CHARS)}/pods?command=${'c'.repeat(PATH_CHARS)}`;
    let next = 0;
    await Promise.all(Array.from({ length: 16 }, async () => {
      while (next < FLOOD_REQUESTS) {
        next += 1;
        assert.equal((await request('GET', path)).status, 401);
      }
    }));
    const grown = databaseBytes() - before;
    assert.ok(grown < FLOOD_GROWTH_LIMIT, `the database grew by ${grown} bytes`);
    // The attempts stay visible: counted in the metrics, the first ones stored, bounded.
    const suppressed = metricValue(await hubMetricsText(hub), 'uplink_hub_audit_rows_suppressed_total');
    assert.ok(suppressed >= FLOOD_REQUESTS - 100, `only ${suppressed} refusals counted`);
    const rows = await hub.client.request<{ items: AuditView[] }>('GET', '/api/v1/audit?user=(unauthenticated)&limit=1000');
    assert.ok(rows.items.length > 0 && rows.items.length < 100, `${rows.items.length} rows`);
    assert.ok(rows.items.every((row) => row.path.length <= 512 && (row.command ?? '').length <= 512));
    assert.ok(rows.items.some((row) => /…\[\+\d+ chars\]$/.test(row.path)), 'a cut path says so');
  });

  it('hub edge - with the disk full, API writes answer 5xx and never a success for what was not stored; /readyz says so', async () => {
    const filler = join(mountPoint, 'filler');
    try {
      for (;;) appendFileSync(filler, Buffer.alloc(64 * 1024));
    } catch (error) {
      assert.equal((error as NodeJS.ErrnoException).code, 'ENOSPC');
    }
    try {
      for (;;) appendFileSync(filler, Buffer.alloc(512));
    } catch {
      // the last bytes
    }
    // Until the room the database's journal already holds is used up: then every write must fail, and say so.
    const answers: { name: string; answer: Answer }[] = [];
    const labels = Object.fromEntries(Array.from({ length: 64 }, (_, k) => [`pad${k}`, 'x'.repeat(63)]));
    for (let i = 0; i < 2000 && answers.filter(({ answer }) => answer.status >= 500).length < 10; i += 1) {
      const name = `full-${i}`;
      answers.push({ name, answer: await request('POST', '/api/v1/clusters', { token: hub.adminToken, body: { name, labels } }) });
    }
    const users: Answer[] = [];
    for (let i = 0; i < 5; i += 1) users.push(await request('POST', '/api/v1/users', { token: hub.adminToken, body: { name: `full-user-${i}` } }));
    const cli = await uplink(['clusters', 'create', 'full-cli'], hub.cliConfig);
    const stored = new Set((await hub.client.listAll<{ name: string }>('/api/v1/clusters', 1000)).map((c) => c.name));
    const storedUsers = new Set((await hub.client.request<{ items: { name: string }[] }>('GET', '/api/v1/users')).items.map((u) => u.name));
    const refused = answers.filter(({ answer }) => answer.status >= 500);
    const stored201 = answers.filter(({ name, answer }) => answer.status === 201 && stored.has(name)).length;
    const phantom = answers.filter(({ name, answer }) => answer.status === 201 && !stored.has(name)).map(({ name }) => name);
    assert.deepEqual(phantom.slice(0, 5), [], `${phantom.length} clusters answered 201 but were not stored (${stored201} were)`);
    assert.ok(refused.length > 0, 'the disk really was full: no write was refused');
    for (const { name, answer } of answers) {
      if (answer.status === 201) assert.ok(stored.has(name), `${name}: 201 but not stored`);
      else {
        assert.equal(answer.status, 507, answer.body);
        assert.equal((JSON.parse(answer.body) as { error: { code: string } }).error.code, 'STORE_FULL');
        assert.ok(!stored.has(name));
      }
    }
    for (const [i, answer] of users.entries()) {
      assert.ok(answer.status === 507 || (answer.status === 201 && storedUsers.has(`full-user-${i}`)), `user ${i}: ${answer.status}`);
    }
    assert.ok(cli.code !== 0 || stored.has('full-cli'), 'the CLI reported a cluster that was not stored');
    if (cli.code !== 0) assert.doesNotMatch(cli.stdout, /Cluster token/);
    const ready = await request('GET', '/readyz');
    assert.equal(ready.status, 503);
    assert.match(ready.body, /STORE_FULL/);
    // Room again: the next write succeeds and the hub is ready.
    rmSync(filler);
    const again = await request('POST', '/api/v1/clusters', { token: hub.adminToken, body: { name: 'after-full' } });
    assert.equal(again.status, 201, again.body);
    await eventually('/readyz ok', 10_000, async () => ((await request('GET', '/readyz')).status === 200 ? true : undefined));
    assert.ok((await hub.client.request<{ items: { name: string }[] }>('GET', '/api/v1/clusters')).items.some((c) => c.name === 'after-full'));
  });
});
