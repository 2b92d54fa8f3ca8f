import assert from 'node:assert/strict';
import { describe, it, mock } from 'node:test';
import { PassThrough } from 'node:stream';
import { drainRefusedBody } from './app.ts';

/** Whether `promise` has settled once pending callbacks have run. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  void promise.then(() => { done = true; });
  for (let i = 0; i < 5; i += 1) await Promise.resolve();
  await new Promise<void>((resolve) => { setImmediate(resolve); });
  return done;
}

describe('refused bodies', () => {
  it('refused body - the rest of a refused body is read to its end before the answer', async () => {
    const body = new PassThrough();
    const drained = drainRefusedBody(body, 1024, 60_000);
    body.write(Buffer.alloc(500));
    assert.equal(await settled(drained), false, 'still reading');
    body.end(Buffer.alloc(100));
    assert.equal(await settled(drained), true);
    assert.equal(await drained, 'ended');
    assert.equal(body.listenerCount('data'), 0, 'no listener left behind');
  });

  it('refused body - draining stops once the byte bound is passed', async () => {
    const body = new PassThrough();
    const drained = drainRefusedBody(body, 1024, 60_000);
    body.write(Buffer.alloc(1000));
    assert.equal(await settled(drained), false);
    body.write(Buffer.alloc(100));
    assert.equal(await settled(drained), true);
    assert.equal(await drained, 'bytes');
  });

  it('refused body - draining stops at the time bound when the client goes quiet', async () => {
    mock.timers.enable({ apis: ['setTimeout'] });
    try {
      const body = new PassThrough();
      const drained = drainRefusedBody(body, 1024, 10_000);
      body.write(Buffer.alloc(10));
      mock.timers.tick(9_999);
      assert.equal(await settled(drained), false);
      mock.timers.tick(1);
      assert.equal(await settled(drained), true);
      assert.equal(await drained, 'time');
    } finally {
      mock.timers.reset();
    }
  });

  it('refused body - an ended or destroyed body needs no draining', async () => {
    const ended = new PassThrough();
    ended.end();
    ended.resume();
    await new Promise<void>((resolve) => { ended.once('end', resolve); });
    assert.equal(await settled(drainRefusedBody(ended)), true);
    const destroyed = new PassThrough();
    destroyed.destroy();
    assert.equal(await drainRefusedBody(destroyed), 'ended');
  });
});
