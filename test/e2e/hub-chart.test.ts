// The hub chart (charts/uplink-hub) against the real test cluster: helm lint
// --strict; renders of its main value sets (default, TLS from a Secret, an
// Ingress passing TLS through, one terminating it, an existing claim, one
// and three replicas on PostgreSQL) that the API server accepts in a
// server-side dry run; each pod template admitted in a namespace that
// enforces the `restricted` Pod Security Standard; and misconfigurations
// (several replicas without a database among them) refused at render time
// with a message naming the value.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { HUB_SETTINGS } from '../../src/hub/config.ts';
import { runProcess } from '../../src/util/run-process.ts';
import { UPLINK_VERSION } from '../../src/version.ts';
import { clusterBinDir, createTestNamespace, helm, helmEnv, kubeconfigPath, kubectl, REPO_ROOT } from '../helpers/cluster.ts';
import { suiteContext } from '../helpers/uplink.ts';

const CHART = join(REPO_ROOT, 'charts/uplink-hub');
const RELEASE = 'hub';
const PUBLIC_URL = 'https://hub.example.com:8443';
const DATA_DIR = '/var/lib/uplink';
const DB_URL = 'postgres://uplink@db.example.com:5432/uplink';
const PSA_LABELS = ['enforce', 'warn'].flatMap((mode) => [
  `pod-security.kubernetes.io/${mode}=restricted`, `pod-security.kubernetes.io/${mode}-version=latest`,
]);

interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; annotations?: Record<string, string> };
  spec?: unknown;
}
interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string }; fieldRef?: { fieldPath: string } };
}
interface HubContainer {
  image: string;
  env: EnvVar[];
  ports: { name: string; containerPort: number }[];
  volumeMounts: { name: string; mountPath: string }[];
  readinessProbe: { httpGet: { scheme: string; path: string } };
  startupProbe: { periodSeconds: number; failureThreshold: number };
  lifecycle?: { preStop?: { exec?: { command: string[] } } };
}
interface PodSpec {
  serviceAccountName: string;
  securityContext: Record<string, unknown>;
  terminationGracePeriodSeconds: number;
  containers: HubContainer[];
  volumes: { name: string; emptyDir?: object; persistentVolumeClaim?: { claimName: string }; secret?: { secretName: string; items?: { key: string; path: string }[] } }[];
  topologySpreadConstraints?: { topologyKey: string; whenUnsatisfiable: string; maxSkew: number }[];
  affinity?: { podAntiAffinity?: { preferredDuringSchedulingIgnoredDuringExecution?: unknown[] } };
}
interface Deployment extends Manifest {
  spec: {
    replicas: number;
    strategy: { type: string; rollingUpdate?: { maxUnavailable: number; maxSurge: number } };
    template: { metadata: { labels: Record<string, string> }; spec: PodSpec };
  };
}
interface PodDisruptionBudget extends Manifest {
  spec: { maxUnavailable: number; selector: { matchLabels: Record<string, string> } };
}
interface Ingress extends Manifest {
  spec: { rules: { host: string }[]; tls?: unknown[] };
}

type Values = Record<string, unknown>;

