// The health of a release's objects read live from the real test cluster:
// objects applied with kubectl (a Deployment that kwok's fake nodes make
// available, a Service, a ConfigMap, a Secret read as metadata only), one
// that does not exist and one of a kind nobody serves; a custom resource
// whose CRD appears after discovery first missed it; and a real helm release
// of examples/charts/webapp through `helm get manifest`. Then KindResolver's
// discovery cache and readReleaseHealth's edges (a real 401 and 403, the
// status and read caps, a full read pool, an abort). Requests are counted by
// recording them on their way to the real client, which answers them all.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  DISCOVERY_MISS_REFRESH_MS, DISCOVERY_TTL_MS, KindNotServedError, KindResolver, MAX_RELEASE_OBJECTS_READ,
  parseManifest, readReleaseHealth, type ReleaseKube, type ReleaseObjectRef,
} from '../../src/agent/addons/release-objects.ts';
import { KubeApiError, KubeClient } from '../../src/agent/kube.ts';
import { readLimited } from '../../src/util/read-limited.ts';
import { WorkerPool } from '../../src/util/worker-pool.ts';
import { MAX_STATUS_OBJECTS, type AddonHealth } from '../../src/link/addons.ts';
import { REPO_ROOT, createTestNamespace, helm, kubectl, mintServiceAccountToken } from '../helpers/cluster.ts';
import { adminKube, inParallel } from '../helpers/resources.ts';
import { eventually } from '../helpers/uplink.ts';

const SECRET_VALUE = 'release-health-not-for-memory';
/** kwok marks pods on its fake nodes running and ready within seconds. */
const READY_WITHIN_MS = 60_000;

const APPLIED = `
---
# Source: health/templates/deployment.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels: { app: web }
  template:
    metadata:
      labels: { app: web }
    spec:
      containers:
        - name: web
          image: registry.invalid/web:1
---
# Source: health/templates/service.yaml
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: { app: web }
  ports:
    - port: 80
---
# Source: health/templates/configmap.yaml
apiVersion: v1
kind: ConfigMap
metadata:
  name: web
data:
  GREETING: hello
---
# Source: health/templates/secret.yaml
apiVersion: v1
kind: Secret
metadata:
  name: web
stringData:
  password: ${SECRET_VALUE}
`;

/** Rendered by the "chart" but never applied, and a kind that no API serves. */
const NOT_APPLIED = `
---
# Source: health/templates/absent.yaml
apiVersion: v1
kind: ConfigMap
metadata:
  name: absent
---
# Source: health/templates/gizmo.yaml
apiVersion: gizmos.uplink.invalid/v1
kind: Gizmo
metadata:
  name: g
`;

function statuses(health: AddonHealth): Record<string, string> {
  return Object.fromEntries(health.objects.map((o) => [`${o.kind}/${o.name}`, o.status]));
}

function without(refs: readonly ReleaseObjectRef[], ...names: string[]): ReleaseObjectRef[] {
  return refs.filter((ref) => !names.includes(ref.name));
}

const ref = (kind: string, name: string, apiVersion = 'v1', namespace?: string): ReleaseObjectRef => (
  namespace === undefined ? { apiVersion, kind, name } : { apiVersion, kind, name, namespace });

interface RecordingKube extends ReleaseKube {
  requests: { path: string; accept: string }[];
}

/** The real client, each GET recorded (path, Accept) on its way through after `onRequest` runs; it answers nothing itself. */
function recording(kube: ReleaseKube, onRequest?: () => void): RecordingKube {
  const requests: RecordingKube['requests'] = [];
  return {
    requests,
    open: (path, options) => {
      requests.push({ path, accept: String(options?.headers?.accept) });
      onRequest?.();
      return kube.open(path, options);
    },
  };
}

const paths = (kube: RecordingKube): string[] => kube.requests.map((request) => request.path);

/** Empty ConfigMaps `cm-0` to `cm-<count - 1>`, posted straight to the API server (about a second for 500). */
async function createConfigMaps(kube: KubeClient, namespace: string, count: number): Promise<void> {
  await inParallel(Array.from({ length: count }, (_, i) => `cm-${i}`), 16, async (name) => {
    const response = await kube.request('POST', `/api/v1/namespaces/${namespace}/configmaps`, { metadata: { name } });
    if (response.status !== 201) throw new Error(`creating ConfigMap ${name}: HTTP ${response.status} ${JSON.stringify(response.body)}`);
  });
}

