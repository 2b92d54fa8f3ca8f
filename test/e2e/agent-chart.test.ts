// The agent chart (charts/uplink-agent) against the real test cluster with the
// real helm and kubectl: lint, server-side dry runs, the restricted Pod
// Security Standard, real installs whose ServiceAccount, RBAC, Secrets and
// environment run a real agent process (kwok fakes the chart's own pod), and
// the install line the hub prints, run as printed.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { AGENT_SETTINGS } from '../../src/agent/config.ts';
import { UPLINK_VERSION } from '../../src/version.ts';
import { runChecked } from '../../src/util/run-process.ts';
import { AddonHub, webappSpec } from '../helpers/addons.ts';
import { helmOffline, serveChartRepo } from '../helpers/chart-sources.ts';
import {
  clusterBinDir, createTestNamespace, helm, helmEnv, kubeconfigPath, kubectl, kubectlJson, REPO_ROOT,
  serviceAccountKubeconfig, testTempDir, uniqueName,
} from '../helpers/cluster.ts';
import { createUserLogin, kubeconfigThroughHub, kubectlVia } from '../helpers/kubectl-hub.ts';
import { eventually, startHub, suiteContext, UplinkProcess, type HubHandle, type LogLine } from '../helpers/uplink.ts';

const CHART = join(REPO_ROOT, 'charts/uplink-agent');
const WEBAPP = join(REPO_ROOT, 'examples/charts/webapp');
/** What `uplink clusters create` prints (src/hub/install-command.ts). */
const PRINTED = { release: 'uplink-agent', namespace: 'uplink-system' };
/** Link and sweep timings a test can wait for, set through the chart's own values. */
const FAST = ['link.heartbeatInterval=1', 'link.reconnectMin=0.5', 'link.reconnectMax=4', 'addons.sweepInterval=5', 'addons.helmTimeout=60', 'logLevel=debug'];
/** Chart value → the agent setting it feeds. */
const VALUE_SETTINGS: Record<string, keyof typeof AGENT_SETTINGS> = {
  'hub.insecureSkipTlsVerify': 'insecureSkipTlsVerify',
  'addons.readWorkers': 'addonsReadWorkers', 'addons.writeWorkers': 'addonsWriteWorkers',
  'addons.sweepInterval': 'addonsSweepInterval', 'addons.helmTimeout': 'addonsHelmTimeout',
  'addons.stuckAfter': 'addonsStuckAfter', 'addons.sopsSecret': 'addonsSopsSecret',
  'link.heartbeatInterval': 'heartbeatInterval', 'link.reconnectMin': 'reconnectMin', 'link.reconnectMax': 'reconnectMax',
  'inventory.discover': 'inventoryDiscover', 'inventory.maxObjects': 'inventoryMaxObjects',
  'inventory.watchTimeout': 'watchTimeout', 'inventory.watchSilence': 'watchSilence',
  logLevel: 'logLevel', 'publicIp.enabled': 'reportPublicIp', 'publicIp.lookupUrl': 'publicIpUrl',
  'leaderElection.enabled': 'leaderElect', 'leaderElection.leaseDuration': 'leaderElectLeaseDuration',
  'leaderElection.renewDeadline': 'leaderElectRenewDeadline', 'leaderElection.retryPeriod': 'leaderElectRetryPeriod',
};
/** Variables the chart sets that are not agent settings: the pod's namespace and name, and writable directories. */
const POD_ENV = new Set(['POD_NAMESPACE', 'POD_NAME', 'HOME', 'TMPDIR', 'XDG_CACHE_HOME', 'XDG_CONFIG_HOME']);
/** Variables holding paths inside the pod, which a local run moves under its own root. */
const POD_PATHS = new Set(['HOME', 'TMPDIR', 'XDG_CACHE_HOME', 'XDG_CONFIG_HOME', 'UPLINK_TOKEN_FILE', 'UPLINK_HUB_CA_FILE']);