/** The value sets every render check runs on, each with what sets it apart. */
const VARIANTS: { name: string; values: Values; check: (objects: Manifest[]) => void }[] = [
  {
    name: 'default values',
    values: { publicUrl: PUBLIC_URL },
    check: (objects) => {
      const pod = podSpecOf(objects);
      assert.equal(find(objects, 'PersistentVolumeClaim').metadata.annotations?.['helm.sh/resource-policy'], 'keep');
      assert.equal(pod.volumes.find((v) => v.name === 'data')?.persistentVolumeClaim?.claimName, `${RELEASE}-uplink-hub-data`);
      assert.equal(pod.containers[0]?.readinessProbe.httpGet.scheme, 'HTTPS');
      const env = envOf(objects);
      assert.equal(env.get('UPLINK_HUB_DATA_DIR'), DATA_DIR);
      assert.equal(env.get('UPLINK_HUB_TLS_SAN')?.split(',').includes(`${RELEASE}-uplink-hub.${namespace}.svc`), true);
      assert.equal(env.has('UPLINK_HUB_TLS_CERT_FILE'), false);
      checkSqlite(objects);
    },
  },
  {
    name: 'TLS from a Secret',
    values: { publicUrl: PUBLIC_URL, tls: { existingSecret: 'hub-tls' } },
    check: (objects) => {
      const env = envOf(objects);
      assert.equal(env.get('UPLINK_HUB_TLS_CERT_FILE'), '/etc/uplink/tls/tls.crt');
      assert.equal(env.get('UPLINK_HUB_TLS_KEY_FILE'), '/etc/uplink/tls/tls.key');
      assert.equal(podSpecOf(objects).volumes.find((v) => v.name === 'tls')?.secret?.secretName, 'hub-tls');
    },
  },
  {
    name: 'an Ingress passing TLS through',
    values: {
      publicUrl: PUBLIC_URL,
      ingress: { enabled: true, className: 'nginx', annotations: { 'nginx.ingress.kubernetes.io/ssl-passthrough': 'true' } },
    },
    check: (objects) => {
      const ingress = find(objects, 'Ingress') as Ingress;
      assert.deepEqual(ingress.spec.rules.map((r) => r.host), ['hub.example.com']);
      assert.equal(ingress.spec.tls, undefined);
    },
  },
  {
    name: 'host-routed kubectl and exposed Services through an Ingress passing TLS through',
    values: { publicUrl: PUBLIC_URL, kubeDomain: 'kube.example.com', gatewayDomain: 'gw.example.com', ingress: { enabled: true } },
    check: (objects) => {
      assert.equal(envOf(objects).get('UPLINK_HUB_KUBE_DOMAIN'), 'kube.example.com');
      assert.equal(envOf(objects).get('UPLINK_HUB_GATEWAY_DOMAIN'), 'gw.example.com');
      assert.deepEqual((find(objects, 'Ingress') as Ingress).spec.rules.map((r) => r.host), ['hub.example.com', '*.kube.example.com', '*.gw.example.com']);
    },
  },
  {
    name: 'an Ingress terminating TLS in front of a plain-HTTP hub',
    values: {
      publicUrl: 'https://uplink.example.com',
      tls: { insecureHttp: true },
      ingress: { enabled: true, hosts: ['uplink.example.com'], tls: [{ secretName: 'uplink-example-tls', hosts: ['uplink.example.com'] }] },
    },
    check: (objects) => {
      assert.equal(envOf(objects).get('UPLINK_HUB_INSECURE_HTTP'), 'true');
      assert.equal(envOf(objects).has('UPLINK_HUB_TLS_SAN'), false);
      assert.equal(podSpecOf(objects).containers[0]?.readinessProbe.httpGet.scheme, 'HTTP');
    },
  },
  {
    name: 'an existing claim',
    values: { publicUrl: PUBLIC_URL, persistence: { existingClaim: 'hub-data' } },
    check: (objects) => {
      assert.equal(objects.some((o) => o.kind === 'PersistentVolumeClaim'), false);
      assert.equal(podSpecOf(objects).volumes.find((v) => v.name === 'data')?.persistentVolumeClaim?.claimName, 'hub-data');
    },
  },
  {
    name: 'one replica on a database URL',
    values: { publicUrl: PUBLIC_URL, database: { url: 'postgres://uplink@db.example.com:5432/uplink' } },
    check: (objects) => {
      checkDatabase(objects, 1);
      assert.equal(envOf(objects).get('UPLINK_DATABASE_URL'), 'postgres://uplink@db.example.com:5432/uplink');
      assert.equal(envOf(objects).has('UPLINK_DATABASE_PASSWORD_FILE'), false);
      assert.equal(envOf(objects).has('UPLINK_HUB_SECRETS_KEY_FILE'), false, 'no key Secret named: the CA is stored unsealed');
      assert.equal(objects.some((o) => o.kind === 'PodDisruptionBudget'), false, 'one replica: nothing to budget');
      assert.equal(podSpecOf(objects).topologySpreadConstraints, undefined);
    },
  },
  {
    name: 'three replicas on a database, URL and password from Secrets, soft anti-affinity',
    values: {
      publicUrl: PUBLIC_URL, replicas: 3, spread: { softAntiAffinity: true },
      database: { existingSecret: 'hub-db', existingSecretKey: 'dsn', passwordSecret: 'hub-db-password', secretsKeySecret: 'hub-seal' },
    },
    check: (objects) => {
      checkDatabase(objects, 3);
      const pod = podSpecOf(objects);
      const url = pod.containers[0]?.env.find((e) => e.name === 'UPLINK_DATABASE_URL');
      assert.deepEqual(url?.valueFrom?.secretKeyRef, { name: 'hub-db', key: 'dsn' });
      assert.equal(envOf(objects).get('UPLINK_DATABASE_PASSWORD_FILE'), '/etc/uplink/database/password');
      assert.deepEqual(pod.volumes.find((v) => v.name === 'database-password')?.secret, {
        secretName: 'hub-db-password', defaultMode: 0o440, items: [{ key: 'password', path: 'password' }],
      });
      assert.equal(pod.containers[0]?.volumeMounts.find((m) => m.name === 'database-password')?.mountPath, '/etc/uplink/database');
      assert.equal(envOf(objects).get('UPLINK_HUB_SECRETS_KEY_FILE'), '/etc/uplink/secrets-key/key');
      assert.deepEqual(pod.volumes.find((v) => v.name === 'secrets-key')?.secret, {
        secretName: 'hub-seal', defaultMode: 0o440, items: [{ key: 'key', path: 'key' }],
      });
      const mounts = pod.containers.flatMap((c) => c.volumeMounts);
      assert.equal(mounts.find((m) => m.name === 'secrets-key')?.mountPath, '/etc/uplink/secrets-key');
      const budget = find(objects, 'PodDisruptionBudget') as PodDisruptionBudget;
      assert.equal(budget.spec.maxUnavailable, 1);
      assert.deepEqual(budget.spec.selector.matchLabels, { 'app.kubernetes.io/name': 'uplink-hub', 'app.kubernetes.io/instance': RELEASE });
      assert.deepEqual(pod.topologySpreadConstraints?.map((c) => [c.topologyKey, c.whenUnsatisfiable, c.maxSkew]),
        [['kubernetes.io/hostname', 'ScheduleAnyway', 1]]);
      assert.equal(pod.affinity?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution?.length, 1);
    },
  },
];

