// Drift of a real helm release against the real test cluster: examples/charts/webapp
// installed by helm 4 (server-side apply, field manager `helm`), then changed
// the ways people change things (kubectl scale, kubectl set image, a deleted
// ConfigMap, a patched Secret). computeDrift must see each change at its JSON
// pointer and nothing else (server defaults cancel out through the dry run),
// the three kinds of ignore rule must hide a change, healDrift must undo them
// all but what a rule ignores, a refused dry run must be Unknown, every
// rendered object's UID must be read, and findOrphans/deleteOrphans must
// touch only objects carrying the release's ownership.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { computeDrift, type ComputeDriftOptions, type ReleaseDrift } from '../../src/agent/addons/drift.ts';
import { healDrift } from '../../src/agent/addons/heal.ts';
import { deleteOrphans, findOrphans } from '../../src/agent/addons/prune.ts';
import { KindResolver } from '../../src/agent/addons/release-objects.ts';
import type { IgnoreRule } from '../../src/domain/addon-spec/policy.ts';
import type { KubeClient } from '../../src/agent/kube.ts';
import { REPO_ROOT, createTestNamespace, helm, kubectl, kubectlJson } from '../helpers/cluster.ts';
import { adminKube } from '../helpers/resources.ts';
import { suiteContext } from '../helpers/uplink.ts';

const { t: suite, runCleanups } = suiteContext('drift');
const RELEASE = 'web';
/** The chart's fullname for release `web`. */
const NAME = 'web-webapp';
const SECRET_VALUES = ['drift-first-secret-value', 'drift-second-secret-value'];

interface LiveDeployment {
  metadata: { uid: string };
  spec: { replicas: number; template: { spec: { containers: { image: string }[] } } };
}

interface ManagedFieldsEntry {
  manager: string;
  operation: string;
  subresource?: string;
  fieldsV1: Record<string, unknown>;
}

let namespace = '';
let kube: KubeClient;
let resolver: KindResolver;
let manifest = '';

function options(ignore: IgnoreRule[] = []): ComputeDriftOptions {
  return { kube, resolver, release: { name: RELEASE, namespace }, ignore };
}

const RENDERED_KINDS = [{ apiVersion: 'v1', kind: 'ConfigMap' }, { apiVersion: 'v1', kind: 'Service' }, { apiVersion: 'apps/v1', kind: 'Deployment' }];

const liveDeployment = (): Promise<LiveDeployment> => kubectlJson<LiveDeployment>(['-n', namespace, 'get', 'deployment', NAME]);

/** The UIDs of the release's three objects, as kubectl reads them. */
async function releaseUids(): Promise<string[]> {
  const rendered = await kubectlJson<{ items: { metadata: { uid: string } }[] }>(['-n', namespace, 'get', 'configmap,deployment,service', '-l', 'app.kubernetes.io/instance=web']);
  return rendered.items.map((item) => item.metadata.uid).sort();
}

const summary = (drift: ReleaseDrift): Record<string, string> =>
  Object.fromEntries(drift.objects.map((o) => [`${o.kind}/${o.name}`, `${o.state} ${o.paths.join(',')}`.trim()]));

/** Scales the Deployment and changes its image; with `ignore` hiding the scale, only the image drifts, and a heal restores it alone. */
async function healKeepsScale(ignore: IgnoreRule[], replicas: number): Promise<void> {
  await kubectl(['-n', namespace, 'scale', 'deployment', NAME, `--replicas=${replicas}`]);
  await kubectl(['-n', namespace, 'set', 'image', `deployment/${NAME}`, `webapp=registry.invalid/webapp:${replicas}`]);
  const drift = await computeDrift(manifest, options(ignore));
  assert.deepEqual(summary(drift), { [`Deployment/${NAME}`]: 'Drifted /spec/template/spec/containers/0/image' });
  const healed = await healDrift(manifest, drift.objects, options(ignore));
  assert.deepEqual(healed.map((h) => `${h.kind} ${h.ok} ${h.message}`), ['Deployment true applied']);
  const deployment = await liveDeployment();
  assert.equal(deployment.spec.template.spec.containers[0]?.image, 'registry.invalid/webapp:1');
  assert.equal(deployment.spec.replicas, replicas);
  assert.equal((await computeDrift(manifest, options(ignore))).state, 'InSync');
}

async function managedFields(kind: string, name: string): Promise<ManagedFieldsEntry[]> {
  const object = await kubectlJson<{ metadata: { managedFields: ManagedFieldsEntry[] } }>(['-n', namespace, 'get', kind, name, '--show-managed-fields']);
  return object.metadata.managedFields;
}

function configMap(name: string, extra: { annotations?: Record<string, string>; labels?: Record<string, string> }): string {
  return JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace, ...extra }, data: { a: 'b' } });
}

