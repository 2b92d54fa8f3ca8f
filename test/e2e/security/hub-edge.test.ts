// The hub's listening port under hostile clients: an idle connection flood
// from one address, headers or a body trickled byte by byte, a TLS client
// that never says hello. Each is cut off by a cap or a deadline set through
// the hub's own settings (short here), while a real agent linked to the real
// test cluster stays linked, a live feed opened earlier keeps streaming, and
// the admin's `uplink clusters list` answers. Also: the hub's and the agent's
// state files are private whatever the mode of their directory.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { chmodSync, mkdirSync, readFileSync, readdirSync, statSync } from 'node:fs';
import type { ClientRequest } from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { join } from 'node:path';
import tls from 'node:tls';
import { after, before, describe, it } from 'node:test';
import type { ClusterView } from '../../../src/hub/fleet.ts';
import { createTestNamespace, kubectl, mintServiceAccountToken, testTempDir } from '../../helpers/cluster.ts';
import { KubectlStream, kubeconfigThroughHub, kubectlVia } from '../../helpers/kubectl-hub.ts';
import { flood } from '../../helpers/flood.ts';
import {
  eventually, hubMetricsText, metricValue, startAgent, startHub, suiteContext, uplink, type AgentHandle, type HubHandle,
} from '../../helpers/uplink.ts';

/** Small caps and deadlines, so that a few thousand sockets and a few seconds show what 20,000 and the defaults would. */
const PER_ADDRESS = 200;
const FLOOD_SOCKETS = 3000;
/** The flood's source address: loopback, but not the one the agent and the admin use. */
const FLOOD_FROM = '127.0.0.2';
const HUB_ARGS = [
  '--max-connections-per-address', String(PER_ADDRESS), '--tls-handshake-timeout', '2', '--headers-timeout', '2',
  '--request-timeout', '4', '--keepalive-timeout', '2',
];
/** Generous: the hub's sweep runs every half second and the machine is shared. */
const CUT_DEADLINE_MS = 30_000;