describe('release health on the real cluster', () => {
  it('release health - Deployment Healthy once kwok readies its pods, absent Missing, unknown kind Unknown; strict judges kinds without a rule Unknown', async (t) => {
    const namespace = await createTestNamespace(t, 'health');
    const kube = await adminKube(t);
    await kubectl(['-n', namespace, 'apply', '-f', '-'], { input: APPLIED });
    const refs = parseManifest(`${APPLIED}${NOT_APPLIED}`);
    assert.equal(refs.length, 6);
    const resolver = new KindResolver({ kube });
    const read = (subset: readonly ReleaseObjectRef[], strict: boolean): Promise<AddonHealth> =>
      readReleaseHealth(subset, { kube, strict, releaseNamespace: namespace, resolver });

    const lenient = await eventually('the Deployment to become Healthy', READY_WITHIN_MS, async () => {
      const health = await read(refs, false);
      return statuses(health)['Deployment/web'] === 'Healthy' ? health : undefined;
    });
    assert.deepEqual(statuses(lenient), {
      'Deployment/web': 'Healthy', 'Service/web': 'Healthy', 'ConfigMap/web': 'Healthy', 'Secret/web': 'Healthy',
      'ConfigMap/absent': 'Missing', 'Gizmo/g': 'Unknown',
    });
    assert.deepEqual([lenient.status, lenient.healthy, lenient.objectCount], ['Missing', false, 6]);
    assert.equal(lenient.message, `ConfigMap ${namespace}/absent: not found in the cluster`);
    assert.deepEqual(lenient.objects.slice(0, 2).map((o) => o.status), ['Missing', 'Unknown'], 'worst first');
    assert.equal(lenient.objects.find((o) => o.kind === 'Gizmo')?.message, 'the cluster does not serve gizmos.uplink.invalid/v1');
    assert.equal(lenient.objects.find((o) => o.kind === 'Deployment')?.message, '2 of 2 replicas available');
    assert.ok(lenient.objects.filter((o) => o.kind !== 'Gizmo').every((o) => o.namespace === namespace), 'namespaced objects get the release namespace');

    // Without the absent object, the unknown kind is the worst: healthy unless strict.
    const noMissing = without(refs, 'absent');
    const unknownLenient = await read(noMissing, false);
    assert.deepEqual([unknownLenient.status, unknownLenient.healthy], ['Unknown', true]);
    const unknownStrict = await read(noMissing, true);
    assert.deepEqual([unknownStrict.status, unknownStrict.healthy], ['Unknown', false]);

    // Only objects the cluster has: the ConfigMap exists (Healthy) unless strict, where it has no rule (Unknown).
    const present = without(refs, 'absent', 'g');
    const healthy = await read(present, false);
    assert.deepEqual([healthy.status, healthy.healthy, healthy.message], ['Healthy', true, '4 of 4 objects healthy']);
    const strict = await read(present, true);
    assert.deepEqual([strict.status, strict.healthy], ['Unknown', false]);
    assert.deepEqual(statuses(strict), { 'ConfigMap/web': 'Unknown', 'Secret/web': 'Unknown', 'Deployment/web': 'Healthy', 'Service/web': 'Healthy' });
    assert.equal(strict.objects.find((o) => o.kind === 'ConfigMap')?.message, 'no health rule for ConfigMap');
  });

  it('release health - the metadata-only Accept used for Secrets keeps their data out of the answer', async (t) => {
    const namespace = await createTestNamespace(t, 'health');
    const kube = await adminKube(t);
    await kubectl(['-n', namespace, 'create', 'secret', 'generic', 'creds', `--from-literal=password=${SECRET_VALUE}`]);
    const res = await kube.open(`/api/v1/namespaces/${namespace}/secrets/creds`, {
      headers: { accept: 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1' }, streaming: false,
    });
    const text = await readLimited(res, 1024 * 1024);
    assert.equal(res.statusCode, 200);
    assert.equal((JSON.parse(text) as { kind?: string }).kind, 'PartialObjectMetadata');
    assert.doesNotMatch(text, new RegExp(`${Buffer.from(SECRET_VALUE).toString('base64')}|"data"`));
  });

  it('release health - a custom resource whose CRD arrives after a discovery miss is found once the miss may re-ask', async (t) => {
    const namespace = await createTestNamespace(t, 'health');
    const kube = await adminKube(t);
    const group = `e2e${randomBytes(3).toString('hex')}.uplink.dev`;
    const refs: ReleaseObjectRef[] = [{ apiVersion: `${group}/v1`, kind: 'Widget', name: 'w1' }];
    let now = Date.now();
    const resolver = new KindResolver({ kube, now: () => now });
    const options = { kube, strict: false, releaseNamespace: namespace, resolver };
    const before = await readReleaseHealth(refs, options);
    assert.deepEqual([before.status, before.objects[0]?.message], ['Unknown', `the cluster does not serve ${group}/v1`]);

    const crd = {
      apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: `widgets.${group}` },
      spec: {
        group, scope: 'Namespaced', names: { plural: 'widgets', singular: 'widget', kind: 'Widget' },
        versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }],
      },
    };
    await kubectl(['apply', '-f', '-'], { input: JSON.stringify(crd) });
    t.after(async () => { await kubectl(['delete', 'crd', `widgets.${group}`, '--ignore-not-found', '--wait=false']); });
    await kubectl(['wait', '--for=condition=Established', `crd/widgets.${group}`, '--timeout=30s']);
    assert.equal((await readReleaseHealth(refs, options)).status, 'Unknown', 'a miss right after discovery is answered from the cache');

    now += 60_000;
    const missing = await eventually('discovery to serve the new kind', 15_000, async () => {
      const health = await readReleaseHealth(refs, options);
      now += 60_000;
      return health.status === 'Missing' ? health : undefined;
    });
    assert.equal(missing.objects[0]?.namespace, namespace);
    await kubectl(['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: `${group}/v1`, kind: 'Widget', metadata: { name: 'w1', namespace }, spec: { size: 3 } }) });
    const found = await readReleaseHealth(refs, options);
    assert.deepEqual([found.status, found.objects[0]?.message], ['Healthy', 'exists']);
    assert.equal((await readReleaseHealth(refs, { ...options, strict: true })).objects[0]?.message, 'no health rule for Widget');
  });

  it('release health - a real helm release of examples/charts/webapp: helm get manifest parses to its objects, which become Healthy', async (t) => {
    const namespace = await createTestNamespace(t, 'health');
    const kube = await adminKube(t);
    await helm(['install', 'web', join(REPO_ROOT, 'examples/charts/webapp'), '-n', namespace]);
    const manifest = (await helm(['get', 'manifest', 'web', '-n', namespace])).stdout;
    const refs = parseManifest(manifest);
    assert.deepEqual(refs.map((ref) => `${ref.apiVersion} ${ref.kind} ${ref.name} ${ref.namespace ?? '-'}`).sort(), [
      'apps/v1 Deployment web-webapp -', 'v1 ConfigMap web-webapp -', 'v1 Service web-webapp -',
    ]);
    const health = await eventually('the release to become Healthy', READY_WITHIN_MS, async () => {
      const answer = await readReleaseHealth(refs, { kube, strict: true, releaseNamespace: namespace });
      return answer.objects.every((o) => o.kind === 'ConfigMap' || o.status === 'Healthy') ? answer : undefined;
    });
    assert.deepEqual([health.status, health.healthy, health.objectCount], ['Unknown', false, 3], 'strict: the ConfigMap has no rule');
    assert.equal((await readReleaseHealth(refs, { kube, strict: false, releaseNamespace: namespace })).status, 'Healthy');

    // The crd-widget chart's templates hold one Widget; its CRD (crds/) is not part of the manifest.
    const rendered = (await helm(['template', 'w', join(REPO_ROOT, 'examples/charts/crd-widget'), '-n', namespace])).stdout;
    assert.deepEqual(parseManifest(rendered), [{ apiVersion: 'examples.uplink.dev/v1', kind: 'Widget', name: 'w' }]);
  });
});