interface KubeObject { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> } }
interface EnvVar { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }
interface Volume { name: string; secret?: { secretName: string; items: { key: string; path: string }[] }; configMap?: { name: string }; emptyDir?: object }
interface Container { env: EnvVar[]; args: string[]; volumeMounts: { name: string; mountPath: string }[]; securityContext: object }
interface PodSpec { serviceAccountName: string; containers: Container[]; volumes: Volume[]; securityContext: object }
interface Deployment extends KubeObject { spec: { template: { metadata: { labels: Record<string, string> }; spec: PodSpec } } }
interface CreatedCluster { token: string; install: { helm: string } }

const { t: suite, runCleanups } = suiteContext('agent-chart');
let hub: HubHandle;
let addons: AddonHub;
let repo: string;

const sets = (values: string[]): string[] => values.flatMap((v) => ['--set', v]);
const hubValues = (created: CreatedCluster): string[] => [`hub.url=${hub.url}`, `hub.caHash=${hub.caHash ?? ''}`, `token.value=${created.token}`];

/** `helm template` of the chart; no cluster involved. */
async function render(namespace: string, values: string[], extra: string[] = []): Promise<KubeObject[]> {
  const { stdout } = await helmOffline(['template', 'r', CHART, '-n', namespace, ...sets(values), ...extra]);
  return parseAllDocuments(stdout).map((d) => d.toJS() as KubeObject | null).filter((o) => o !== null);
}

function deploymentOf(objects: KubeObject[]): Deployment {
  const deployment = objects.find((o) => o.kind === 'Deployment');
  assert.ok(deployment, 'the chart renders a Deployment');
  return deployment as Deployment;
}

const envOf = (deployment: Deployment): EnvVar[] => deployment.spec.template.spec.containers[0]?.env ?? [];

async function createCluster(name: string): Promise<CreatedCluster> {
  return JSON.parse(await addons.cli(['clusters', 'create', name, '-o', 'json'])) as CreatedCluster;
}

/** Installs a release into `namespace`; it and its cluster-scoped objects go when the test ends. */
async function install(t: TestContext, release: string, namespace: string, values: string[], extra: string[] = []): Promise<void> {
  t.after(async () => {
    await helm(['uninstall', release, '-n', namespace, '--ignore-not-found']);
    await kubectl(['delete', 'clusterrole,clusterrolebinding', '-l', `app.kubernetes.io/instance=${release}`, '--ignore-not-found']);
  });
  await helm(['upgrade', '--install', release, CHART, '-n', namespace, ...sets([...values, ...FAST]), ...extra]);
}

/**
 * Runs the agent process as the chart's pod would: the installed Deployment's
 * args and environment, its Secret and ConfigMap volumes written under a
 * local root (paths in the environment moved there), and the API server
 * reached with a token of the chart's own ServiceAccount. Only the health
 * port and the helm and sops binaries differ.
 */
