import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { KeyedBatcher } from './keyed-batcher.ts';
import { StoreError, StoreUnavailableError } from './store.ts';

/** A batcher whose writes are recorded and settled by the test. */
function batcher(t: TestContext, options: { maxBatch?: number; maxQueued?: number } = {}) {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const writes: { batch: Map<string, number>; commit: () => void; fail: (error: Error) => void }[] = [];
  const subject = new KeyedBatcher<number>({
    write: (batch) => new Promise<undefined>((resolve, reject) => { writes.push({ batch: new Map(batch), commit: () => { resolve(undefined); }, fail: reject }); }),
    what: 'heartbeats', windowMs: 250, maxBatch: options.maxBatch ?? 100, maxQueued: options.maxQueued ?? 1000,
  });
  return { subject, writes };
}

/** Lets settled promises run their callbacks. */
const settle = (): Promise<void> => new Promise((resolve) => { setImmediate(resolve); });

function track(promise: Promise<unknown>): { state: () => string } {
  let state = 'pending';
  promise.then(() => { state = 'resolved'; }, (error: unknown) => { state = `rejected: ${(error as Error).message}`; });
  return { state: () => state };
}

describe('keyed batcher', () => {
  it('keyed batcher - values within the window make one write, and each call resolves when it commits', async (t) => {
    const { subject, writes } = batcher(t);
    const a = track(subject.add('a', 1));
    t.mock.timers.tick(100);
    const b = track(subject.add('b', 2));
    await settle();
    assert.equal(writes.length, 0);
    t.mock.timers.tick(150);
    await settle();
    assert.deepEqual(writes.map((w) => [...w.batch]), [[['a', 1], ['b', 2]]]);
    assert.equal(a.state(), 'pending', 'not before the commit');
    writes[0]?.commit();
    await settle();
    assert.deepEqual([a.state(), b.state()], ['resolved', 'resolved']);
    assert.deepEqual(subject.stats(), { queued: 0, batches: 1, written: 2, refused: 0 });
  });

  it('keyed batcher - two values for one key make one write of the later, and both calls settle with it', async (t) => {
    const { subject, writes } = batcher(t);
    const first = track(subject.add('a', 1));
    const second = track(subject.add('a', 2));
    assert.equal(subject.stats().queued, 2);
    t.mock.timers.tick(250);
    await settle();
    assert.deepEqual([...(writes[0]?.batch ?? [])], [['a', 2]]);
    writes[0]?.commit();
    await settle();
    assert.deepEqual([first.state(), second.state()], ['resolved', 'resolved']);
  });

  it('keyed batcher - a full batch is written at once; the rest waits for the write before it', async (t) => {
    const { subject, writes } = batcher(t, { maxBatch: 2 });
    for (const key of ['a', 'b', 'c']) void subject.add(key, 0).catch(() => undefined);
    await settle();
    assert.deepEqual(writes.map((w) => [...w.batch.keys()]), [['a', 'b']], 'without waiting for the window');
    t.mock.timers.tick(1000);
    await settle();
    assert.equal(writes.length, 1, 'one write at a time');
    writes[0]?.commit();
    await settle();
    t.mock.timers.tick(250);
    await settle();
    assert.deepEqual(writes.map((w) => [...w.batch.keys()]), [['a', 'b'], ['c']]);
  });

  it('keyed batcher - a failed write rejects its calls with its error and the next batch goes on', async (t) => {
    const { subject, writes } = batcher(t);
    const failed = track(subject.add('a', 1));
    t.mock.timers.tick(250);
    await settle();
    const later = track(subject.add('b', 2));
    writes[0]?.fail(new Error('connection lost'));
    await settle();
    assert.equal(failed.state(), 'rejected: connection lost');
    t.mock.timers.tick(250);
    await settle();
    writes[1]?.commit();
    await settle();
    assert.equal(later.state(), 'resolved');
  });

  it('keyed batcher - calls beyond the queue bound are refused as unavailable', async (t) => {
    const { subject } = batcher(t, { maxQueued: 2 });
    void subject.add('a', 1).catch(() => undefined);
    void subject.add('b', 1).catch(() => undefined);
    await assert.rejects(subject.add('c', 1), (error: unknown) => error instanceof StoreUnavailableError && error.code === 'STORE_UNAVAILABLE');
    assert.equal(subject.stats().refused, 1);
  });

  it('keyed batcher - close writes what is queued, then refuses new calls', async (t) => {
    const { subject, writes } = batcher(t);
    const queued = track(subject.add('a', 1));
    const closing = subject.close();
    await settle();
    assert.deepEqual([...(writes[0]?.batch ?? [])], [['a', 1]], 'without waiting for the window');
    writes[0]?.commit();
    await closing;
    await settle();
    assert.equal(queued.state(), 'resolved');
    await assert.rejects(subject.add('b', 1), StoreError);
  });

  it('keyed batcher - each call resolves with its key\'s result; a key without one resolves with undefined', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const subject = new KeyedBatcher<number, string>({
      what: 'claims', windowMs: 0, maxBatch: 10, maxQueued: 10,
      write: (batch) => Promise.resolve(new Map([...batch].filter(([key]) => key !== 'gone').map(([key, value]) => [key, `${key}=${value}`]))),
    });
    const results = Promise.all([subject.add('a', 1), subject.add('b', 2), subject.add('gone', 3)]);
    t.mock.timers.tick(0);
    assert.deepEqual(await results, ['a=1', 'b=2', undefined]);
    assert.equal(subject.stats().batches, 1);
  });

  it('keyed batcher - merge folds a later value into the one waiting', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const seen: [string, number[]][] = [];
    const subject = new KeyedBatcher<number[]>({
      what: 'records', windowMs: 10, maxBatch: 10, maxQueued: 10, merge: (earlier, later) => [...earlier, ...later],
      write: (batch) => { seen.push(...batch); return Promise.resolve(undefined); },
    });
    const both = Promise.all([subject.add('a', [1]), subject.add('a', [2])]);
    t.mock.timers.tick(10);
    await both;
    assert.deepEqual(seen, [['a', [1, 2]]]);
  });

  it('keyed batcher - maxInFlight batches run together, and calls arriving meanwhile gather for the next', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const runs: { keys: string[]; done: () => void }[] = [];
    const subject = new KeyedBatcher<number>({
      what: 'reads', windowMs: 0, maxBatch: 10, maxQueued: 10, maxInFlight: 2,
      write: (batch) => new Promise((resolve) => { runs.push({ keys: [...batch.keys()], done: () => { resolve(undefined); } }); }),
    });
    const calls = [subject.add('a', 0)];
    t.mock.timers.tick(0);
    await settle();
    calls.push(subject.add('b', 0));
    t.mock.timers.tick(0);
    await settle();
    calls.push(subject.add('c', 0), subject.add('d', 0));
    t.mock.timers.tick(0);
    await settle();
    assert.deepEqual(runs.map((r) => r.keys), [['a'], ['b']], 'two at a time');
    runs[0]?.done();
    await settle();
    t.mock.timers.tick(0);
    await settle();
    assert.deepEqual(runs.map((r) => r.keys), [['a'], ['b'], ['c', 'd']]);
    for (const r of runs.slice(1)) r.done();
    await Promise.all(calls);
  });
});
