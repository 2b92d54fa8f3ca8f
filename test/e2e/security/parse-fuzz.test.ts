// Input parsing at the hub's boundaries, attacked as an anonymous client, a
// user and an agent would: malformed escapes on the kubectl endpoint, partial
// heartbeats, facts left in the store by an older hub, and the classic path
// tricks on every route family. Each attack must leave the hub answering.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ClusterView } from '../../../src/hub/fleet.ts';
import { openSqliteStore } from '../../../src/hub/store/index.ts';
import { hubRequest, livez, openFleetWatch, rawExchange, type FleetWatch } from '../../helpers/hub-http.ts';
import { heartbeat, linkRawAgent, type RawAgent } from '../../helpers/raw-agent.ts';
import { eventually, hubMetricsText, metricValue, startHub, suiteContext, type HubHandle } from '../../helpers/uplink.ts';

interface FleetItemSeen {
  id: string;
  name: string;
  facts: { region?: unknown } | null;
  location: { name: string } | null;
}

/** The items of every snapshot and change the watch has received so far. */
function itemsSeen(watch: FleetWatch): FleetItemSeen[] {
  return watch.events
    .filter((e) => e.event === 'snapshot' || e.event === 'changed')
    .flatMap((e) => (JSON.parse(e.data) as { items: FleetItemSeen[] }).items);
}

async function assertHubServing(hub: HubHandle): Promise<void> {
  assert.equal(await livez(hub), 200, '/livez answers');
  assert.equal(hub.process.child.exitCode, null, 'the hub process is running');
  const clusters = await hub.client.request<{ items: unknown[] }>('GET', '/api/v1/clusters');
  assert.ok(Array.isArray(clusters.items), 'an admin can list clusters');
}

