import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLogger } from '../../util/logger.ts';
import type { AddonStatusRecord } from '../store/index.ts';
import { AddonStatusRecorder, type AddonStatusOutcome } from './status-recorder.ts';
import { sampleStatus } from './status.test-helper.ts';

const log = createLogger({ name: 'test', level: 'silent' });

/** A recorder over a store whose writes take `delayMs`; it knows the add-ons named in `known`. */
function setup(options: { delayMs?: number; known?: string[]; fail?: boolean; maxInFlight?: number } = {}) {
  const written: AddonStatusRecord[] = [];
  const outcomes: AddonStatusOutcome[] = [];
  const recorder = new AddonStatusRecorder({
    putAddonStatus: async (record) => {
      await sleep(options.delayMs ?? 5);
      if (options.fail === true) throw new Error('disk full');
      if (!(options.known ?? ['web', 'db']).includes(record.name)) return false;
      written.push(record);
      return true;
    },
    onOutcome: (outcome) => { outcomes.push(outcome); },
    now: () => new Date('2026-01-02T00:00:00.000Z'),
    maxInFlight: options.maxInFlight,
  });
  const settled = async (): Promise<void> => {
    while (recorder.inFlight > 0) await sleep(2);
  };
  return { recorder, written, outcomes, settled };
}

describe('add-on status recorder', () => {
  it('addon status recorder - stores a good status with the time it arrived', async () => {
    const { recorder, written, outcomes, settled } = setup();
    recorder.receive('c1', sampleStatus(), log);
    await settled();
    assert.deepEqual(written, [{ clusterId: 'c1', name: 'web', status: sampleStatus(), reportedAt: '2026-01-02T00:00:00.000Z' }]);
    assert.deepEqual(outcomes, ['stored']);
  });

  it('addon status recorder - a burst is one write in flight, then only the newest; add-ons and clusters are apart', async () => {
    const { recorder, written, outcomes, settled } = setup({ delayMs: 20 });
    for (let generation = 1; generation <= 5; generation += 1) recorder.receive('c1', sampleStatus({ generation }), log);
    recorder.receive('c1', sampleStatus({ name: 'db' }), log);
    recorder.receive('c2', sampleStatus({ generation: 9 }), log);
    assert.equal(recorder.inFlight, 3);
    await settled();
    assert.deepEqual(written.map((r) => [r.clusterId, r.name, r.status.generation]),
      [['c1', 'web', 1], ['c1', 'db', 1], ['c2', 'web', 9], ['c1', 'web', 5]]);
    assert.deepEqual(outcomes.filter((o) => o === 'superseded').length, 3);
    assert.deepEqual(outcomes.filter((o) => o === 'stored').length, 4);
  });

  it('addon status recorder - bad statuses, unknown add-ons, store failures and overload never throw and are counted', async () => {
    const { recorder, outcomes, settled } = setup({ known: ['web'] });
    recorder.receive('c1', { name: 'web' }, log);
    recorder.receive('c1', null, log);
    recorder.receive('c1', sampleStatus({ name: 'ghost' }), log);
    await settled();
    assert.deepEqual(outcomes, ['refused', 'refused', 'refused']);

    const failing = setup({ fail: true });
    failing.recorder.receive('c1', sampleStatus(), log);
    await failing.settled();
    assert.deepEqual(failing.outcomes, ['failed']);

    const crowded = setup({ maxInFlight: 1 });
    crowded.recorder.receive('c1', sampleStatus(), log);
    crowded.recorder.receive('c1', sampleStatus({ name: 'db' }), log);
    await crowded.settled();
    assert.deepEqual(crowded.outcomes, ['refused', 'stored']);
  });
});