/** SQLite: one replica replaced (Recreate), no peer port, no database settings. */
function checkSqlite(objects: Manifest[]): void {
  const deployment = deploymentOf(objects);
  assert.equal(deployment.spec.replicas, 1);
  assert.equal(deployment.spec.strategy.type, 'Recreate');
  assert.deepEqual(deployment.spec.template.spec.containers[0]?.ports.map((p) => p.name), ['https']);
  for (const name of ['UPLINK_DATABASE_URL', 'UPLINK_HUB_REPLICA_ID', 'UPLINK_HUB_PEER_URL']) assert.equal(envOf(objects).has(name), false, name);
  const [container] = deployment.spec.template.spec.containers;
  assert.ok(container);
  assert.equal(container.startupProbe.periodSeconds * container.startupProbe.failureThreshold, 60, 'a minute to start');
  checkTermination(objects);
}

/** On a database: `replicas` rolled one at a time, the data directory an emptyDir, each replica named and reachable by its pod. */
function checkDatabase(objects: Manifest[], replicas: number): void {
  const deployment = deploymentOf(objects);
  assert.equal(deployment.spec.replicas, replicas);
  assert.deepEqual(deployment.spec.strategy, { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } });
  assert.equal(objects.some((o) => o.kind === 'PersistentVolumeClaim'), false, 'no claim: the state is in the database');
  const pod = deployment.spec.template.spec;
  assert.deepEqual(pod.volumes.find((v) => v.name === 'data')?.emptyDir, {});
  assert.deepEqual(pod.containers[0]?.ports.map((p) => [p.name, p.containerPort]), [['https', 8443], ['peer', 8444]]);
  const [container] = pod.containers;
  assert.ok(container);
  const env = container.env;
  assert.ok(container.startupProbe.periodSeconds * container.startupProbe.failureThreshold > 300, 'the startup probe outlasts the wait for the database');
  const at = (name: string): number => env.findIndex((e) => e.name === name);
  assert.equal(env[at('POD_NAME')]?.valueFrom?.fieldRef?.fieldPath, 'metadata.name');
  assert.equal(env[at('POD_IP')]?.valueFrom?.fieldRef?.fieldPath, 'status.podIP');
  // $(VAR) expands only variables defined earlier in the list.
  assert.ok(at('POD_NAME') < at('UPLINK_HUB_REPLICA_ID') && at('POD_IP') < at('UPLINK_HUB_PEER_URL'));
  assert.equal(envOf(objects).get('UPLINK_HUB_REPLICA_ID'), '$(POD_NAME)');
  assert.equal(envOf(objects).get('UPLINK_HUB_PEER_URL'), 'https://$(POD_IP):8444');
  assert.equal(envOf(objects).get('UPLINK_HUB_PEER_LISTEN'), ':8444');
  assert.equal(container.readinessProbe.httpGet.path, '/readyz');
  checkTermination(objects);
}