describe('parse - hub boundaries', () => {
  let hub: HubHandle;
  let agent: RawAgent;
  const { t: setupContext, runCleanups } = suiteContext('parse');

  before(async () => {
    hub = await startHub(setupContext);
    const created = await hub.client.request<{ token: string }>('POST', '/api/v1/clusters', { name: 'target' });
    agent = await linkRawAgent(setupContext, hub, created.token);
    agent.send(heartbeat());
    await eventually('the target cluster online', 15_000, async () => (
      (await hub.client.request<ClusterView>('GET', '/api/v1/clusters/target')).status === 'online' ? true : undefined));
  });

  after(async () => {
    await runCleanups();
  });

  it('parse - an anonymous kubectl request with a malformed percent-escape gets 400 and the hub keeps answering', async () => {
    const admin = { authorization: `Bearer ${hub.adminToken}` };
    const cases: { path: string; headers?: Record<string, string> }[] = [
      { path: '/k8s/clusters/%E0%A4%A/api' },
      { path: '/k8s/clusters/%E0%A4%A' },
      { path: '/k8s/clusters/%zz/api?timeout=32s' },
      { path: '/k8s/clusters/%C0%AE%C0%AE/api' },
      { path: '/k8s/clusters/target/api/v1/namespaces/%E0%A4%A/pods' },
      { path: '/k8s/clusters/target/api/v1/namespaces/%E0%A4%A/pods', headers: admin },
      { path: '/k8s/clusters/target/api/%ff', headers: admin },
    ];
    for (const { path, headers } of cases) {
      const answer = await hubRequest(hub, { path, ...(headers ? { headers } : {}) });
      assert.equal(answer.status, 400, `${path}: ${answer.body}`);
      const status = JSON.parse(answer.body) as { kind: string; code: number; reason: string };
      assert.deepEqual([status.kind, status.code, status.reason], ['Status', 400, 'BadRequest']);
    }
    // The same through the upgrade path kubectl exec takes.
    const upgrade = await rawExchange(hub, Buffer.from(
      'GET /k8s/clusters/%E0%A4%A/api/v1/namespaces/default/pods/p/exec?command=id HTTP/1.1\r\nHost: hub\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n\r\n'));
    assert.match(upgrade, /^HTTP\/1\.1 400 /);
    await assertHubServing(hub);
    const metrics = await hubMetricsText(hub);
    assert.ok(metricValue(metrics, 'uplink_hub_kube_requests_total', 'outcome="malformed"') >= cases.length + 1);
  });

  it('parse - a heartbeat with partial facts is dropped: the hub, the fleet feed and the stored facts are unaffected', async (t) => {
    const watch = await openFleetWatch(hub, hub.adminToken);
    t.after(() => { watch.close(); });
    const bad = [
      { type: 'heartbeat', intervalSeconds: 15, facts: {} },
      { ...heartbeat(), facts: { ...heartbeat().facts, region: 42 } },
      { ...heartbeat(), facts: null },
      { ...heartbeat(), intervalSeconds: -1 },
      { ...heartbeat(), facts: { ...heartbeat().facts, zones: 'eu-west-1a' } },
    ];
    for (const event of bad) agent.send(event);
    agent.send('{"type":"heartbeat","intervalSeconds":15,"facts":{"region":null,"egressIp":{"toString":1}}}');
    await eventually('the malformed heartbeats counted', 15_000, async () => (
      metricValue(await hubMetricsText(hub), 'uplink_hub_agent_events_dropped_total', 'type="heartbeat"') >= bad.length + 1 ? true : undefined));
    // A good heartbeat after them reaches the feed: its ticks kept running.
    agent.send(heartbeat({ region: 'us-east-1' }));
    await eventually('the feed showing the new region', 15_000, () => (
      itemsSeen(watch).some((i) => i.name === 'target' && i.location?.name.startsWith('us-east-1') === true) ? true : undefined));
    assert.equal(watch.ended, false, 'the fleet feed is still open');
    const view = await hub.client.request<ClusterView>('GET', '/api/v1/clusters/target');
    assert.equal(view.facts?.region, 'us-east-1', 'only well-formed facts were stored');
    assert.equal(view.status, 'online');
    assert.equal(agent.open, true, 'the link stays open: a bad line costs that line only');
    await assertHubServing(hub);
  });

  it('parse - path traversal and encoding tricks on the dashboard serve no file from outside web/dist', async () => {
    const paths = [
      '/../package.json', '/assets/../../package.json', '/%2e%2e/package.json', '/%2E%2E%2Fpackage.json',
      '/assets/%2e%2e%2f%2e%2e%2fpackage.json', '/%252e%252e%252fpackage.json', '/assets/..%c0%af..%c0%afpackage.json',
      '/assets/%c0%ae%c0%ae/%c0%ae%c0%ae/package.json', '/..%5c..%5cpackage.json', '/assets/..\\..\\package.json',
      '/index.html%00.js', '/assets/%00', '//etc/passwd', '/.git/config', '/web/dist/index.html', '/src/hub/tokens.ts',
      '/assets/../../src/hub/tokens.ts', '/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd', '/assets/%2e%2e/%2e%2e/hub.db',
    ];
    for (const path of paths) {
      for (const headers of [{}, { authorization: `Bearer ${hub.adminToken}` }] as Record<string, string>[]) {
        const answer = await hubRequest(hub, { path, headers });
        assert.ok(answer.status >= 400 && answer.status < 500, `${path}: ${answer.status}`);
        assert.doesNotMatch(answer.body, /"name": "uplink"|root:x:0|issueToken|SQLite format|\[core\]/, path);
      }
    }
    // Bytes Node's HTTP parser itself refuses (NUL, raw spaces, bare CR in the request line): a 400 or a closed connection.
    for (const line of ['GET /\0/../package.json HTTP/1.1', 'GET /assets/../ ../package.json HTTP/1.1', 'GET /..\r/package.json HTTP/1.1']) {
      const answer = await rawExchange(hub, Buffer.from(`${line}\r\nHost: hub\r\n\r\n`));
      assert.ok(answer === '' || /^HTTP\/1\.1 4\d\d /.test(answer), `${JSON.stringify(line)}: ${answer.slice(0, 40)}`);
    }
    await assertHubServing(hub);
  });

  it('parse - path traversal and encoding tricks in API path parameters and the kubectl cluster name reach nothing else', async () => {
    const admin = { authorization: `Bearer ${hub.adminToken}` };
    const paths = [
      '/api/v1/clusters/..%2fusers', '/api/v1/clusters/%2e%2e', '/api/v1/clusters/%2e%2e%2fusers', '/api/v1/clusters/%252e%252e%252fusers',
      '/api/v1/clusters/target%00', '/api/v1/clusters/%C0%AE%C0%AE/addons', '/api/v1/clusters/%E0%A4%A', '/api/v1/clusters/%E0%A4%A/resources/pods',
      '/api/v1/clusters/missing/resources/..%2f..%2fsecrets', '/api/v1/clusters/missing/addons/%2e%2e%2f%2e%2e', '/api/v1/users/%2e%2e%2fclusters',
      '/api/v1/users/admin%2fgrants', '/api/v1/users/%00/tokens', '/api/v1/tokens/%2e%2e', '/api/v1/clusters/target/../../users',
      '/k8s/clusters/..%2f..%2fapi%2fv1%2fusers/api', '/k8s/clusters/%2e%2e/api', '/k8s/clusters/target%00/api', '/k8s/clusters/../../api/v1/users',
      '/k8s/clusters/%252e%252e/api', '/k8s/clusters/target%2f..%2fother/api',
    ];
    for (const path of paths) {
      for (const headers of [{}, admin] as Record<string, string>[]) {
        const answer = await hubRequest(hub, { path, headers });
        assert.ok(answer.status >= 400 && answer.status < 500, `${path} (${headers.authorization === undefined ? 'anonymous' : 'admin'}): ${answer.status} ${answer.body.slice(0, 200)}`);
        assert.doesNotMatch(answer.body, /"items"|upk_|upc_|tokenHash/, path);
      }
    }
    await assertHubServing(hub);
  });
});

