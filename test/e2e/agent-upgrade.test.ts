// Agent self-upgrade and egress IP reporting end to end: real hub
// and agent processes, the real helm against the test cluster. The "agent
// chart" is a tiny chart of the test's own (a ConfigMap showing the chart
// version and a `greeting` value) in two versions, served from a chart
// repository on loopback; the agent runs as a local process, so upgrading
// "its" release replaces no pod and the agent itself reports the outcome.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { CallerClusterView } from '../../src/hub/api/clusters.ts';
import { createTestNamespace, helm, kubectlJson, mintServiceAccountToken, testTempDir } from '../helpers/cluster.ts';
import { serveChartRepo } from '../helpers/chart-sources.ts';
import { eventually, startAgent, startHub, suiteContext, uplink, type AgentHandle, type HubHandle, type StartAgentOptions } from '../helpers/uplink.ts';

const CLUSTER = 'e2e-agent-upgrade';
const RELEASE = 'self-agent';
const CHART = 'self-agent';
const EGRESS_IP = '203.0.113.7';
const { t: suite, runCleanups } = suiteContext('agent-upgrade');

/** Writes version `version` of the test's agent chart into `dir`; returns the chart directory. */
function writeChart(dir: string, version: string): string {
  const chart = join(dir, version, CHART);
  mkdirSync(join(chart, 'templates'), { recursive: true });
  writeFileSync(join(chart, 'Chart.yaml'), `apiVersion: v2\nname: ${CHART}\nversion: ${version}\nappVersion: "${version}"\n`);
  writeFileSync(join(chart, 'values.yaml'), 'greeting: hello\n');
  writeFileSync(join(chart, 'templates', 'configmap.yaml'), [
    'apiVersion: v1', 'kind: ConfigMap', 'metadata:', '  name: {{ .Release.Name }}-info', 'data:',
    '  chartVersion: {{ .Chart.Version | quote }}', '  greeting: {{ .Values.greeting | quote }}', '',
  ].join('\n'));
  return chart;
}

/** Lookups the egress IP server answered. */
let ipRequests = 0;

