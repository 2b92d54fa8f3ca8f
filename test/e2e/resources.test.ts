// Live resources and pod logs from the hub, on the real test cluster: the
// agent's inventory syncs 1,000 pods fast and pages through them, a scaled
// Deployment's pods reach the hub's live feed within a second, `uplink logs`
// follows one pod and three by selector, no Secret value leaks anywhere, and
// an API server restart is survived without restarting the agent.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { after, before, describe, it, type TestContext } from 'node:test';
import type { KubeClient } from '../../src/agent/kube.ts';
import type { ResourceListResponse, ResourceObjectResponse } from '../../src/link/resources.ts';
import { CLUSTER_SCRIPT, createTestNamespace, kubectl, mintServiceAccountToken, writePodLogLine } from '../helpers/cluster.ts';
import { FeedReader, adminKube, createPods, hubGetText, percentile } from '../helpers/resources.ts';
import { runProcess } from '../../src/util/run-process.ts';
import {
  UPLINK_BIN, eventually, metricValue, startAgent, startHub, suiteContext, type AgentHandle, type HubHandle,
} from '../helpers/uplink.ts';

const CLUSTER = 'resources-e2e';
const POD_COUNT = 1000;
const NODES = ['kwok-node-0', 'kwok-node-1', 'kwok-node-2'];
const { t: suite, runCleanups } = suiteContext('resources');

type ListAnswer = ResourceListResponse & { cluster: { status: string } };

/** A long-running `uplink` command whose output is collected. */
function uplinkStream(t: TestContext, hub: HubHandle, args: string[]): { output: () => string; exited: Promise<unknown> } {
  const child = spawn(UPLINK_BIN, args, { env: { ...process.env, UPLINK_CLI_CONFIG: hub.cliConfig }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString(); });
  child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString(); });
  t.after(() => { child.kill('SIGKILL'); });
  return { output: () => output, exited: once(child, 'exit') };
}

