import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AddonSweepReport } from '../../link/addons.ts';
import type { Logger } from '../../util/logger.ts';
import { AddonSweepError, AddonSweeps, MAX_SWEEP_INTERVAL_SECONDS, parseAddonSweep, parseStoredAddonSweep, SWEEP_STORE_EVERY_MS } from './sweeps.ts';

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

  it('add-on sweeps - the first report is stored, then one about every SWEEP_STORE_EVERY_MS; a change in what it says at once', () => {
    let now = 0;
    const sweeps = new AddonSweeps({ now: () => now });
    const { log } = warnLog();
    const fast = { ...SWEEP, intervalSeconds: 5 };
    const stored: number[] = [];
    const receive = (report: AddonSweepReport): void => {
      const due = sweeps.receive(PROD, report, log);
      if (due === undefined) return;
      assert.deepEqual(due, { ...report, reportedAt: new Date(now).toISOString() });
      stored.push(now);
      sweeps.storeSettled(PROD.id, due, true);
    };
    // A 5 s interval for two minutes: the first, then one every 30 s (27.5 s after the last, so the next report does not overshoot).
    for (; now <= 120_000; now += 5_000) receive(fast);
    assert.deepEqual(stored, [0, 30_000, 60_000, 90_000, 120_000]);
    receive({ ...fast, addonsInspected: 13 });
    receive({ ...fast, addonsInspected: 13, intervalSeconds: 10 });
    assert.deepEqual(stored.slice(-2), [125_000, 125_000]);
    // At the default 60 s interval every report is stored.
    stored.length = 0;
    for (let i = 0; i < 3; i++) {
      now += 60_000;
      receive(SWEEP);
    }
    assert.equal(stored.length, 3, `every report, with SWEEP_STORE_EVERY_MS at ${SWEEP_STORE_EVERY_MS}`);
  });

  it('add-on sweeps - one write at a time per cluster; a failed one is tried again with the next report', () => {
    let now = 0;
    const sweeps = new AddonSweeps({ now: () => now });
    const { log } = warnLog();
    const first = sweeps.receive(PROD, SWEEP, log);
    assert.ok(first !== undefined);
    now += 60_000;
    assert.equal(sweeps.receive(PROD, { ...SWEEP, addonsInspected: 1 }, log), undefined, 'the first write is still in flight');
    sweeps.storeSettled(PROD.id, first, false);
    now += 60_000;
    const again = sweeps.receive(PROD, SWEEP, log);
    assert.equal(again?.reportedAt, new Date(now).toISOString());
    // A write ending after its cluster was forgotten leaves nothing behind.
    sweeps.forget(PROD.id);
    sweeps.storeSettled(PROD.id, again, true);
    assert.equal(sweeps.view(PROD.id), null);
  });

  it('add-on sweeps - the view is the newer of its own and the stored report; a stored one allows for its store delay', () => {
    let now = Date.parse('2026-03-04T10:00:00.000Z');
    const sweeps = new AddonSweeps({ now: () => now });
    const fast = { ...SWEEP, intervalSeconds: 5 };
    const stored = { ...fast, reportedAt: '2026-03-04T10:00:00.000Z' };
    // Another replica's report: 3 intervals and the 27.5 s a report may wait to be stored.
    now += 42_500;
    assert.deepEqual(sweeps.view(PROD.id, stored), { ...fast, reportedAt: stored.reportedAt, lagSeconds: 42.5, stopped: false });
    now += 1;
    assert.equal(sweeps.view(PROD.id, stored)?.stopped, true);
    // Its own, newer one wins, and is judged by three intervals alone.
    sweeps.receive(PROD, { ...fast, addonsInspected: 1 }, warnLog().log);
    now += 15_001;
    assert.deepEqual(sweeps.view(PROD.id, stored), {
      ...fast, addonsInspected: 1, reportedAt: '2026-03-04T10:00:42.501Z', lagSeconds: 15, stopped: true,
    });
    // A newer stored one (the link moved on) wins over its own.
    const moved = { ...fast, addonsInspected: 2, reportedAt: new Date(now).toISOString() };
    assert.equal(sweeps.view(PROD.id, moved)?.addonsInspected, 2);
  });

  it('add-on sweeps - samples leave out the clusters another replica counts', () => {
    const sweeps = new AddonSweeps({ now: () => 0 });
    sweeps.receive(PROD, SWEEP, warnLog().log);
    sweeps.receive({ id: 'c_dev', name: 'dev' }, SWEEP, warnLog().log);
    assert.deepEqual(sweeps.samples((id) => id === PROD.id).map((s) => s.cluster), ['dev']);
  });

  it('add-on sweeps - a stored report reads back, and one that does not read as a report is none', () => {
    const record = { ...SWEEP, reportedAt: '2026-03-04T10:00:01.000Z' };
    assert.deepEqual(parseStoredAddonSweep(JSON.stringify(record)), record);
    assert.equal(parseStoredAddonSweep(JSON.stringify(SWEEP)), null);
    assert.equal(parseStoredAddonSweep(JSON.stringify({ ...record, reportedAt: 'soon' })), null);
    assert.equal(parseStoredAddonSweep(JSON.stringify({ ...record, intervalSeconds: -1 })), null);
    assert.equal(parseStoredAddonSweep('{'), null);
    assert.equal(parseStoredAddonSweep('null'), null);
  });
});
