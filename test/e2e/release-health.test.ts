// The health of a release's objects read live from the real test cluster:
// objects applied with kubectl (a Deployment that kwok's fake nodes make
// available, a Service, a ConfigMap, a Secret read as metadata only), one
// that does not exist and one of a kind nobody serves; a custom resource
// whose CRD appears after discovery first missed it; and a real helm release
// of examples/charts/webapp through `helm get manifest`.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { KindResolver, parseManifest, readReleaseHealth, type ReleaseObjectRef } from '../../src/agent/addons/release-objects.ts';
import { readLimited } from '../../src/util/read-limited.ts';
import type { AddonHealth } from '../../src/link/addons.ts';
import { REPO_ROOT, createTestNamespace, helm, kubectl } from '../helpers/cluster.ts';
import { adminKube } from '../helpers/resources.ts';
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
