import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConnectivityChecker, connectivityReport, errorText, skippedStep, timedStep, type ConnectivityReport } from './connectivity.ts';

function report(checkedAt: number): ConnectivityReport {
  return connectivityReport({ hub: { host: 'hub', port: 443 }, steps: [], checkedAt });
}

describe('connectivity', () => {
  it('connectivity - a step is timed, and a failure becomes a failed step with a one-line bounded message', async () => {
    let clock = 1000;
    const now = (): number => clock;
    const ok = await timedStep('dns', () => { clock += 12; return Promise.resolve({ detail: 'hub: 10.0.0.1' }); }, { now });
    assert.deepEqual(ok, { step: 'dns', status: 'ok', ms: 12, detail: 'hub: 10.0.0.1' });
    const failed = await timedStep('pin', () => { clock += 3; return Promise.reject(new Error(`expected pin sha256:aa:\n${'x'.repeat(900)}`)); }, { now, expected: 'sha256:aa' });
    assert.equal(failed.status, 'failed');
    assert.equal(failed.ms, 3);
    assert.equal(failed.expected, 'sha256:aa');
    assert.equal(failed.error?.length, 500);
    assert.ok(failed.error.startsWith('expected pin sha256:aa: xxx'));
    const skipped = await timedStep('pin', () => Promise.resolve({ skipped: 'verification is off' }), { now });
    assert.deepEqual(skipped, { step: 'pin', status: 'skipped', ms: 0, detail: 'verification is off' });
    assert.equal(errorText('plain'), 'plain');
  });

  it('connectivity - a step that does not answer fails at its timeout and its signal aborts', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    let aborted = false;
    const pending = timedStep('tcp', (signal) => new Promise(() => { signal.addEventListener('abort', () => { aborted = true; }); }), { timeoutMs: 5000, now: () => 0 });
    t.mock.timers.tick(5000);
    const step = await pending;
    assert.deepEqual([step.status, step.error, aborted], ['failed', 'no answer within 5000 ms', true]);
  });

  it('connectivity - the report is ok unless a step failed; skipped steps do not fail it', () => {
    const steps = [skippedStep('tls', 'plain http'), { step: 'dns' as const, status: 'ok' as const, ms: 1 }];
    assert.equal(connectivityReport({ hub: { host: 'h', port: 80 }, steps, checkedAt: 0 }).ok, true);
    const failed = connectivityReport({ hub: { host: 'h', port: 80 }, steps: [...steps, { step: 'tcp', status: 'failed', ms: 2, error: 'refused' }], checkedAt: 0 });
    assert.deepEqual([failed.ok, failed.checkedAt, failed.ageSeconds], [false, '1970-01-01T00:00:00.000Z', 0]);
  });

  it('connectivity - one check at a time: callers during a check share it, and a result is served again for 5 s', async () => {
    let clock = 0;
    let runs = 0;
    let finish: ((value: ConnectivityReport) => void) | undefined;
    const checker = new ConnectivityChecker({
      now: () => clock,
      run: () => { runs += 1; return new Promise((resolve) => { finish = resolve; }); },
    });
    const first = checker.check();
    const second = checker.check();
    finish?.(report(clock));
    assert.equal(await first, await second);
    assert.equal(runs, 1);
    clock = 4_000;
    const cached = await checker.check();
    assert.deepEqual([runs, cached.ageSeconds], [1, 4]);
    clock = 5_000;
    const fresh = checker.check();
    finish?.(report(clock));
    assert.deepEqual([runs, (await fresh).ageSeconds], [2, 0]);
  });

  it('connectivity - a check that throws is not cached: the next call runs again', async () => {
    let runs = 0;
    const checker = new ConnectivityChecker({ run: () => { runs += 1; return Promise.reject(new Error('boom')); } });
    await assert.rejects(checker.check(), /boom/);
    await assert.rejects(checker.check(), /boom/);
    assert.equal(runs, 2);
  });
});
