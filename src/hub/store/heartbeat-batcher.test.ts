import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { HeartbeatBatcher } from './heartbeat-batcher.ts';
import { StoreError, StoreUnavailableError } from './store.ts';

/** A batcher whose writes are recorded and settled by the test. */
function batcher(t: TestContext, options: { maxBatch?: number; maxQueued?: number } = {}) {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const writes: { batch: Map<string, number>; commit: () => void; fail: (error: Error) => void }[] = [];
  const subject = new HeartbeatBatcher<number>({
    write: (batch) => new Promise<void>((resolve, reject) => { writes.push({ batch: new Map(batch), commit: resolve, fail: reject }); }),
    windowMs: 250, maxBatch: options.maxBatch ?? 100, maxQueued: options.maxQueued ?? 1000,
  });
  return { subject, writes };
}

/** Lets settled promises run their callbacks. */
const settle = (): Promise<void> => new Promise((resolve) => { setImmediate(resolve); });

function track(promise: Promise<void>): { state: () => string } {
  let state = 'pending';
  promise.then(() => { state = 'resolved'; }, (error: unknown) => { state = `rejected: ${(error as Error).message}`; });
  return { state: () => state };
}

describe('heartbeat batcher', () => {
  it('heartbeat batcher - values within the window make one write, and each call resolves when it commits', async (t) => {
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

  it('heartbeat batcher - two values for one key make one write of the later, and both calls settle with it', async (t) => {
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

  it('heartbeat batcher - a full batch is written at once; the rest waits for the write before it', async (t) => {
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

  it('heartbeat batcher - a failed write rejects its calls with its error and the next batch goes on', async (t) => {
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

  it('heartbeat batcher - calls beyond the queue bound are refused as unavailable', async (t) => {
    const { subject } = batcher(t, { maxQueued: 2 });
    void subject.add('a', 1).catch(() => undefined);
    void subject.add('b', 1).catch(() => undefined);
    await assert.rejects(subject.add('c', 1), (error: unknown) => error instanceof StoreUnavailableError && error.code === 'STORE_UNAVAILABLE');
    assert.equal(subject.stats().refused, 1);
  });

  it('heartbeat batcher - close writes what is queued, then refuses new calls', async (t) => {
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
});
