// The agent-hub link against the real test cluster: registration, online
// status with real facts, hub restarts, offline detection, bad tokens,
// deletion and token rotation. Hub, agent and CLI run as real processes; the
// agent authenticates to Kubernetes with a minted ServiceAccount token.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it, type TestContext } from 'node:test';
import type { ClusterView } from '../../src/hub/fleet.ts';
import { LinkDialError, dialHub } from '../../src/link/dial.ts';
import { createTestNamespace, kubectl, kubectlJson, mintServiceAccountToken } from '../helpers/cluster.ts';
import {
  eventually, hubMetricsText, metricValue, startAgent, startHub, uplink, type HubHandle,
} from '../helpers/uplink.ts';

/** The agents here use --reconnect-max 4 (seconds). */
const RECONNECT_MAX_MS = 4000;
const HUB_OFFLINE_AFTER_MS = 45_000;

interface Created {
  cluster: ClusterView;
  token: string;
}

async function createCluster(hub: HubHandle, name: string): Promise<Created> {
  const result = await uplink(['clusters', 'create', name, '--label', 'env=e2e', '-o', 'json'], hub.cliConfig);
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout) as Created;
}

async function clusterView(hub: HubHandle, name: string): Promise<ClusterView> {
  const result = await uplink(['clusters', 'get', name, '-o', 'json'], hub.cliConfig);
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout) as ClusterView;
}

async function agentKubeconfig(t: TestContext): Promise<string> {
  const namespace = await createTestNamespace(t, 'agent');
  return (await mintServiceAccountToken(t, { namespace, clusterRole: 'cluster-admin' })).kubeconfig;
}

async function metrics(url: string): Promise<string> {
  return (await fetch(`${url}/metrics`)).text();
}

