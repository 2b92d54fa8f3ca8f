import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AddonRelease, DesiredAddon } from '../../link/addons.ts';
import { AddonOperationError, checkOperation, decide, isReady, newEntry, statusKey, statusOf, type Entry } from './engine-entry.ts';

const NOW = Date.parse('2026-11-21T10:00:00Z');

function desired(overrides: Partial<DesiredAddon['spec']> = {}, generation = 1): DesiredAddon {
  return {
    name: 'web', generation, deleted: false,
    spec: {
      source: { repo: { url: 'https://charts.example.com', chart: 'web' } }, version: '1.0.0', namespace: 'web', values: '',
      revisionHistoryLimit: 10, strictHealthCheck: false, dependsOn: [], syncPolicy: { automated: true, selfHeal: false, autoPrune: false },
      ignoreDifferences: [], syncWindow: null, retry: { limit: 2, backoff: { duration: '5s', factor: 2, maxDuration: '1m' } },
      ...overrides,
    },
  };
}

function release(status = 'deployed', revision = 1): AddonRelease {
  return { namespace: 'web', revision, status, chart: 'web', chartVersion: '1.0.0', appVersion: '1', updated: '', description: '' };
}

function entryWith(changes: Partial<Entry<string>> = {}, spec: Partial<DesiredAddon['spec']> = {}): Entry<string> {
  return Object.assign(newEntry<string>(desired(spec)), changes);
}

describe('engine entry', () => {
  it('engine-entry - a release without the desired digest is applied; one with it is left alone and ready', () => {
    assert.deepEqual(decide(entryWith(), NOW), { trigger: 'desired' });
    const installed = entryWith({ release: release('deployed'), releaseDigest: 'other' });
    assert.deepEqual(decide(installed, NOW), { trigger: 'desired' });
    const inSync = entryWith({ release: release('deployed') });
    inSync.releaseDigest = inSync.digest;
    assert.deepEqual(decide(inSync, NOW), { phase: 'Deployed', message: '' });
    inSync.phase = 'Deployed';
    assert.equal(isReady(inSync), true);
    assert.equal(statusOf(inSync, NOW).inSync, true);
  });

  it('engine-entry - a pending release and a manual-only add-on are reported, not applied', () => {
    assert.deepEqual(decide(entryWith({ release: release('pending-upgrade') }), NOW), {
      phase: 'Failed', message: 'the release is pending-upgrade: another helm operation is running on it or was interrupted',
    });
    const manual = entryWith({}, { syncPolicy: { automated: false, selfHeal: false, autoPrune: false } });
    assert.deepEqual(decide(manual, NOW), { phase: 'Pending', message: 'automated sync is off: the desired spec is applied by a manual sync' });
    manual.manual = { id: 'op', action: 'sync', revision: undefined, requestedBy: 'ana' };
    assert.deepEqual(decide(manual, NOW), { trigger: 'manual' });
  });

  it('engine-entry - a failed spec is retried when due and given up after the limit; a new spec starts again', () => {
    const entry = entryWith({ failures: 1, nextRetryAt: NOW + 5000 });
    entry.failedDigest = entry.digest;
    assert.deepEqual(decide(entry, NOW), { retryInMs: 5000 });
    assert.deepEqual(decide(entry, NOW + 5000), { trigger: 'retry' });
    entry.failures = 3;
    const gaveUp = decide(entry, NOW);
    assert.ok('phase' in gaveUp && gaveUp.phase === 'Failed' && /gave up after 3 failed attempts/.test(gaveUp.message));
    entry.failedDigest = 'an older spec';
    assert.deepEqual(decide(entry, NOW), { trigger: 'desired' });
  });

  it('engine-entry - a manual rollback holds the spec it rolled back from, not a newer one', () => {
    const entry = entryWith({ release: release('deployed', 3), releaseDigest: 'rev1' });
    entry.hold = { digest: entry.digest, revision: 1, requestedBy: 'ana' };
    const held = decide(entry, NOW);
    assert.ok('phase' in held && held.phase === 'Deployed' && /rolled back to revision 1 by ana/.test(held.message));
    entry.phase = 'Deployed';
    assert.equal(isReady(entry), true, 'dependents may go ahead');
    entry.digest = 'a newer spec';
    assert.deepEqual(decide(entry, NOW), { trigger: 'desired' });
    assert.equal(entry.hold, undefined);
  });

  it('engine-entry - manual operations are checked against the add-on and its history', () => {
    assert.throws(() => { checkOperation(undefined, { addon: 'x', action: 'sync' }); }, (e: unknown) => e instanceof AddonOperationError && e.status === 404);
    const entry = entryWith({ release: release(), history: [{ revision: 1, updated: '', status: 'deployed', chart: 'web-1.0.0', appVersion: '1', description: '' }] });
    checkOperation(entry, { addon: 'web', action: 'rollback', revision: 1 });
    assert.throws(() => { checkOperation(entry, { addon: 'web', action: 'rollback', revision: 7 }); }, /has no revision 7 \(it keeps 1\)/);
    entry.desired = { ...entry.desired, deleted: true };
    assert.throws(() => { checkOperation(entry, { addon: 'web', action: 'sync' }); }, (e: unknown) => e instanceof AddonOperationError && e.code === 'ADDON_DELETED');
  });

  it('engine-entry - the status key ignores the times that change on every look', () => {
    const entry = entryWith();
    const before = statusKey(statusOf(entry, NOW));
    assert.equal(statusKey(statusOf(entry, NOW + 60_000)), before);
    entry.message = 'changed';
    assert.notEqual(statusKey(statusOf(entry, NOW)), before);
  });
});
