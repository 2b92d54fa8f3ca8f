import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cronProblem, durationSeconds, isTimeZone } from './cron.ts';

describe('cron, durations and time zones', () => {
  it('cron - numbers, ranges, steps, lists and * in each of the 5 fields', () => {
    for (const expression of [
      '* * * * *', '0 22 * * 1-5', '*/15 * * * *', '0,30 8-18/2 1,15 1-12 0', '5/10 0 * * 7', ' 0  0  1  1  * ', '59 23 31 12 6',
    ]) {
      assert.equal(cronProblem(expression), undefined, expression);
    }
  });

  it('cron - the field and the problem are named', () => {
    const cases: [string, string][] = [
      ['* * * *', 'must have 5 fields (minute hour day-of-month month day-of-week), got 4'],
      ['* * * * * *', 'must have 5 fields (minute hour day-of-month month day-of-week), got 6'],
      ['60 * * * *', "minute '60' is out of range 0-59"],
      ['* 24 * * *', "hour '24' is out of range 0-23"],
      ['* * 0 * *', "day of month '0' is out of range 1-31"],
      ['* * * 13 *', "month '13' is out of range 1-12"],
      ['* * * * 8', "day of week '8' is out of range 0-7"],
      ['* 5-2 * * *', "hour range '5-2' runs backwards"],
      ['*/0 * * * *', "minute step '0' must be from 1 to 59"],
      ['* * * JAN *', "month 'JAN' is not a number, a range (1-5), a step (*/15) or * (names like MON are not accepted)"],
      ['1,,2 * * * *', "minute '' is not a number, a range (1-5), a step (*/15) or * (names like MON are not accepted)"],
      ['*-5 * * * *', "minute '*-5' is not a number, a range (1-5), a step (*/15) or * (names like MON are not accepted)"],
      ['@daily', 'must have 5 fields (minute hour day-of-month month day-of-week), got 1'],
    ];
    for (const [expression, problem] of cases) assert.equal(cronProblem(expression), problem, expression);
  });

  it('cron - durations like 30s, 5m and 1h30m, never zero', () => {
    assert.equal(durationSeconds('30s'), 30);
    assert.equal(durationSeconds('5m'), 300);
    assert.equal(durationSeconds('1h30m'), 5400);
    assert.equal(durationSeconds('2h0m10s'), 7210);
    for (const text of ['', '0s', '90', '1d', '1.5h', '1m1h', ' 1h', '-5m']) assert.equal(durationSeconds(text), undefined, text);
  });

  it('cron - IANA zone names only', () => {
    for (const zone of ['UTC', 'Europe/Paris', 'America/Argentina/Buenos_Aires', 'Etc/GMT+5']) assert.ok(isTimeZone(zone), zone);
    for (const zone of ['Mars/Olympus', '+01:00', '', 'Europe/Paris ', '../etc']) assert.ok(!isTimeZone(zone), zone);
  });
});
