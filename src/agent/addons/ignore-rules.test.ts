import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { IgnoreRule } from '../../domain/addon-spec/policy.ts';
import {
  applyIgnoreRules, compileIgnoreRules, IgnoreRuleError, ignoresWholeObject, keepIgnoredFields, removePath, removePaths,
  ruleCovers, type ObjectIdentity,
} from './ignore-rules.ts';
import { formatPointer, parsePointer } from '../../domain/json-pointer.ts';

const WEB: ObjectIdentity = { kind: 'Deployment', name: 'web', namespace: 'apps' };

function deployment(): Record<string, unknown> {
  return {
    kind: 'Deployment',
    metadata: {
      name: 'web',
      annotations: { 'a/b': '1', 'c~d': '2' },
      managedFields: [{ manager: 'kubectl', operation: 'Update', subresource: 'scale', fieldsV1: { 'f:spec': { 'f:replicas': {} } } }],
    },
    spec: { replicas: 5, template: { spec: { containers: [{ name: 'web', image: 'web:1' }, { name: 'proxy', image: 'proxy:1' }] } } },
  };
}

const apply = (rules: IgnoreRule[], object = deployment(), identity = WEB, options = {}): { ignored: boolean; object: Record<string, unknown> } => (
  { ignored: applyIgnoreRules(object, compileIgnoreRules(rules), identity, options), object });
const spec = (object: Record<string, unknown>): { replicas?: number; template: { spec: { containers: Record<string, string>[] } } } =>
  object.spec as ReturnType<typeof spec>;