/** A preStop sleep before SIGTERM, and a grace period covering it and the hub's drain. */
function checkTermination(objects: Manifest[]): void {
  const pod = podSpecOf(objects);
  assert.deepEqual(pod.containers[0]?.lifecycle?.preStop?.exec?.command, ['sleep', '5']);
  assert.equal(envOf(objects).get('UPLINK_HUB_DRAIN_TIMEOUT'), '30');
  assert.equal(pod.terminationGracePeriodSeconds, 5 + 30 + 15);
}

const { t: suite, runCleanups } = suiteContext('hub-chart');
let namespace: string;

/** Runs helm with the values as a stdin values file; resolves with the result, failed or not. */
async function runHelm(args: string[], values: Values): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return runProcess(join(await clusterBinDir(), 'helm'), [...args, '--namespace', namespace, '-f', '-'], {
    input: JSON.stringify(values), env: await helmEnv(), timeoutMs: 60_000,
  });
}

/** `helm template` of the chart; throws with helm's message when it fails. */
async function render(values: Values): Promise<Manifest[]> {
  const result = await runHelm(['template', RELEASE, CHART], values);
  if (result.code !== 0) throw new Error(`helm template failed: ${result.stderr}`);
  return parseAllDocuments(result.stdout).map((doc) => doc.toJS() as Manifest | null)
    .filter((o): o is Manifest => o !== null);
}

function find(objects: Manifest[], kind: string): Manifest {
  const found = objects.filter((o) => o.kind === kind);
  assert.equal(found.length, 1, `expected one ${kind}, got ${found.length}`);
  return found[0] as Manifest;
}

function deploymentOf(objects: Manifest[]): Deployment {
  return find(objects, 'Deployment') as Deployment;
}

function podSpecOf(objects: Manifest[]): PodSpec {
  return deploymentOf(objects).spec.template.spec;
}

function envOf(objects: Manifest[]): Map<string, string> {
  return new Map(podSpecOf(objects).containers[0]?.env.map((e) => [e.name, e.value ?? '']));
}

/** A Pod made from the Deployment's pod template: PSA enforces on Pods, not on their controllers. */
function podFrom(objects: Manifest[], name: string): Manifest {
  const template = deploymentOf(objects).spec.template;
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace, ...template.metadata }, spec: template.spec };
}

function toList(objects: Manifest[]): string {
  return JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects });
}

