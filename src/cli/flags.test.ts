import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCount, parseDurationSeconds } from './flags.ts';

describe('command-line values', () => {
  it('flags - durations in seconds, minutes, hours and combinations', () => {
    assert.equal(parseDurationSeconds('10s', '--since'), 10);
    assert.equal(parseDurationSeconds('5m', '--since'), 300);
    assert.equal(parseDurationSeconds('1h', '--since'), 3600);
    assert.equal(parseDurationSeconds('1h30m', '--since'), 5400);
    assert.equal(parseDurationSeconds('2m30s', '--since'), 150);
    assert.equal(parseDurationSeconds(' 90s ', '--since'), 90);
  });

  it('flags - anything else is refused naming the flag', () => {
    for (const bad of ['', '10', '1d', '-5m', '1.5h', '5 m', '30s1m', 'h', '0s']) {
      assert.throws(() => parseDurationSeconds(bad, '--since'), /^InvalidArgumentError: --since must be/, bad);
    }
  });

  it('flags - counts are whole non-negative numbers', () => {
    assert.equal(parseCount('0', '--tail'), 0);
    assert.equal(parseCount('25', '--tail'), 25);
    for (const bad of ['-1', '1.5', 'ten', '', '1e3', '9999999999']) {
      assert.throws(() => parseCount(bad, '--tail'), /--tail must be a whole number/, bad);
    }
  });
});