/** Serves the egress IP as checkip.amazonaws.com would; returns its URL. */
async function serveEgressIp(): Promise<string> {
  const server = createServer((_req, res) => {
    ipRequests += 1;
    res.writeHead(200, { 'content-type': 'text/plain' }).end(`${EGRESS_IP}\n`);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  suite.after(() => { server.close(); });
  const address = server.address();
  return `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/`;
}

async function view(cluster = CLUSTER): Promise<CallerClusterView> {
  return hub.client.request<CallerClusterView>('GET', `/api/v1/clusters/${cluster}`);
}

async function releaseNow(): Promise<{ revision: number; version: string; status: string }> {
  return JSON.parse((await helm(['get', 'metadata', RELEASE, '-n', namespace, '-o', 'json'])).stdout) as { revision: number; version: string; status: string };
}

async function createCluster(name: string): Promise<string> {
  const created = await uplink(['clusters', 'create', name, '-o', 'json'], hub.cliConfig);
  assert.equal(created.code, 0, created.stderr);
  return (JSON.parse(created.stdout) as { token: string }).token;
}

/** `uplink clusters upgrade-agent`, given time for helm. */
function upgradeAgent(cluster: string, version: string): ReturnType<typeof uplink> {
  return uplink(['clusters', 'upgrade-agent', cluster, '--version', version, '--timeout', '25s'], hub.cliConfig);
}

let hub: HubHandle;
/** The agent with --self-release, and how to start it again. */
let agent: AgentHandle;
let agentOptions: StartAgentOptions;
let namespace: string;

describe('agent upgrade', () => {
  before(async () => {
    namespace = await createTestNamespace(suite, 'agent-upgrade');
    const { kubeconfig } = await mintServiceAccountToken(suite, { namespace, clusterRole: 'cluster-admin' });
    const charts = testTempDir(suite, 'uplink-self-chart-');
    const repo = await serveChartRepo(suite, [writeChart(charts, '0.1.0'), writeChart(charts, '0.2.0')]);
    await helm(['install', RELEASE, CHART, '--repo', repo, '--version', '0.1.0', '-n', namespace, '--set', 'greeting=hi']);
    const ipUrl = await serveEgressIp();
    hub = await startHub(suite);
    agentOptions = {
      hubUrl: hub.url, caHash: hub.caHash, token: await createCluster(CLUSTER), kubeconfig,
      args: [
        '--namespace', namespace, '--self-release', RELEASE, '--self-chart', CHART, '--self-chart-repo', repo,
        '--report-public-ip', '--public-ip-url', ipUrl,
      ],
    };
    agent = await startAgent(suite, agentOptions);
  });
  after(runCleanups);

  it('agent upgrade - upgrade-agent --version 0.2.0 makes revision 2 at chart 0.2.0 with the values kept (--reuse-values), and the cluster view shows the outcome', async () => {
    const result = await upgradeAgent(CLUSTER, '0.2.0');
    assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}\n${agent.process.dump()}`);
    const operationId = /\(operation ([0-9a-f-]{36})\)/.exec(result.stdout)?.[1];
    assert.ok(operationId, result.stdout);
    assert.match(result.stdout, /the upgrade of the agent of cluster "e2e-agent-upgrade" to chart version 0\.2\.0 succeeded/);

    assert.deepEqual(await releaseNow().then(({ revision, version, status }) => ({ revision, version, status })), { revision: 2, version: '0.2.0', status: 'deployed' });
    const values = JSON.parse((await helm(['get', 'values', RELEASE, '-n', namespace, '-o', 'json'])).stdout) as Record<string, unknown>;
    assert.deepEqual(values, { greeting: 'hi' });
    const configMap = await kubectlJson<{ data: Record<string, string> }>(['get', 'configmap', `${RELEASE}-info`, '-n', namespace]);
    assert.deepEqual(configMap.data, { chartVersion: '0.2.0', greeting: 'hi' });

    const upgrade = (await view()).facts?.agentUpgrade;
    assert.deepEqual([upgrade?.operationId, upgrade?.version, upgrade?.state], [operationId, '0.2.0', 'succeeded']);
    assert.ok(upgrade?.finishedAt !== null && Date.parse(upgrade?.finishedAt ?? '') >= Date.parse(upgrade?.startedAt ?? ''));
  });

  it('agent upgrade - a version that does not exist is reported failed with helm\'s reason, the CLI exits non-zero, and the release stays as it was', async () => {
    const before = await releaseNow();
    const result = await upgradeAgent(CLUSTER, '9.9.9');
    assert.notEqual(result.code, 0, result.stdout);
    assert.match(result.stderr, /the upgrade of the agent of cluster "e2e-agent-upgrade" to chart version 9\.9\.9 failed: .*9\.9\.9.*not found/);
    const upgrade = (await view()).facts?.agentUpgrade;
    assert.deepEqual([upgrade?.version, upgrade?.state], ['9.9.9', 'failed']);
    assert.match(upgrade?.message ?? '', /chart "self-agent" version "9\.9\.9" not found/);
    assert.deepEqual(await releaseNow(), before);
  });

  it('agent upgrade - a restarted agent reports the upgrade that made its release\'s current revision, from the release\'s labels', async () => {
    const succeeded = (await releaseNow()).revision;
    await agent.process.stop();
    agent = await startAgent(suite, agentOptions);
    const upgrade = await eventually('the recovered upgrade in the cluster view', 15_000, async () => {
      const found = (await view()).facts?.agentUpgrade;
      return found?.state === 'succeeded' && found.version === '0.2.0' ? found : undefined;
    });
    assert.match(upgrade.message, new RegExp(`deployed at revision ${succeeded} \\(chart version 0\\.2\\.0\\)`));
  });

  it('agent upgrade - the heartbeat carries the egress IP looked up once at start; an agent without --report-public-ip asks nothing, and one without --self-release refuses upgrades (409)', async () => {
    const egress = await eventually('the egress IP in the cluster view', 10_000, async () => (await view()).facts?.egressIp);
    assert.equal(egress, EGRESS_IP);
    const requestsSoFar = ipRequests;

    const plain = 'e2e-agent-plain';
    await startAgent(suite, { ...agentOptions, token: await createCluster(plain), args: ['--namespace', namespace] });
    const facts = await eventually('a heartbeat of the plain agent', 10_000, async () => (await view(plain)).facts ?? undefined);
    assert.equal(facts.egressIp, undefined);
    const refused = await upgradeAgent(plain, '0.2.0');
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /not installed by its Helm chart \(--self-release is not set\)/);
    assert.equal(ipRequests, requestsSoFar, 'one lookup per agent start, within the 10 minute interval');
  });
});
