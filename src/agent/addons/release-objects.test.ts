// parseManifest on helm's output. KindResolver and readReleaseHealth talk to
// the API server, so they are tested against the real test cluster in
// test/e2e/release-health.test.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ReleaseManifestError, parseManifest } from './release-objects.ts';

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
