import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AddonSpecError } from './fields.ts';
import { checkAddonName, parseAddonSpec } from './spec.ts';
import { assertRefused, minimalSpec } from './spec.test-helper.ts';

describe('add-on spec', () => {
  it('spec - a minimal spec comes back with every default filled in', () => {
    assert.deepEqual(parseAddonSpec(minimalSpec()), {
      source: { repo: { url: 'https://charts.example.com', chart: 'web' } },
      version: '1.2.3',
      namespace: 'web',
      values: '',
      revisionHistoryLimit: 10,
      strictHealthCheck: false,
      dependsOn: [],
      syncPolicy: { automated: true, selfHeal: false, autoPrune: false },
      ignoreDifferences: [],
      syncWindow: null,
      retry: { limit: 5, backoff: { duration: '5s', factor: 2, maxDuration: '3m' } },
    });
  });

  it('spec - given fields are kept, the values text exactly as written', () => {
    const values = '# replicas for prod\nreplicaCount: 3\nimage:\n  tag: "1.2"   # pinned\n';
    const spec = parseAddonSpec(minimalSpec({
      values, revisionHistoryLimit: 3, strictHealthCheck: true, dependsOn: ['cert-manager', 'ingress'], version: '^1.2',
    }));
    assert.equal(spec.values, values);
    assert.equal(spec.revisionHistoryLimit, 3);
    assert.equal(spec.strictHealthCheck, true);
    assert.deepEqual(spec.dependsOn, ['cert-manager', 'ingress']);
    assert.equal(spec.version, '^1.2');
  });

  it('spec - the same input gives the same JSON, so replacing with it is no change', () => {
    const input = minimalSpec({ values: 'a: 1\n', syncPolicy: { selfHeal: true } });
    assert.equal(JSON.stringify(parseAddonSpec(input)), JSON.stringify(parseAddonSpec(structuredClone(input))));
  });

  it('spec - version: an exact version or a range; anything else is refused by name', () => {
    for (const version of ['1.2.3', 'v1.2.3', '1.2.3-rc.1', '^1.2', '~1.2.3', '>=1.0.0 <2.0.0', '1.x', '*', '^1 || ^2']) {
      assert.doesNotThrow(() => parseAddonSpec(minimalSpec({ version })), version);
    }
    assert.equal(parseAddonSpec(minimalSpec({ version: ' 1.2.3 ' })).version, '1.2.3');
    assertRefused({ version: '>=1.x.y' }, 'version', "version '>=1.x.y' is not a semver version or range");
    assertRefused({ version: 'latest' }, 'version', "version 'latest' is not a semver version or range");
    assertRefused({ version: '   ' }, 'version', "version '   ' is not a semver version or range");
    assertRefused({ version: '' }, 'version', 'version must not be empty');
    assertRefused({ version: undefined }, 'version', 'version is required');
    assertRefused({ version: 1.2 }, 'version', 'version must be a string, got 1.2');
  });

  it('spec - namespace must be a DNS label', () => {
    assertRefused({ namespace: 'Web' }, 'namespace', /^namespace 'Web' is not a DNS-1123 label/);
    assertRefused({ namespace: 'a'.repeat(64) }, 'namespace', /^namespace is longer than 63 characters/);
    assertRefused({ namespace: undefined }, 'namespace', 'namespace is required');
  });

  it('spec - values must be YAML text holding one mapping, or empty', () => {
    for (const values of ['', '# only a comment\n', 'a: 1', '{}', 'list: [1, 2]\nmap: {x: y}\n']) {
      assert.doesNotThrow(() => parseAddonSpec(minimalSpec({ values })), values);
    }
    assertRefused({ values: 'a: [1, 2' }, 'values', /^values is not valid YAML: /);
    assertRefused({ values: 'a: 1\na: 2\n' }, 'values', /^values is not valid YAML: .*unique/i);
    assertRefused({ values: 'a: 1\n---\nb: 2\n' }, 'values', /^values is not valid YAML: /);
    assertRefused({ values: '- a\n- b\n' }, 'values', 'values must be a YAML mapping (key: value), got a list');
    assertRefused({ values: 'just text' }, 'values', 'values must be a YAML mapping (key: value), got a single value');
    assertRefused({ values: { a: 1 } }, 'values', 'values must be YAML text, got {"a":1}');
    assertRefused({ values: `a: "${'x'.repeat(300 * 1024)}"` }, 'values', 'values is larger than 256 KiB');
  });

  it('spec - revisionHistoryLimit is a whole number from 1 to 100', () => {
    for (const limit of [0, 101, 2.5, '3', -1]) {
      assertRefused({ revisionHistoryLimit: limit }, 'revisionHistoryLimit', /^revisionHistoryLimit must be a whole number from 1 to 100, got /);
    }
    assert.equal(parseAddonSpec(minimalSpec({ revisionHistoryLimit: 100 })).revisionHistoryLimit, 100);
  });

  it('spec - strictHealthCheck is a boolean', () => {
    assertRefused({ strictHealthCheck: 'yes' }, 'strictHealthCheck', "strictHealthCheck must be true or false, got 'yes'");
  });

  it('spec - dependsOn holds distinct add-on names', () => {
    assertRefused({ dependsOn: 'db' }, 'dependsOn', "dependsOn must be a list, got 'db'");
    assertRefused({ dependsOn: ['db', 'Db'] }, 'dependsOn[1]', /^dependsOn\[1\] 'Db' is not a DNS-1123 label/);
    assertRefused({ dependsOn: ['db', 'db'] }, 'dependsOn[1]', "dependsOn lists 'db' twice");
    assertRefused({ dependsOn: [3] }, 'dependsOn[0]', 'dependsOn[0] must be an add-on name, got 3');
    assertRefused({ dependsOn: Array.from({ length: 51 }, (_, i) => `a${i}`) }, 'dependsOn', 'dependsOn has 51 entries, at most 50 are allowed');
  });

  it('spec - an unknown field is refused by its path, the body must be an object', () => {
    assertRefused({ name: 'web' }, 'name', /^unknown field 'name' \(known: source, version, /);
    assertRefused({ syncPolicy: { prune: true } }, 'syncPolicy.prune', /^unknown field 'syncPolicy.prune' \(known: automated, selfHeal, autoPrune\)/);
    for (const body of [null, [], 'spec', 3]) {
      assert.throws(() => parseAddonSpec(body), (error: unknown) => error instanceof AddonSpecError && /^the add-on spec must be an object/.test(error.message));
    }
  });

  it('spec - add-on names are DNS labels of at most 53 characters (Helm release names)', () => {
    assert.equal(checkAddonName('cert-manager'), 'cert-manager');
    assert.equal(checkAddonName('a'.repeat(53)), 'a'.repeat(53));
    for (const name of ['a'.repeat(54), 'Web', '-web', 'web_1', '']) {
      assert.throws(() => checkAddonName(name), /^AddonSpecError: name '.*' is not a DNS-1123 label .*at most 53 characters/);
    }
  });
});
