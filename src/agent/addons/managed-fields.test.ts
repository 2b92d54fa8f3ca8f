import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fieldSetsOf, matchingIndices, removeOwnedFields } from './managed-fields.ts';

/** managedFields as the API server wrote them after a helm install, `kubectl scale` and `kubectl set image`. */
const MANAGED_FIELDS = [
  {
    manager: 'helm', operation: 'Apply', apiVersion: 'apps/v1', fieldsType: 'FieldsV1',
    fieldsV1: {
      'f:metadata': { 'f:labels': { 'f:app': {} } },
      'f:spec': {
        'f:template': { 'f:spec': { 'f:containers': { 'k:{"name":"web"}': { '.': {}, 'f:name': {}, 'f:ports': { 'k:{"containerPort":8080,"protocol":"TCP"}': { '.': {}, 'f:containerPort': {}, 'f:protocol': {} } } } } } },
      },
    },
  },
  { manager: 'kubectl', operation: 'Update', subresource: 'scale', fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': { 'f:replicas': {} } } },
  {
    manager: 'kubectl-set', operation: 'Update', fieldsType: 'FieldsV1',
    fieldsV1: { 'f:spec': { 'f:template': { 'f:spec': { 'f:containers': { 'k:{"name":"web"}': { 'f:image': {} } } } } } },
  },
  {
    manager: 'kube-controller-manager', operation: 'Update', subresource: 'status', fieldsType: 'FieldsV1',
    fieldsV1: { 'f:metadata': { 'f:annotations': { '.': {}, 'f:deployment.kubernetes.io/revision': {} } }, 'f:status': { 'f:replicas': {} } },
  },
];

function deployment(): Record<string, unknown> {
  return {
    metadata: { name: 'web', labels: { app: 'web' }, annotations: { 'deployment.kubernetes.io/revision': '2' } },
    spec: {
      replicas: 5,
      template: {
        spec: {
          containers: [
            { name: 'web', image: 'web:2', ports: [{ containerPort: 8080, protocol: 'TCP' }] },
            { name: 'sidecar', image: 'proxy:1' },
          ],
        },
      },
    },
    status: { replicas: 5, ready: 5 },
  };
}

describe('managed-fields', () => {
  it('managed-fields - fieldSetsOf takes every entry of the manager, of any operation or subresource', () => {
    assert.deepEqual(fieldSetsOf(MANAGED_FIELDS, 'kubectl'), [{ 'f:spec': { 'f:replicas': {} } }]);
    assert.equal(fieldSetsOf(MANAGED_FIELDS, 'nobody').length, 0);
    assert.deepEqual(fieldSetsOf(undefined, 'helm'), []);
    assert.deepEqual(fieldSetsOf([null, 'x', { manager: 'helm' }], 'helm'), []);
  });

  it('managed-fields - matchingIndices finds list items by key fields, value and index', () => {
    const list = [{ name: 'a', port: 1 }, { name: 'b', port: 2 }, { name: 'a', port: 3 }];
    assert.deepEqual(matchingIndices(list, 'k:{"name":"a"}'), [0, 2]);
    assert.deepEqual(matchingIndices(list, 'k:{"name":"a","port":3}'), [2]);
    assert.deepEqual(matchingIndices(list, 'k:{"name":"c"}'), []);
    assert.deepEqual(matchingIndices(['x', 'y', 'x'], 'v:"x"'), [0, 2]);
    assert.deepEqual(matchingIndices([1, 2], 'v:2'), [1]);
    assert.deepEqual(matchingIndices(list, 'i:1'), [1]);
    assert.deepEqual(matchingIndices(list, 'i:9'), []);
    assert.deepEqual(matchingIndices(list, 'i:-1'), []);
    assert.deepEqual(matchingIndices(list, 'k:{not json'), []);
    assert.deepEqual(matchingIndices(list, 'f:name'), []);
  });

  it('managed-fields - removes a leaf a manager owns, wherever the subresource wrote it', () => {
    const object = deployment();
    removeOwnedFields(object, fieldSetsOf(MANAGED_FIELDS, 'kubectl'));
    const expected = deployment();
    delete (expected.spec as Record<string, unknown>).replicas;
    assert.deepEqual(object, expected);
  });

  it('managed-fields - finds list items by their keys, leaving what others own', () => {
    const object = deployment();
    removeOwnedFields(object, fieldSetsOf(MANAGED_FIELDS, 'kubectl-set'));
    const containers = ((object.spec as { template: { spec: { containers: unknown[] } } }).template.spec.containers);
    assert.deepEqual(containers, [{ name: 'web', ports: [{ containerPort: 8080, protocol: 'TCP' }] }, { name: 'sidecar', image: 'proxy:1' }]);
  });

  it('managed-fields - an owned node (".") goes when nothing is left in it, a shared one stays', () => {
    const object = deployment();
    removeOwnedFields(object, fieldSetsOf(MANAGED_FIELDS, 'kube-controller-manager'));
    assert.equal((object.metadata as Record<string, unknown>).annotations, undefined);
    assert.deepEqual(object.status, { ready: 5 });

    const shared = deployment();
    ((shared.metadata as { annotations: Record<string, string> }).annotations).other = 'x';
    removeOwnedFields(shared, fieldSetsOf(MANAGED_FIELDS, 'kube-controller-manager'));
    assert.deepEqual((shared.metadata as Record<string, unknown>).annotations, { other: 'x' });
  });

  it('managed-fields - a list item owned whole goes; a shared one keeps what others own', () => {
    const object = deployment();
    removeOwnedFields(object, fieldSetsOf(MANAGED_FIELDS, 'helm'));
    const containers = ((object.spec as { template: { spec: { containers: unknown[] } } }).template.spec.containers);
    // The port item was helm's alone; the web container keeps the image kubectl-set owns.
    assert.deepEqual(containers, [{ image: 'web:2', ports: [] }, { name: 'sidecar', image: 'proxy:1' }]);
    assert.deepEqual((object.metadata as Record<string, unknown>).labels, {});

    const sidecar = deployment();
    const owner = { 'f:spec': { 'f:template': { 'f:spec': { 'f:containers': { 'k:{"name":"sidecar"}': { '.': {}, 'f:name': {}, 'f:image': {} } } } } } };
    removeOwnedFields(sidecar, [owner]);
    assert.deepEqual((sidecar.spec as { template: { spec: { containers: { name: string }[] } } }).template.spec.containers.map((c) => c.name), ['web']);
  });

  it('managed-fields - fields the object lacks and malformed tries are skipped', () => {
    const object = { spec: { replicas: 1 } };
    removeOwnedFields(object, [{ 'f:status': { 'f:x': {} }, 'f:spec': { 'f:replicas': 'not a node', 'k:{"a":1}': {} } }]);
    assert.deepEqual(object, { spec: { replicas: 1 } });
    removeOwnedFields(object, [{}]);
    assert.deepEqual(object, { spec: { replicas: 1 } }, 'the object itself always stays');
  });
});
