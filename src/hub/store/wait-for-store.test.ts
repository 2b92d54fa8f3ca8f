import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLogger } from '../../util/logger.ts';
import { StoreUnavailableError } from './store.ts';
import { migrateWhenReachable } from './wait-for-store.ts';

const log = createLogger({ name: 'wait-test', level: 'silent' });

/** A clock that moves only when the waiter sleeps, so no test waits for real. */
function fakeClock(): { now: () => number; sleep: (ms: number) => Promise<void>; slept: number[] } {
  let at = 0;
  const slept: number[] = [];
  return { now: () => at, sleep: (ms) => { slept.push(ms); at += ms; return Promise.resolve(); }, slept };
}

const unreachable = (): StoreUnavailableError => new StoreUnavailableError('STORE_UNAVAILABLE', 'connect ECONNREFUSED');

describe('waiting for the database at start', () => {
  it('wait for store - retries an unreachable database with growing pauses until it answers', async () => {
    const clock = fakeClock();
    let calls = 0;
    await migrateWhenReachable({ migrate: () => (++calls < 6 ? Promise.reject(unreachable()) : Promise.resolve()) }, { log, ...clock });
    assert.equal(calls, 6);
    assert.deepEqual(clock.slept, [1000, 2000, 4000, 8000, 15_000]);
  });

  it('wait for store - gives up with the last error once the wait would pass its bound', async () => {
    const clock = fakeClock();
    let calls = 0;
    await assert.rejects(
      migrateWhenReachable({ migrate: () => { calls++; return Promise.reject(unreachable()); } }, { log, maxWaitMs: 60_000, ...clock }),
      /ECONNREFUSED/,
    );
    assert.ok(clock.now() <= 60_000, `waited ${clock.now()} ms`);
    assert.equal(calls, clock.slept.length + 1);
  });

  it('wait for store - any other failure (a newer schema, a full disk) ends the start at once', async () => {
    const clock = fakeClock();
    const newer = Object.assign(new Error('the database has schema version 9, newer than this hub knows'), { code: 'STORE_FAILED' });
    await assert.rejects(migrateWhenReachable({ migrate: () => Promise.reject(newer) }, { log, ...clock }), /schema version 9/);
    assert.deepEqual(clock.slept, []);
  });
});
