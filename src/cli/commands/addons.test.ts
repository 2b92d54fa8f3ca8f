import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AddonStatus } from '../../link/addons.ts';
import { parseAddonSpec } from '../../hub/addons/index.ts';
import { minimalSpec } from '../../domain/addon-spec/spec.test-helper.ts';
import { sampleStatus } from '../../hub/addons/status.test-helper.ts';
import type { AddonView } from '../../hub/api/addons.ts';
import { HubApiError } from '../hub-client.ts';
import { buildProgram } from '../program.ts';
import { chartCell, formatAddonStatus, healthCell, historyRow, phaseCell, revisionCell } from './addons-status.ts';
import { formatWaitTime, generationCheck, operationCheck, waitForAddon, type WaitCheck } from './addons-wait.ts';
import { describeSource, specFromFlags, type AddonSetFlags } from './addons.ts';

const BASE: AddonSetFlags = { chartRepo: 'https://charts.example.com', chart: 'web', chartVersion: '1.2.3', namespace: 'web' };
const noFile = (path: string): string => {
  throw new Error(`ENOENT: no such file, open '${path}'`);
};

/** The arguments and flags commander parses from an `uplink addons COMMAND ...` command line. */
function parsed(command: string, args: string[]): { args: unknown[]; flags: Record<string, unknown> } {
  const program = buildProgram().exitOverride();
  const sub = program.commands.find((c) => c.name() === 'addons')?.commands.find((c) => c.name() === command);
  assert.ok(sub);
  sub.exitOverride().configureOutput({ writeErr: () => undefined }).action(() => undefined);
  program.parse(['addons', command, ...args], { from: 'user' });
  return { args: sub.processedArgs, flags: sub.opts() };
}

/** The flags commander parses from an `uplink addons set prod web ...` command line. */
function parsedFlags(args: string[]): AddonSetFlags {
  return parsed('set', ['prod', 'web', ...args]).flags as unknown as AddonSetFlags;
}

const AT = '2026-01-02T03:04:05.000Z';
const SAMPLE = sampleStatus();

/** `value`, asserted to be there. */
function present<T>(value: T | null | undefined): T {
  assert.ok(value !== null && value !== undefined);
  return value;
}

