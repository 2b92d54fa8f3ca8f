import assert from 'node:assert/strict';
import type http from 'node:http';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { MAX_STATUS_OBJECTS } from '../../link/addons.ts';
import {
  DISCOVERY_MISS_REFRESH_MS, DISCOVERY_TTL_MS, KindNotServedError, KindResolver, MAX_RELEASE_OBJECTS_READ,
  ReleaseManifestError, parseManifest, readReleaseHealth, type ReleaseKube, type ReleaseObjectRef,
} from './release-objects.ts';

// `helm get manifest` output of examples/charts/webapp (trimmed bodies), as helm prints it.
const WEBAPP_MANIFEST = `---
# Source: webapp/templates/configmap.yaml
apiVersion: v1
kind: ConfigMap
metadata:
  name: rel-webapp
  labels:
    app.kubernetes.io/managed-by: Helm
data:
  GREETING: "hello from uplink"
---
# Source: webapp/templates/service.yaml
apiVersion: v1
kind: Service
metadata:
  name: rel-webapp
spec:
  type: ClusterIP
  ports:
    - name: http
      port: 80
---
# Source: webapp/templates/deployment.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: rel-webapp
  namespace: other
spec:
  replicas: 2
  template:
    spec:
      containers:
        - name: webapp
          image: "nginx:1"
`;

describe('parseManifest', () => {
  it('release objects - helm output gives each object\'s identity in order, namespace only when written', () => {
    assert.deepEqual(parseManifest(WEBAPP_MANIFEST), [
      { apiVersion: 'v1', kind: 'ConfigMap', name: 'rel-webapp' },
      { apiVersion: 'v1', kind: 'Service', name: 'rel-webapp' },
      { apiVersion: 'apps/v1', kind: 'Deployment', name: 'rel-webapp', namespace: 'other' },
    ]);
  });

  it('release objects - empty documents, comment-only documents and an empty manifest give nothing', () => {
    assert.deepEqual(parseManifest(''), []);
    assert.deepEqual(parseManifest('---\n---\n# Source: chart/templates/empty.yaml\n---\n\n'), []);
    const text = '---\n# Source: c/templates/a.yaml\n---\napiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: sa\n---\n';
    assert.deepEqual(parseManifest(text), [{ apiVersion: 'v1', kind: 'ServiceAccount', name: 'sa' }]);
  });

  it('release objects - Lists are flattened, typed Lists too, nested ones within a depth', () => {
    const text = `apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: ConfigMap
    metadata: { name: a }
  - apiVersion: rbac.authorization.k8s.io/v1
    kind: ClusterRole
    metadata: { name: reader }
  - apiVersion: v1
    kind: ConfigMapList
    items:
      - apiVersion: v1
        kind: ConfigMap
        metadata: { name: b, namespace: ns }
`;
    assert.deepEqual(parseManifest(text), [
      { apiVersion: 'v1', kind: 'ConfigMap', name: 'a' },
      { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', name: 'reader' },
      { apiVersion: 'v1', kind: 'ConfigMap', name: 'b', namespace: 'ns' },
    ]);
  });

  it('release objects - documents that are not objects, or lack apiVersion, kind or name, are skipped', () => {
    const text = [
      'just a string', '- a\n- list', 'kind: ConfigMap\nmetadata: {name: no-api-version}', 'apiVersion: v1\nmetadata: {name: no-kind}',
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {generateName: x-}', 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: 42}',
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ok}',
    ].join('\n---\n');
    assert.deepEqual(parseManifest(text), [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'ok' }]);
  });

  it('release objects - only identity is kept: a Secret\'s data never leaves the parser', () => {
    const text = 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\ntype: Opaque\nstringData:\n  password: hunter2\ndata:\n  token: aHVudGVyMg==\n';
    const refs = parseManifest(text);
    assert.deepEqual(refs, [{ apiVersion: 'v1', kind: 'Secret', name: 'creds' }]);
    assert.doesNotMatch(JSON.stringify(refs), /hunter2|aHVudGVyMg/);
  });

  it('release objects - repeats are dropped, duplicate keys take the last value as helm does', () => {
    const doc = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: first\n  name: cm\n';
    assert.deepEqual(parseManifest(`${doc}---\n${doc}`), [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'cm' }]);
  });

  it('release objects - text that is not YAML is RELEASE_MANIFEST_INVALID naming the document', () => {
    assert.throws(() => parseManifest('apiVersion: v1\nkind: ConfigMap\n---\nkind: [unclosed\n'), (error: unknown) => {
      assert.ok(error instanceof ReleaseManifestError);
      assert.equal(error.code, 'RELEASE_MANIFEST_INVALID');
      assert.match(error.message, /manifest document 2/);
      return true;
    });
  });
});

