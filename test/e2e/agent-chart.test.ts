// The agent chart (charts/uplink-agent) against the real test cluster with the
// real helm and kubectl: lint, server-side dry runs, the restricted Pod
// Security Standard, real installs whose ServiceAccount, RBAC, Secrets and
// environment run a real agent process (kwok fakes the chart's own pod), and
// the install line the hub prints, run as printed.
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { parse as parseYaml, parseAllDocuments, stringify as stringifyYaml } from 'yaml';
import { DRAIN_TIMEOUT_MS } from '../../src/agent/agent.ts';
import { AGENT_SETTINGS } from '../../src/agent/config.ts';
import { UPLINK_VERSION } from '../../src/version.ts';
import { KILL_GRACE_MS, runChecked } from '../../src/util/run-process.ts';
import { AddonHub, webappSpec } from '../helpers/addons.ts';
import {
  CHART, deploymentOf, envOf, envValue, leaseRules, render, restrictedNamespace, sets,
  type Budget, type Container, type Deployment, type KubeObject, type PodSpec,
} from '../helpers/agent-chart.ts';
import { serveChartRepo } from '../helpers/chart-sources.ts';
import {
  clusterBinDir, createTestNamespace, helm, helmEnv, kubeconfigPath, kubectl, kubectlJson, REPO_ROOT,
  serviceAccountKubeconfig, testTempDir, uniqueName,
} from '../helpers/cluster.ts';
import { createUserLogin, kubeconfigThroughHub, kubectlVia } from '../helpers/kubectl-hub.ts';
import { eventually, startHub, suiteContext, UplinkProcess, type HubHandle, type LogLine } from '../helpers/uplink.ts';

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
/**
 * Chart defaults that differ from the agent's own on purpose: the chart runs
 * two pods, which need leader election; a lone `uplink agent` needs none.
 */
const CHART_DEFAULTS: Partial<Record<string, unknown>> = { 'leaderElection.enabled': true };
/** Variables the chart sets that are not agent settings: the pod's namespace and name, and writable directories. */
const POD_ENV = new Set(['POD_NAMESPACE', 'POD_NAME', 'HOME', 'TMPDIR', 'XDG_CACHE_HOME', 'XDG_CONFIG_HOME']);
/** Variables holding paths inside the pod, which a local run moves under its own root. */
const POD_PATHS = new Set(['HOME', 'TMPDIR', 'XDG_CACHE_HOME', 'XDG_CONFIG_HOME', 'UPLINK_TOKEN_FILE', 'UPLINK_HUB_CA_FILE']);

interface CreatedCluster { token: string; install: { helm: string } }

const { t: suite, runCleanups } = suiteContext('agent-chart');
let hub: HubHandle;
let addons: AddonHub;
let repo: string;