/** An add-on view as the hub answers it, with `status` as reported. */
function view(status: AddonStatus | null, overrides: Partial<AddonView> = {}): AddonView {
  return {
    cluster: 'prod', name: 'web', spec: parseAddonSpec(minimalSpec()), generation: 1, createdAt: AT, updatedAt: AT, deletedAt: null,
    status, statusReportedAt: status === null ? null : AT, ...overrides,
  };
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

  it('addons - the list\'s status cells: phase (deleting until Uninstalled or Failed), revision, health, chart', () => {
    assert.deepEqual([phaseCell(view(null)), revisionCell(view(null)), healthCell(view(null)), chartCell(view(null))], ['-', '-', '-', '-']);
    assert.deepEqual([phaseCell(view(sampleStatus())), revisionCell(view(sampleStatus())), healthCell(view(sampleStatus())), chartCell(view(sampleStatus()))],
      ['Deployed', '2', 'Healthy', 'webapp-0.1.0']);
    const deleted = { deletedAt: AT, generation: 2 };
    assert.equal(phaseCell(view(null, deleted)), 'deleting');
    assert.equal(phaseCell(view(sampleStatus({ phase: 'Uninstalling' }), deleted)), 'deleting');
    assert.equal(phaseCell(view(sampleStatus({ phase: 'Failed' }), deleted)), 'deleting', 'a failure of the generation before');
    assert.equal(phaseCell(view(sampleStatus({ phase: 'Failed', generation: 2 }), deleted)), 'Failed');
    assert.equal(phaseCell(view(sampleStatus({ phase: 'Uninstalled', generation: 2, release: null }), deleted)), 'Uninstalled');
    assert.deepEqual(historyRow(present(SAMPLE.history[0])), ['1', '2026-01-02T03:04:05Z', 'superseded', 'webapp-0.1.0', '1.4.1', 'Install complete']);
  });

  it('addons - the status summary reads in labelled lines; unhealthy objects and a failure are spelled out', () => {
    const now = Date.parse(AT) + 5_000;
    assert.equal(formatAddonStatus(view(null), now),
      'Add-on:         web (cluster prod, generation 1)\nStatus:         none reported yet: the agent reports once it acts on the add-on');
    assert.equal(formatAddonStatus(view(sampleStatus()), now), [
      'Add-on:         web (cluster prod, generation 1)',
      'Phase:          Deployed, in sync',
      'Message:        revision 2 deployed',
      'Release:        revision 2 deployed, chart webapp 0.1.0, app 1.4.2, namespace web, updated 2026-01-02T03:04:05Z',
      'Health:         Healthy (healthy), 2 objects',
      'Drift:          not checked yet',
      'Last operation: upgrade (desired) succeeded in 4.2s, revision 2, started 2026-01-02T03:04:05Z',
      '                revision 2 deployed',
      'Reported:       5s ago (observed at 2026-01-02T03:04:05Z)',
    ].join('\n'));
    const failing = sampleStatus({
      generation: 1, phase: 'Failed', inSync: false, message: 'upgrade failed', failures: 2, nextRetryAt: '2026-01-02T03:05:00.000Z',
      health: { status: 'Degraded', message: '1 of 2 objects degraded', healthy: false, objectCount: 2, checkedAt: AT, objects: [
        { kind: 'Deployment', name: 'web', namespace: 'web', status: 'Degraded', message: '0 of 2 replicas available' },
        { kind: 'Service', name: 'web', namespace: 'web', status: 'Healthy', message: '' },
      ] },
      lastOperation: { ...present(SAMPLE.lastOperation), result: 'failed', code: 'HELM_TIMEOUT', message: 'timed out waiting for the release', rolledBack: true, revision: null },
    });
    const text = formatAddonStatus(view(failing, { generation: 2 }), now);
    assert.match(text, /^Phase: {10}Failed, not in sync \(reported for generation 1\)$/m);
    assert.match(text, /^Health: {9}Degraded \(not healthy\), 2 objects: 1 of 2 objects degraded\n {2}KIND {9}NAME {6}HEALTH {5}MESSAGE\n {2}Deployment {3}web\/web {3}Degraded {3}0 of 2 replicas available$/m);
    assert.match(text, /^Last operation: upgrade \(desired\) failed in 4\.2s, started .*\n {16}HELM_TIMEOUT: timed out waiting for the release\n {16}the failed upgrade was rolled back by helm$/m);
    assert.match(text, /^Failures: {7}2, next retry at 2026-01-02T03:05:00Z$/m);
    const drifting = sampleStatus({
      drift: { state: 'Drifted', inspected: 3, checkedAt: AT, pruned: ['ConfigMap/web/web-extra'], objects: [
        { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', namespace: 'web', state: 'Drifted', paths: ['/spec/replicas'], message: '' },
      ] },
      syncWindow: { open: false, opensAt: '2026-01-02T22:00:00.000Z', closesAt: null },
    });
    const drifted = formatAddonStatus(view(drifting), now);
    assert.match(drifted, /^Drift: {10}Drifted, 3 objects compared at 2026-01-02T03:04:05Z\n {16}Drifted Deployment\/web\/web \/spec\/replicas\n {16}pruned ConfigMap\/web\/web-extra$/m);
    assert.match(drifted, /^Sync window: {4}closed, opens at 2026-01-02T22:00:00Z$/m);
  });

  it('addons - an operation is done once the add-on\'s last operation is it and has finished', () => {
    const check = operationCheck('op-7', 'the rollback of web to revision 1', 'rolled back web to revision 1');
    const operation = { ...present(SAMPLE.lastOperation), id: 'op-7', action: 'rollback' as const, targetRevision: 1, revision: 3 };
    const release = { ...present(SAMPLE.release), revision: 3 };
    assert.equal(check(view(sampleStatus())), undefined, 'another operation');
    assert.equal(check(view(sampleStatus({ lastOperation: { ...operation, result: 'running' } }))), undefined);
    assert.deepEqual(check(view(sampleStatus({ lastOperation: operation, release }))), { ok: true, message: 'rolled back web to revision 1: revision 3 deployed' });
    const failed = { ...operation, result: 'failed' as const, code: 'REVISION_NOT_FOUND', message: 'no revision 1', revision: null };
    assert.deepEqual(check(view(sampleStatus({ lastOperation: failed }))), { ok: false, message: 'the rollback of web to revision 1 failed (REVISION_NOT_FOUND): no revision 1' });
  });

  it('addons - set and uninstall are done at the add-on\'s generation in their phase, or Failed', () => {
    const deployed = generationCheck(2, 'Deployed');
    assert.equal(deployed(view(null)), undefined);
    assert.equal(deployed(view(sampleStatus({ generation: 1 }))), undefined, 'an older generation');
    assert.equal(deployed(view(sampleStatus({ generation: 2, phase: 'Upgrading' }))), undefined);
    assert.equal(deployed(view(sampleStatus({ generation: 2, inSync: false }))), undefined, 'deployed, but not this spec');
    assert.deepEqual(deployed(view(sampleStatus({ generation: 2 }))), { ok: true, message: 'web deployed (generation 2, revision 2)' });
    const failed = sampleStatus({ generation: 2, phase: 'Failed', message: 'chart not found', nextRetryAt: AT, lastOperation: null });
    assert.deepEqual(deployed(view(failed)), { ok: false, message: `web failed at generation 2: chart not found; the agent retries at ${AT}` });
    const gone = generationCheck(3, 'Uninstalled');
    assert.deepEqual(gone(view(sampleStatus({ generation: 3, phase: 'Uninstalled', release: null }))), { ok: true, message: 'web uninstalled (generation 3)' });
  });

  it('addons - a wait polls until done, waits out hub outages, gives up at the timeout and stops on a 4xx', async () => {
    let clock = 0;
    const sleeps: number[] = [];
    const timing = { now: () => clock, sleep: (ms: number) => { clock += ms; sleeps.push(ms); return Promise.resolve(); }, timeoutSeconds: 5, what: 'the sync of web' };
    const doneAtThird: WaitCheck = (v) => (v.generation >= 3 ? { ok: true, message: 'done' } : undefined);
    const answers: (AddonView | Error)[] = [view(null), new HubApiError(0, 'HUB_UNREACHABLE', 'down'), view(null, { generation: 3 })];
    const fetch = (): Promise<AddonView> => {
      const next = answers.shift() ?? view(null);
      return next instanceof Error ? Promise.reject(next) : Promise.resolve(next);
    };
    assert.deepEqual(await waitForAddon({ ...timing, fetch, check: doneAtThird }), { ok: true, message: 'done' });
    assert.deepEqual(sleeps, [1000, 1000]);

    const never = await waitForAddon({ ...timing, fetch: () => Promise.resolve(view(sampleStatus({ phase: 'Upgrading', message: '' }))), check: () => undefined });
    assert.equal(never.ok, false);
    assert.match(never.message, /^gave up waiting for the sync of web after 5s \(last reported Upgrading for generation 1\); the agent goes on/);
    await assert.rejects(waitForAddon({ ...timing, fetch: () => Promise.reject(new HubApiError(404, 'NOT_FOUND', 'gone')), check: () => undefined }), /gone/);
    assert.deepEqual([formatWaitTime(45), formatWaitTime(600), formatWaitTime(5400), formatWaitTime(150)], ['45s', '10m', '1h30m', '2m30s']);
  });

  it('addons - rollback takes a revision and waits by default; set waits only with --wait', () => {
    const rollback = parsed('rollback', ['prod', 'web', '3']);
    assert.deepEqual([rollback.args, rollback.flags], [['prod', 'web', 3], { wait: true }]);
    assert.deepEqual(parsed('sync', ['prod', 'web', '--no-wait', '--timeout', '2m']).flags, { wait: false, timeout: 120 });
    assert.deepEqual(parsed('uninstall', ['prod', 'web']).flags, { wait: true });
    assert.deepEqual(parsed('delete', ['prod', 'web']).flags, {});
    assert.throws(() => parsed('rollback', ['prod', 'web', 'latest']), /REVISION must be a whole number, got 'latest'/);
    assert.equal(parsed('set', ['prod', 'web', '--oci', 'oci://r/web', '--chart-version', '1', '-n', 'a']).flags.wait, undefined);
    const waiting = parsed('set', ['prod', 'web', '--oci', 'oci://r/web', '--chart-version', '1', '-n', 'a', '--wait', '--timeout', '30s']);
    assert.deepEqual([waiting.flags.wait, waiting.flags.timeout], [true, 30]);
  });
});