interface FakeAnswer {
  status: number;
  body: unknown;
}

/** A fake API server: discovery of core v1 and apps/v1, objects by path; records every GET. */
function fakeKube(objects: Record<string, FakeAnswer | (() => FakeAnswer)> = {}): ReleaseKube & { calls: { path: string; accept: string }[] } {
  const discovery: Record<string, unknown> = {
    '/api/v1': {
      resources: [
        { name: 'configmaps', kind: 'ConfigMap', namespaced: true }, { name: 'secrets', kind: 'Secret', namespaced: true },
        { name: 'services', kind: 'Service', namespaced: true }, { name: 'services/status', kind: 'Service', namespaced: true },
        { name: 'namespaces', kind: 'Namespace', namespaced: false },
      ],
    },
    '/apis/apps/v1': { resources: [{ name: 'deployments/scale', kind: 'Scale', namespaced: true }, { name: 'deployments', kind: 'Deployment', namespaced: true }] },
  };
  const calls: { path: string; accept: string }[] = [];
  return {
    calls,
    open: (path, options) => {
      calls.push({ path, accept: String(options?.headers?.accept) });
      const found = objects[path];
      const answer = typeof found === 'function' ? found() : found ?? (discovery[path] === undefined ? { status: 404, body: { message: 'not found' } } : { status: 200, body: discovery[path] });
      const res = Readable.from([Buffer.from(JSON.stringify(answer.body))]) as unknown as http.IncomingMessage;
      res.statusCode = answer.status;
      return Promise.resolve(res);
    },
  };
}

const ref = (kind: string, name: string, apiVersion = 'v1', namespace?: string): ReleaseObjectRef => (
  namespace === undefined ? { apiVersion, kind, name } : { apiVersion, kind, name, namespace });

const readyDeployment = {
  metadata: { name: 'web', generation: 1 },
  spec: { replicas: 1 },
  status: { observedGeneration: 1, replicas: 1, updatedReplicas: 1, availableReplicas: 1 },
};

describe('KindResolver', () => {
  it('release objects - resolves paths and scope, skipping subresources', async () => {
    const resolver = new KindResolver({ kube: fakeKube() });
    assert.deepEqual(await resolver.resolve('apps/v1', 'Deployment'), { groupVersionPath: '/apis/apps/v1', resource: 'deployments', namespaced: true });
    assert.deepEqual(await resolver.resolve('v1', 'Namespace'), { groupVersionPath: '/api/v1', resource: 'namespaces', namespaced: false });
    assert.equal((await resolver.resolve('v1', 'Service')).resource, 'services');
  });

  it('release objects - one discovery request per group-version until the TTL, shared by concurrent misses', async () => {
    let now = 0;
    const kube = fakeKube();
    const resolver = new KindResolver({ kube, now: () => now });
    await Promise.all([resolver.resolve('v1', 'ConfigMap'), resolver.resolve('v1', 'Secret'), resolver.resolve('v1', 'Service')]);
    now += DISCOVERY_TTL_MS;
    await resolver.resolve('v1', 'ConfigMap');
    assert.equal(kube.calls.length, 1);
    now += 1;
    await resolver.resolve('v1', 'ConfigMap');
    assert.equal(kube.calls.length, 2);
  });

  it('release objects - a kind missing from a cached answer re-asks discovery, at most every few seconds', async () => {
    let now = 0;
    let served = false;
    const kube = fakeKube({
      '/apis/examples.uplink.dev/v1': () => (served
        ? { status: 200, body: { resources: [{ name: 'widgets', kind: 'Widget', namespaced: true }] } }
        : { status: 404, body: { message: 'the server could not find the requested resource' } }),
    });
    const resolver = new KindResolver({ kube, now: () => now });
    await assert.rejects(resolver.resolve('examples.uplink.dev/v1', 'Widget'), /does not serve examples\.uplink\.dev\/v1/);
    served = true;
    await assert.rejects(resolver.resolve('examples.uplink.dev/v1', 'Widget'), KindNotServedError);
    assert.equal(kube.calls.length, 1, 'a miss right after discovery is answered from the cache');
    now += DISCOVERY_MISS_REFRESH_MS + 1;
    assert.equal((await resolver.resolve('examples.uplink.dev/v1', 'Widget')).resource, 'widgets');
    await assert.rejects(resolver.resolve('v1', 'Gizmo'), /serves no kind Gizmo in v1/);
  });

  it('release objects - a failed discovery rejects with the API error and is not cached', async () => {
    let status = 503;
    const kube = fakeKube({ '/apis/metrics.k8s.io/v1beta1': () => ({ status, body: { resources: [{ name: 'pods', kind: 'PodMetrics', namespaced: true }], message: 'service unavailable' } }) });
    const resolver = new KindResolver({ kube });
    await assert.rejects(resolver.resolve('metrics.k8s.io/v1beta1', 'PodMetrics'), /HTTP 503: service unavailable/);
    status = 200;
    assert.equal((await resolver.resolve('metrics.k8s.io/v1beta1', 'PodMetrics')).resource, 'pods');
  });

  it('release objects - an apiVersion that cannot be a path is refused without a request', async () => {
    const kube = fakeKube();
    const resolver = new KindResolver({ kube });
    for (const bad of ['', '../../api/v1', 'a/b/c', 'V1', 'apps/']) await assert.rejects(resolver.resolve(bad, 'Pod'), KindNotServedError);
    assert.equal(kube.calls.length, 0);
  });
});