describe('KindResolver on the real cluster', () => {
  it('release health - discovery gives each kind its REST path and scope; kinds only subresources name are not served', async (t) => {
    const resolver = new KindResolver({ kube: await adminKube(t) });
    assert.deepEqual(await resolver.resolve('apps/v1', 'Deployment'), { groupVersionPath: '/apis/apps/v1', resource: 'deployments', namespaced: true });
    assert.deepEqual(await resolver.resolve('v1', 'Namespace'), { groupVersionPath: '/api/v1', resource: 'namespaces', namespaced: false });
    assert.deepEqual(await resolver.resolve('rbac.authorization.k8s.io/v1', 'ClusterRole'), {
      groupVersionPath: '/apis/rbac.authorization.k8s.io/v1', resource: 'clusterroles', namespaced: false,
    });
    assert.equal((await resolver.resolve('v1', 'Service')).resource, 'services');
    // apps/v1 lists Scale only as deployments/scale and the like; v1 lists TokenRequest only as serviceaccounts/token.
    await assert.rejects(resolver.resolve('apps/v1', 'Scale'), /the cluster serves no kind Scale in apps\/v1/);
    await assert.rejects(resolver.resolve('v1', 'TokenRequest'), KindNotServedError);
  });

  it('release health - one discovery request per group-version until the TTL, shared by concurrent misses', async (t) => {
    let now = 0;
    const kube = recording(await adminKube(t));
    const resolver = new KindResolver({ kube, now: () => now });
    await Promise.all([
      resolver.resolve('v1', 'ConfigMap'), resolver.resolve('v1', 'Secret'), resolver.resolve('apps/v1', 'Deployment'), resolver.resolve('v1', 'Service'),
    ]);
    now += DISCOVERY_TTL_MS;
    await resolver.resolve('v1', 'ConfigMap');
    assert.deepEqual(paths(kube), ['/api/v1', '/apis/apps/v1']);
    now += 1;
    await resolver.resolve('v1', 'ConfigMap');
    assert.deepEqual(paths(kube), ['/api/v1', '/apis/apps/v1', '/api/v1']);
  });

  // The custom-resource test above shows a kind that appears being found once the miss may re-ask.
  it('release health - a kind missing from a cached answer re-asks discovery at most every DISCOVERY_MISS_REFRESH_MS', async (t) => {
    let now = 0;
    const kube = recording(await adminKube(t));
    const resolver = new KindResolver({ kube, now: () => now });
    const unserved = 'gizmos.uplink.invalid/v1';
    const missBoth = async (): Promise<void> => {
      await assert.rejects(resolver.resolve('v1', 'Gizmo'), /the cluster serves no kind Gizmo in v1/);
      await assert.rejects(resolver.resolve(unserved, 'Gizmo'), /the cluster does not serve gizmos\.uplink\.invalid\/v1/);
      assert.equal((await resolver.resolve('v1', 'ConfigMap')).resource, 'configmaps');
    };
    await missBoth();
    now += DISCOVERY_MISS_REFRESH_MS;
    await missBoth();
    assert.deepEqual(paths(kube), ['/api/v1', `/apis/${unserved}`], 'misses within DISCOVERY_MISS_REFRESH_MS are answered from the cache');
    now += 1;
    await missBoth();
    assert.deepEqual(paths(kube), ['/api/v1', `/apis/${unserved}`, '/api/v1', `/apis/${unserved}`]);
  });

  it('release health - a failed discovery (a real 401) rejects with the API error and is not cached', async (t) => {
    const namespace = await createTestNamespace(t, 'health');
    const minted = await mintServiceAccountToken(t, { namespace, clusterRole: 'view' });
    const revoked = new KubeClient({ kubeconfig: minted.kubeconfig });
    t.after(() => { revoked.close(); });
    // Deleting its ServiceAccount revokes the token: the API server answers 401 from then on.
    await kubectl(['-n', namespace, 'delete', 'serviceaccount', minted.serviceAccount]);
    await eventually('the revoked token to be refused', 10_000, async () => ((await revoked.request('GET', '/api')).status === 401 ? true : undefined));
    const kube = recording(revoked);
    const resolver = new KindResolver({ kube });
    for (let attempt = 0; attempt < 2; attempt += 1) {
      await assert.rejects(resolver.resolve('v1', 'ConfigMap'), (error: unknown) => {
        assert.ok(error instanceof KubeApiError);
        assert.deepEqual([error.status, error.message], [401, 'GET /api/v1: HTTP 401: Unauthorized']);
        return true;
      });
    }
    assert.deepEqual(paths(kube), ['/api/v1', '/api/v1'], 'the second resolve asked again');
  });

  it('release health - an apiVersion that cannot be a path is refused without a request', async (t) => {
    const kube = recording(await adminKube(t));
    const resolver = new KindResolver({ kube });
    for (const bad of ['', '../../api/v1', 'a/b/c', 'V1', 'apps/']) await assert.rejects(resolver.resolve(bad, 'Pod'), KindNotServedError);
    assert.deepEqual(kube.requests, []);
  });
});

