import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseManifestObjects, refusal } from './release-apply.ts';
import { ReleaseManifestError } from './release-objects.ts';

describe('release-apply', () => {
  it('release-apply - parseManifestObjects keeps whole bodies, flattens Lists and skips hooks and non-objects', () => {
    const objects = parseManifestObjects(`
---
# Source: web/templates/cm.yaml
apiVersion: v1
kind: ConfigMap
metadata:
  name: web
  namespace: apps
data:
  GREETING: hello
---
# Source: web/templates/list.yaml
apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: Service
    metadata: { name: web }
    spec: { ports: [{ port: 80 }] }
---
# Source: web/templates/hook.yaml
apiVersion: batch/v1
kind: Job
metadata:
  name: migrate
  annotations: { helm.sh/hook: pre-upgrade }
---
just a string
---
apiVersion: v1
kind: ConfigMap
metadata: { labels: { nameless: "true" } }
`);
    assert.deepEqual(objects.map((o) => o.ref), [
      { apiVersion: 'v1', kind: 'ConfigMap', name: 'web', namespace: 'apps' },
      { apiVersion: 'v1', kind: 'Service', name: 'web' },
    ]);
    assert.deepEqual(objects[0]?.body.data, { GREETING: 'hello' });
    assert.deepEqual(objects[1]?.body.spec, { ports: [{ port: 80 }] });
  });

  it('release-apply - values read as Kubernetes reads YAML (go-yaml v2, YAML 1.1 without timestamps)', () => {
    const [object] = parseManifestObjects(`
apiVersion: v1
kind: ConfigMap
metadata: { name: c }
flags: { a: yes, b: off, c: "yes", d: 0777, e: 2001-12-14, f: 1:20, g: 1.5, h: ~ }
`);
    assert.deepEqual(object?.body.flags, { a: true, b: false, c: 'yes', d: 511, e: '2001-12-14', f: '1:20', g: 1.5, h: null });
  });

  it('release-apply - a repeated key and a repeated object: the last wins, as helm applied it', () => {
    const objects = parseManifestObjects(`
apiVersion: v1
kind: ConfigMap
metadata: { name: c }
data: { a: "1", a: "2" }
---
apiVersion: v1
kind: ConfigMap
metadata: { name: other }
---
apiVersion: v1
kind: ConfigMap
metadata: { name: c }
data: { b: "3" }
`);
    assert.deepEqual(objects.map((o) => [o.ref.name, o.body.data]), [['other', undefined], ['c', { b: '3' }]]);
    assert.deepEqual(parseManifestObjects('apiVersion: v1\nkind: ConfigMap\nmetadata: { name: c }\ndata: { a: "1", a: "2" }\n')[0]?.body.data, { a: '2' });
  });

  it('release-apply - a manifest that is not YAML is a ReleaseManifestError naming the document', () => {
    assert.throws(() => parseManifestObjects('apiVersion: v1\n---\nkind: [unclosed\n'), (error: unknown) => {
      assert.ok(error instanceof ReleaseManifestError);
      assert.match(error.message, /^manifest document 2: /);
      return true;
    });
    assert.deepEqual(parseManifestObjects(''), []);
  });

  it('release-apply - refusal keeps the status, reason, fields and denier, never the message (it quotes values)', () => {
    const invalid = {
      kind: 'Status', status: 'Failure', reason: 'Invalid', code: 422,
      message: 'Secret "db" is invalid: data[password]: Invalid value: "hunter2": too long',
      details: { causes: [{ reason: 'FieldValueInvalid', message: 'Invalid value: "hunter2"', field: 'data[password]' }, { field: 'data[password]' }] },
    };
    assert.equal(refusal({ status: 422, body: invalid }), 'HTTP 422 Invalid at data[password]');
    const webhook = { reason: 'BadRequest', message: 'admission webhook "validate.example.com" denied the request: value hunter2 is not allowed' };
    assert.equal(refusal({ status: 400, body: webhook }), 'HTTP 400 BadRequest by validate.example.com');
    const policy = { reason: 'Invalid', message: "ValidatingAdmissionPolicy 'no-latest' with binding 'b' denied request: image hunter2:latest" };
    assert.equal(refusal({ status: 422, body: policy }), 'HTTP 422 Invalid by no-latest');
    assert.equal(refusal({ status: 500, body: { message: 'hunter2' } }), 'HTTP 500');
    assert.equal(refusal({ status: 503, body: undefined }), 'HTTP 503');
    assert.equal(refusal({ status: 409, body: { reason: 'has spaces and hunter2' } }), 'HTTP 409');
  });
});
