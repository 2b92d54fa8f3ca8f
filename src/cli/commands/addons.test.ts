import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseAddonSpec } from '../../hub/addons/index.ts';
import { buildProgram } from '../program.ts';
import { describeSource, specFromFlags, type AddonSetFlags } from './addons.ts';

const BASE: AddonSetFlags = { chartRepo: 'https://charts.example.com', chart: 'web', chartVersion: '1.2.3', namespace: 'web' };
const noFile = (path: string): string => {
  throw new Error(`ENOENT: no such file, open '${path}'`);
};

/** The flags commander parses from an `uplink addons set prod web ...` command line. */
function parsedFlags(args: string[]): AddonSetFlags {
  const program = buildProgram().exitOverride();
  const set = program.commands.find((c) => c.name() === 'addons')?.commands.find((c) => c.name() === 'set');
  assert.ok(set);
  set.exitOverride().configureOutput({ writeErr: () => undefined }).action(() => undefined);
  program.parse(['addons', 'set', 'prod', 'web', ...args], { from: 'user' });
  return set.opts<AddonSetFlags>();
}

describe('addons command', () => {
  it('addons - the fewest flags give a spec the hub completes with its defaults', () => {
    const spec = specFromFlags(BASE, noFile);
    assert.deepEqual(spec, {
      source: { repo: { url: 'https://charts.example.com', chart: 'web' } },
      version: '1.2.3', namespace: 'web', strictHealthCheck: false, dependsOn: [],
      syncPolicy: { automated: true, selfHeal: false, autoPrune: false },
    });
    assert.equal(parseAddonSpec(spec).revisionHistoryLimit, 10);
  });

  it('addons - every flag lands in its spec field', () => {
    const files: Record<string, string> = { 'values.yaml': 'replicaCount: 2\n' };
    const spec = specFromFlags({
      ...BASE, values: 'values.yaml', historyLimit: 3, strictHealth: true, dependsOn: 'db, cache,', selfHeal: true, autoPrune: true, manual: true,
    }, (path) => files[path] ?? noFile(path));
    assert.deepEqual(spec, {
      source: { repo: { url: 'https://charts.example.com', chart: 'web' } },
      version: '1.2.3', namespace: 'web', values: 'replicaCount: 2\n', revisionHistoryLimit: 3, strictHealthCheck: true,
      dependsOn: ['db', 'cache'], syncPolicy: { automated: false, selfHeal: true, autoPrune: true },
    });
    assert.equal(specFromFlags({ ...BASE, valuesInline: 'a: 1' }, noFile).values, 'a: 1');
  });

  it('addons - OCI and Git sources; the Git ref and token Secret only when given', () => {
    const oci = { chartVersion: '^1', namespace: 'web', oci: 'oci://registry.example.com/charts/web' };
    assert.deepEqual(specFromFlags(oci, noFile).source, { oci: { ref: 'oci://registry.example.com/charts/web' } });
    const git = { chartVersion: '1.0.0', namespace: 'web', git: 'https://git.example.com/c.git', gitPath: 'charts/web' };
    assert.deepEqual(specFromFlags(git, noFile).source, { git: { url: 'https://git.example.com/c.git', path: 'charts/web' } });
    assert.deepEqual(specFromFlags({ ...git, gitRef: 'v1', gitTokenSecret: 'git-token' }, noFile).source,
      { git: { url: 'https://git.example.com/c.git', path: 'charts/web', ref: 'v1', tokenSecret: 'git-token' } });
  });

  it('addons - flag combinations that name no single source are refused by name', () => {
    const cases: [AddonSetFlags, RegExp][] = [
      [{ chartVersion: '1', namespace: 'web' }, /^Error: give exactly one chart source: --chart-repo URL --chart NAME, --oci REF, or --git URL --git-path PATH$/],
      [{ ...BASE, oci: 'oci://r/web' }, /^Error: give exactly one chart source/],
      [{ ...BASE, chart: undefined }, /^Error: --chart-repo needs --chart NAME$/],
      [{ chartVersion: '1', namespace: 'web', oci: 'oci://r/web', chart: 'web' }, /^Error: --chart goes with --chart-repo$/],
      [{ ...BASE, gitRef: 'main' }, /^Error: --git-ref goes with --git$/],
      [{ chartVersion: '1', namespace: 'web', git: 'https://g/c.git' }, /^Error: --git needs --git-path PATH/],
      [{ ...BASE, values: 'v.yaml', valuesInline: 'a: 1' }, /^Error: give -f FILE or --values-inline YAML, not both$/],
      [{ ...BASE, values: 'missing.yaml' }, /^Error: cannot read the values file missing.yaml: ENOENT/],
    ];
    for (const [flags, message] of cases) assert.throws(() => specFromFlags(flags, noFile), message);
  });

  it('addons - the command line parses into the flags (--chart-version, as the root owns --version)', () => {
    const flags = parsedFlags([
      '--chart-repo', 'https://charts.example.com', '--chart', 'web', '--chart-version', '^1.2', '-n', 'apps',
      '--history-limit', '4', '--depends-on', 'db', '--self-heal', '--values-inline', 'a: 1',
    ]);
    assert.deepEqual(specFromFlags(flags, noFile), {
      source: { repo: { url: 'https://charts.example.com', chart: 'web' } }, version: '^1.2', namespace: 'apps', values: 'a: 1',
      revisionHistoryLimit: 4, strictHealthCheck: false, dependsOn: ['db'], syncPolicy: { automated: true, selfHeal: true, autoPrune: false },
    });
    assert.throws(() => parsedFlags(['--oci', 'oci://r/web', '-n', 'apps']), /required option '--chart-version <version>' not specified/);
    assert.throws(() => parsedFlags(['--oci', 'oci://r/web', '--chart-version', '1', '-n', 'a', '--history-limit', 'x']), /--history-limit must be a whole number/);
  });

  it('addons - a source reads in one table cell', () => {
    assert.equal(describeSource({ repo: { url: 'https://charts.example.com', chart: 'web' } }), 'web (https://charts.example.com)');
    assert.equal(describeSource({ oci: { ref: 'oci://r/web' } }), 'oci://r/web');
    assert.equal(describeSource({ git: { url: 'https://g/c.git', path: 'charts/web', ref: 'HEAD', tokenSecret: null } }), 'https://g/c.git//charts/web@HEAD');
  });
});
