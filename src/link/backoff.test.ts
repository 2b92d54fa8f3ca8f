import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Backoff } from './backoff.ts';

describe('Backoff', () => {
  it('backoff - ceilings double up to the cap', () => {
    const backoff = new Backoff({ initialMs: 1000, maxMs: 30_000, random: () => 0.999999 });
    const delays = Array.from({ length: 8 }, () => backoff.next());
    assert.deepEqual(delays, [999, 1999, 3999, 7999, 15_999, 29_999, 29_999, 29_999]);
  });

  it('backoff - full jitter draws from the whole window', () => {
    const draws = [0.5, 0.25, 0.75];
    const backoff = new Backoff({ initialMs: 1000, maxMs: 60_000, random: () => draws.shift() ?? 0 });
    assert.deepEqual([backoff.next(), backoff.next(), backoff.next()], [500, 500, 3000]);
  });

  it('backoff - never returns less than the floor', () => {
    const backoff = new Backoff({ initialMs: 1000, maxMs: 5000, floorMs: 250, random: () => 0 });
    assert.equal(backoff.next(), 250);
    assert.equal(backoff.next(), 250);
  });

  it('backoff - stays within [floor, ceiling) over many real random draws', () => {
    const backoff = new Backoff({ initialMs: 100, maxMs: 3200 });
    for (let i = 0; i < 1000; i++) {
      const ceiling = backoff.ceilingMs();
      const delay = backoff.next();
      assert.ok(delay >= 100 && delay < Math.max(ceiling, 101), `delay ${delay} outside [100, ${ceiling})`);
    }
  });

  it('backoff - jitter spreads a fleet over the window', () => {
    const delays = Array.from({ length: 2000 }, () => {
      const backoff = new Backoff({ initialMs: 8000, maxMs: 8000 });
      return backoff.next();
    });
    const buckets = [0, 0, 0, 0];
    for (const d of delays) {
      const bucket = Math.min(3, Math.floor(d / 2000));
      buckets[bucket] = (buckets[bucket] ?? 0) + 1;
    }
    for (const count of buckets) assert.ok(count > 350 && count < 650, `bucket counts ${buckets.join(',')}`);
  });

  it('backoff - reset starts over', () => {
    const backoff = new Backoff({ initialMs: 1000, maxMs: 30_000, random: () => 0.5 });
    backoff.next();
    backoff.next();
    assert.equal(backoff.attempt, 2);
    backoff.reset();
    assert.equal(backoff.attempt, 0);
    assert.equal(backoff.ceilingMs(), 1000);
  });

  it('backoff - rejects impossible bounds', () => {
    assert.throws(() => new Backoff({ initialMs: 0, maxMs: 10 }), /0 < initialMs <= maxMs/);
    assert.throws(() => new Backoff({ initialMs: 100, maxMs: 10 }), /0 < initialMs <= maxMs/);
  });
});