describe('agent-hub link', () => {
  it('link - a new cluster shows online with its version, nodes and pods', async (t) => {
    const namespace = await createTestNamespace(t, 'workload');
    await kubectl(['-n', namespace, 'create', 'deployment', 'web', '--image=registry.invalid/web:1', '--replicas=3']);
    await kubectl(['-n', namespace, 'rollout', 'status', 'deployment/web', '--timeout=60s'], { timeoutMs: 70_000 });
    const kubeconfig = await agentKubeconfig(t);
    const hub = await startHub(t);
    const created = await createCluster(hub, 'e2e-online');
    assert.equal(created.cluster.status, 'never-connected');
    assert.match(created.token, /^upc_/);

    const started = Date.now();
    await startAgent(t, { hubUrl: hub.url, caHash: hub.caHash, token: created.token, kubeconfig, waitLinked: false });
    const online = await eventually('the cluster online', 60_000, async () => {
      const list = await uplink(['clusters', 'list', '-o', 'json'], hub.cliConfig);
      const view = (JSON.parse(list.stdout) as { items: ClusterView[] }).items.find((c) => c.name === 'e2e-online');
      return view?.status === 'online' ? view : undefined;
    });
    const elapsed = Date.now() - started;
    t.diagnostic(`online ${elapsed} ms after the agent started`);
    console.log(`# cluster online ${elapsed} ms after agent start`);
    assert.ok(online.facts);
    assert.equal(online.facts.kubernetesVersion, 'v1.36.4');
    assert.equal(online.facts.distribution, 'kwok');
    assert.deepEqual(online.facts.nodes, { total: 3, ready: 3 });
    assert.equal(online.facts.region, 'local-1');
    assert.deepEqual(online.facts.apiServer, { livez: true, readyz: true });
    assert.equal(online.labels.env, 'e2e');

    // Pod counts match what kubectl sees at the same moment (other tests may be adding pods).
    await eventually('pod counts matching kubectl', 10_000, async () => {
      const pods = await kubectlJson<{ items: { status: { phase: string } }[] }>(['get', 'pods', '-A']);
      const view = await clusterView(hub, 'e2e-online');
      const running = pods.items.filter((p) => p.status.phase === 'Running').length;
      return view.facts?.pods.total === pods.items.length && view.facts.pods.running === running && running >= 3 ? true : undefined;
    });

    const table = await uplink(['clusters', 'list'], hub.cliConfig);
    assert.match(table.stdout, /e2e-online\s+online\s+v1\.36\.4\s+kwok\s+3\/3/);
  });

  it('link - hub and agent serve health, readiness, version and metrics', async (t) => {
    const kubeconfig = await agentKubeconfig(t);
    const hub = await startHub(t);
    const created = await createCluster(hub, 'e2e-health');
    const agent = await startAgent(t, { hubUrl: hub.url, caHash: hub.caHash, token: created.token, kubeconfig });
    for (const path of ['/livez', '/readyz', '/version']) {
      assert.equal((await fetch(`${agent.healthUrl}${path}`)).status, 200, `agent ${path}`);
    }
    assert.deepEqual(await hub.client.request('GET', '/livez'), { status: 'ok' });
    assert.deepEqual(await hub.client.request('GET', '/readyz'), { status: 'ok' });
    assert.match((await hub.client.request<{ uplink: string }>('GET', '/version')).uplink, /^\d+\.\d+\.\d+/);
    await eventually('a heartbeat counted', 5000, async () =>
      (metricValue(await hubMetricsText(hub), 'uplink_hub_heartbeats_total') >= 1 ? true : undefined));
    const text = await hubMetricsText(hub);
    assert.equal(metricValue(text, 'uplink_hub_agents_connected'), 1);
    assert.ok(metricValue(text, 'uplink_hub_link_streams_open') >= 1, 'the events stream is open');
    assert.match(text, /# TYPE uplink_hub_link_errors_total counter/);
    assert.equal(metricValue(text, 'uplink_hub_links_accepted_total'), 1);
    const agentText = await metrics(agent.healthUrl);
    assert.equal(metricValue(agentText, 'uplink_agent_link_up'), 1);
    assert.ok(metricValue(agentText, 'uplink_agent_heartbeats_total') >= 1);
  });

  it('link - the hub API refuses bad input with a message naming the problem', async (t) => {
    const hub = await startHub(t);
    const bad = await uplink(['clusters', 'create', 'Not_A_Name'], hub.cliConfig);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /the hub answered 400: body\/name must match pattern/);
    const label = await uplink(['clusters', 'create', 'ok-name', '--label', 'bad key=v'], hub.cliConfig);
    assert.match(label.stderr, /label key 'bad key' is not a valid Kubernetes label key/);
    assert.equal((await uplink(['clusters', 'create', 'twice'], hub.cliConfig)).code, 0);
    const twice = await uplink(['clusters', 'create', 'twice'], hub.cliConfig);
    assert.match(twice.stderr, /the hub answered 409: a cluster named "twice" already exists/);
    const missing = await uplink(['clusters', 'get', 'nope'], hub.cliConfig);
    assert.match(missing.stderr, /the hub answered 404: cluster 'nope' not found/);
    const anonymous = await uplink(['clusters', 'list'], `${hub.dataDir}/no-login.json`);
    assert.match(anonymous.stderr, /not logged in to a hub/);
    const { HubClient } = await import('../../src/cli/hub-client.ts');
    const caPem = readFileSync(`${hub.dataDir}/tls/ca.crt`, 'utf8');
    await assert.rejects(new HubClient({ hubUrl: hub.url, token: 'upk_t000000000000_wrong', caPem }).request('GET', '/api/v1/clusters'),
      /the hub answered 401: an API token is required/);
    assert.equal((await hub.client.request<{ items: unknown[] }>('GET', '/api/v1/clusters')).items.length, 1, 'nothing bad was stored');
  });

  it('link - the agent relinks after a hub restart and goes offline when stopped', async (t) => {
    const kubeconfig = await agentKubeconfig(t);
    const hub = await startHub(t);
    const created = await createCluster(hub, 'e2e-restart');
    const agent = await startAgent(t, { hubUrl: hub.url, caHash: hub.caHash, token: created.token, kubeconfig });

    await hub.process.stop();
    const hub2 = await startHub(t, { port: hub.port, dataDir: hub.dataDir });
    const upAt = Date.now();
    await eventually('the cluster online again', RECONNECT_MAX_MS + 3000, async () =>
      ((await clusterView(hub2, 'e2e-restart')).status === 'online' ? true : undefined));
    const relinked = Date.now() - upAt;
    console.log(`# relinked ${relinked} ms after the hub came back (backoff cap ${RECONNECT_MAX_MS} ms)`);
    assert.ok(relinked <= RECONNECT_MAX_MS + 2000, `relinked after ${relinked} ms`);
    const agentMetrics = await metrics(agent.healthUrl);
    assert.ok(metricValue(agentMetrics, 'uplink_agent_link_attempts_total', 'result="linked"') >= 2);

    await agent.process.stop();
    const stoppedAt = Date.now();
    const offline = await eventually('the cluster offline', HUB_OFFLINE_AFTER_MS + 2000, async () => {
      const view = await clusterView(hub2, 'e2e-restart');
      return view.status === 'offline' ? view : undefined;
    });
    const took = Date.now() - stoppedAt;
    console.log(`# offline ${took} ms after the agent stopped (threshold ${HUB_OFFLINE_AFTER_MS} ms)`);
    assert.equal(offline.connected, false);
    assert.ok(offline.disconnectedAt !== null);
  });

  it('link - a wrong token gets 401, one clear log line and backoff', async (t) => {
    const kubeconfig = await agentKubeconfig(t);
    const hub = await startHub(t);
    const created = await createCluster(hub, 'e2e-badtoken');
    const forged = `${created.token.slice(0, -6)}AAAAAA`;
    const agent = await startAgent(t, { hubUrl: hub.url, caHash: hub.caHash, token: forged, kubeconfig, waitLinked: false });
    await new Promise((r) => setTimeout(r, 6000));
    const refusals = agent.process.lines.filter((l) => l.level === 'error' && /refused the cluster token \(HTTP 401\)/.test(l.msg));
    assert.equal(refusals.length, 1, 'one error line however many attempts');
    const attempts = metricValue(await metrics(agent.healthUrl), 'uplink_agent_link_attempts_total', 'result="unauthorized"');
    // 0.5 s doubling to 4 s with full jitter: a handful of attempts in 6 s, never a hot loop.
    assert.ok(attempts >= 2 && attempts <= 12, `${attempts} attempts in 6 s`);
    const hubErrors = metricValue(await hubMetricsText(hub), 'uplink_hub_link_errors_total', 'reason="unauthorized"');
    assert.ok(hubErrors >= 2, `hub counted ${hubErrors} refused links`);
    const readyz = await fetch(`${agent.healthUrl}/readyz`);
    assert.equal(readyz.status, 503, 'an agent that cannot link is not ready');
  });

  it('link - deleting a cluster drops its agent and the token stops working', async (t) => {
    const kubeconfig = await agentKubeconfig(t);
    const hub = await startHub(t);
    const created = await createCluster(hub, 'e2e-delete');
    const agent = await startAgent(t, { hubUrl: hub.url, caHash: hub.caHash, token: created.token, kubeconfig });
    const started = Date.now();
    const result = await uplink(['clusters', 'delete', 'e2e-delete'], hub.cliConfig);
    assert.equal(result.code, 0, result.stderr);
    await agent.process.waitForLog((l) => /the hub deleted this cluster/.test(l.msg), 60_000);
    console.log(`# agent dropped ${Date.now() - started} ms after delete`);
    await agent.process.waitForLog((l) => /refused the cluster token/.test(l.msg), 60_000);
  });

  it('link - rotate-token: the agent stores the new token, relinks with it, also after a restart; the old one is refused', async (t) => {
    const namespace = await createTestNamespace(t, 'agent');
    const { kubeconfig } = await mintServiceAccountToken(t, { namespace, clusterRole: 'cluster-admin' });
    const hub = await startHub(t);
    const created = await createCluster(hub, 'e2e-rotate');
    const secretArgs = ['--state-secret', `${namespace}/uplink-agent-state`];
    const agent = await startAgent(t, { hubUrl: hub.url, caHash: hub.caHash, token: created.token, kubeconfig, args: secretArgs });

    const rotated = await hub.client.request<{ token: string; delivered: boolean }>('POST', '/api/v1/clusters/e2e-rotate/rotate-token');
    assert.equal(rotated.delivered, true);
    assert.notEqual(rotated.token, created.token);
    await agent.process.waitForLog((l) => /reconnecting with the new one/.test(l.msg), 5000);
    await eventually('the relink', 5000, () => (agent.process.lines.filter((l) => l.msg === 'linked to the hub').length >= 2 ? true : undefined));

    // The new token is in the agent's Secret, not its configured one.
    const secret = await kubectlJson<{ data: Record<string, string> }>(['-n', namespace, 'get', 'secret', 'uplink-agent-state']);
    assert.equal(Buffer.from(secret.data.token ?? '', 'base64').toString(), rotated.token);

    // Restarted with the old token on its command line, it still links: with the stored one.
    await agent.process.stop();
    const restarted = await startAgent(t, { hubUrl: hub.url, caHash: hub.caHash, token: created.token, kubeconfig, args: secretArgs });
    assert.ok(restarted.process.lines.every((l) => !/refused/.test(l.msg)));
    assert.equal((await clusterView(hub, 'e2e-rotate')).status, 'online');

    const caPem = readFileSync(`${hub.dataDir}/tls/ca.crt`, 'utf8');
    await assert.rejects(
      dialHub({ hubUrl: hub.url, token: created.token, agentVersion: 'test', ca: caPem, rejectUnauthorized: true }),
      (error: unknown) => error instanceof LinkDialError && error.status === 401,
    );
  });
});
