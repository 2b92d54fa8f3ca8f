import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PoolFullError, WorkerPool } from './worker-pool.ts';

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => { resolve = r; });
  return { promise, resolve };
}

describe('WorkerPool', () => {
  it('worker-pool - runs at most `workers` jobs at once and starts queued ones in order as slots free', async () => {
    const states: string[] = [];
    const pool = new WorkerPool({ name: 'test', workers: 2, maxQueued: 10, onChange: (s) => { states.push(`${s.running}/${s.queued}`); } });
    const gates = [deferred(), deferred(), deferred(), deferred()];
    const started: number[] = [];
    const jobs = gates.map((gate, index) => pool.run(async () => {
      started.push(index);
      await gate.promise;
      return index;
    }));
    await Promise.resolve();
    assert.deepEqual(started, [0, 1]);
    assert.equal(pool.running, 2);
    assert.equal(pool.queued, 2);
    gates[1]?.resolve();
    await jobs[1];
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(started, [0, 1, 2], 'the first queued job takes the freed slot');
    for (const gate of gates) gate.resolve();
    assert.deepEqual(await Promise.all(jobs), [0, 1, 2, 3]);
    assert.equal(pool.running, 0);
    assert.equal(states.at(-1), '0/0');
  });

  it('worker-pool - refuses a job beyond the queue bound, and everything after close, without running it', async () => {
    const pool = new WorkerPool({ name: 'helm write', workers: 1, maxQueued: 1 });
    const gate = deferred();
    const running = pool.run(() => gate.promise);
    const queued = pool.run(() => Promise.resolve('queued'));
    let ran = false;
    await assert.rejects(pool.run(() => { ran = true; return Promise.resolve(); }), (error: unknown) => error instanceof PoolFullError && /the helm write queue is full/.test(error.message));
    assert.equal(ran, false);
    pool.close();
    await assert.rejects(queued, /the helm write pool is closed/);
    await assert.rejects(pool.run(() => Promise.resolve('late')), /closed/);
    gate.resolve();
    await running;
  });

  it('worker-pool - a failing job frees its slot', async () => {
    const pool = new WorkerPool({ name: 'test', workers: 1, maxQueued: 5 });
    await assert.rejects(pool.run(() => Promise.reject(new Error('boom'))), /boom/);
    assert.equal(await pool.run(() => Promise.resolve('next')), 'next');
    assert.equal(pool.running, 0);
  });
});
