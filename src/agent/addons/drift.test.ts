import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { driftPaths, MAX_DRIFT_PATHS, releaseState, stripServerFields, type ObjectDrift } from './drift.ts';
import { compileIgnoreRules, type ObjectIdentity } from './ignore-rules.ts';

const WEB: ObjectIdentity = { kind: 'Deployment', name: 'web', namespace: 'apps' };

/** A live Deployment as the API server returns it; `predicted` is the same after a dry run of the manifest. */
function live(): Record<string, unknown> {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: 'web', namespace: 'apps', uid: 'u-1', resourceVersion: '42', generation: 3, creationTimestamp: '2026-01-01T00:00:00Z',
      labels: { app: 'web', 'app.kubernetes.io/managed-by': 'Helm' },
      annotations: { 'meta.helm.sh/release-name': 'web', 'deployment.kubernetes.io/revision': '2' },
      managedFields: [{ manager: 'kubectl', operation: 'Update', subresource: 'scale', fieldsV1: { 'f:spec': { 'f:replicas': {} } } }],
    },
    spec: {
      replicas: 2,
      revisionHistoryLimit: 10,
      template: { spec: { containers: [{ name: 'web', image: 'web:1', imagePullPolicy: 'IfNotPresent', terminationMessagePath: '/dev/termination-log' }] } },
    },
    status: { replicas: 2, readyReplicas: 2 },
  };
}

const predicted = live;
const compare = (a: Record<string, unknown>, b: Record<string, unknown>, rules = compileIgnoreRules([])): string[] | undefined => driftPaths(a, b, rules, WEB);

function edit(object: Record<string, unknown>, change: (o: { metadata: Record<string, Record<string, unknown>>; spec: Record<string, unknown> & { template: { spec: { containers: Record<string, unknown>[] } } } }) => void): Record<string, unknown> {
  change(object as Parameters<typeof change>[0]);
  return object;
}

describe('drift', () => {
  it('drift - the same object, server defaults included, is in sync', () => {
    assert.deepEqual(compare(predicted(), live()), []);
  });

  it('drift - status and server-set metadata never count', () => {
    const other = edit(live(), (o) => {
      Object.assign(o.metadata, { uid: 'u-2', resourceVersion: '99', generation: 4, creationTimestamp: 'x', selfLink: '/x', managedFields: [] });
      (o as unknown as Record<string, unknown>).status = { replicas: 5 };
    });
    assert.deepEqual(compare(predicted(), other), []);
    const stripped = live();
    stripServerFields(stripped);
    assert.equal(stripped.status, undefined);
    assert.deepEqual(Object.keys(stripped.metadata as object), ['name', 'namespace', 'labels', 'annotations']);
  });

  it('drift - a changed field is reported by its JSON pointer', () => {
    const scaled = edit(live(), (o) => { o.spec.replicas = 5; });
    assert.deepEqual(compare(predicted(), scaled), ['/spec/replicas']);
    const image = edit(live(), (o) => { o.spec.template.spec.containers[0] = { ...o.spec.template.spec.containers[0], image: 'web:2' }; });
    assert.deepEqual(compare(predicted(), image), ['/spec/template/spec/containers/0/image']);
  });

  it('drift - list items added or removed are reported by index, keys with "/" and "~" escaped', () => {
    const sidecar = edit(live(), (o) => { o.spec.template.spec.containers.push({ name: 'proxy' }); });
    assert.deepEqual(compare(predicted(), sidecar), ['/spec/template/spec/containers/1']);
    const extra = edit(predicted(), (o) => { o.metadata.labels = { ...o.metadata.labels, 'a/b~c': 'x' }; });
    assert.deepEqual(compare(extra, live()), ['/metadata/labels/a~1b~0c']);
  });

  it('drift - labels and annotations count only where the predicted object has them', () => {
    const decorated = edit(live(), (o) => {
      o.metadata.labels = { ...o.metadata.labels, 'added-by-a-controller': 'x' };
      o.metadata.annotations = { ...o.metadata.annotations, 'kubectl.kubernetes.io/restartedAt': 'now' };
    });
    assert.deepEqual(compare(predicted(), decorated), []);
    const removed = edit(live(), (o) => { delete o.metadata.labels?.app; });
    assert.deepEqual(compare(predicted(), removed), ['/metadata/labels/app']);
    const changed = edit(live(), (o) => { o.metadata.annotations = { ...o.metadata.annotations, 'meta.helm.sh/release-name': 'other' }; });
    assert.deepEqual(compare(predicted(), changed), ['/metadata/annotations/meta.helm.sh~1release-name']);
    const bare = edit(live(), (o) => { delete o.metadata.annotations; });
    assert.deepEqual(compare(edit(predicted(), (o) => { delete o.metadata.annotations; }), bare), []);
  });

  it('drift - a Secret difference names the key, never the value', () => {
    const secret = (password: string): Record<string, unknown> => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, data: { password } });
    const paths = driftPaths(secret('bmV3'), secret('b2xk'), [], { kind: 'Secret', name: 's' });
    assert.deepEqual(paths, ['/data/password']);
  });

  it('drift - ignore rules apply to both sides; manager rules read the live managedFields', () => {
    const scaled = (): Record<string, unknown> => edit(live(), (o) => { o.spec.replicas = 5; });
    assert.deepEqual(compare(predicted(), scaled(), compileIgnoreRules([{ pointer: '/spec/replicas' }])), []);
    assert.deepEqual(compare(predicted(), scaled(), compileIgnoreRules([{ jq: '.spec.replicas' }])), []);
    assert.deepEqual(compare(predicted(), scaled(), compileIgnoreRules([{ manager: 'kubectl' }])), []);
    assert.deepEqual(compare(predicted(), scaled(), compileIgnoreRules([{ manager: 'kubectl-edit' }])), ['/spec/replicas']);
    assert.deepEqual(compare(predicted(), scaled(), compileIgnoreRules([{ pointer: '/spec/replicas', target: { kind: 'StatefulSet' } }])), ['/spec/replicas']);
    assert.equal(compare(predicted(), scaled(), compileIgnoreRules([{ pointer: '' }])), undefined);
  });

  it('drift - at most MAX_DRIFT_PATHS paths, sorted', () => {
    const many = (value: string): Record<string, unknown> => ({ data: Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`k${String(i).padStart(2, '0')}`, value])) });
    const paths = driftPaths(many('a'), many('b'), [], WEB);
    assert.ok(paths);
    assert.equal(paths.length, MAX_DRIFT_PATHS);
    assert.deepEqual(paths, [...paths].sort());
    assert.equal(paths[0], '/data/k00');
  });

  it('drift - the release is Drifted if any object is Drifted or Missing, else Unknown if any is, else InSync', () => {
    const object = (state: ObjectDrift['state']): ObjectDrift => ({ apiVersion: 'v1', kind: 'ConfigMap', name: 'c', state, paths: [], message: '' });
    assert.equal(releaseState([]), 'InSync');
    assert.equal(releaseState([object('InSync')]), 'InSync');
    assert.equal(releaseState([object('InSync'), object('Unknown')]), 'Unknown');
    assert.equal(releaseState([object('Unknown'), object('Missing')]), 'Drifted');
    assert.equal(releaseState([object('Drifted'), object('Unknown')]), 'Drifted');
  });
});