describe('readReleaseHealth on the real cluster', () => {
  const checkedAt = new Date('2025-01-02T03:04:05Z');

  it('release health - Missing, unknown kinds and failed reads (a real 403) are reported, never thrown; a Secret is asked for as metadata', async (t) => {
    const namespace = await createTestNamespace(t, 'health');
    const other = await createTestNamespace(t, 'health');
    await kubectl(['create', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'v1', kind: 'List', items: [
          { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm', namespace } },
          { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace }, spec: { ports: [{ port: 80 }] } },
          { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'creds', namespace: other }, stringData: { password: SECRET_VALUE } },
        ],
      }),
    });
    // `view` reads ConfigMaps, Services and Namespaces everywhere, but no Secrets.
    const viewer = await mintServiceAccountToken(t, { namespace, clusterRole: 'view' });
    const client = new KubeClient({ kubeconfig: viewer.kubeconfig });
    t.after(() => { client.close(); });
    const kube = recording(client);
    const refs = [
      ref('Service', 'web'), ref('ConfigMap', 'cm'), ref('Secret', 'creds', 'v1', other), ref('Namespace', namespace),
      ref('ConfigMap', 'gone'), ref('Gizmo', 'g', 'gizmos.uplink.invalid/v1'),
    ];
    const health = await readReleaseHealth(refs, { kube, strict: false, releaseNamespace: namespace, now: () => checkedAt });
    assert.deepEqual([health.status, health.healthy, health.objectCount, health.checkedAt], ['Missing', false, 6, '2025-01-02T03:04:05.000Z']);
    assert.equal(health.message, `ConfigMap ${namespace}/gone: not found in the cluster`);
    assert.deepEqual(health.objects.map((o) => [o.status, o.kind, o.namespace, o.name]), [
      ['Missing', 'ConfigMap', namespace, 'gone'],
      ['Unknown', 'Secret', other, 'creds'],
      ['Unknown', 'Gizmo', undefined, 'g'],
      ['Healthy', 'Service', namespace, 'web'],
      ['Healthy', 'ConfigMap', namespace, 'cm'],
      ['Healthy', 'Namespace', undefined, namespace],
    ]);
    assert.ok(health.objects[1]?.message.startsWith(
      `cannot read: GET /api/v1/namespaces/${other}/secrets/creds: HTTP 403: secrets "creds" is forbidden: User "system:serviceaccount:`,
    ), health.objects[1]?.message);
    assert.equal(health.objects[2]?.message, 'the cluster does not serve gizmos.uplink.invalid/v1');
    const isSecret = (request: { path: string }): boolean => request.path.endsWith('/secrets/creds');
    assert.deepEqual(kube.requests.filter(isSecret).map((r) => r.accept), ['application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1']);
    assert.ok(kube.requests.filter((r) => !isSecret(r)).every((r) => r.accept === 'application/json'));
  });

  it('release health - an object that cannot be judged makes an otherwise healthy release Unknown: healthy unless strict', async (t) => {
    const namespace = await createTestNamespace(t, 'health');
    await kubectl(['-n', namespace, 'create', 'configmap', 'cm']);
    const options = { kube: await adminKube(t), releaseNamespace: namespace };
    const refs = [ref('ConfigMap', 'cm'), ref('Gizmo', 'g')];
    const lenient = await readReleaseHealth(refs, { ...options, strict: false });
    assert.deepEqual([lenient.status, lenient.healthy, lenient.message], ['Unknown', true, 'Gizmo g: the cluster serves no kind Gizmo in v1']);
    const strict = await readReleaseHealth(refs, { ...options, strict: true });
    assert.deepEqual([strict.status, strict.healthy], ['Unknown', false]);
    assert.match(strict.message, /\(and 1 more Unknown\)$/);
    assert.deepEqual(strict.objects.map((o) => o.message), ['no health rule for ConfigMap', 'the cluster serves no kind Gizmo in v1']);
  });

  it('release health - no objects is Healthy, without a request', async (t) => {
    const kube = recording(await adminKube(t));
    const health = await readReleaseHealth([], { kube, strict: false, releaseNamespace: 'default' });
    assert.deepEqual([health.status, health.healthy, health.objectCount, health.objects, kube.requests], ['Healthy', true, 0, [], []]);
  });

  it('release health - the status keeps the worst MAX_STATUS_OBJECTS; objects beyond MAX_RELEASE_OBJECTS_READ are Unknown, not read', async (t) => {
    const namespace = await createTestNamespace(t, 'health');
    const admin = await adminKube(t);
    await createConfigMaps(admin, namespace, MAX_RELEASE_OBJECTS_READ);
    const kube = recording(admin);
    // cm-500 and cm-501 lie beyond the cap: they are never read, so they need not exist.
    const refs = Array.from({ length: MAX_RELEASE_OBJECTS_READ + 2 }, (_, i) => ref('ConfigMap', `cm-${i}`));
    refs.push(ref('ConfigMap', 'gone'));
    let peak = 0;
    const pool = new WorkerPool({ name: 'helm-read', workers: 4, maxQueued: refs.length, onChange: ({ running }) => { peak = Math.max(peak, running); } });
    const health = await readReleaseHealth(refs, { kube, strict: false, releaseNamespace: namespace, run: (job) => pool.run(job) });
    assert.equal(peak, 4, 'the reads ran through the pool passed as run');
    assert.equal(kube.requests.filter((r) => r.path.includes('/configmaps/')).length, MAX_RELEASE_OBJECTS_READ);
    assert.equal(health.objectCount, MAX_RELEASE_OBJECTS_READ + 3);
    assert.equal(health.objects.length, MAX_STATUS_OBJECTS);
    assert.deepEqual([health.status, health.healthy], ['Unknown', true]);
    assert.equal(health.message, `ConfigMap cm-${MAX_RELEASE_OBJECTS_READ}: not checked: the release has more than 500 objects (and 2 more Unknown)`);
    assert.deepEqual(health.objects.slice(0, 4).map((o) => [o.name, o.status]), [
      [`cm-${MAX_RELEASE_OBJECTS_READ}`, 'Unknown'], [`cm-${MAX_RELEASE_OBJECTS_READ + 1}`, 'Unknown'], ['gone', 'Unknown'], ['cm-0', 'Healthy'],
    ]);
  });

  it('release health - a read the pool refuses (its queue full) is Unknown for that object only', async (t) => {
    const namespace = await createTestNamespace(t, 'health');
    await kubectl(['-n', namespace, 'create', 'configmap', 'a']);
    const pool = new WorkerPool({ name: 'helm-read', workers: 1, maxQueued: 0 });
    const health = await readReleaseHealth([ref('ConfigMap', 'a'), ref('ConfigMap', 'b')], {
      kube: await adminKube(t), strict: false, releaseNamespace: namespace, run: (job) => pool.run(job),
    });
    assert.deepEqual(health.objects.map((o) => [o.name, o.status, o.message]), [
      ['b', 'Unknown', 'not checked: the helm-read queue is full'], ['a', 'Healthy', 'exists'],
    ]);
  });

  it('release health - an aborted check rejects with the signal\'s reason', async (t) => {
    const controller = new AbortController();
    const reason = new Error('engine stopping');
    // The engine stops while the check's first request (discovery) is on its way.
    const kube = recording(await adminKube(t), () => { controller.abort(reason); });
    const options = { kube, strict: false, releaseNamespace: 'default', signal: controller.signal };
    await assert.rejects(readReleaseHealth([ref('ConfigMap', 'a'), ref('ConfigMap', 'b')], options), (error) => error === reason);
    await assert.rejects(readReleaseHealth([ref('ConfigMap', 'a')], options), (error) => error === reason);
  });
});
