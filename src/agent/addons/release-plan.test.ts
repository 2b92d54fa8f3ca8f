import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DesiredAddonSpec } from '../../link/addons.ts';
import { retryDelayMs, specDigest, upgradeArgs, waitingFor } from './release-plan.ts';

function spec(overrides: Partial<DesiredAddonSpec> = {}): DesiredAddonSpec {
  return {
    source: { repo: { url: 'https://charts.example.com', chart: 'web' } }, version: '1.2.3', namespace: 'web', values: '',
    revisionHistoryLimit: 10, strictHealthCheck: false, dependsOn: [], syncPolicy: { automated: true, selfHeal: false, autoPrune: false },
    ignoreDifferences: [], syncWindow: null, retry: { limit: 5, backoff: { duration: '5s', factor: 2, maxDuration: '3m' } },
    ...overrides,
  };
}

describe('release plan', () => {
  it('release-plan - the digest changes with what helm installs and not with policy', () => {
    const base = specDigest(spec());
    assert.match(base, /^[0-9a-f]{32}$/);
    assert.notEqual(specDigest(spec({ values: 'replicaCount: 2\n' })), base);
    assert.notEqual(specDigest(spec({ version: '1.2.4' })), base);
    assert.notEqual(specDigest(spec({ namespace: 'other' })), base);
    assert.notEqual(specDigest(spec({ revisionHistoryLimit: 3 })), base);
    assert.equal(specDigest(spec({ strictHealthCheck: true, dependsOn: ['db'], retry: { limit: 0, backoff: { duration: '1s', factor: 1, maxDuration: '1s' } } })), base);
  });

  it('release-plan - upgrade arguments install or upgrade with rollback on failure, waiting, the history cap and the digest label; values only through stdin', () => {
    const args = upgradeArgs({
      name: 'web', spec: spec({ values: 'password: hunter2\n', revisionHistoryLimit: 3 }), chart: 'web',
      chartArgs: ['--repo', 'https://charts.example.com', '--version', '1.2.3'], digest: 'abc', generation: 7, helmTimeoutSeconds: 120,
    });
    assert.deepEqual(args, [
      'upgrade', '--install', 'web', 'web', '--repo', 'https://charts.example.com', '--version', '1.2.3',
      '--namespace', 'web', '--create-namespace', '--history-max', '3', '--rollback-on-failure', '--wait=watcher', '--timeout', '120s',
      '--labels', 'uplink.dev/spec-digest=abc,uplink.dev/generation=7', '--values', '-',
    ]);
    assert.ok(!args.join(' ').includes('hunter2'));
    const noValues = upgradeArgs({ name: 'web', spec: spec(), chart: 'web', chartArgs: [], digest: 'abc', generation: 1, helmTimeoutSeconds: 60 });
    assert.ok(!noValues.includes('--values'));
  });

  it('release-plan - retries back off by the factor up to the maximum, and stop at the limit (-1: never, 0: at once)', () => {
    const retry = { limit: 4, backoff: { duration: '5s', factor: 2, maxDuration: '12s' } };
    assert.deepEqual([1, 2, 3, 4, 5].map((n) => retryDelayMs(retry, n)), [5000, 10000, 12000, 12000, undefined]);
    assert.equal(retryDelayMs({ ...retry, limit: 0 }, 1), undefined);
    assert.equal(retryDelayMs({ ...retry, limit: -1 }, 500), 12000);
  });

  it('release-plan - waitingFor names the dependencies that are not ready', () => {
    assert.equal(waitingFor([{ name: 'db', known: true, ready: true, phase: 'Deployed' }]), undefined);
    assert.equal(
      waitingFor([{ name: 'db', known: true, ready: false, phase: 'Installing' }, { name: 'cache', known: false, ready: false, phase: 'unknown' }]),
      'waiting for add-ons db (Installing), cache (not an add-on of this cluster) to be deployed',
    );
  });
});
