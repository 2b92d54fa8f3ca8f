import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AddonSweepReport } from '../../link/addons.ts';
import type { Logger } from '../../util/logger.ts';
import { AddonSweepError, AddonSweeps, MAX_SWEEP_INTERVAL_SECONDS, parseAddonSweep } from './sweeps.ts';

const SWEEP: AddonSweepReport = { lastSweepAt: '2026-03-04T10:00:00.000Z', sweepDurationSeconds: 1.5, addonsInspected: 12, intervalSeconds: 60 };
const PROD = { id: 'c_prod', name: 'prod' };

/** A logger that keeps what was logged at warn. */
function warnLog(): { log: Logger; warnings: unknown[] } {
  const warnings: unknown[] = [];
  return { log: { warn: (fields: unknown) => { warnings.push(fields); } } as unknown as Logger, warnings };
}

function fieldOf(value: unknown): string | undefined {
  try {
    parseAddonSweep(value);
    return undefined;
  } catch (error) {
    assert.ok(error instanceof AddonSweepError);
    assert.equal(error.code, 'ADDON_SWEEP_INVALID');
    return error.field;
  }
}

describe('add-on sweeps', () => {
  it('add-on sweeps - reads a report, keeping exactly its fields', () => {
    assert.deepEqual(parseAddonSweep({ ...SWEEP, extra: 'dropped' }), SWEEP);
    assert.deepEqual(parseAddonSweep({ ...SWEEP, lastSweepAt: '2026-03-04T11:00:00+01:00', addonsInspected: 0, sweepDurationSeconds: 0 }),
      { ...SWEEP, lastSweepAt: '2026-03-04T11:00:00+01:00', addonsInspected: 0, sweepDurationSeconds: 0 });
  });

  it('add-on sweeps - a bad report names the field at fault', () => {
    assert.equal(fieldOf(null), 'sweep');
    assert.equal(fieldOf([SWEEP]), 'sweep');
    assert.equal(fieldOf({ ...SWEEP, lastSweepAt: undefined }), 'sweep.lastSweepAt');
    assert.equal(fieldOf({ ...SWEEP, lastSweepAt: 'yesterday' }), 'sweep.lastSweepAt');
    assert.equal(fieldOf({ ...SWEEP, lastSweepAt: '2026-13-45T99:00:00Z' }), 'sweep.lastSweepAt');
    assert.equal(fieldOf({ ...SWEEP, sweepDurationSeconds: -1 }), 'sweep.sweepDurationSeconds');
    assert.equal(fieldOf({ ...SWEEP, sweepDurationSeconds: '1' }), 'sweep.sweepDurationSeconds');
    assert.equal(fieldOf({ ...SWEEP, addonsInspected: 1.5 }), 'sweep.addonsInspected');
    assert.equal(fieldOf({ ...SWEEP, intervalSeconds: 0 }), 'sweep.intervalSeconds');
    assert.equal(fieldOf({ ...SWEEP, intervalSeconds: MAX_SWEEP_INTERVAL_SECONDS + 1 }), 'sweep.intervalSeconds');
  });

  it('add-on sweeps - the lag rises from the arrival on the hub clock, and sweeps stop after three intervals', () => {
    let now = Date.parse('2026-03-04T10:00:05.000Z');
    const sweeps = new AddonSweeps({ now: () => now });
    const { log, warnings } = warnLog();
    assert.equal(sweeps.view(PROD.id), null);
    // The agent's clock runs 5 s behind: the lag does not count it.
    sweeps.receive(PROD, SWEEP, log);
    assert.deepEqual(sweeps.view(PROD.id), { ...SWEEP, reportedAt: '2026-03-04T10:00:05.000Z', lagSeconds: 0, stopped: false });
    now += 180_000;
    assert.deepEqual(sweeps.view(PROD.id), { ...SWEEP, reportedAt: '2026-03-04T10:00:05.000Z', lagSeconds: 180, stopped: false });
    now += 1;
    assert.equal(sweeps.view(PROD.id)?.stopped, true);
    assert.deepEqual(sweeps.samples(), [{ cluster: 'prod', lagSeconds: 180.001, sweepDurationSeconds: 1.5 }]);
    // A new report starts again.
    sweeps.receive(PROD, { ...SWEEP, sweepDurationSeconds: 3 }, log);
    assert.deepEqual(sweeps.samples(), [{ cluster: 'prod', lagSeconds: 0, sweepDurationSeconds: 3 }]);
    assert.deepEqual(warnings, []);
  });

  it('add-on sweeps - a bad report is dropped with a warning naming the field, keeping the last good one', () => {
    const sweeps = new AddonSweeps({ now: () => 0 });
    const { log, warnings } = warnLog();
    sweeps.receive(PROD, SWEEP, log);
    sweeps.receive(PROD, { ...SWEEP, addonsInspected: -1 }, log);
    assert.equal(sweeps.view(PROD.id)?.addonsInspected, 12);
    assert.deepEqual(warnings, [{ field: 'sweep.addonsInspected', reason: 'sweep.addonsInspected must be a whole number of at least 0' }]);
  });

  it('add-on sweeps - forget drops a cluster', () => {
    const sweeps = new AddonSweeps({ now: () => 0 });
    sweeps.receive(PROD, SWEEP, warnLog().log);
    sweeps.receive({ id: 'c_dev', name: 'dev' }, SWEEP, warnLog().log);
    sweeps.forget(PROD.id);
    assert.equal(sweeps.view(PROD.id), null);
    assert.deepEqual(sweeps.samples().map((s) => s.cluster), ['dev']);
  });
});