/** `kubectl apply --dry-run=server`: the API server validates and admits without storing. */
async function applyDryRun(objects: Manifest[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const args = ['--kubeconfig', await kubeconfigPath(), 'apply', '--dry-run=server', '-n', namespace, '-f', '-'];
  return runProcess(join(await clusterBinDir(), 'kubectl'), args, { input: toList(objects), timeoutMs: 60_000 });
}

describe('hub chart', () => {
  before(async () => {
    namespace = await createTestNamespace(suite, 'hub-chart');
    await kubectl(['label', 'namespace', namespace, ...PSA_LABELS]);
    // Pods are admitted only with their ServiceAccount present, even in a dry run.
    const objects = await render({ publicUrl: PUBLIC_URL });
    await kubectl(['apply', '-n', namespace, '-f', '-'], { input: toList([find(objects, 'ServiceAccount')]) });
  });
  after(runCleanups);

  it('hub chart - helm lint --strict passes with the default values and with a publicUrl', async () => {
    await helm(['lint', '--strict', CHART]);
    await helm(['lint', '--strict', CHART, '--set', `publicUrl=${PUBLIC_URL}`]);
  });

  it('hub chart - appVersion is Uplink\'s version, and the image tag defaults to it', async () => {
    const chart = parseYaml(readFileSync(join(CHART, 'Chart.yaml'), 'utf8')) as { apiVersion: string; appVersion: string };
    assert.equal(chart.apiVersion, 'v2');
    assert.equal(chart.appVersion, UPLINK_VERSION);
    const objects = await render({ publicUrl: PUBLIC_URL });
    const deployment = deploymentOf(objects);
    assert.equal(deployment.spec.replicas, 1);
    assert.equal(deployment.spec.strategy.type, 'Recreate');
    assert.equal(deployment.spec.template.spec.containers[0]?.image, `ghcr.io/uplink-dev/uplink-hub:${UPLINK_VERSION}`);
  });

  for (const variant of VARIANTS) {
    it(`hub chart - ${variant.name}: renders, and the API server accepts every object with no Pod Security warning`, async () => {
      const objects = await render(variant.values);
      variant.check(objects);
      const result = await applyDryRun(objects);
      assert.equal(result.code, 0, result.stderr);
      assert.doesNotMatch(result.stderr, /PodSecurity|[Ww]arning/);
      for (const object of objects) assert.match(result.stdout, new RegExp(`${object.metadata.name}.*\\(server dry run\\)`));
    });
  }

  it('hub chart - every pod template is admitted where the restricted Pod Security Standard is enforced; a weakened one is refused', async () => {
    for (const variant of VARIANTS) {
      const objects = await render(variant.values);
      const result = await applyDryRun([podFrom(objects, 'hub-psa')]);
      assert.equal(result.code, 0, `${variant.name}: ${result.stderr}`);
    }
    // The control: the namespace really enforces, so the admissions above mean something.
    const objects = await render({ publicUrl: PUBLIC_URL, podSecurityContext: { runAsNonRoot: false, seccompProfile: null } });
    const refused = await applyDryRun([podFrom(objects, 'hub-psa-weak')]);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /violates PodSecurity "restricted:latest"/);
  });

  it('hub chart - the chart sets every hub setting as its UPLINK_* variable, and no other', async () => {
    const set = new Set<string>();
    for (const variant of VARIANTS) for (const name of envOf(await render(variant.values)).keys()) set.add(name);
    const settings = Object.values(HUB_SETTINGS).map((s) => s.env);
    // POD_NAME and POD_IP are the downward API's, for the replica's id and peer URL.
    assert.deepEqual([...set].filter((name) => name.startsWith('UPLINK_')).sort(), [...settings].sort());
    assert.deepEqual([...set].filter((name) => !name.startsWith('UPLINK_')).sort(), ['POD_IP', 'POD_NAME']);
  });

  it('hub chart - drainTimeout and preStopSleepSeconds set the grace period; a preStop of 0 is none', async () => {
    const pod = podSpecOf(await render({ publicUrl: PUBLIC_URL, hub: { drainTimeout: 120 }, preStopSleepSeconds: 0 }));
    assert.equal(pod.terminationGracePeriodSeconds, 120 + 15);
    assert.equal(pod.containers[0]?.lifecycle, undefined);
  });

  it('hub chart - misconfigurations fail to render with a message naming the value', async () => {
    const cases: { values: Values; message: RegExp }[] = [
      { values: {}, message: /publicUrl is required: the URL agents and users reach the hub at/ },
      { values: { publicUrl: 'hub.example.com:8443' }, message: /publicUrl "hub\.example\.com:8443" must be an absolute http\(s\) URL/ },
      { values: { publicUrl: 'http://hub.example.com' }, message: /publicUrl "http:\/\/hub\.example\.com" is plain http, but the hub serves HTTPS/ },
      { values: { publicUrl: PUBLIC_URL, replicas: 3 }, message: /replicas=3 needs a database: without one the hub keeps its state in SQLite on one volume/ },
      { values: { publicUrl: PUBLIC_URL, replicas: 0 }, message: /replicas 0 must be a whole number from 1 to 999/ },
      { values: { publicUrl: PUBLIC_URL, replicas: 2.5, database: { url: DB_URL } }, message: /replicas 2\.5 must be a whole number/ },
      { values: { publicUrl: PUBLIC_URL, replicaCount: 3 }, message: /replicaCount: this chart's value is `replicas`/ },
      { values: { publicUrl: PUBLIC_URL, database: { url: DB_URL, existingSecret: 'db' } }, message: /database\.url and database\.existingSecret both name the database/ },
      { values: { publicUrl: PUBLIC_URL, database: { url: 'mysql://db/uplink' } }, message: /database\.url must be a PostgreSQL URL with a host/ },
      { values: { publicUrl: PUBLIC_URL, database: { url: 'postgres://uplink:secret@db/uplink' } }, message: /database\.url carries a password/ },
      { values: { publicUrl: PUBLIC_URL, database: { passwordSecret: 'pw' } }, message: /database\.passwordSecret is set, but no database/ },
      { values: { publicUrl: PUBLIC_URL, database: { secretsKeySecret: 'seal' } }, message: /database\.secretsKeySecret is set, but no database/ },
      { values: { publicUrl: PUBLIC_URL, tls: { existingSecret: 'x', insecureHttp: true } }, message: /tls\.existingSecret and tls\.insecureHttp contradict/ },
      { values: { publicUrl: PUBLIC_URL, kubeDomain: 'Kube.example.com.' }, message: /kubeDomain "Kube\.example\.com\." must be a lowercase DNS name/ },
      { values: { publicUrl: PUBLIC_URL, kubeDomain: 'example.com' }, message: /kubeDomain "example\.com" contains publicUrl's host/ },
      { values: { publicUrl: PUBLIC_URL, gatewayDomain: 'GW.example.com' }, message: /gatewayDomain "GW\.example\.com" must be a lowercase DNS name/ },
      { values: { publicUrl: PUBLIC_URL, gatewayDomain: 'example.com' }, message: /gatewayDomain "example\.com" contains publicUrl's host/ },
      { values: { publicUrl: PUBLIC_URL, gatewayDomain: 'k.example.com', kubeDomain: 'k.example.com' }, message: /gatewayDomain and kubeDomain are both "k\.example\.com"/ },
      {
        values: { publicUrl: PUBLIC_URL, ingress: { enabled: true, tls: [{ secretName: 'x', hosts: ['hub.example.com'] }] } },
        message: /ingress\.tls terminates TLS at the Ingress, but agents pin the hub's own CA/,
      },
    ];
    for (const { values, message } of cases) {
      const result = await runHelm(['template', RELEASE, CHART], values);
      assert.notEqual(result.code, 0, `rendered: ${JSON.stringify(values)}`);
      assert.match(result.stderr, message);
    }
  });

  it('hub chart - NOTES tell how to read the admin token and the CA pin', async () => {
    const result = await runHelm(['install', RELEASE, CHART, '--dry-run=client'], { publicUrl: PUBLIC_URL });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, new RegExp(`kubectl -n ${namespace} exec deploy/${RELEASE}-uplink-hub -- cat ${DATA_DIR}/admin-token`));
    assert.match(result.stdout, /"caHash":"sha256:/);
    assert.match(result.stdout, new RegExp(`uplink login ${PUBLIC_URL} --token-file admin-token --ca-hash`));
    assert.doesNotMatch(result.stdout, /host-routing/);
    const hostRouted = await runHelm(['install', RELEASE, CHART, '--dry-run=client'], { publicUrl: PUBLIC_URL, kubeDomain: 'kube.example.com' });
    assert.equal(hostRouted.code, 0, hostRouted.stderr);
    assert.match(hostRouted.stdout, /Point wildcard DNS\s+\*\.kube\.example\.com at the address of/);
    assert.match(hostRouted.stdout, /uplink kubeconfig my-cluster --host-routing --merge/);
    const replicated = await runHelm(['install', RELEASE, CHART, '--dry-run=client'], { publicUrl: PUBLIC_URL, replicas: 3, database: { url: DB_URL } });
    assert.equal(replicated.code, 0, replicated.stderr);
    assert.match(replicated.stdout, /3 replica\(s\) on PostgreSQL/);
    assert.match(replicated.stdout, new RegExp(`kubectl -n ${namespace} exec "\\$pod" -- cat ${DATA_DIR}/admin-token`), 'the token is on one replica: try each');
    assert.doesNotMatch(replicated.stdout, /PersistentVolumeClaim/);
  });

  it('hub chart - an optional ServiceMonitor scrapes /metrics over HTTPS (rendered only: the test cluster has no prometheus-operator CRDs)', async () => {
    const objects = await render({ publicUrl: PUBLIC_URL, metrics: { serviceMonitor: { enabled: true, labels: { release: 'prom' } } } });
    const monitor = find(objects, 'ServiceMonitor') as Manifest & { spec: { endpoints: Record<string, unknown>[] } };
    assert.deepEqual(monitor.spec.endpoints[0], {
      port: 'https', path: '/metrics', scheme: 'https', interval: '30s', scrapeTimeout: '10s', tlsConfig: { insecureSkipVerify: true },
    });
    assert.equal((await render({ publicUrl: PUBLIC_URL })).some((o) => o.kind === 'ServiceMonitor'), false);
  });
});