describe('drift', () => {
  before(async () => {
    namespace = await createTestNamespace(suite, 'drift');
    kube = await adminKube(suite);
    resolver = new KindResolver({ kube });
    await helm(['install', RELEASE, join(REPO_ROOT, 'examples/charts/webapp'), '-n', namespace]);
    manifest = (await helm(['get', 'manifest', RELEASE, '-n', namespace])).stdout;
  });
  after(runCleanups);

  it('drift e2e - a fresh release is in sync: the dry run cancels server defaults out', async () => {
    const drift = await computeDrift(manifest, options());
    assert.deepEqual(drift.objects, []);
    assert.equal(drift.state, 'InSync');
    assert.equal(drift.inspected, 3);
    assert.deepEqual([...drift.renderedUids].sort(), await releaseUids());
    assert.equal(drift.renderedUidsComplete, true);
    assert.deepEqual(drift.kinds, RENDERED_KINDS);
    const helmEntry = (await managedFields('deployment', NAME)).find((e) => e.manager === 'helm');
    assert.equal(helmEntry?.operation, 'Apply', 'helm 4 applies server-side under the manager "helm"');
  });

  it('drift e2e - kubectl scale is Drifted at /spec/replicas, written by manager kubectl through the scale subresource', async () => {
    await kubectl(['-n', namespace, 'scale', 'deployment', NAME, '--replicas=5']);
    const drift = await computeDrift(manifest, options());
    assert.equal(drift.state, 'Drifted');
    assert.deepEqual(summary(drift), { [`Deployment/${NAME}`]: 'Drifted /spec/replicas' });
    assert.equal(drift.objects[0]?.namespace, namespace);
    const entries = await managedFields('deployment', NAME);
    const scale = entries.find((e) => e.manager === 'kubectl');
    assert.equal(scale?.operation, 'Update');
    assert.equal(scale.subresource, 'scale');
    assert.deepEqual(scale.fieldsV1, { 'f:spec': { 'f:replicas': {} } });
    assert.ok(!JSON.stringify(entries.find((e) => e.manager === 'helm')?.fieldsV1).includes('f:replicas'), 'the update took replicas from helm');
  });

  it('drift e2e - a pointer, a jq path or the manager kubectl hides the scale; rules for others do not', async () => {
    for (const rule of [{ pointer: '/spec/replicas' }, { jq: '.spec.replicas' }, { manager: 'kubectl' },
      { pointer: '/spec/replicas', target: { kind: 'Deployment', name: NAME, namespace } }, { jq: 'select(.kind == "Deployment")' }]) {
      assert.equal((await computeDrift(manifest, options([rule]))).state, 'InSync', JSON.stringify(rule));
    }
    for (const rule of [{ manager: 'kubectl-scale' }, { pointer: '/spec/replicas', target: { kind: 'StatefulSet' } },
      { pointer: '/spec/replicas', target: { namespace: 'elsewhere' } }, { jq: '.spec.template' }]) {
      assert.equal((await computeDrift(manifest, options([rule]))).state, 'Drifted', JSON.stringify(rule));
    }
  });

  it('drift e2e - kubectl set image is Drifted at the image; its manager is kubectl-set, not kubectl', async () => {
    await kubectl(['-n', namespace, 'set', 'image', `deployment/${NAME}`, 'webapp=registry.invalid/webapp:2']);
    const drift = await computeDrift(manifest, options());
    assert.deepEqual(summary(drift), { [`Deployment/${NAME}`]: 'Drifted /spec/replicas,/spec/template/spec/containers/0/image' });
    assert.deepEqual(summary(await computeDrift(manifest, options([{ manager: 'kubectl' }]))),
      { [`Deployment/${NAME}`]: 'Drifted /spec/template/spec/containers/0/image' });
    assert.equal((await computeDrift(manifest, options([{ manager: 'kubectl' }, { manager: 'kubectl-set' }]))).state, 'InSync');
  });

  it('drift e2e - a deleted ConfigMap is Missing and listed first', async () => {
    await kubectl(['-n', namespace, 'delete', 'configmap', NAME]);
    const drift = await computeDrift(manifest, options());
    assert.equal(drift.state, 'Drifted');
    assert.deepEqual(drift.objects.map((o) => `${o.kind} ${o.state}`), ['ConfigMap Missing', 'Deployment Drifted']);
    assert.equal(drift.objects[0]?.message, 'not found in the cluster');
  });

  it('drift e2e - healDrift re-applies the drifted objects and recreates the missing one; then in sync', async () => {
    const drift = await computeDrift(manifest, options());
    const healed = await healDrift(manifest, drift.objects, options());
    assert.deepEqual(healed.map((h) => `${h.kind} ${h.ok} ${h.message}`).sort(), ['ConfigMap true created', 'Deployment true applied']);
    assert.deepEqual((await computeDrift(manifest, options())).objects, []);
    const deployment = await liveDeployment();
    assert.equal(deployment.spec.replicas, 2);
    assert.equal(deployment.spec.template.spec.containers[0]?.image, 'registry.invalid/webapp:1');
    const cm = await kubectlJson<{ metadata: { labels: Record<string, string>; annotations: Record<string, string> } }>(['-n', namespace, 'get', 'configmap', NAME]);
    assert.equal(cm.metadata.labels['app.kubernetes.io/managed-by'], 'Helm');
    assert.equal(cm.metadata.annotations['meta.helm.sh/release-name'], RELEASE);
    assert.equal(cm.metadata.annotations['meta.helm.sh/release-namespace'], namespace);
    const entries = await managedFields('deployment', NAME);
    assert.match(JSON.stringify(entries.find((e) => e.manager === 'helm')?.fieldsV1), /f:replicas/, 'helm owns replicas again');
    assert.deepEqual(await healDrift(manifest, [], options()), []);
  });

  it('drift e2e - with a pointer rule on /spec/replicas, healing a changed image keeps the scale', async () => {
    await healKeepsScale([{ pointer: '/spec/replicas' }], 5);
  });

  it('drift e2e - with a manager rule, what that manager owns keeps its live value through a heal', async () => {
    await healKeepsScale([{ manager: 'kubectl' }], 4);
  });

  it('drift e2e - an object a rule covers wholly is left alone by a heal, and its UID is still read', async () => {
    const ignore = [{ pointer: '', target: { kind: 'Deployment' } }];
    const drift = await computeDrift(manifest, options(ignore));
    assert.equal(drift.state, 'InSync');
    assert.deepEqual([...drift.renderedUids].sort(), await releaseUids());
    const drifted = { apiVersion: 'apps/v1', kind: 'Deployment', name: NAME, namespace, state: 'Drifted' as const, paths: [], message: '' };
    assert.deepEqual((await healDrift(manifest, [drifted], options(ignore))).map((h) => `${h.ok} ${h.message}`), ['true left alone: an ignore rule covers the whole object']);
    assert.equal((await liveDeployment()).spec.replicas, 4);
  });

  it('drift e2e - a missing object is created as rendered, the fields a rule ignores included; no rule, all back', async () => {
    await kubectl(['-n', namespace, 'delete', 'configmap', NAME]);
    const ignore = [{ pointer: '/data/GREETING', target: { kind: 'ConfigMap' } }, { pointer: '/spec/replicas' }];
    const drift = await computeDrift(manifest, options(ignore));
    assert.deepEqual(summary(drift), { [`ConfigMap/${NAME}`]: 'Missing' });
    assert.deepEqual((await healDrift(manifest, drift.objects, options(ignore))).map((h) => `${h.kind} ${h.message}`), ['ConfigMap created']);
    const cm = await kubectlJson<{ data: Record<string, string> }>(['-n', namespace, 'get', 'configmap', NAME]);
    assert.equal(cm.data.GREETING, 'hello from uplink');
    const all = await computeDrift(manifest, options());
    assert.deepEqual(summary(all), { [`Deployment/${NAME}`]: 'Drifted /spec/replicas' });
    await healDrift(manifest, all.objects, options());
    assert.equal((await liveDeployment()).spec.replicas, 2);
    assert.equal((await computeDrift(manifest, options())).state, 'InSync');
  });

  it('drift e2e - a Secret that drifted is reported by key, never by value', async () => {
    const secret = `apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\nstringData:\n  password: ${SECRET_VALUES[0] ?? ''}\n`;
    const [healed] = await healDrift(secret, [{ apiVersion: 'v1', kind: 'Secret', name: 'creds', namespace, state: 'Missing', paths: [], message: '' }], options());
    assert.equal(healed?.ok, true);
    assert.equal((await computeDrift(secret, options())).state, 'InSync');
    await kubectl(['-n', namespace, 'patch', 'secret', 'creds', '--type=merge', '-p', JSON.stringify({ stringData: { password: SECRET_VALUES[1] } })]);
    const drift = await computeDrift(secret, options());
    assert.deepEqual(summary(drift), { 'Secret/creds': 'Drifted /data/password' });
    const text = JSON.stringify(drift);
    for (const value of SECRET_VALUES) {
      assert.ok(!text.includes(value) && !text.includes(Buffer.from(value).toString('base64')), 'no Secret value in the result');
    }
  });

  it('drift e2e - a dry run the server refuses is Unknown, never in sync, and so is the release', async () => {
    const invalid = manifest.replace(/port: 80\b/, 'port: 70000');
    assert.notEqual(invalid, manifest);
    const drift = await computeDrift(`${invalid}\n---\napiVersion: gizmos.uplink.invalid/v1\nkind: Gizmo\nmetadata:\n  name: g\n`, options());
    assert.equal(drift.state, 'Unknown');
    const service = drift.objects.find((o) => o.kind === 'Service');
    assert.equal(service?.state, 'Unknown');
    assert.match(service.message, /^the server-side apply dry run was refused \(HTTP 422 Invalid at spec\.ports\[0\]\.port/);
    assert.ok(!service.message.includes('70000'), 'the API message (it quotes values) is not passed on');
    assert.deepEqual(drift.objects.find((o) => o.kind === 'Gizmo')?.message, 'not compared: the cluster does not serve gizmos.uplink.invalid/v1');
    assert.equal(drift.inspected, 4);
    assert.equal(drift.renderedUids.length, 3, 'a refused dry run still read the UID; an unserved kind has no object');
    assert.equal(drift.renderedUidsComplete, true);
  });

  it('drift e2e - objects past maxObjects are Unknown', async () => {
    const drift = await computeDrift(manifest, { ...options(), maxObjects: 1 });
    assert.equal(drift.state, 'Unknown');
    assert.equal(drift.inspected, 1);
    assert.deepEqual(drift.objects.map((o) => o.message), Array(2).fill('not compared: the release has more than 1 objects'));
    assert.deepEqual([...drift.renderedUids].sort(), await releaseUids(), 'UIDs past the cap are read too');
    assert.equal(drift.renderedUidsComplete, true);
    assert.deepEqual(drift.kinds, RENDERED_KINDS);
  });

  it('drift e2e - a UID that could not be read makes the rendered UIDs incomplete', async () => {
    let jobs = 0;
    const run = <T>(job: () => Promise<T>): Promise<T> => (jobs++ === 0 ? job() : Promise.reject(new Error('the read pool is full')));
    const drift = await computeDrift(manifest, { ...options(), maxObjects: 1, run });
    assert.equal(drift.renderedUids.length, 1);
    assert.equal(drift.renderedUidsComplete, false);
  });

  it('drift e2e - findOrphans finds only what carries the release ownership, is not rendered, kept or a hook; deleteOrphans deletes it', async () => {
    const owned = { labels: { 'app.kubernetes.io/managed-by': 'Helm' }, annotations: { 'meta.helm.sh/release-name': RELEASE, 'meta.helm.sh/release-namespace': namespace } };
    const objects = [
      configMap('orphan', owned),
      configMap('unlabelled', { annotations: owned.annotations }),
      configMap('other-release', { ...owned, annotations: { ...owned.annotations, 'meta.helm.sh/release-name': 'other' } }),
      configMap('kept', { ...owned, annotations: { ...owned.annotations, 'helm.sh/resource-policy': 'keep' } }),
      configMap('hook', { ...owned, annotations: { ...owned.annotations, 'helm.sh/hook': 'pre-install' } }),
    ];
    await kubectl(['apply', '-f', '-'], { input: objects.join('\n') });
    const drift = await computeDrift(manifest, options());
    assert.equal(drift.renderedUidsComplete, true);
    const kinds = [...drift.kinds, { apiVersion: 'nope.invalid/v1', kind: 'Gizmo' }];
    const renderedUids = new Set(drift.renderedUids);
    assert.deepEqual([...renderedUids].sort(), await releaseUids());
    const orphans = await findOrphans({ kube, resolver, release: { name: RELEASE, namespace }, renderedUids, kinds });
    const cm = await kubectlJson<{ metadata: { uid: string } }>(['-n', namespace, 'get', 'configmap', 'orphan']);
    assert.deepEqual(orphans, [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'orphan', namespace, uid: cm.metadata.uid }]);

    const stale = { ...orphans[0], name: 'unlabelled', uid: '00000000-0000-0000-0000-000000000000' } as (typeof orphans)[number];
    const outcomes = await deleteOrphans({ kube, resolver, orphans: [...orphans, stale] });
    assert.deepEqual(outcomes.map((o) => `${o.name} ${o.ok} ${o.message}`), ['orphan true deleted', 'unlabelled false not deleted: the object was replaced since it was found']);
    const left = await kubectlJson<{ items: { metadata: { name: string } }[] }>(['-n', namespace, 'get', 'configmap']);
    const names = left.items.map((item) => item.metadata.name);
    assert.ok(!names.includes('orphan'));
    for (const name of ['unlabelled', 'other-release', 'kept', 'hook', NAME]) assert.ok(names.includes(name), name);
    assert.deepEqual(await findOrphans({ kube, resolver, release: { name: RELEASE, namespace }, renderedUids, kinds }), []);
  });
});
