import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cronProblem } from '../../domain/addon-spec/cron.ts';
import { SyncWindowError, windowState } from './sync-window.ts';

interface Seen {
  open: boolean;
  opensAt: string | null;
  closesAt: string | null;
}

/** The state of a window at `now`, with times as ISO strings for readable failures. */
function stateAt(schedule: string, duration: string, timeZone: string, now: string): Seen {
  const state = windowState({ schedule, duration, timeZone }, new Date(now));
  return { open: state.open, opensAt: state.opensAt?.toISOString() ?? null, closesAt: state.closesAt?.toISOString() ?? null };
}

const open = (closesAt: string | null): Seen => ({ open: true, opensAt: null, closesAt });
const closed = (opensAt: string | null): Seen => ({ open: false, opensAt, closesAt: null });

describe('sync window', () => {
  it('sync window - a null window is always open', () => {
    assert.deepEqual(windowState(null, new Date('2026-03-04T12:00:00Z')), { open: true, opensAt: null, closesAt: null });
  });

  it('sync window - weekday evenings in Europe/Paris, start inclusive and end exclusive', () => {
    const evening = (now: string): Seen => stateAt('0 18 * * 1-5', '2h', 'Europe/Paris', now);
    // Wednesday 4 March 2026, CET (+1).
    assert.deepEqual(evening('2026-03-04T17:00:00Z'), open('2026-03-04T19:00:00.000Z'));
    assert.deepEqual(evening('2026-03-04T18:59:59Z'), open('2026-03-04T19:00:00.000Z'));
    assert.deepEqual(evening('2026-03-04T19:00:00Z'), closed('2026-03-05T17:00:00.000Z'));
    assert.deepEqual(evening('2026-03-04T16:59:59Z'), closed('2026-03-04T17:00:00.000Z'));
    // Friday night waits for Monday.
    assert.deepEqual(evening('2026-03-06T20:00:00Z'), closed('2026-03-09T17:00:00.000Z'));
    // Summer time (+2): the same wall-clock hours, an hour earlier in UTC.
    assert.deepEqual(evening('2026-06-03T16:30:00Z'), open('2026-06-03T18:00:00.000Z'));
  });

  it('sync window - a window spans midnight and belongs to the day it started', () => {
    // Friday 22:00 for 4h: open early on Saturday, which the schedule does not match.
    assert.deepEqual(stateAt('0 22 * * 5', '4h', 'UTC', '2026-03-07T01:00:00Z'), open('2026-03-07T02:00:00.000Z'));
    assert.deepEqual(stateAt('0 22 * * 5', '4h', 'UTC', '2026-03-07T03:00:00Z'), closed('2026-03-13T22:00:00.000Z'));
    // 23:30 local on 10 January is 22:30 UTC; at 00:10 local on the 11th it is still open.
    assert.deepEqual(stateAt('30 23 * * *', '1h', 'Europe/Paris', '2026-01-10T23:10:00Z'), open('2026-01-10T23:30:00.000Z'));
  });

  it('sync window - */15 windows, and back-to-back or overlapping ones as one stretch', () => {
    assert.deepEqual(stateAt('*/15 * * * *', '5m', 'UTC', '2026-03-04T10:07:00Z'), closed('2026-03-04T10:15:00.000Z'));
    assert.deepEqual(stateAt('*/15 * * * *', '5m', 'UTC', '2026-03-04T10:15:00Z'), open('2026-03-04T10:20:00.000Z'));
    assert.deepEqual(stateAt('*/15 * * * *', '5m', 'UTC', '2026-03-04T10:20:00Z'), closed('2026-03-04T10:30:00.000Z'));
    assert.deepEqual(stateAt('0-30/15 9 * * *', '15m', 'UTC', '2026-03-04T09:05:00Z'), open('2026-03-04T09:45:00.000Z'));
    assert.deepEqual(stateAt('0-30/15 9 * * *', '20m', 'UTC', '2026-03-04T09:05:00Z'), open('2026-03-04T09:50:00.000Z'));
    // Never closes within the search: closesAt is null.
    assert.deepEqual(stateAt('*/15 * * * *', '15m', 'UTC', '2026-03-04T10:07:00Z'), open(null));
    assert.deepEqual(stateAt('* * * * *', '1m', 'UTC', '2026-03-04T10:07:30Z'), open(null));
  });

  it('sync window - Europe/Paris DST: a skipped start is skipped, a repeated one counts once, durations are elapsed time', () => {
    // 29 March 2026: 02:00 CET becomes 03:00 CEST, so 02:30 does not exist that day.
    assert.deepEqual(stateAt('30 2 * * *', '1h', 'Europe/Paris', '2026-03-28T12:00:00Z'), closed('2026-03-30T00:30:00.000Z'));
    assert.deepEqual(stateAt('0 3 * * *', '1h', 'Europe/Paris', '2026-03-29T00:00:00Z'), closed('2026-03-29T01:00:00.000Z'));
    // 01:30 CET for 2h ends at 04:30 CEST: two hours of real time, three on the wall clock.
    assert.deepEqual(stateAt('30 1 * * *', '2h', 'Europe/Paris', '2026-03-29T00:45:00Z'), open('2026-03-29T02:30:00.000Z'));
    // 25 October 2026: 03:00 CEST becomes 02:00 CET, so 02:30 happens twice; only the first (00:30 UTC) starts a window.
    assert.deepEqual(stateAt('30 2 * * *', '30m', 'Europe/Paris', '2026-10-25T00:00:00Z'), closed('2026-10-25T00:30:00.000Z'));
    assert.deepEqual(stateAt('30 2 * * *', '30m', 'Europe/Paris', '2026-10-25T01:40:00Z'), closed('2026-10-26T01:30:00.000Z'));
    // So an every-minute schedule pauses for the repeated hour's second pass.
    assert.deepEqual(stateAt('* * * * *', '1m', 'Europe/Paris', '2026-10-24T12:00:00Z'), open('2026-10-25T01:00:00.000Z'));
    assert.deepEqual(stateAt('* * * * *', '1m', 'Europe/Paris', '2026-10-25T01:30:00Z'), closed('2026-10-25T02:00:00.000Z'));
  });

  it('sync window - America/New_York DST', () => {
    // 8 March 2026: 02:00 EST becomes 03:00 EDT.
    assert.deepEqual(stateAt('30 2 * * *', '1h', 'America/New_York', '2026-03-07T12:00:00Z'), closed('2026-03-09T06:30:00.000Z'));
    // 1 November 2026: 02:00 EDT becomes 01:00 EST; 01:30 first happens at 05:30 UTC.
    assert.deepEqual(stateAt('30 1 * * *', '2h', 'America/New_York', '2026-11-01T06:45:00Z'), open('2026-11-01T07:30:00.000Z'));
    assert.deepEqual(stateAt('0 * * * *', '30m', 'America/New_York', '2026-11-01T05:10:00Z'), open('2026-11-01T05:30:00.000Z'));
    // 01:00 EST (06:00 UTC) is the second 01:00: no start; the next is 02:00 EST.
    assert.deepEqual(stateAt('0 * * * *', '30m', 'America/New_York', '2026-11-01T06:10:00Z'), closed('2026-11-01T07:00:00.000Z'));
  });

  it('sync window - understands every shape of field the hub accepts', () => {
    const next = (schedule: string, now: string): string | null => stateAt(schedule, '1m', 'UTC', now).opensAt;
    // 0 and 7 are Sunday; 1 March 2026 is a Sunday.
    assert.equal(next('0 12 * * 0', '2026-03-02T00:00:00Z'), '2026-03-08T12:00:00.000Z');
    assert.equal(next('0 12 * * 7', '2026-03-02T00:00:00Z'), '2026-03-08T12:00:00.000Z');
    assert.equal(next('0 12 * * 5-7', '2026-03-07T13:00:00Z'), '2026-03-08T12:00:00.000Z');
    assert.equal(next('0 12 * * 1-7/2', '2026-03-07T13:00:00Z'), '2026-03-08T12:00:00.000Z');
    assert.equal(next('0 12 * * */2', '2026-03-02T13:00:00Z'), '2026-03-03T12:00:00.000Z');
    // Lists, ranges with steps, and n/step as n-max/step.
    assert.equal(next('0,30 9,17 * * *', '2026-03-04T09:10:00Z'), '2026-03-04T09:30:00.000Z');
    assert.equal(next('0,30 9,17 * * *', '2026-03-04T09:31:00Z'), '2026-03-04T17:00:00.000Z');
    assert.equal(next('10-50/20 * * * *', '2026-03-04T10:51:00Z'), '2026-03-04T11:10:00.000Z');
    assert.equal(next('5/20 * * * *', '2026-03-04T10:06:00Z'), '2026-03-04T10:25:00.000Z');
    assert.equal(next(' 0  0 1 6 * ', '2026-01-15T00:00:00Z'), '2026-06-01T00:00:00.000Z');
  });

  it('sync window - day of month or day of week when both are restricted, both when either starts with *', () => {
    const next = (schedule: string, now: string): string | null => stateAt(schedule, '1m', 'UTC', now).opensAt;
    // 13 April 2026 is a Monday: it matches by its day of month alone.
    assert.equal(next('0 0 13 * 5', '2026-04-11T12:00:00Z'), '2026-04-13T00:00:00.000Z');
    assert.equal(next('0 0 13 * 5', '2026-04-14T12:00:00Z'), '2026-04-17T00:00:00.000Z');
    // */2 counts as unrestricted (Vixie cron): odd days that are Mondays; 1-31/2 is restricted: odd days or Mondays.
    assert.equal(next('0 0 */2 * 1', '2026-03-01T12:00:00Z'), '2026-03-09T00:00:00.000Z');
    assert.equal(next('0 0 1-31/2 * 1', '2026-03-01T12:00:00Z'), '2026-03-02T00:00:00.000Z');
  });

  it('sync window - opensAt is null for a start beyond the 366-day search', () => {
    assert.deepEqual(stateAt('0 0 30 2 *', '1h', 'UTC', '2026-03-04T00:00:00Z'), closed(null));
    assert.deepEqual(stateAt('0 0 29 2 *', '1h', 'UTC', '2026-01-01T00:00:00Z'), closed(null));
    assert.deepEqual(stateAt('0 0 29 2 *', '1h', 'UTC', '2027-06-01T00:00:00Z'), closed('2028-02-29T00:00:00.000Z'));
  });

  it('sync window - a schedule, duration or zone it cannot read throws naming the field', () => {
    const fieldOf = (schedule: string, duration: string, timeZone: string): string | undefined => {
      try {
        windowState({ schedule, duration, timeZone }, new Date());
        return undefined;
      } catch (error) {
        assert.ok(error instanceof SyncWindowError);
        assert.equal(error.code, 'SYNC_WINDOW_INVALID');
        return error.field;
      }
    };
    assert.equal(fieldOf('0 9 * * MON', '1h', 'UTC'), 'schedule');
    assert.equal(fieldOf('@daily', '1h', 'UTC'), 'schedule');
    assert.equal(fieldOf('0 9 * *', '1h', 'UTC'), 'schedule');
    assert.equal(fieldOf('0 9 * * *', '90', 'UTC'), 'duration');
    assert.equal(fieldOf('0 9 * * *', '1h', 'Mars/Olympus_Mons'), 'timeZone');
  });

  it('sync window - reads exactly the schedules the hub accepts', () => {
    // A seeded generator of fields: mostly in range, with some values past it, steps of 0 and names.
    let seed = 7;
    const random = (n: number): number => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return seed % n;
    };
    const RANGES = [[0, 59], [0, 23], [1, 31], [1, 12], [0, 7]] as const;
    const value = ([min, max]: readonly [number, number]): number => (random(40) === 0 ? max + 1 + random(10) : min + random(max - min + 1));
    const item = (range: readonly [number, number]): string => {
      const base = ['*', `${value(range)}`, `${value(range)}-${value(range)}`, '*', random(20) === 0 ? 'MON' : '*'][random(5)] ?? '*';
      return random(3) === 0 ? `${base}/${random(20) === 0 ? 0 : 1 + random(range[1])}` : base;
    };
    const field = (range: readonly [number, number]): string => Array.from({ length: 1 + random(3) }, () => item(range)).join(',');
    let readableCount = 0;
    for (let i = 0; i < 2000; i += 1) {
      const schedule = RANGES.map(field).join(' ');
      let readable = true;
      try {
        windowState({ schedule, duration: '1h', timeZone: 'UTC' }, new Date('2026-03-04T00:00:00Z'));
      } catch (error) {
        assert.ok(error instanceof SyncWindowError, String(error));
        readable = false;
      }
      assert.equal(readable, cronProblem(schedule) === undefined, `'${schedule}': hub says ${cronProblem(schedule) ?? 'ok'}`);
      if (readable) readableCount += 1;
    }
    // Both kinds were tried.
    assert.ok(readableCount > 100 && readableCount < 1900, `${readableCount} readable`);
  });
});
