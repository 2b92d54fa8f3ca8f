// When the hub collects garbage after links close: once a large drop has
// stopped falling, never for a small one or while links still close, and
// the next drop is measured from where the last collection left off.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MEMORY_RELEASE_CHECK_MS, MemoryRelease, startMemoryRelease } from './memory-release.ts';

const silent = { info: (): void => undefined };

/** A release over a scripted link count; `looks(...counts)` returns at which looks it collected. */
function scripted(): { looks: (...counts: number[]) => number[] } {
  let count = 0;
  const release = new MemoryRelease({ connectedCount: () => count, log: silent, collect: () => undefined });
  return {
    looks: (...counts) => counts.flatMap((next, i) => {
      count = next;
      return release.check() ? [i] : [];
    }),
  };
}

describe('memory release', () => {
  it('memory release - collects once a large drop has stopped falling, not while it falls', () => {
    assert.deepEqual(scripted().looks(0, 2000, 5000, 5000, 3000, 1000, 0, 0, 0), [7]);
  });

  it('memory release - a drop under 200 links, or under a fifth of the peak, is left alone', () => {
    assert.deepEqual(scripted().looks(150, 0, 0), [], 'all of a small fleet, but under 200 links');
    assert.deepEqual(scripted().looks(5000, 4100, 4100), [], '900 links, under a fifth of 5,000');
  });

  it('memory release - the next drop counts from where the last collection left off', () => {
    const release = scripted();
    assert.deepEqual(release.looks(3000, 0, 0), [2]);
    assert.deepEqual(release.looks(0, 100, 100, 0, 0), [], 'a hundred links coming and going');
    assert.deepEqual(release.looks(1000, 500, 500), [2]);
  });

  it('memory release - rising again after a drop is also a stop in the fall', () => {
    assert.deepEqual(scripted().looks(4000, 1000, 1500), [2]);
  });

  it('memory release - the timer looks every interval until stopped', (t) => {
    t.mock.timers.enable({ apis: ['setInterval'] });
    let looks = 0;
    const stop = startMemoryRelease({ connectedCount: () => { looks++; return 0; }, log: silent, collect: () => undefined });
    t.mock.timers.tick(MEMORY_RELEASE_CHECK_MS * 3);
    assert.equal(looks, 3);
    stop();
    t.mock.timers.tick(MEMORY_RELEASE_CHECK_MS * 3);
    assert.equal(looks, 3);
  });
});