describe('readReleaseHealth', () => {
  const options = { strict: false, releaseNamespace: 'shop', now: () => new Date('2025-01-02T03:04:05Z') };

  it('release objects - judges each object; Missing, unknown kinds and failed reads are reported, never thrown', async () => {
    const kube = fakeKube({
      '/apis/apps/v1/namespaces/shop/deployments/web': { status: 200, body: readyDeployment },
      '/api/v1/namespaces/shop/configmaps/cm': { status: 200, body: { metadata: { name: 'cm' }, data: { big: 'x' } } },
      '/api/v1/namespaces/other/configmaps/denied': { status: 403, body: { message: 'configmaps "denied" is forbidden' } },
      '/api/v1/namespaces/shop/secrets/creds': { status: 200, body: { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: { name: 'creds' } } },
      '/api/v1/namespaces/shop': { status: 200, body: { metadata: { name: 'shop' } } },
    });
    const refs = [
      ref('Deployment', 'web', 'apps/v1'), ref('ConfigMap', 'cm'), ref('ConfigMap', 'denied', 'v1', 'other'), ref('Secret', 'creds'),
      ref('Namespace', 'shop'), ref('Service', 'gone'), ref('Gizmo', 'g', 'gizmos.example.com/v1'),
    ];
    const health = await readReleaseHealth(refs, { ...options, kube });
    assert.equal(health.status, 'Missing');
    assert.equal(health.healthy, false);
    assert.equal(health.message, 'Service shop/gone: not found in the cluster');
    assert.equal(health.objectCount, 7);
    assert.equal(health.checkedAt, '2025-01-02T03:04:05.000Z');
    assert.deepEqual(health.objects.map((o) => [o.status, o.kind, o.namespace, o.name]), [
      ['Missing', 'Service', 'shop', 'gone'],
      ['Unknown', 'ConfigMap', 'other', 'denied'],
      ['Unknown', 'Gizmo', undefined, 'g'],
      ['Healthy', 'Deployment', 'shop', 'web'],
      ['Healthy', 'ConfigMap', 'shop', 'cm'],
      ['Healthy', 'Secret', 'shop', 'creds'],
      ['Healthy', 'Namespace', undefined, 'shop'],
    ]);
    assert.match(health.objects[1]?.message ?? '', /^cannot read: .*HTTP 403: configmaps "denied" is forbidden/);
    assert.equal(health.objects[2]?.message, 'the cluster does not serve gizmos.example.com/v1');
    const secretRead = kube.calls.find((call) => call.path.endsWith('/secrets/creds'));
    assert.equal(secretRead?.accept, 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1');
    assert.ok(kube.calls.filter((call) => !call.path.endsWith('/secrets/creds')).every((call) => call.accept === 'application/json'));
  });

  it('release objects - an unreadable object makes a healthy release Unknown: healthy unless strict', async () => {
    const kube = fakeKube({ '/api/v1/namespaces/shop/configmaps/cm': { status: 200, body: { metadata: { name: 'cm' } } } });
    const refs = [ref('ConfigMap', 'cm'), ref('Gizmo', 'g', 'v1')];
    const lenient = await readReleaseHealth(refs, { ...options, kube });
    assert.deepEqual([lenient.status, lenient.healthy, lenient.message], ['Unknown', true, 'Gizmo g: the cluster serves no kind Gizmo in v1']);
    const strict = await readReleaseHealth(refs, { ...options, strict: true, kube });
    assert.deepEqual([strict.status, strict.healthy], ['Unknown', false]);
    assert.match(strict.message, /\(and 1 more Unknown\)$/);
    assert.deepEqual(strict.objects.map((o) => o.message), ['no health rule for ConfigMap', 'the cluster serves no kind Gizmo in v1']);
  });

  it('release objects - no objects is Healthy', async () => {
    const health = await readReleaseHealth([], { ...options, kube: fakeKube() });
    assert.deepEqual([health.status, health.healthy, health.objectCount, health.objects], ['Healthy', true, 0, []]);
  });

  it('release objects - the status keeps the worst objects up to the cap; reads beyond the per-release cap are Unknown', async () => {
    const count = MAX_RELEASE_OBJECTS_READ + 2;
    const existing = Object.fromEntries(Array.from({ length: count }, (_, i) => [
      `/api/v1/namespaces/shop/configmaps/cm-${i}`, { status: 200, body: { metadata: { name: `cm-${i}` } } },
    ]));
    const kube = fakeKube(existing);
    const refs = Array.from({ length: count }, (_, i) => ref('ConfigMap', `cm-${i}`));
    refs.push(ref('ConfigMap', 'gone'));
    let running = 0;
    let peak = 0;
    const run = async <T>(job: () => Promise<T>): Promise<T> => {
      running += 1;
      peak = Math.max(peak, running);
      await new Promise((resolve) => setImmediate(resolve));
      try { return await job(); } finally { running -= 1; }
    };
    const health = await readReleaseHealth(refs, { ...options, kube, run });
    assert.ok(peak > 1, 'the injected limiter ran the reads');
    assert.equal(kube.calls.filter((call) => call.path.includes('/configmaps/')).length, MAX_RELEASE_OBJECTS_READ);
    assert.equal(health.objectCount, count + 1);
    assert.equal(health.objects.length, MAX_STATUS_OBJECTS);
    assert.deepEqual([health.status, health.healthy], ['Unknown', true]);
    assert.equal(health.message, `ConfigMap cm-${MAX_RELEASE_OBJECTS_READ}: not checked: the release has more than 500 objects (and 2 more Unknown)`);
    assert.deepEqual(health.objects.slice(0, 4).map((o) => [o.name, o.status]), [
      [`cm-${MAX_RELEASE_OBJECTS_READ}`, 'Unknown'], [`cm-${MAX_RELEASE_OBJECTS_READ + 1}`, 'Unknown'], ['gone', 'Unknown'], ['cm-0', 'Healthy'],
    ]);
  });

  it('release objects - a refused job (full pool) is Unknown for that object only', async () => {
    const kube = fakeKube({ '/api/v1/namespaces/shop/configmaps/a': { status: 200, body: { metadata: { name: 'a' } } } });
    let jobs = 0;
    const run = async <T>(job: () => Promise<T>): Promise<T> => {
      jobs += 1;
      if (jobs > 1) throw new Error('the helm-read queue is full');
      return job();
    };
    const health = await readReleaseHealth([ref('ConfigMap', 'a'), ref('ConfigMap', 'b')], { ...options, kube, run });
    assert.deepEqual(health.objects.map((o) => [o.name, o.status, o.message]), [
      ['b', 'Unknown', 'not checked: the helm-read queue is full'], ['a', 'Healthy', 'exists'],
    ]);
  });

  it('release objects - an aborted check rejects with the signal\'s reason', async () => {
    const controller = new AbortController();
    const kube = fakeKube();
    const open = kube.open.bind(kube);
    kube.open = (path, openOptions) => {
      controller.abort(new Error('engine stopping'));
      return open(path, openOptions);
    };
    await assert.rejects(readReleaseHealth([ref('ConfigMap', 'a'), ref('ConfigMap', 'b')], { ...options, kube, signal: controller.signal }), /engine stopping/);
    await assert.rejects(readReleaseHealth([ref('ConfigMap', 'a')], { ...options, kube, signal: controller.signal }), /engine stopping/);
  });
});
