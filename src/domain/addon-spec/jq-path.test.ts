import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileJqPath, JqPathError, MAX_JQ_PATHS, MAX_JQ_STEPS } from './jq-path.ts';

const deployment = {
  kind: 'Deployment',
  metadata: { name: 'web', labels: { 'app.kubernetes.io/name': 'web', tier: 'front' } },
  spec: {
    replicas: 2,
    template: {
      spec: {
        containers: [
          { name: 'web', image: 'web:1', env: [{ name: 'A', value: '1' }] },
          { name: 'sidecar', image: 'proxy:2' },
        ],
      },
    },
  },
};

const paths = (expression: string, value: unknown = deployment): unknown => compileJqPath(expression).paths(value);
const containers = ['spec', 'template', 'spec', 'containers'];

describe('jq-path', () => {
  it('jq-path - field access, quoted keys and bracketed keys name one path each', () => {
    assert.deepEqual(paths('.spec.replicas'), [['spec', 'replicas']]);
    assert.deepEqual(paths('.metadata.labels."app.kubernetes.io/name"'), [['metadata', 'labels', 'app.kubernetes.io/name']]);
    assert.deepEqual(paths('.metadata.labels["app.kubernetes.io/name"]'), [['metadata', 'labels', 'app.kubernetes.io/name']]);
    assert.deepEqual(paths('.metadata | .labels | .tier'), [['metadata', 'labels', 'tier']]);
    assert.deepEqual(paths(' . spec . replicas '), [['spec', 'replicas']]);
  });

  it('jq-path - "." names the whole value', () => {
    assert.deepEqual(paths('.'), [[]]);
  });

  it('jq-path - indices count from the start, or from the end when negative', () => {
    assert.deepEqual(paths('.spec.template.spec.containers[0].image'), [[...containers, 0, 'image']]);
    assert.deepEqual(paths('.spec.template.spec.containers[-1].image'), [[...containers, 1, 'image']]);
  });

  it('jq-path - [] iterates array items and object values', () => {
    assert.deepEqual(paths('.spec.template.spec.containers[].image'), [[...containers, 0, 'image'], [...containers, 1, 'image']]);
    assert.deepEqual(paths('.metadata.labels[]'), [['metadata', 'labels', 'app.kubernetes.io/name'], ['metadata', 'labels', 'tier']]);
    assert.deepEqual(paths('.spec.template.spec.containers[]?.name'), [[...containers, 0, 'name'], [...containers, 1, 'name']]);
  });

  it('jq-path - select keeps the values whose condition holds', () => {
    assert.deepEqual(paths('.spec.template.spec.containers[] | select(.name == "sidecar") | .image'), [[...containers, 1, 'image']]);
    assert.deepEqual(paths('.spec.template.spec.containers[] | select(.name != "sidecar") | .env[] | select(.name == "A")'),
      [[...containers, 0, 'env', 0]]);
    assert.deepEqual(paths('select(.kind == "Deployment")'), [[]]);
    assert.deepEqual(paths('select(.kind == "StatefulSet")'), []);
    assert.deepEqual(paths('select(.kind == "Deployment" and .spec.replicas == 2) | .spec'), [['spec']]);
    assert.deepEqual(paths('select(.kind == "StatefulSet" or .spec.replicas == 2) | .spec'), [['spec']]);
    assert.deepEqual(paths('select(.spec.paused == null) | .spec.replicas'), [['spec', 'replicas']]);
    assert.deepEqual(paths('select(.spec.paused) | .spec.replicas'), []);
    assert.deepEqual(paths('select(.spec.replicas) | .spec.replicas'), [['spec', 'replicas']]);
  });

  it('jq-path - a missing path names itself (deleting it does nothing) and never fails', () => {
    assert.deepEqual(paths('.spec.strategy.type'), [['spec', 'strategy', 'type']]);
    assert.deepEqual(paths('.spec.template.spec.volumes[]'), []);
    assert.deepEqual(paths('.spec.replicas.value'), []);
    assert.deepEqual(paths('.spec.template.spec.containers.name'), []);
    assert.deepEqual(paths('.spec.replicas[0]'), []);
    assert.deepEqual(paths('.spec.template.spec.containers[7]'), [[...containers, 7]]);
    assert.deepEqual(paths('.spec.template.spec.containers[-7]'), []);
    assert.deepEqual(paths('.a.b', null), [['a', 'b']]);
  });

  it('jq-path - anything outside the subset is refused with what was found', () => {
    const refusals: [string, RegExp][] = [
      ['del(.a)', /unexpected "del" at 1.*functions other than select are not supported/],
      ['.spec | length', /unexpected "length"/],
      ['..', /recursive descent/],
      ['.a..b', /expected a field name after "."/],
      ['.a.', /ends with "."/],
      ['.a |', /ends where a path/],
      ['.a[', /ends where an index/],
      ['.a[1.5]', /expected an index/],
      ['.a[.b]', /expected an index/],
      ['.a + 1', /unsupported character "\+" at 4/],
      ['.a, .b', /unsupported character ","/],
      ['"x"', /expected a path starting with "."/],
      ['select(.a > 1)', /unsupported character ">"/],
      ['select(.a == .b)', /expected a literal/],
      ['.["\\(x)"]', /interpolation is not supported/],
      ['', /empty/],
      ['   ', /empty/],
    ];
    for (const [expression, message] of refusals) {
      assert.throws(() => compileJqPath(expression), (error: unknown) => {
        assert.ok(error instanceof JqPathError, expression);
        assert.equal(error.code, 'JQ_PATH_UNSUPPORTED');
        assert.match(error.message, message, expression);
        return true;
      });
    }
  });

  it('jq-path - expressions are bounded in length, steps and paths named', () => {
    assert.throws(() => compileJqPath(`.${'a'.repeat(1024)}`), /longer than 1024/);
    assert.throws(() => compileJqPath('.a'.repeat(MAX_JQ_STEPS + 1)), new RegExp(`more than ${MAX_JQ_STEPS} steps`));
    compileJqPath('.a'.repeat(MAX_JQ_STEPS));
    const wide = Array.from({ length: 200 }, () => Array.from({ length: 200 }, () => 1));
    assert.throws(() => compileJqPath('.[][]').paths(wide), new RegExp(`more than ${MAX_JQ_PATHS} paths`));
  });
});