describe('ignore-rules', () => {
  it('ignore-rules - pointers unescape ~1 to / and ~0 to ~, in that order', () => {
    assert.deepEqual(parsePointer(''), []);
    assert.deepEqual(parsePointer('/'), ['']);
    assert.deepEqual(parsePointer('/spec/replicas'), ['spec', 'replicas']);
    assert.deepEqual(parsePointer('/metadata/annotations/a~1b'), ['metadata', 'annotations', 'a/b']);
    assert.deepEqual(parsePointer('/c~0d'), ['c~d']);
    assert.deepEqual(parsePointer('/~01'), ['~1'], '~01 is "~1", not "/"');
    assert.throws(() => parsePointer('spec'), /does not start with/);
    assert.throws(() => parsePointer('/a~2'), /"~" that is not/);
    assert.equal(formatPointer(['metadata', 'annotations', 'a/b', 'c~d', 0]), '/metadata/annotations/a~1b/c~0d/0');
    assert.equal(formatPointer([]), '');
  });

  it('ignore-rules - removing a path the object lacks, or through a scalar, changes nothing', () => {
    const object = deployment();
    for (const path of [['spec', 'strategy'], ['spec', 'replicas', 'x'], ['spec', 'template', 'spec', 'containers', 'x'], ['spec', 'template', 'spec', 'containers', 9], ['nope', 'a']]) {
      removePath(object, path);
    }
    assert.deepEqual(object, deployment());
    removePath(object, ['spec', 'template', 'spec', 'containers', '1']);
    assert.equal(spec(object).template.spec.containers.length, 1, 'a pointer token indexes an array');
  });

  it('ignore-rules - several paths are removed from the last, so array indices do not shift under them', () => {
    const object = { items: ['a', 'b', 'c', 'd'], nested: [{ x: 1, y: 2 }] };
    removePaths(object, [['items', 0], ['items', 2], ['nested', 0, 'x'], ['nested', 0]]);
    assert.deepEqual(object, { items: ['b', 'd'], nested: [] });
  });

  it('ignore-rules - a target covers objects matching every field it names', () => {
    assert.ok(ruleCovers({ pointer: '/x' }, WEB));
    assert.ok(ruleCovers({ pointer: '/x', target: { kind: 'Deployment' } }, WEB));
    assert.ok(ruleCovers({ pointer: '/x', target: { kind: 'Deployment', name: 'web', namespace: 'apps' } }, WEB));
    assert.ok(!ruleCovers({ pointer: '/x', target: { kind: 'StatefulSet' } }, WEB));
    assert.ok(!ruleCovers({ pointer: '/x', target: { name: 'api' } }, WEB));
    assert.ok(!ruleCovers({ pointer: '/x', target: { namespace: 'other' } }, WEB));
    assert.ok(!ruleCovers({ pointer: '/x', target: { namespace: 'apps' } }, { kind: 'ClusterRole', name: 'web' }));
  });

  it('ignore-rules - a pointer rule removes its path from the objects it targets only', () => {
    assert.equal(spec(apply([{ pointer: '/spec/replicas' }]).object).replicas, undefined);
    assert.equal(spec(apply([{ pointer: '/spec/replicas', target: { kind: 'StatefulSet' } }]).object).replicas, 5);
    const { object } = apply([{ pointer: '/metadata/annotations/a~1b' }, { pointer: '/spec/template/spec/containers/0/image' }, { pointer: '/no/such/path' }]);
    assert.deepEqual((object.metadata as Record<string, unknown>).annotations, { 'c~d': '2' });
    assert.deepEqual(spec(object).template.spec.containers[0], { name: 'web' });
  });

  it('ignore-rules - a jq rule removes every path it names', () => {
    const { object } = apply([{ jq: '.spec.template.spec.containers[] | select(.name == "proxy") | .image' }, { jq: '.spec.replicas' }]);
    assert.deepEqual(spec(object).template.spec.containers, [{ name: 'web', image: 'web:1' }, { name: 'proxy' }]);
    assert.equal(spec(object).replicas, undefined);
    const items = apply([{ jq: '.spec.template.spec.containers[]' }]).object;
    assert.deepEqual(spec(items).template.spec.containers, []);
  });

  it('ignore-rules - pointer "" and jq "." or a matching select leave the whole object out', () => {
    assert.equal(apply([{ pointer: '' }]).ignored, true);
    assert.equal(apply([{ pointer: '', target: { kind: 'Service' } }]).ignored, false);
    assert.equal(apply([{ jq: '.' }]).ignored, true);
    assert.equal(apply([{ jq: 'select(.kind == "Deployment")' }]).ignored, true);
    assert.equal(apply([{ jq: 'select(.kind == "Service")' }]).ignored, false);
  });

  it('ignore-rules - a manager rule removes what that manager owns, by the managedFields given', () => {
    assert.equal(spec(apply([{ manager: 'kubectl' }]).object).replicas, undefined);
    assert.equal(spec(apply([{ manager: 'helm' }]).object).replicas, 5);
    // The predicted object gets the live object's managedFields.
    const predicted = { spec: { replicas: 2 }, metadata: { managedFields: [{ manager: 'helm', fieldsV1: { 'f:spec': { 'f:replicas': {} } } }] } };
    const live = deployment();
    applyIgnoreRules(predicted, compileIgnoreRules([{ manager: 'kubectl' }]), WEB, { managedFields: (live.metadata as Record<string, unknown>).managedFields });
    assert.deepEqual(predicted.spec, {});
  });

  it('ignore-rules - ownership is read before pointer and jq rules remove anything', () => {
    const { object } = apply([{ pointer: '/metadata/managedFields' }, { manager: 'kubectl' }]);
    assert.equal(spec(object).replicas, undefined);
    assert.equal((object.metadata as Record<string, unknown>).managedFields, undefined);
  });

  it('ignore-rules - a rule that cannot be used is refused naming it, before anything is applied', () => {
    assert.throws(() => compileIgnoreRules([{ pointer: '/ok' }, { jq: 'del(.spec)' }]), (error: unknown) => {
      assert.ok(error instanceof IgnoreRuleError);
      assert.equal(error.code, 'IGNORE_RULE_INVALID');
      assert.match(error.message, /^ignoreDifferences\[1\]: jq "del\(\.spec\)": unexpected "del"/);
      return true;
    });
    assert.throws(() => compileIgnoreRules([{ pointer: 'spec' }]), /ignoreDifferences\[0\]: pointer "spec"/);
    assert.throws(() => compileIgnoreRules([{}]), /ignoreDifferences\[0\]: has none of/);
  });

  it('ignore-rules - a jq rule naming too many paths fails when applied, naming the rule', () => {
    const wide = { items: Array.from({ length: 200 }, () => Array.from({ length: 200 }, () => 1)) };
    assert.throws(() => apply([{ jq: '.items[][]' }], wide), /ignoreDifferences\[0\]: jq "\.items\[\]\[\]": the expression names more than/);
  });

  it('ignore-rules - keepIgnoredFields gives a pointer path the live value, adds it, or removes it where live has the parent only', () => {
    const keep = (rules: IgnoreRule[], body: Record<string, unknown>, live = deployment()): Record<string, unknown> => {
      assert.equal(keepIgnoredFields(body, live, compileIgnoreRules(rules), WEB), false);
      return body;
    };
    assert.equal(spec(keep([{ pointer: '/spec/replicas' }], { spec: { replicas: 2 } })).replicas, 5);
    assert.deepEqual(keep([{ pointer: '/spec/replicas' }], { kind: 'Deployment' }), { kind: 'Deployment', spec: { replicas: 5 } }, 'a map on the way is created');
    const scaledToNothing = deployment();
    delete (scaledToNothing.spec as Record<string, unknown>).replicas;
    assert.deepEqual(keep([{ pointer: '/spec/replicas' }], { spec: { replicas: 2, paused: true } }, scaledToNothing), { spec: { paused: true } });
    assert.deepEqual(keep([{ pointer: '/status/replicas' }, { pointer: '/no/such' }], { spec: { replicas: 2 } }), { spec: { replicas: 2 } }, 'live lacks the parent');
    assert.deepEqual(keep([{ pointer: '/metadata/annotations/a~1b' }], { metadata: { name: 'web' } }), { metadata: { name: 'web', annotations: { 'a/b': '1' } } });
    assert.equal(spec(keep([{ pointer: '/spec/replicas', target: { kind: 'StatefulSet' } }], { spec: { replicas: 2 } })).replicas, 2);
  });

  it('ignore-rules - keepIgnoredFields copies jq paths named in either object, never creating a list item', () => {
    const body = { spec: { template: { spec: { containers: [{ name: 'web', image: 'web:2', ports: [80] }] } } } };
    keepIgnoredFields(body, deployment(), compileIgnoreRules([{ jq: '.spec.template.spec.containers[].image' }]), WEB);
    assert.deepEqual(body.spec.template.spec.containers, [{ name: 'web', image: 'web:1', ports: [80] }], 'the second live container is not added half');
    const copied = { spec: { template: { spec: { containers: [{ name: 'web' }] } } } };
    keepIgnoredFields(copied, deployment(), compileIgnoreRules([{ pointer: '/spec/template' }]), WEB);
    assert.deepEqual(copied.spec, { template: spec(deployment()).template });
    const live = deployment();
    const deep = { spec: {} as Record<string, unknown> };
    keepIgnoredFields(deep, live, compileIgnoreRules([{ pointer: '/spec/template' }]), WEB);
    assert.notEqual(deep.spec.template, spec(live).template, 'a copy, not the live value itself');
  });

  it('ignore-rules - keepIgnoredFields gives what a manager owns its live value where the body renders it, list items by key', () => {
    const live = deployment();
    (live.metadata as Record<string, unknown>).managedFields = [{
      manager: 'kubectl-set', operation: 'Update',
      fieldsV1: { 'f:spec': { 'f:paused': {}, 'f:template': { 'f:spec': { 'f:containers': { 'k:{"name":"proxy"}': { 'f:image': {} }, 'k:{"name":"gone"}': { 'f:image': {} } } } } } },
    }];
    const proxy = { name: 'proxy', image: 'proxy:9' };
    const body = { spec: { replicas: 2, template: { spec: { containers: [proxy, { name: 'web', image: 'web:9' }] } } } };
    keepIgnoredFields(body, live, compileIgnoreRules([{ manager: 'kubectl-set' }, { manager: 'kubectl', target: { kind: 'Service' } }]), WEB);
    assert.deepEqual(body, { spec: { replicas: 2, template: { spec: { containers: [{ name: 'proxy', image: 'proxy:1' }, { name: 'web', image: 'web:9' }] } } } });
    const fromOption = { spec: { replicas: 2 } };
    keepIgnoredFields(fromOption, { spec: { replicas: 5 } }, compileIgnoreRules([{ manager: 'kubectl' }]), WEB, { managedFields: (deployment().metadata as Record<string, unknown>).managedFields });
    assert.deepEqual(fromOption, { spec: { replicas: 5 } }, 'ownership from the managedFields given');
  });

  it('ignore-rules - a rule naming the whole object, in the body or live, leaves the body as it is', () => {
    const rules = compileIgnoreRules([{ jq: 'select(.metadata.labels.frozen == "yes")' }]);
    const body = { kind: 'Deployment', spec: { replicas: 2 } };
    const frozen = { ...deployment(), metadata: { labels: { frozen: 'yes' } } };
    assert.equal(ignoresWholeObject(body, rules, WEB), false);
    assert.equal(ignoresWholeObject(frozen, rules, WEB), true);
    assert.equal(keepIgnoredFields(body, frozen, rules, WEB), true);
    assert.deepEqual(body, { kind: 'Deployment', spec: { replicas: 2 } });
    assert.equal(ignoresWholeObject(body, compileIgnoreRules([{ pointer: '' }]), WEB), true);
    assert.equal(ignoresWholeObject(body, compileIgnoreRules([{ pointer: '', target: { kind: 'Service' } }]), WEB), false);
  });
});
