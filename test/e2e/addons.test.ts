// Add-ons end to end: real hub and agent processes, the real helm
// against the test cluster, charts served on loopback from a chart
// repository, an OCI registry and a private Git repository. kwok makes the
// pods of the example charts ready, so health can turn Healthy.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { AddonStatus } from '../../src/link/addons.ts';
import {
  createTestNamespace, helm, kubectl, kubectlJson, mintServiceAccountToken, REPO_ROOT, uniqueName,
} from '../helpers/cluster.ts';
import { pushChart, serveChartRepo, serveGitRepo, startOciRegistry } from '../helpers/chart-sources.ts';
import { hubRequest } from '../helpers/resources.ts';
import { AddonHub, deploymentReplicas, webappSpec, type AddonView } from '../helpers/addons.ts';
import { startAgent, startHub, suiteContext, type AgentHandle, type HubHandle } from '../helpers/uplink.ts';

const CLUSTER = 'e2e-addons';
const WEBAPP = join(REPO_ROOT, 'examples/charts/webapp');
const JOB_HOOK = join(REPO_ROOT, 'examples/charts/job-hook');
const CRD_WIDGET = join(REPO_ROOT, 'examples/charts/crd-widget');
const GIT_TOKEN = 'e2e-git-token-5d1b';
const { t: suite, runCleanups } = suiteContext('addons');
let hub: HubHandle;
let addons: AddonHub;
let agent: AgentHandle;
let repo: string;
let registry: string;
let gitUrl: string;
let agentNamespace: string;

const cli = (args: string[]): Promise<string> => addons.cli(args);
const putAddon = (cluster: string, name: string, spec: Record<string, unknown>): Promise<AddonView> => addons.put(cluster, name, spec);
const getAddon = (cluster: string, name: string): Promise<AddonView> => addons.get(cluster, name);
const statusOf = (cluster: string, name: string, what: string, check: (s: AddonStatus, view: AddonView) => boolean): Promise<AddonStatus> => addons.statusOf(cluster, name, what, check);
const deployedAt = (cluster: string, name: string, revision: number): Promise<AddonStatus> => addons.deployedAt(cluster, name, revision);
const repoSpec = (namespace: string, values = '', extra: Record<string, unknown> = {}): Record<string, unknown> => webappSpec(repo, namespace, values, extra);

async function releaseSecrets(namespace: string, release: string): Promise<string[]> {
  const list = await kubectlJson<{ items: { metadata: { name: string } }[] }>(['get', 'secrets', '-n', namespace, '-l', `owner=helm,name=${release}`]);
  return list.items.map((s) => s.metadata.name).sort();
}

async function helmList(namespace: string): Promise<{ name: string; revision: string; status: string; chart: string }[]> {
  return JSON.parse((await helm(['list', '-n', namespace, '-o', 'json'])).stdout) as { name: string; revision: string; status: string; chart: string }[];
}

/** A namespace for an add-on's release, removed after the suite. */
function releaseNamespace(prefix: string): string {
  const namespace = uniqueName(prefix);
  suite.after(() => kubectl(['delete', 'namespace', namespace, '--ignore-not-found', '--wait=false']));
  return namespace;
}