describe('parse - facts stored by an older hub', () => {
  it('parse - a hub restarted on a data dir holding partial facts stays up, and its fleet feed keeps working', async (t) => {
    const first = await startHub(t);
    const old = (await first.client.request<{ cluster: { id: string } }>('POST', '/api/v1/clusters', { name: 'old-facts' })).cluster;
    const fresh = await first.client.request<{ token: string }>('POST', '/api/v1/clusters', { name: 'fresh' });
    await first.process.stop();
    // As a hub that did not check heartbeats would have stored them.
    const store = openSqliteStore({ path: join(first.dataDir, 'hub.db') });
    await store.recordConnection(old.id, { connected: true, at: new Date().toISOString(), agentVersion: '0.0.1' });
    await store.recordHeartbeat(old.id, { at: new Date().toISOString(), intervalSeconds: 15, facts: {} as never });
    await store.close();

    const hub = await startHub(t, { dataDir: first.dataDir });
    const watch = await openFleetWatch(hub, hub.adminToken);
    t.after(() => { watch.close(); });
    const oldItem = itemsSeen(watch).find((i) => i.name === 'old-facts');
    assert.deepEqual([oldItem?.facts, oldItem?.location], [null, null], 'facts that do not fit read as none');
    // Rounds keep running past the old facts: a new agent's heartbeat reaches the feed.
    const agent = await linkRawAgent(t, hub, fresh.token);
    agent.send(heartbeat({ region: 'westeurope' }));
    await eventually('the feed showing the fresh cluster', 15_000, () => (
      itemsSeen(watch).some((i) => i.name === 'fresh' && i.location?.name.startsWith('westeurope') === true) ? true : undefined));
    assert.equal((await hub.client.request<ClusterView>('GET', '/api/v1/clusters/old-facts')).facts, null);
    const listed = await hub.client.request<{ items: ClusterView[] }>('GET', '/api/v1/clusters');
    assert.equal(listed.items.find((item) => item.name === 'old-facts')?.facts, null, 'the list agrees with the cluster view');
    await assertHubServing(hub);
    assert.equal(watch.ended, false);
  });
});