async function runAsChartPod(t: TestContext, release: string, namespace: string): Promise<UplinkProcess> {
  const list = await kubectlJson<{ items: Deployment[] }>(['-n', namespace, 'get', 'deployments', '-l', `app.kubernetes.io/instance=${release}`]);
  const pod = list.items[0]?.spec.template.spec;
  const container = pod?.containers[0];
  assert.ok(pod && container, `release ${release} has a Deployment`);
  const root = testTempDir(t, 'uplink-chart-pod-');
  for (const mount of container.volumeMounts) {
    const volume = pod.volumes.find((v) => v.name === mount.name);
    const dir = join(root, mount.mountPath);
    mkdirSync(dir, { recursive: true });
    if (volume?.secret) {
      const { data } = await kubectlJson<{ data: Record<string, string> }>(['-n', namespace, 'get', 'secret', volume.secret.secretName]);
      for (const item of volume.secret.items) writeFileSync(join(dir, item.path), Buffer.from(data[item.key] ?? '', 'base64'));
    }
    if (volume?.configMap) {
      const { data } = await kubectlJson<{ data: Record<string, string> }>(['-n', namespace, 'get', 'configmap', volume.configMap.name]);
      for (const [key, text] of Object.entries(data)) writeFileSync(join(dir, key), text);
    }
  }
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}` };
  for (const variable of container.env) {
    if (variable.valueFrom) {
      const field = variable.valueFrom.fieldRef?.fieldPath;
      assert.ok(field === 'metadata.namespace' || field === 'metadata.name', `${variable.name} comes from the downward API`);
      env[variable.name] = field === 'metadata.name' ? `${release}-local` : namespace;
    } else {
      env[variable.name] = POD_PATHS.has(variable.name) ? join(root, variable.value ?? '') : variable.value;
    }
  }
  const bin = await clusterBinDir();
  Object.assign(env, {
    UPLINK_HEALTH_LISTEN: '127.0.0.1:0', UPLINK_HELM: join(bin, 'helm'), UPLINK_SOPS: join(bin, 'sops'),
    UPLINK_KUBECONFIG: await serviceAccountKubeconfig(t, { namespace, serviceAccount: pod.serviceAccountName }),
  });
  const agent = new UplinkProcess(container.args, env);
  t.after(() => agent.stop('SIGKILL'));
  await agent.waitForLog((l) => l.msg === 'linked to the hub', 30_000);
  return agent;
}

/** Waits until `uplink clusters list` shows the cluster online. */
async function waitOnline(cluster: string): Promise<void> {
  await eventually(`${cluster} online`, 15_000, async () => {
    const { items } = JSON.parse(await addons.cli(['clusters', 'list', '-o', 'json'])) as { items: { name: string; status: string }[] };
    return items.find((c) => c.name === cluster)?.status === 'online' ? true : undefined;
  });
}

/** `kubectl auth can-i` as the ServiceAccount, through the admin kubeconfig. */
async function canI(serviceAccount: string, args: string[]): Promise<boolean> {
  const result = await kubectlVia(await kubeconfigPath(), ['auth', 'can-i', ...args, `--as=${serviceAccount}`]);
  return result.stdout.trim() === 'yes';
}

/** The agent's warnings and errors so far. */
const warnings = (agent: UplinkProcess): LogLine[] => agent.lines.filter((l) => l.level === 'warn' || l.level === 'error' || l.level === 'fatal');

function valueAt(tree: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], tree);
}

describe('agent chart', () => {
  before(async () => {
    hub = await startHub(suite, { args: ['--agent-chart', CHART] });
    addons = new AddonHub(hub);
    repo = await serveChartRepo(suite, [WEBAPP]);
  });
  after(runCleanups);

  it('agent chart - helm lint passes, also --strict and with values; missing or contradicting values fail the install with what to set', async () => {
    for (const args of [[], ['--strict'], ['--strict', ...sets(['hub.url=https://hub.example.com:8443', 'token.value=t', 'rbac.mode=read-only'])]]) {
      const { stdout } = await helm(['lint', CHART, ...args]);
      assert.match(stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
    }
    const refusals: [string[], RegExp][] = [
      [['token.value=t'], /hub\.url is required/],
      [['hub.url=https://h'], /a cluster token is required/],
      [['hub.url=https://h', 'token.value=t', 'token.existingSecret=s'], /token\.value and token\.existingSecret are both set/],
      [['hub.url=https://h', 'token.value=t', 'hub.caHash=sha256:' + 'a'.repeat(64), 'hub.caBundle=x'], /hub\.caHash and hub\.caBundle are both set/],
      [['hub.url=https://h', 'token.value=t', 'rbac.mode=admin'], /at '\/rbac\/mode'/],
      [['hub.url=https://h', 'token.value=t', 'link.heartbeatInterval=900'], /at '\/link\/heartbeatInterval'/],
      [['hub.url=https://h', 'token.value=t', 'hub.ulr=https://h'], /additional properties 'ulr' not allowed/],
    ];
    for (const [values, message] of refusals) {
      await assert.rejects(render('ns', values), message, values.join(' '));
    }
  });

  it('agent chart - appVersion is the agent version; each value feeds its agent setting, with the agent\'s defaults and bounds', async () => {
    const chart = parseYaml(readFileSync(join(CHART, 'Chart.yaml'), 'utf8')) as { appVersion: string };
    assert.equal(chart.appVersion, UPLINK_VERSION);
    const values = parseYaml(readFileSync(join(CHART, 'values.yaml'), 'utf8')) as unknown;
    const schema = JSON.parse(readFileSync(join(CHART, 'values.schema.json'), 'utf8')) as unknown;
    const base = ['hub.url=https://h', 'token.value=t'];
    const defaults = deploymentOf(await render('ns', base));
    assert.equal(defaults.spec.template.spec.containers[0]?.args.join(' '), 'agent');
    const custom: string[] = [];
    const expected = new Map<string, string>();
    for (const [path, key] of Object.entries(VALUE_SETTINGS)) {
      const setting = AGENT_SETTINGS[key] as { env: string; default?: unknown; schema: { minimum?: number; maximum?: number } };
      assert.deepEqual(valueAt(values, path), setting.default, `values.yaml ${path} is the agent's default of ${setting.env}`);
      assert.equal(envOf(defaults).find((e) => e.name === setting.env)?.value, String(setting.default), `${path} renders ${setting.env}`);
      if (setting.schema.minimum === undefined) continue;
      const node = valueAt(schema, `properties.${path.split('.').join('.properties.')}`) as { minimum?: number; maximum?: number; anyOf?: { minimum?: number; maximum?: number }[] };
      const bounds = node.anyOf?.[0] ?? node;
      assert.deepEqual([bounds.minimum, bounds.maximum], [setting.schema.minimum, setting.schema.maximum], `the schema's bounds of ${path}`);
      // A distinct value per setting, so that two values swapped would show.
      const value = Math.min(Math.ceil(setting.schema.minimum) + custom.length + 1, setting.schema.maximum ?? Infinity);
      custom.push(`${path}=${value}`);
      expected.set(setting.env, String(value));
    }
    const rendered = new Map(envOf(deploymentOf(await render('ns', [...base, ...custom]))).map((e) => [e.name, e.value]));
    for (const [name, value] of expected) assert.equal(rendered.get(name), value, name);
    const known = new Set(Object.values(AGENT_SETTINGS).map((s) => s.env));
    for (const { name } of envOf(defaults)) assert.ok(known.has(name) || POD_ENV.has(name), `${name} is an agent setting`);
    const image = (defaults.spec.template.spec.containers[0] as Container & { image: string }).image;
    assert.equal(image, `ghcr.io/uplink-dev/uplink-agent:${UPLINK_VERSION}`);
    const monitors = async (on: boolean): Promise<number> => (await render('ns', [...base, `metrics.serviceMonitor.enabled=${on}`])).filter((o) => o.kind === 'ServiceMonitor').length;
    assert.deepEqual([await monitors(false), await monitors(true)], [0, 1]);
  });

  it('agent chart - the API server accepts the rendered objects (server-side dry run) in both RBAC modes and with an existing token Secret', async (t) => {
    const namespace = await createTestNamespace(t, 'chart-dry');
    const caFile = join(hub.dataDir, 'tls', 'ca.crt');
    const variants: [string, string[], string[], RegExp[]][] = [
      ['cluster-admin', ['hub.url=https://h:8443', 'token.value=t', `hub.caHash=sha256:${'b'.repeat(64)}`], [], [/clusterrolebinding\.\S+\/\S+-cluster-admin created/]],
      ['read-only', ['hub.url=https://h:8443', 'token.value=t', 'rbac.mode=read-only', 'rbac.readOnly.listSecrets=true', 'rbac.impersonateUsers={alice,bob}', 'leaderElection.enabled=true'], [],
        [/clusterrole\.\S+\/\S+-read-only created/, /clusterrolebinding\.\S+\/\S+-read-only-view created/]],
      ['existing Secret', ['hub.url=https://h:8443', 'token.existingSecret=my-token', 'token.existingSecretKey=cluster-token'], ['--set-file', `hub.caBundle=${caFile}`], [/configmap\/\S+-hub-ca created/]],
    ];
    for (const [name, values, extra, kinds] of variants) {
      const objects = await render(namespace, values, extra);
      const manifest = objects.map((o) => JSON.stringify(o)).join('\n');
      const { stdout } = await kubectl(['apply', '--dry-run=server', '-f', '-'], { input: manifest });
      for (const kind of ['serviceaccount', 'role.rbac.authorization.k8s.io', 'deployment.apps', 'service', 'secret/uplink-agent-state', 'secret/uplink-agent-addons']) {
        assert.match(stdout, new RegExp(`${kind.replace(/\./g, '\\.')}\\S* created \\(server dry run\\)`), `${name}: ${kind}`);
      }
      for (const kind of kinds) assert.match(stdout, kind, name);
      assert.equal(stdout.includes('-cluster-admin created'), name !== 'read-only', `${name}: cluster-admin only in its mode`);
      assert.equal(objects.some((o) => o.kind === 'Secret' && o.metadata.name.endsWith('-token')), name !== 'existing Secret', `${name}: token Secret`);
      // With leader election, the Role names the one Lease the agent is told to use.
      const role = objects.find((o) => o.kind === 'Role') as (KubeObject & { rules: { apiGroups: string[]; resourceNames?: string[]; verbs: string[] }[] }) | undefined;
      const leaseRules = role?.rules.filter((r) => r.apiGroups.includes('coordination.k8s.io')) ?? [];
      const leaseName = envOf(deploymentOf(objects)).find((e) => e.name === 'UPLINK_LEADER_ELECT_LEASE')?.value;
      assert.deepEqual(leaseRules.map((r) => [r.resourceNames ?? [], r.verbs]), name === 'read-only' ? [[[leaseName], ['get', 'update']], [[], ['create']]] : [], `${name}: Lease rules`);
    }
  });

  it('agent chart - the pod template meets the restricted Pod Security Standard (a Pod create is admitted; a weakened one is not)', async (t) => {
    const namespace = await createTestNamespace(t, 'chart-psa');
    await kubectl(['label', 'namespace', namespace, 'pod-security.kubernetes.io/enforce=restricted', 'pod-security.kubernetes.io/warn=restricted']);
    const deployment = deploymentOf(await render(namespace, ['hub.url=https://h', 'token.value=t']));
    const spec = deployment.spec.template.spec;
    await kubectl(['-n', namespace, 'create', 'serviceaccount', spec.serviceAccountName]);
    const pod = (podSpec: PodSpec): string => JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'agent', namespace }, spec: podSpec });
    const admitted = await kubectl(['create', '--dry-run=server', '-f', '-'], { input: pod(spec) });
    assert.match(admitted.stdout, /pod\/agent created \(server dry run\)/);
    assert.doesNotMatch(admitted.stderr, /PodSecurity/);
    const weakened = { ...spec, containers: spec.containers.map((c) => ({ ...c, securityContext: { ...c.securityContext, allowPrivilegeEscalation: true } })) };
    const refused = await kubectlVia(await kubeconfigPath(), ['create', '--dry-run=server', '-f', '-'], pod(weakened));
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false/);
  });

  it('agent chart - installed in cluster-admin mode, the agent runs with its ServiceAccount: online, kubectl per role, an add-on installs; helm upgrade keeps its state', async (t) => {
    const namespace = await createTestNamespace(t, 'chart-admin');
    await kubectl(['label', 'namespace', namespace, 'pod-security.kubernetes.io/enforce=restricted']);
    const release = uniqueName('chart-admin');
    const cluster = uniqueName('chart-admin');
    await install(t, release, namespace, hubValues(await createCluster(cluster)));
    const labelled = `app.kubernetes.io/instance=${release}`;
    const names = async (kinds: string, scope: string[]): Promise<string[]> =>
      (await kubectl([...scope, 'get', kinds, '-l', labelled, '-o', 'name'])).stdout.trim().split('\n').sort();
    const own = await names('serviceaccount,secret,role,rolebinding,deployment,service', ['-n', namespace]);
    for (const kind of ['serviceaccount/', 'secret/uplink-agent-state', 'secret/uplink-agent-addons', 'secret/' + release, 'role.rbac.authorization.k8s.io/', 'rolebinding.rbac.authorization.k8s.io/', 'deployment.apps/', 'service/']) {
      assert.ok(own.some((n) => n.startsWith(kind)), `${kind} in ${own.join(', ')}`);
    }
    const clusterWide = await names('clusterrole,clusterrolebinding', []);
    for (const suffix of ['-impersonate', '-cluster-admin', '-group-admin', '-group-edit', '-group-view']) {
      assert.ok(clusterWide.some((n) => n.endsWith(suffix)), `${suffix} in ${clusterWide.join(', ')}`);
    }
    await eventually('the ReplicaSet to create the agent pod in the restricted namespace', 30_000, async () =>
      ((await kubectl(['-n', namespace, 'get', 'pods', '-l', labelled, '-o', 'name'])).stdout.trim() || undefined));

    const agent = await runAsChartPod(t, release, namespace);
    await waitOnline(cluster);
    assert.ok(!agent.lines.some((l) => /uplink:admin/.test(l.msg)), 'the agent leaves the group bindings to the chart');

    const work = await createTestNamespace(t, 'chart-work');
    const admin = await kubeconfigThroughHub(hub.cliConfig, cluster);
    const created = await kubectlVia(admin, ['-n', work, 'create', 'configmap', 'from-admin', '--from-literal=a=1']);
    assert.equal(created.code, 0, created.stderr);
    const viewer = await kubeconfigThroughHub(await createUserLogin(hub, uniqueName('viewer'), 'view', cluster), cluster);
    const pods = await kubectlVia(viewer, ['-n', namespace, 'get', 'pods', '-o', 'name']);
    assert.equal(pods.code, 0, pods.stderr);
    const refused = await kubectlVia(viewer, ['-n', work, 'create', 'configmap', 'from-viewer']);
    assert.match(refused.stderr, /forbidden: User "uplink:viewer-\w+" cannot create resource "configmaps"/);

    const addonNamespace = uniqueName('chart-web');
    t.after(() => kubectl(['delete', 'namespace', addonNamespace, '--ignore-not-found', '--wait=false']));
    await addons.put(cluster, 'web', webappSpec(repo, addonNamespace));
    await addons.deployedAt(cluster, 'web', 1);

    const stateKeys = async (): Promise<string[]> => Object.keys((await kubectlJson<{ data?: object }>(['-n', namespace, 'get', 'secret', 'uplink-agent-state'])).data ?? {});
    assert.deepEqual(await stateKeys(), ['hub-ca.crt'], 'the agent kept the hub CA it fetched through the pin');
    await helm(['upgrade', release, CHART, '-n', namespace, '--reuse-values']);
    assert.deepEqual(await stateKeys(), ['hub-ca.crt'], 'an upgrade keeps the state the agent wrote');
    assert.deepEqual(warnings(agent), [], 'the chart\'s RBAC let the agent do all it tried');
  });

  it('agent chart - read-only mode with a token Secret and a CA bundle: reads work, add-ons fail FORBIDDEN, impersonation only of the listed users and the uplink groups', async (t) => {
    const namespace = await createTestNamespace(t, 'chart-ro');
    const release = uniqueName('chart-ro');
    const cluster = uniqueName('chart-ro');
    const [viewerName, strangerName] = [uniqueName('ro-viewer'), uniqueName('ro-stranger')];
    const { token } = await createCluster(cluster);
    await kubectl(['-n', namespace, 'create', 'secret', 'generic', 'my-token', `--from-literal=cluster-token=${token}`]);
    await install(t, release, namespace, [
      `hub.url=${hub.url}`, 'token.existingSecret=my-token', 'token.existingSecretKey=cluster-token',
      'rbac.mode=read-only', `rbac.impersonateUsers={admin,${viewerName}}`,
    ], ['--set-file', `hub.caBundle=${join(hub.dataDir, 'tls', 'ca.crt')}`]);
    const agent = await runAsChartPod(t, release, namespace);
    await waitOnline(cluster);

    const sa = `system:serviceaccount:${namespace}:${release}-uplink-agent`;
    const rights: [string[], boolean][] = [
      [['list', 'pods', '-A'], true], [['list', 'nodes'], true], [['list', 'clusterroles'], true],
      [['create', 'configmaps', '-n', 'default'], false], [['list', 'secrets', '-A'], false], [['create', 'secrets', '-n', namespace], false],
      [['update', 'secrets/uplink-agent-state', '-n', namespace], true], [['update', 'secrets/my-token', '-n', namespace], false],
      [['impersonate', 'groups/uplink:view'], true], [['impersonate', 'groups/system:masters'], false],
      [['impersonate', `users/uplink:${viewerName}`], true], [['impersonate', 'users/system:kube-controller-manager'], false],
      [['create', 'subjectaccessreviews.authorization.k8s.io'], true],
    ];
    for (const [args, allowed] of rights) assert.equal(await canI(sa, args), allowed, `can-i ${args.join(' ')}`);

    const addonNamespace = uniqueName('chart-ro-web');
    t.after(() => kubectl(['delete', 'namespace', addonNamespace, '--ignore-not-found', '--wait=false']));
    await addons.put(cluster, 'web', webappSpec(repo, addonNamespace));
    // helm's first step, reading the release (its Secrets), is already refused:
    // the add-on stays uninstalled with helm-errors' FORBIDDEN sentence.
    const refusedAddon = await addons.statusOf(cluster, 'web', 'refused for the agent\'s permissions', (s) =>
      /The agent's Kubernetes permissions do not allow this/.test(s.lastOperation?.message ?? s.message));
    assert.equal(refusedAddon.release, null);
    assert.match(refusedAddon.lastOperation?.message ?? refusedAddon.message, new RegExp(`User "${sa}" cannot list resource "secrets"`));

    const listed = await addons.cli(['get', cluster, 'pods', '-n', namespace]);
    assert.match(listed, new RegExp(`${release}-uplink-agent-`), 'the inventory lists the chart\'s pod');
    const viewer = await kubeconfigThroughHub(await createUserLogin(hub, viewerName, 'view', cluster), cluster);
    const pods = await kubectlVia(viewer, ['-n', namespace, 'get', 'pods', '-o', 'name']);
    assert.equal(pods.code, 0, pods.stderr);
    const stranger = await kubeconfigThroughHub(await createUserLogin(hub, strangerName, 'view', cluster), cluster);
    const refused = await kubectlVia(stranger, ['-n', namespace, 'get', 'pods']);
    assert.match(refused.stderr, /cannot impersonate resource "users"/, 'a user missing from rbac.impersonateUsers');
    assert.deepEqual(warnings(agent).filter((l) => l.code !== 'FORBIDDEN' || l.addon !== 'web'), [], 'the add-on is all the agent was refused');
  });

  it('agent chart - the install line the hub prints, run as printed, deploys release uplink-agent in uplink-system, and its agent links', async (t) => {
    const { namespace, release } = PRINTED;
    // An earlier run may have left the release, or its namespace still terminating.
    const cleanUp = async (wait: boolean): Promise<void> => {
      await helm(['uninstall', release, '-n', namespace, '--ignore-not-found']);
      await kubectl(['delete', 'namespace', namespace, '--ignore-not-found', `--wait=${wait}`, '--timeout=90s']);
    };
    await cleanUp(true);
    t.after(() => cleanUp(false));
    const cluster = uniqueName('chart-printed');
    const created = await createCluster(cluster);
    assert.match(created.install.helm, new RegExp(`^helm upgrade --install ${release} ${CHART} `));
    const env = { ...(await helmEnv()), PATH: `${await clusterBinDir()}:${process.env.PATH ?? ''}` };
    await runChecked('sh', ['-c', created.install.helm], { env, timeoutMs: 120_000 });
    const status = JSON.parse((await helm(['status', release, '-n', namespace, '-o', 'json'])).stdout) as { info: { status: string } };
    assert.equal(status.info.status, 'deployed');
    const deployment = await kubectlJson<Deployment>(['-n', namespace, 'get', 'deployment', release]);
    const deployedEnv = new Map(envOf(deployment).map((e) => [e.name, e.value]));
    assert.equal(deployedEnv.get('UPLINK_HUB_URL'), hub.url);
    assert.equal(deployedEnv.get('UPLINK_HUB_CA_HASH'), hub.caHash);
    assert.equal(deployedEnv.get('UPLINK_SELF_RELEASE'), release);
    const secret = await kubectlJson<{ data: { token: string } }>(['-n', namespace, 'get', 'secret', `${release}-token`]);
    assert.equal(Buffer.from(secret.data.token, 'base64').toString(), created.token);
    await runAsChartPod(t, release, namespace);
    await waitOnline(cluster);
  });
});