describe('add-ons', () => {
  before(async () => {
    agentNamespace = await createTestNamespace(suite, 'addons-agent');
    const { kubeconfig } = await mintServiceAccountToken(suite, { namespace: agentNamespace, clusterRole: 'cluster-admin' });
    await kubectl(['create', 'secret', 'generic', 'git-token', '-n', agentNamespace, `--from-literal=token=${GIT_TOKEN}`]);
    repo = await serveChartRepo(suite, [WEBAPP, JOB_HOOK, CRD_WIDGET]);
    registry = await startOciRegistry(suite);
    await pushChart(registry, WEBAPP);
    gitUrl = await serveGitRepo(suite, { 'deploy/charts/webapp': WEBAPP }, { token: GIT_TOKEN });
    hub = await startHub(suite);
    addons = new AddonHub(hub);
    const created = JSON.parse(await cli(['clusters', 'create', CLUSTER, '-o', 'json'])) as { token: string };
    agent = await startAgent(suite, {
      hubUrl: hub.url, caHash: hub.caHash, token: created.token, kubeconfig,
      args: [
        '--namespace', agentNamespace, '--addons-plain-http-registries', registry,
        '--addons-sweep-interval', '5', '--addons-helm-timeout', '60',
      ],
    });
  });
  after(runCleanups);

  it('addons - set installs revision 1 (helm list shows it, the hub reports it deployed and Healthy); new values make revision 2; rollback to 1 makes revision 3 with revision 1 values; uninstall removes the release and its objects', async () => {
    const namespace = releaseNamespace('addon-web');
    await cli(['addons', 'set', CLUSTER, 'web', '--chart-repo', repo, '--chart', 'webapp', '--chart-version', '0.1.0', '-n', namespace, '--values-inline', 'replicaCount: 2\n']);
    const first = await deployedAt(CLUSTER, 'web', 1);
    assert.equal(first.inSync, true);
    assert.equal(first.release?.chart, 'webapp');
    assert.equal(first.release.chartVersion, '0.1.0');
    assert.equal(first.lastOperation?.action, 'install');
    assert.equal(first.lastOperation.result, 'succeeded');
    assert.ok(first.health?.objects.some((o) => o.kind === 'Deployment' && o.status === 'Healthy'), 'the Deployment is judged Healthy');
    const listed = await helmList(namespace);
    assert.deepEqual(listed.map((r) => [r.name, r.revision, r.status, r.chart]), [['web', '1', 'deployed', 'webapp-0.1.0']]);

    await cli(['addons', 'set', CLUSTER, 'web', '--chart-repo', repo, '--chart', 'webapp', '--chart-version', '0.1.0', '-n', namespace, '--values-inline', 'replicaCount: 3\n']);
    const second = await deployedAt(CLUSTER, 'web', 2);
    assert.equal(second.lastOperation?.action, 'upgrade');
    assert.equal(await deploymentReplicas(namespace, 'web-webapp'), 3);

    const rolledBack = await cli(['addons', 'rollback', CLUSTER, 'web', '1']);
    assert.match(rolledBack, /revision 3/);
    const third = await statusOf(CLUSTER, 'web', 'revision 3 after the rollback', (s) => s.release?.revision === 3 && s.phase === 'Deployed');
    assert.equal(third.lastOperation?.action, 'rollback');
    assert.equal(third.lastOperation.targetRevision, 1);
    assert.equal(third.inSync, false, 'the release no longer runs the desired spec');
    const values = JSON.parse((await helm(['get', 'values', 'web', '-n', namespace, '--revision', '3', '-o', 'json'])).stdout) as Record<string, unknown>;
    assert.deepEqual(values, { replicaCount: 2 });
    assert.equal(await deploymentReplicas(namespace, 'web-webapp'), 2);
    const history = await cli(['addons', 'history', CLUSTER, 'web', '-o', 'json']);
    assert.deepEqual((JSON.parse(history) as { items: { revision: number }[] }).items.map((r) => r.revision), [1, 2, 3]);
    // The next sweep leaves the rolled-back release alone.
    await new Promise((resolve) => setTimeout(resolve, 6000));
    assert.equal((await getAddon(CLUSTER, 'web')).status?.release?.revision, 3);

    await cli(['addons', 'uninstall', CLUSTER, 'web']);
    await statusOf(CLUSTER, 'web', 'uninstalled', (s) => s.phase === 'Uninstalled' && s.release === null);
    assert.deepEqual(await helmList(namespace), []);
    const left = await kubectlJson<{ items: unknown[] }>(['get', 'deployments,services,configmaps', '-n', namespace, '-l', 'app.kubernetes.io/instance=web']);
    assert.equal(left.items.length, 0, 'uninstall removed the objects');
  });

  it('addons - a chart repository, an OCI registry and a private Git repository each install the same chart', async () => {
    const namespaces = { repo: releaseNamespace('addon-src-repo'), oci: releaseNamespace('addon-src-oci'), git: releaseNamespace('addon-src-git') };
    await Promise.all([
      putAddon(CLUSTER, 'src-repo', repoSpec(namespaces.repo)),
      putAddon(CLUSTER, 'src-oci', { source: { oci: { ref: `oci://${registry}/charts/webapp` } }, version: '^0.1', namespace: namespaces.oci }),
      putAddon(CLUSTER, 'src-git', {
        source: { git: { url: gitUrl, path: 'deploy/charts/webapp', ref: 'main', tokenSecret: 'git-token' } }, version: '0.1.0', namespace: namespaces.git,
      }),
    ]);
    for (const [name, namespace] of [['src-repo', namespaces.repo], ['src-oci', namespaces.oci], ['src-git', namespaces.git]] as const) {
      const status = await deployedAt(CLUSTER, name, 1);
      assert.equal(status.release?.chart, 'webapp', name);
      assert.equal(status.release.chartVersion, '0.1.0', name);
      assert.equal(await deploymentReplicas(namespace, `${name}-webapp`), 2, name);
    }
    for (const name of ['src-repo', 'src-oci', 'src-git']) await cli(['addons', 'delete', CLUSTER, name]);
    for (const name of ['src-repo', 'src-oci', 'src-git']) await statusOf(CLUSTER, name, 'uninstalled', (s) => s.phase === 'Uninstalled');
    const logs = agent.process.lines.map((l) => JSON.stringify(l)).join('\n');
    assert.doesNotMatch(logs, new RegExp(GIT_TOKEN), 'the Git token is in no log line');
  });

  it('addons - the example charts with a hook Job and with a CRD install and report Healthy; uninstall leaves the CRD, as helm does', async (t) => {
    const namespace = releaseNamespace('addon-examples');
    t.after(() => kubectl(['delete', 'crd', 'widgets.examples.uplink.dev', '--ignore-not-found', '--wait=false']));
    await putAddon(CLUSTER, 'migrate', { source: { repo: { url: repo, chart: 'job-hook' } }, version: '0.1.0', namespace });
    await putAddon(CLUSTER, 'widget', { source: { repo: { url: repo, chart: 'crd-widget' } }, version: '0.1.0', namespace, values: 'widget:\n  size: 7\n' });
    const migrate = await deployedAt(CLUSTER, 'migrate', 1);
    assert.equal(migrate.release?.chart, 'job-hook');
    const widget = await deployedAt(CLUSTER, 'widget', 1);
    assert.ok(widget.health?.objects.some((o) => o.kind === 'Widget' && o.status === 'Healthy'), JSON.stringify(widget.health));
    const live = await kubectlJson<{ spec: { size: number } }>(['get', 'widgets.examples.uplink.dev', 'widget', '-n', namespace]);
    assert.equal(live.spec.size, 7);
    for (const name of ['migrate', 'widget']) await cli(['addons', 'uninstall', CLUSTER, name]);
    const crd = await kubectlJson<{ metadata: { name: string } }>(['get', 'crd', 'widgets.examples.uplink.dev']);
    assert.equal(crd.metadata.name, 'widgets.examples.uplink.dev');
  });

  it('addons - a chart that fails to render and an upgrade that fails while applying each leave a clear error, the failed upgrade is rolled back, and the other add-ons are unaffected', async () => {
    const namespace = releaseNamespace('addon-fail');
    const noRetry = { retry: { limit: 0, backoff: { duration: '5s', factor: 2, maxDuration: '3m' } } };
    await putAddon(CLUSTER, 'steady', repoSpec(namespace));
    await putAddon(CLUSTER, 'fixed-ip', repoSpec(namespace, '', noRetry));
    const steady = await deployedAt(CLUSTER, 'steady', 1);
    await deployedAt(CLUSTER, 'fixed-ip', 1);

    await putAddon(CLUSTER, 'broken', repoSpec(namespace, 'image:\n  repository: ""\n', noRetry));
    const broken = await statusOf(CLUSTER, 'broken', 'failed', (s) => s.phase === 'Failed');
    assert.equal(broken.lastOperation?.code, 'RENDER_FAILED');
    assert.match(broken.message, /image\.repository must name the container image/);
    assert.equal(broken.release, null, 'nothing was installed');
    assert.equal(broken.nextRetryAt, null, 'retry limit 0: no retry');

    // A chart the repository does not have, and a version it does not have.
    await putAddon(CLUSTER, 'no-chart', { ...repoSpec(namespace, '', noRetry), source: { repo: { url: repo, chart: 'nope' } } });
    await putAddon(CLUSTER, 'no-version', { ...repoSpec(namespace, '', noRetry), version: '^9' });
    for (const name of ['no-chart', 'no-version']) {
      const missing = await statusOf(CLUSTER, name, 'failed', (s) => s.phase === 'Failed');
      assert.equal(missing.lastOperation?.code, 'CHART_NOT_FOUND', `${name}: ${missing.message}`);
    }

    // A fixed cluster IP on an existing Service: the API server refuses the change.
    await putAddon(CLUSTER, 'fixed-ip', repoSpec(namespace, 'service:\n  clusterIP: 10.96.200.200\n', noRetry));
    const failed = await statusOf(CLUSTER, 'fixed-ip', 'failed upgrade', (s, view) => s.generation === view.generation && s.phase === 'Failed');
    assert.equal(failed.lastOperation?.code, 'IMMUTABLE_FIELD');
    assert.equal(failed.lastOperation.rolledBack, true);
    assert.match(failed.message, /may not change once set/);
    assert.equal(failed.release?.status, 'deployed');
    assert.equal(failed.release.revision, 3);
    assert.match(failed.release.description, /^Rollback to 1/);
    assert.deepEqual(failed.history.map((r) => [r.revision, r.status]), [[1, 'superseded'], [2, 'failed'], [3, 'deployed']]);

    const after = (await getAddon(CLUSTER, 'steady')).status;
    assert.ok(after);
    assert.equal(after.phase, 'Deployed');
    assert.equal(after.release?.revision, 1);
    assert.equal(after.lastOperation?.id, steady.lastOperation?.id, 'no operation ran on the steady add-on');
    for (const name of ['steady', 'fixed-ip', 'broken', 'no-chart', 'no-version']) await cli(['addons', 'delete', CLUSTER, name]);
  });

  it('addons - revision_history_limit 3 keeps at most 3 release Secrets after 5 upgrades', async () => {
    const namespace = releaseNamespace('addon-hist');
    for (let replicas = 1; replicas <= 6; replicas += 1) {
      await putAddon(CLUSTER, 'hist', repoSpec(namespace, `replicaCount: ${replicas}\n`, { revisionHistoryLimit: 3 }));
      await deployedAt(CLUSTER, 'hist', replicas);
    }
    const secrets = await releaseSecrets(namespace, 'hist');
    assert.deepEqual(secrets, ['sh.helm.release.v1.hist.v4', 'sh.helm.release.v1.hist.v5', 'sh.helm.release.v1.hist.v6']);
    await cli(['addons', 'delete', CLUSTER, 'hist']);
  });

  it('addons - depends_on holds an add-on back until its dependency is deployed, and a cycle is refused at the API', async (t) => {
    const cluster = 'e2e-addons-deps';
    const namespace = releaseNamespace('addon-deps');
    const created = JSON.parse(await cli(['clusters', 'create', cluster, '-o', 'json'])) as { token: string };
    // Declared before any agent runs: the agent gets both at once and must order them itself.
    await putAddon(cluster, 'base', repoSpec(namespace));
    await putAddon(cluster, 'app', repoSpec(namespace, '', { dependsOn: ['base'] }));
    const cycle = await hubRequest(hub, 'PUT', `/api/v1/clusters/${cluster}/addons/base`, repoSpec(namespace, '', { dependsOn: ['app'] }));
    assert.equal(cycle.status, 400);
    assert.match(cycle.text, /dependsOn makes a cycle: base -> app -> base/);

    const depsNamespace = await createTestNamespace(t, 'addons-deps-agent');
    const { kubeconfig } = await mintServiceAccountToken(t, { namespace: depsNamespace, clusterRole: 'cluster-admin' });
    const depsAgent = await startAgent(t, { hubUrl: hub.url, caHash: hub.caHash, token: created.token, kubeconfig, args: ['--addons-sweep-interval', '5'] });
    await deployedAt(cluster, 'app', 1);
    const started = (name: string): number => depsAgent.process.lines.findIndex((l) => l.msg === 'add-on operation started' && l.addon === name);
    const finished = (name: string): number => depsAgent.process.lines.findIndex((l) => l.msg === 'add-on operation finished' && l.addon === name);
    assert.ok(finished('base') >= 0 && started('app') > finished('base'), 'app started only after base finished');
    const base = (await getAddon(cluster, 'base')).status;
    const app = (await getAddon(cluster, 'app')).status;
    assert.ok(Date.parse(app?.lastOperation?.startedAt ?? '') >= Date.parse(base?.lastOperation?.finishedAt ?? ''), 'the timestamps agree');
    await cli(['addons', 'delete', cluster, 'app']);
    await statusOf(cluster, 'app', 'uninstalled', (s) => s.phase === 'Uninstalled');
    await cli(['addons', 'delete', cluster, 'base']);
    await statusOf(cluster, 'base', 'uninstalled', (s) => s.phase === 'Uninstalled');
  });
});