const hubValues = (created: CreatedCluster): string[] => [`hub.url=${hub.url}`, `hub.caHash=${hub.caHash ?? ''}`, `token.value=${created.token}`];

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
    const lintValues = [['hub.url=https://hub.example.com:8443', 'token.value=t', 'rbac.mode=read-only'], ['replicas=1', 'leaderElection.enabled=false']];
    for (const args of [[], ['--strict'], ...lintValues.map((values) => ['--strict', ...sets(values)])]) {
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
      // Two agents without an election would take the link from each other.
      [['hub.url=https://h', 'token.value=t', 'leaderElection.enabled=false'], /replicas=2 needs leader election: .* Keep leaderElection\.enabled=true \(the default\), or set replicas=1/],
      [['hub.url=https://h', 'token.value=t', 'replicas=3', 'leaderElection.enabled=false'], /replicas=3 needs leader election/],
      [['hub.url=https://h', 'token.value=t', 'replicas=0'], /at '\/replicas'/],
      [['hub.url=https://h', 'token.value=t', 'spread.whenUnsatisfiable=Never'], /at '\/spread\/whenUnsatisfiable'/],
      [['hub.url=https://h', 'token.value=t', 'podDisruptionBudget.maxUnavailable=0'], /at '\/podDisruptionBudget\/maxUnavailable'/],
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
      const chartDefault = path in CHART_DEFAULTS ? CHART_DEFAULTS[path] : setting.default;
      assert.deepEqual(valueAt(values, path), chartDefault, `values.yaml ${path} is the agent's default of ${setting.env}`);
      assert.equal(envValue(defaults, setting.env), String(chartDefault), `${path} renders ${setting.env}`);
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
      ['read-only', ['hub.url=https://h:8443', 'token.value=t', 'rbac.mode=read-only', 'rbac.readOnly.listSecrets=true', 'rbac.impersonateUsers={alice,bob}'], [],
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
      // Leader election (on by default): the Role names the one Lease the agent is told to use.
      const leaseName = envValue(deploymentOf(objects), 'UPLINK_LEADER_ELECT_LEASE') ?? '';
      assert.deepEqual(leaseRules(objects), [[[leaseName], ['get', 'update']], [[], ['create']]], `${name}: Lease rules`);
    }
  });

  it('agent chart - with 1 and 2 replicas it renders and installs (server dry run) under the restricted Pod Security Standard: budget, spread and Lease rights with several pods', async (t) => {
    const namespace = await restrictedNamespace(t, 'chart-replicas');
    const base = ['hub.url=https://h:8443', 'token.value=t'];
    interface Variant { values: string[]; replicas: number; elect: boolean; budget?: number | string; spread?: string; antiAffinity?: true }
    const variants: Variant[] = [
      { values: [], replicas: 2, elect: true, budget: 1, spread: 'ScheduleAnyway' },
      { values: ['replicas=1', 'leaderElection.enabled=false'], replicas: 1, elect: false },
      { values: ['replicas=1'], replicas: 1, elect: true },
      { values: ['replicas=3', 'spread.whenUnsatisfiable=DoNotSchedule', 'spread.softAntiAffinity=true', 'podDisruptionBudget.maxUnavailable=50%'], replicas: 3, elect: true, budget: '50%', spread: 'DoNotSchedule', antiAffinity: true },
      { values: ['podDisruptionBudget.enabled=false', 'spread.enabled=false'], replicas: 2, elect: true },
    ];
    // The longest a stopping leader takes before it releases the Lease: link drain, the engine's
    // grace for helm writes (AddonEngine.stop), their kill, and the release request (renew deadline).
    const leaderStopMs = DRAIN_TIMEOUT_MS + 20_000 + KILL_GRACE_MS + (AGENT_SETTINGS.leaderElectRenewDeadline.default ?? 10) * 1000;
    await kubectl(['-n', namespace, 'create', 'serviceaccount', 'r-uplink-agent']);
    const pod = (spec: PodSpec): string => JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'agent', namespace }, spec });
    for (const v of variants) {
      const name = v.values.join(' ') || 'defaults';
      const objects = await render(namespace, [...base, ...v.values]);
      const deployment = deploymentOf(objects);
      const { selector, strategy, template } = deployment.spec;
      assert.equal(deployment.spec.replicas, v.replicas, name);
      assert.equal(envValue(deployment, 'UPLINK_LEADER_ELECT'), String(v.elect), `${name}: leader election`);
      assert.deepEqual(leaseRules(objects), v.elect ? [[['r-uplink-agent'], ['get', 'update']], [[], ['create']]] : [], `${name}: the Role's rules on Leases`);
      const budget = objects.find((o) => o.kind === 'PodDisruptionBudget') as Budget | undefined;
      assert.deepEqual(budget && [budget.apiVersion, budget.spec], v.budget === undefined ? undefined
        : ['policy/v1', { maxUnavailable: v.budget, unhealthyPodEvictionPolicy: 'AlwaysAllow', selector }], `${name}: PodDisruptionBudget`);
      assert.deepEqual(template.spec.topologySpreadConstraints, v.spread === undefined ? undefined : [{
        maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: v.spread, labelSelector: selector, matchLabelKeys: ['pod-template-hash'],
      }], `${name}: spread over nodes`);
      assert.equal(template.spec.affinity?.podAntiAffinity !== undefined, v.antiAffinity === true, `${name}: soft anti-affinity`);
      assert.deepEqual(strategy, { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } }, `${name}: a new pod before an old one stops`);
      assert.ok(template.spec.terminationGracePeriodSeconds * 1000 > leaderStopMs, `${name}: the grace period lets a leader release the Lease`);

      const { stdout, stderr } = await kubectl(['apply', '--dry-run=server', '-f', '-'], { input: objects.map((o) => JSON.stringify(o)).join('\n') });
      assert.match(stdout, /deployment\.apps\/r-uplink-agent created \(server dry run\)/, name);
      assert.equal(/poddisruptionbudget\.policy\/r-uplink-agent created \(server dry run\)/.test(stdout), v.budget !== undefined, `${name}: ${stdout}`);
      assert.doesNotMatch(stderr, /PodSecurity/, `${name}: the Deployment's pod template meets the restricted standard`);
      const admitted = await kubectl(['create', '--dry-run=server', '-f', '-'], { input: pod(template.spec) });
      assert.match(admitted.stdout, /pod\/agent created \(server dry run\)/, name);
      assert.doesNotMatch(admitted.stderr, /PodSecurity/, name);
    }
    // The namespace does enforce and warn: a weakened pod is refused, a weakened Deployment warned of.
    const spec = deploymentOf(await render(namespace, base)).spec.template.spec;
    const weakened = { ...spec, containers: spec.containers.map((c) => ({ ...c, securityContext: { ...c.securityContext, allowPrivilegeEscalation: true } })) };
    const refused = await kubectlVia(await kubeconfigPath(), ['create', '--dry-run=server', '-f', '-'], pod(weakened));
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false/);
    const weakDeployment = deploymentOf(await render(namespace, base));
    weakDeployment.spec.template.spec = weakened;
    const warned = await kubectl(['apply', '--dry-run=server', '-f', '-'], { input: JSON.stringify(weakDeployment) });
    assert.match(warned.stderr, /would violate PodSecurity "restricted:latest": allowPrivilegeEscalation != false/);
  });

  it('agent chart - a release made before replicas existed, upgraded with --reuse-values as a self-upgrade does, keeps one pod; two need election turned on', async (t) => {
    const namespace = await createTestNamespace(t, 'chart-reuse');
    // The chart as it was: no replicas, spread or budget in its values or schema, and no election by default.
    const old = join(testTempDir(t, 'uplink-old-chart-'), 'uplink-agent');
    cpSync(CHART, old, { recursive: true });
    const without = (tree: Record<string, unknown>): Record<string, unknown> =>
      Object.fromEntries(Object.entries(tree).filter(([key]) => !['replicas', 'spread', 'podDisruptionBudget'].includes(key)));
    const values = without(parseYaml(readFileSync(join(old, 'values.yaml'), 'utf8')) as Record<string, unknown>);
    const schema = JSON.parse(readFileSync(join(old, 'values.schema.json'), 'utf8')) as { properties: Record<string, unknown> };
    writeFileSync(join(old, 'values.yaml'), stringifyYaml({ ...values, leaderElection: { ...(values.leaderElection as object), enabled: false } }));
    writeFileSync(join(old, 'values.schema.json'), JSON.stringify({ ...schema, properties: without(schema.properties) }));
    t.after(async () => {
      await helm(['uninstall', 'r', '-n', namespace, '--ignore-not-found']);
      await kubectl(['delete', 'clusterrole,clusterrolebinding', '-l', 'app.kubernetes.io/instance=r', '--ignore-not-found']);
    });
    await helm(['install', 'r', old, '-n', namespace, ...sets(['hub.url=https://h:8443', 'token.value=t'])]);
    const upgrade = async (extra: string[]): Promise<KubeObject[]> => {
      const { stdout } = await helm(['upgrade', 'r', CHART, '-n', namespace, '--reuse-values', '--dry-run=server', ...extra]);
      return parseAllDocuments(stdout.slice(stdout.indexOf('MANIFEST:'))).map((d) => d.toJS() as KubeObject | null).filter((o) => o !== null);
    };
    const reused = await upgrade([]);
    assert.equal(deploymentOf(reused).spec.replicas, 1, 'one pod, not none');
    assert.equal(envValue(deploymentOf(reused), 'UPLINK_LEADER_ELECT'), 'false');
    assert.ok(!reused.some((o) => o.kind === 'PodDisruptionBudget'));
    await assert.rejects(upgrade(sets(['replicas=2'])), /replicas=2 needs leader election/);
    const two = deploymentOf(await upgrade(sets(['replicas=2', 'leaderElection.enabled=true'])));
    assert.deepEqual([two.spec.replicas, envValue(two, 'UPLINK_LEADER_ELECT')], [2, 'true']);
  });

  it('agent chart - installed in cluster-admin mode with 2 replicas, the pods land on two nodes, the budget lets one be evicted, the agent leads and runs with its ServiceAccount: online, kubectl per role, an add-on installs; helm upgrade keeps its state', async (t) => {
    const namespace = await restrictedNamespace(t, 'chart-admin');
    const release = uniqueName('chart-admin');
    const fullname = `${release}-uplink-agent`;
    const cluster = uniqueName('chart-admin');
    // DoNotSchedule: the scheduler must spread them (ScheduleAnyway only prefers it).
    await install(t, release, namespace, [...hubValues(await createCluster(cluster)), 'spread.whenUnsatisfiable=DoNotSchedule']);
    const labelled = `app.kubernetes.io/instance=${release}`;
    const names = async (kinds: string, scope: string[]): Promise<string[]> =>
      (await kubectl([...scope, 'get', kinds, '-l', labelled, '-o', 'name'])).stdout.trim().split('\n').sort();
    const own = await names('serviceaccount,secret,role,rolebinding,deployment,service,poddisruptionbudget', ['-n', namespace]);
    for (const kind of ['serviceaccount/', 'secret/uplink-agent-state', 'secret/uplink-agent-addons', 'secret/' + release, 'role.rbac.authorization.k8s.io/', 'rolebinding.rbac.authorization.k8s.io/', 'deployment.apps/', 'service/', 'poddisruptionbudget.policy/']) {
      assert.ok(own.some((n) => n.startsWith(kind)), `${kind} in ${own.join(', ')}`);
    }
    const clusterWide = await names('clusterrole,clusterrolebinding', []);
    for (const suffix of ['-impersonate', '-cluster-admin', '-group-admin', '-group-edit', '-group-view']) {
      assert.ok(clusterWide.some((n) => n.endsWith(suffix)), `${suffix} in ${clusterWide.join(', ')}`);
    }
    // kwok runs the pods (as Ready fakes): they are admitted in the restricted namespace and scheduled by the real scheduler.
    const agentPods = await eventually('the ReplicaSet\'s two agent pods scheduled in the restricted namespace', 60_000, async () => {
      const { items } = await kubectlJson<{ items: { metadata: { name: string }; spec: { nodeName?: string } }[] }>(['-n', namespace, 'get', 'pods', '-l', labelled]);
      return items.length === 2 && items.every((p) => p.spec.nodeName) ? items : undefined;
    });
    assert.equal(new Set(agentPods.map((p) => p.spec.nodeName)).size, 2, `two nodes: ${agentPods.map((p) => p.spec.nodeName).join(', ')}`);
    await eventually('the budget to allow one disruption of two pods', 60_000, async () => {
      const { status } = await kubectlJson<{ status?: { expectedPods?: number; disruptionsAllowed?: number } }>(['-n', namespace, 'get', 'pdb', fullname]);
      return status?.expectedPods === 2 && status.disruptionsAllowed === 1 ? true : undefined;
    });
    // What a node drain does: one eviction goes through.
    const evicted = agentPods[0]?.metadata.name ?? '';
    const eviction = { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: evicted, namespace } };
    await kubectl(['create', '--raw', `/api/v1/namespaces/${namespace}/pods/${evicted}/eviction`, '-f', '-'], { input: JSON.stringify(eviction) });

    const agent = await runAsChartPod(t, release, namespace);
    await waitOnline(cluster);
    assert.ok(agent.lines.some((l) => l.msg === 'became the leader'), 'the agent linked as the leader');
    const lease = await kubectlJson<{ spec: { holderIdentity?: string } }>(['-n', namespace, 'get', 'lease', fullname]);
    assert.match(lease.spec.holderIdentity ?? '', new RegExp(`^${release}-local`), 'it holds the Lease named after the release');
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

  it('agent chart - read-only mode with one pod, a token Secret and a CA bundle: reads work, add-ons fail FORBIDDEN, impersonation only of the listed users and the uplink groups, the Lease by name', async (t) => {
    const namespace = await createTestNamespace(t, 'chart-ro');
    const release = uniqueName('chart-ro');
    const cluster = uniqueName('chart-ro');
    const [viewerName, strangerName] = [uniqueName('ro-viewer'), uniqueName('ro-stranger')];
    const { token } = await createCluster(cluster);
    await kubectl(['-n', namespace, 'create', 'secret', 'generic', 'my-token', `--from-literal=cluster-token=${token}`]);
    await install(t, release, namespace, [
      `hub.url=${hub.url}`, 'token.existingSecret=my-token', 'token.existingSecretKey=cluster-token',
      'rbac.mode=read-only', `rbac.impersonateUsers={admin,${viewerName}}`, 'replicas=1',
    ], ['--set-file', `hub.caBundle=${join(hub.dataDir, 'tls', 'ca.crt')}`]);
    const agent = await runAsChartPod(t, release, namespace);
    await waitOnline(cluster);
    const lease = await kubectlJson<{ spec: { holderIdentity?: string } }>(['-n', namespace, 'get', 'lease', `${release}-uplink-agent`]);
    assert.match(lease.spec.holderIdentity ?? '', new RegExp(`^${release}-local`), 'the Role let the agent create and hold its Lease');

    const sa = `system:serviceaccount:${namespace}:${release}-uplink-agent`;
    const rights: [string[], boolean][] = [
      [['list', 'pods', '-A'], true], [['list', 'nodes'], true], [['list', 'clusterroles'], true],
      [['create', 'configmaps', '-n', 'default'], false], [['list', 'secrets', '-A'], false], [['create', 'secrets', '-n', namespace], false],
      [['update', 'secrets/uplink-agent-state', '-n', namespace], true], [['update', 'secrets/my-token', '-n', namespace], false],
      [['impersonate', 'groups/uplink:view'], true], [['impersonate', 'groups/system:masters'], false],
      [['impersonate', `users/uplink:${viewerName}`], true], [['impersonate', 'users/system:kube-controller-manager'], false],
      [['create', 'subjectaccessreviews.authorization.k8s.io'], true],
      // Leader election (on with one pod too): its one Lease by name, and create, which RBAC cannot limit to a name.
      [['get', `leases/${release}-uplink-agent`, '-n', namespace], true], [['update', `leases/${release}-uplink-agent`, '-n', namespace], true],
      [['create', 'leases', '-n', namespace], true], [['update', 'leases/other', '-n', namespace], false],
      [['delete', `leases/${release}-uplink-agent`, '-n', namespace], false], [['list', 'leases', '-n', namespace], false],
      [['create', 'leases', '-n', 'default'], false],
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
