// When the hub gives memory back after links close: once a large drop has
// stopped falling, never for a small one or while links still close, the
// next drop measured from where the last release left off, one release at a
// time, and a failed release logged, not thrown.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { releaseMemory } from '../util/heap.ts';
import { MEMORY_RELEASE_CHECK_MS, MemoryRelease, startMemoryRelease } from './memory-release.ts';

const silent = { info: (): void => undefined, warn: (): void => undefined };
const released = (): Promise<void> => Promise.resolve();

/** A release over a scripted link count; `looks(...counts)` resolves with the looks at which it released. */
function scripted(release = released): { looks: (...counts: number[]) => Promise<number[]> } {
  let count = 0;
  const memory = new MemoryRelease({ connectedCount: () => count, log: silent, release });
  return {
    looks: async (...counts) => {
      const at: number[] = [];
      for (const [i, next] of counts.entries()) {
        count = next;
        if (await memory.check()) at.push(i);
      }
      return at;
    },
  };
}

describe('memory release', () => {
  it('memory release - releases once a large drop has stopped falling, not while it falls', async () => {
    assert.deepEqual(await scripted().looks(0, 2000, 5000, 5000, 3000, 1000, 0, 0, 0), [7]);
  });

  it('memory release - a drop under 200 links, or under a fifth of the peak, is left alone', async () => {
    assert.deepEqual(await scripted().looks(150, 0, 0), [], 'all of a small fleet, but under 200 links');
    assert.deepEqual(await scripted().looks(5000, 4100, 4100), [], '900 links, under a fifth of 5,000');
  });

  it('memory release - the next drop counts from where the last release left off', async () => {
    const release = scripted();
    assert.deepEqual(await release.looks(3000, 0, 0), [2]);
    assert.deepEqual(await release.looks(0, 100, 100, 0, 0), [], 'a hundred links coming and going');
    assert.deepEqual(await release.looks(1000, 500, 500), [2]);
  });

  it('memory release - rising again after a drop is also a stop in the fall', async () => {
    assert.deepEqual(await scripted().looks(4000, 1000, 1500), [2]);
  });

  it('memory release - one release at a time; a failed one is logged and the next drop tries again', async () => {
    let count = 3000;
    let finish: () => void = () => undefined;
    const warnings: unknown[] = [];
    let calls = 0;
    const memory = new MemoryRelease({
      connectedCount: () => count, log: { info: () => undefined, warn: (fields: unknown) => { warnings.push(fields); } },
      release: () => { calls += 1; return calls === 1 ? new Promise((resolve) => { finish = resolve; }) : Promise.reject(new Error('no inspector')); },
    });
    await memory.check();
    count = 0;
    await memory.check();
    const first = memory.check();
    count = 2000;
    await memory.check();
    count = 0;
    await memory.check();
    assert.equal(await memory.check(), false, 'a second drop while the first release still runs');
    finish();
    assert.equal(await first, true);
    assert.equal(await memory.check(), false, 'the second release, tried now, failed');
    assert.equal(warnings.length, 1);
  });

  it('memory release - the timer looks every interval until stopped', (t) => {
    t.mock.timers.enable({ apis: ['setInterval'] });
    let looks = 0;
    const stop = startMemoryRelease({ connectedCount: () => { looks++; return 0; }, log: silent, release: released });
    t.mock.timers.tick(MEMORY_RELEASE_CHECK_MS * 3);
    assert.equal(looks, 3);
    stop();
    t.mock.timers.tick(MEMORY_RELEASE_CHECK_MS * 3);
    assert.equal(looks, 3);
  });

  it('memory release - releaseMemory runs the V8 collection in this process and resolves', async () => {
    const makeGarbage = (): number => Array.from({ length: 100_000 }, (_, i) => ({ i })).length;
    assert.equal(makeGarbage(), 100_000);
    const before = process.memoryUsage().heapUsed;
    await releaseMemory();
    assert.ok(process.memoryUsage().heapUsed < before, 'the heap in use shrank');
  });
});