describe('live resources and logs from the hub', () => {
  let hub: HubHandle;
  let agent: AgentHandle;
  let kube: KubeClient;
  let namespace: string;
  let agentKubeconfig: string;
  let clusterToken: string;

  const list = async (kind: string, query: Record<string, string>): Promise<ListAnswer> => {
    const qs = new URLSearchParams(query).toString();
    return hub.client.request<ListAnswer>('GET', `/api/v1/clusters/${CLUSTER}/resources/${kind}?${qs}`);
  };

  before(async () => {
    kube = await adminKube(suite);
    namespace = await createTestNamespace(suite, 'inventory');
    const agentNamespace = await createTestNamespace(suite, 'agent');
    agentKubeconfig = (await mintServiceAccountToken(suite, { namespace: agentNamespace, clusterRole: 'cluster-admin' })).kubeconfig;
    const created = Date.now();
    await createPods(kube, { namespace, prefix: 'bulk', count: POD_COUNT, nodes: NODES });
    console.log(`# created ${POD_COUNT} pods in ${Date.now() - created} ms`);
    hub = await startHub(suite);
    clusterToken = (await hub.client.request<{ token: string }>('POST', '/api/v1/clusters', { name: CLUSTER })).token;
  });

  after(async () => {
    await runCleanups();
  });

  it('resources - 1,000 pods are in the inventory after agent start and page through', async () => {
    const started = Date.now();
    agent = await startAgent(suite, { hubUrl: hub.url, caHash: hub.caHash, token: clusterToken, kubeconfig: agentKubeconfig });
    const answer = await eventually('all pods in the inventory', 120_000, async () => {
      const page = await list('pods', { namespace, limit: '1' });
      return page.total === POD_COUNT && page.inventory.synced ? page : undefined;
    });
    const took = Date.now() - started;
    // A figure, not a check: bench/inventory.ts measures the sync.
    console.log(`# inventory complete with ${POD_COUNT} pods ${took} ms after agent start (${answer.inventory.objects} objects over ${answer.inventory.kinds} kinds)`);
    assert.equal(answer.cluster.status, 'online');
    assert.ok(answer.inventory.kinds >= 24, `${answer.inventory.kinds} kinds`);

    const names = new Set<string>();
    let pages = 0;
    let cont: string | null = null;
    do {
      const page: ListAnswer = await list('pods', { namespace, limit: '300', ...(cont ? { continue: cont } : {}) });
      pages += 1;
      for (const row of page.items) names.add(row.name);
      assert.equal(page.total, POD_COUNT);
      cont = page.continue;
    } while (cont !== null && pages < 10);
    assert.equal(pages, 4);
    assert.equal(names.size, POD_COUNT);
    const nodes = await list('nodes', {});
    assert.deepEqual(nodes.items.map((row) => row.name).filter((n) => n.startsWith('kwok-')).sort(), NODES);
  });

  it('resources - each pod of a Deployment scaled 50 times reaches the live feed', async (t) => {
    const deployment = {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'scaled', namespace },
      spec: {
        replicas: 0, selector: { matchLabels: { app: 'scaled' } },
        template: { metadata: { labels: { app: 'scaled' } }, spec: { containers: [{ name: 'app', image: 'registry.invalid/app:1' }] } },
      },
    };
    assert.equal((await kube.request('POST', `/apis/apps/v1/namespaces/${namespace}/deployments`, deployment)).status, 201);
    const feed = FeedReader.open(t, hub, `/api/v1/clusters/${CLUSTER}/watch/pods?namespace=${namespace}&labelSelector=app%3Dscaled`);
    await feed.waitFor('the feed to sync', 10_000, (change) => change.type === 'SYNCED');
    const seen = new Set<string>();
    const latencies: number[] = [];
    const scalePath = `/apis/apps/v1/namespaces/${namespace}/deployments/scaled/scale`;
    for (let replicas = 1; replicas <= 50; replicas += 1) {
      const from = feed.events.length;
      // No resourceVersion: an unconditional update, so the controllers' own
      // status writes cannot make it conflict.
      const response = await kube.request('PUT', scalePath, {
        apiVersion: 'autoscaling/v1', kind: 'Scale', metadata: { name: 'scaled', namespace }, spec: { replicas },
      });
      assert.equal(response.status, 200);
      const scaledAt = performance.now();
      const event = await feed.waitFor(`pod ${replicas} in the feed`, 60_000, (change) => change.type === 'ADDED' && !seen.has(change.row.name), from);
      if (event.change.type === 'ADDED') seen.add(event.change.row.name);
      latencies.push(Math.max(0, event.arrivedAt - scaledAt));
    }
    const p50 = percentile(latencies, 50);
    const p99 = percentile(latencies, 99);
    // Figures, not a check: bench/inventory.ts measures feed latency.
    console.log(`# scale to pod in the hub feed over 50 changes: p50 ${p50.toFixed(0)} ms, p99 ${p99.toFixed(0)} ms, max ${Math.max(...latencies).toFixed(0)} ms`);
    assert.equal(seen.size, 50, 'every new pod arrived once');
  });

  it('resources - uplink logs -f follows one pod, and three by selector with pod names', async (t) => {
    await createPods(kube, { namespace, prefix: 'logger', count: 3, nodes: NODES });
    await eventually('the logger pods running', 30_000, async () => {
      const page = await list('pods', { namespace, labelSelector: 'app=logger' });
      return page.items.length === 3 && page.items.every((row) => row.status === 'Running') ? true : undefined;
    });
    const marker = `follow-${Date.now()}`;
    const one = uplinkStream(t, hub, ['logs', CLUSTER, 'logger-0', '-n', namespace, '-f']);
    const many = uplinkStream(t, hub, ['logs', CLUSTER, '-l', 'app=logger', '-n', namespace, '-f', '--tail', '0']);
    const writer = setInterval(() => { void writePodLogLine(marker); }, 300);
    t.after(() => { clearInterval(writer); });
    await eventually('the line in the single-pod follow', 15_000, () => (one.output().includes(marker) ? true : undefined));
    await eventually('the line from all three pods', 15_000, () => (
      [0, 1, 2].every((i) => many.output().includes(`[logger-${i}/app] `) && new RegExp(`\\[logger-${i}/app\\] .*${marker}`).test(many.output())) ? true : undefined));
    // Lines written after the streams opened keep coming: the follow is live, not a replay.
    const later = `${marker}-later`;
    await writePodLogLine(later);
    await eventually('a later line in both streams', 10_000, () => (one.output().includes(later) && many.output().includes(later) ? true : undefined));
    assert.ok(!one.output().includes('[logger-0/app]'), 'a single pod stream is not prefixed');
    const metrics = await (await fetch(`${agent.healthUrl}/metrics`)).text();
    assert.equal(metricValue(metrics, 'uplink_agent_log_streams'), 4, 'one API server stream per followed pod');
  });

  it('resources - a planted Secret value appears in no list, object, feed, log or heartbeat', async (t) => {
    const secretValue = `planted-${Math.random().toString(36).slice(2)}-value`;
    const encoded = Buffer.from(secretValue).toString('base64');
    const feed = FeedReader.open(t, hub, `/api/v1/clusters/${CLUSTER}/watch/secrets?namespace=${namespace}`);
    await feed.waitFor('the secrets feed to sync', 10_000, (change) => change.type === 'SYNCED');
    const manifest = JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'planted', namespace }, stringData: { password: secretValue } });
    // kubectl apply keeps the manifest in an annotation: a classic leak path.
    const applied = await kubectl(['apply', '-f', '-'], { input: manifest });
    assert.equal(applied.code, 0, applied.stderr);
    await feed.waitFor('the secret in the feed', 10_000, (change) => change.type === 'ADDED' && change.row.name === 'planted');
    await kubectl(['-n', namespace, 'label', 'secret', 'planted', 'touched=yes']);
    await feed.waitFor('the secret change in the feed', 10_000, (change) => change.type === 'MODIFIED' && change.row.name === 'planted');
    await writePodLogLine('a line that is not secret');

    const base = `/api/v1/clusters/${CLUSTER}`;
    const answers: { what: string; text: string }[] = [{ what: 'feed', text: feed.raw }];
    for (const path of [
      `${base}/resources/secrets?namespace=${namespace}`,
      `${base}/resources/secrets`,
      `${base}/resources/secrets/planted?namespace=${namespace}`,
      `${base}/resources/secrets/planted/events?namespace=${namespace}`,
      `${base}/resources/events?namespace=${namespace}`,
      `${base}/resources/configmaps?namespace=${namespace}`,
      `${base}/resources`,
      `${base}/logs?namespace=${namespace}&pod=logger-0&tailLines=50`,
      `${base}/logs?namespace=${namespace}&labelSelector=app%3Dlogger&tailLines=50`,
      base,
      '/api/v1/clusters',
    ]) {
      const answer = await hubGetText(hub, path);
      assert.equal(answer.status, 200, `${path}: ${answer.text}`);
      answers.push({ what: path, text: answer.text });
    }
    const object = JSON.parse(answers[3]?.text ?? '{}') as ResourceObjectResponse;
    assert.equal((object.object.metadata as { name: string }).name, 'planted', 'the Secret itself is listed, as metadata');
    const heartbeat = await eventually('a heartbeat with inventory facts', 10_000, async () => {
      const text = (await hubGetText(hub, base)).text;
      return text.includes('"inventory"') ? text : undefined;
    });
    answers.push({ what: 'heartbeat', text: heartbeat }, { what: 'hub log', text: hub.process.dump() }, { what: 'agent log', text: agent.process.dump() });
    for (const { what, text } of answers) {
      assert.ok(!text.includes(secretValue), `the secret value leaked in ${what}`);
      assert.ok(!text.includes(encoded), `the base64 secret value leaked in ${what}`);
    }
  });

  it('resources - watches survive an API server restart without an agent restart', async () => {
    await kubectl(['-n', namespace, 'create', 'configmap', 'before-restart', '--from-literal=a=1']);
    await eventually('the first ConfigMap in the inventory', 10_000, async () => (
      (await list('configmaps', { namespace, name: 'before-restart' })).total === 1 ? true : undefined));
    const restarted = await runProcess(CLUSTER_SCRIPT, ['restart-apiserver'], { timeoutMs: 120_000 });
    assert.equal(restarted.code, 0, restarted.stderr);
    await kubectl(['-n', namespace, 'create', 'configmap', 'after-restart', '--from-literal=a=2']);
    await kubectl(['-n', namespace, 'delete', 'configmap', 'before-restart']);
    const converged = await eventually('the inventory to converge after the restart', 60_000, async () => {
      const page = await list('configmaps', { namespace });
      const names = page.items.map((row) => row.name);
      return names.includes('after-restart') && !names.includes('before-restart') && page.inventory.synced ? page : undefined;
    });
    assert.ok(converged.inventory.stalenessSeconds < 60, `staleness ${converged.inventory.stalenessSeconds} s`);
    assert.equal(agent.process.child.exitCode, null, 'the agent kept running');
    const starts = agent.process.lines.filter((line) => line.msg === 'agent starting');
    assert.equal(starts.length, 1, 'the agent did not restart');
  });
});