describe('hub edge: connection caps and deadlines', () => {
  let hub: HubHandle;
  let agent: AgentHandle;
  let caPem: string;
  let namespace: string;
  /** A live fleet feed opened before any attack; it must outlive every deadline below. */
  let feed: ClientRequest;
  let feedEvents = 0;
  let feedClosed = false;
  const { t: setupContext, runCleanups } = suiteContext('hub-edge');

  before(async () => {
    const dataDir = testTempDir(setupContext, 'uplink-hub-edge-');
    // An operator's directory, made before the hub with the usual 0755.
    chmodSync(dataDir, 0o755);
    hub = await startHub(setupContext, { dataDir, args: HUB_ARGS });
    caPem = readFileSync(join(hub.dataDir, 'tls', 'ca.crt'), 'utf8');
    namespace = await createTestNamespace(setupContext, 'edge');
    const { kubeconfig } = await mintServiceAccountToken(setupContext, { namespace, clusterRole: 'cluster-admin' });
    const created = await hub.client.request<{ token: string }>('POST', '/api/v1/clusters', { name: 'edge' });
    const stateDir = join(testTempDir(setupContext, 'uplink-agent-edge-'), 'state');
    mkdirSync(stateDir, { mode: 0o755 });
    chmodSync(stateDir, 0o755);
    agent = await startAgent(setupContext, { hubUrl: hub.url, caHash: hub.caHash, token: created.token, kubeconfig, stateFile: join(stateDir, 'state.json') });
    await eventually('the cluster online', 15_000, async () => (
      (await hub.client.request<ClusterView>('GET', '/api/v1/clusters/edge')).status === 'online' ? true : undefined));
    feed = https.get(`${hub.url}/api/v1/fleet/watch`, { ca: caPem, headers: { authorization: `Bearer ${hub.adminToken}`, accept: 'text/event-stream' } }, (res) => {
      res.on('data', () => { feedEvents += 1; });
      res.on('close', () => { feedClosed = true; });
    });
    feed.on('error', () => { feedClosed = true; });
    await eventually('the fleet feed streaming', 10_000, () => (feedEvents > 0 ? true : undefined));
  });

  after(async () => {
    feed.destroy();
    await runCleanups();
  });

  async function assertAgentAndAdminServed(): Promise<void> {
    const list = await uplink(['clusters', 'list', '-o', 'json'], hub.cliConfig);
    assert.equal(list.code, 0, list.stderr);
    const { items } = JSON.parse(list.stdout) as { items: { name: string; status: string }[] };
    assert.equal(items.find((c) => c.name === 'edge')?.status, 'online');
    const agentMetrics = await (await fetch(`${agent.healthUrl}/metrics`)).text();
    assert.equal(metricValue(agentMetrics, 'uplink_agent_link_attempts_total', 'result="linked"'), 1, 'the agent never relinked');
    assert.equal(hub.process.child.exitCode, null, 'the hub is still running');
  }

  /** Waits for `socket` to be closed by the hub; fails if it is still open after CUT_DEADLINE_MS. */
  async function closedByHub(socket: net.Socket, what: string): Promise<void> {
    if (socket.destroyed) return;
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      // Not events.once: it rejects on the EPIPE a write to the cut socket raises.
      new Promise<string>((resolve) => { socket.once('close', () => { resolve('closed'); }); }),
      new Promise<string>((resolve) => { timer = setTimeout(() => { resolve('still open'); }, CUT_DEADLINE_MS); }),
    ]);
    clearTimeout(timer);
    socket.destroy();
    assert.equal(outcome, 'closed', `${what} was not cut by the hub`);
  }

  it('hub edge - an idle flood from one address is held to its share; the linked agent stays linked and clusters list answers', async () => {
    const attack = flood({ host: '127.0.0.1', port: hub.port, localAddress: FLOOD_FROM, count: FLOOD_SOCKETS });
    try {
      await attack.started;
      // Meanwhile: the admin is served and the agent stays linked.
      await assertAgentAndAdminServed();
      const open = metricValue(await hubMetricsText(hub), 'uplink_hub_connections_open');
      assert.ok(open <= PER_ADDRESS + 10, `the hub holds ${open} connections: the flood got more than its share`);
      // None of the flood is held for good: what was not refused on arrival is cut at the handshake deadline.
      await eventually('the flood\'s held sockets cut', CUT_DEADLINE_MS, () => (attack.tally().open === 0 ? true : undefined));
    } finally {
      attack.stop();
    }
    const metrics = await hubMetricsText(hub);
    const refused = metricValue(metrics, 'uplink_hub_connections_refused_total', 'reason="max_per_address"');
    const cut = metricValue(metrics, 'uplink_hub_connections_timed_out_total', 'phase="tls_handshake"');
    assert.ok(refused > 0, 'the per-address cap refused some');
    assert.ok(refused + cut >= attack.tally().connected, `refused ${refused} + cut ${cut} account for the ${attack.tally().connected} flood connections`);
    await assertAgentAndAdminServed();
  });

  it('hub edge - headers trickled byte by byte are cut after the headers deadline', async () => {
    const socket = tls.connect({ host: '127.0.0.1', port: hub.port, ca: caPem, servername: 'localhost' });
    socket.on('error', () => undefined);
    await once(socket, 'secureConnect');
    const request = 'GET /api/v1/clusters HTTP/1.1\r\nHost: localhost\r\nX-Padding: ' + 'a'.repeat(10_000);
    let sent = 0;
    const trickle = setInterval(() => { if (!socket.destroyed) socket.write(request.charAt(sent++ % request.length)); }, 100);
    try {
      await closedByHub(socket, 'the slow-headers client');
    } finally {
      clearInterval(trickle);
    }
    assert.ok(sent < request.length, 'cut while the headers were still coming');
    await eventually('the cut counted', 10_000, async () => (
      metricValue(await hubMetricsText(hub), 'uplink_hub_connections_timed_out_total', 'phase="request"') >= 1 ? true : undefined));
  });

  it('hub edge - a body trickled byte by byte is cut after the request deadline; a live feed opened earlier keeps streaming', async () => {
    const socket = tls.connect({ host: '127.0.0.1', port: hub.port, ca: caPem, servername: 'localhost' });
    socket.on('error', () => undefined);
    await once(socket, 'secureConnect');
    socket.write(`POST /api/v1/clusters HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${hub.adminToken}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n`);
    let sent = 0;
    const trickle = setInterval(() => { if (!socket.destroyed) { socket.write(' '); sent += 1; } }, 100);
    try {
      await closedByHub(socket, 'the slow-body client');
    } finally {
      clearInterval(trickle);
    }
    assert.ok(sent < 100_000);
    // The feed was opened before this request, so it has lived past the request deadline.
    assert.equal(feedClosed, false, 'the live feed was cut');
    const before = feedEvents;
    await eventually('the feed still streaming', 30_000, () => (feedEvents > before ? true : undefined));
    await assertAgentAndAdminServed();
  });

  it('hub edge - kubectl exec and a watch that outlast the header and request deadlines are not cut', async (t) => {
    await kubectl(['-n', namespace, 'create', 'deployment', 'app', '--image=registry.invalid/app:1', '--replicas=1']);
    await kubectl(['-n', namespace, 'rollout', 'status', 'deployment/app', '--timeout=60s'], { timeoutMs: 70_000 });
    const pod = (await kubectl(['-n', namespace, 'get', 'pods', '-l', 'app=app', '-o', 'jsonpath={.items[0].metadata.name}'])).stdout;
    const kubeconfig = await kubeconfigThroughHub(hub.cliConfig, 'edge');
    const watch = await KubectlStream.start(t, kubeconfig, ['-n', namespace, 'get', 'configmaps', '-w', '-o', 'name']);
    // Longer than --request-timeout (4 s) and --headers-timeout (2 s): kwok runs the command on this host.
    const exec = await kubectlVia(kubeconfig, ['-n', namespace, 'exec', pod, '--', 'sh', '-c', 'sleep 6; echo outlived']);
    assert.equal(exec.code, 0, exec.stderr);
    assert.equal(exec.stdout.trim(), 'outlived');
    // The watch, opened before the exec, still delivers.
    await kubectl(['-n', namespace, 'create', 'configmap', 'after-deadlines', '--from-literal=a=1']);
    await eventually('the watch sees the new ConfigMap', 30_000, () => (watch.output.includes('configmap/after-deadlines') ? true : undefined));
    assert.equal(watch.child.exitCode, null, 'the watch is still running');
  });

  it('hub edge - a TLS client that never sends its hello is cut after the handshake deadline', async () => {
    const socket = net.connect({ host: '127.0.0.1', port: hub.port });
    socket.on('error', () => undefined);
    await once(socket, 'connect');
    await closedByHub(socket, 'the silent client');
    await eventually('the cut counted', 10_000, async () => (
      metricValue(await hubMetricsText(hub), 'uplink_hub_connections_timed_out_total', 'phase="tls_handshake"') >= 1 ? true : undefined));
    await assertAgentAndAdminServed();
  });

  it('hub edge - the database, its journal files, the TLS keys, the admin token and the agent state are 0600 in a 0755 directory', async () => {
    assert.equal(statSync(hub.dataDir).mode & 0o777, 0o755, 'the test really used a 0755 directory');
    const files = ['hub.db', 'hub.db-wal', 'hub.db-shm', 'admin-token', 'tls/ca.key', 'tls/server.key'];
    for (const file of files) {
      assert.equal(statSync(join(hub.dataDir, file)).mode & 0o777, 0o600, `${file} is ${(statSync(join(hub.dataDir, file)).mode & 0o777).toString(8)}`);
    }
    const stateDir = join(agent.stateFile, '..');
    assert.equal(statSync(stateDir).mode & 0o777, 0o755);
    await eventually('the agent state written', 10_000, () => (readdirSync(stateDir).includes('state.json') ? true : undefined));
    assert.equal(statSync(agent.stateFile).mode & 0o777, 0o600);
  });
});
