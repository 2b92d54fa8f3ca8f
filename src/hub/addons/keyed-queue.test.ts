import assert from 'node:assert/strict';
import { setImmediate as tick } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { KeyedQueue } from './keyed-queue.ts';

describe('keyed queue', () => {
  it('keyed queue - work of one key runs in turn, other keys do not wait, and nothing is left behind', async () => {
    const queue = new KeyedQueue();
    const log: string[] = [];
    const step = (name: string) => async (): Promise<string> => {
      log.push(`${name} start`);
      await tick();
      await tick();
      log.push(`${name} end`);
      return name;
    };
    const results = await Promise.all([queue.run('a', step('a1')), queue.run('a', step('a2')), queue.run('b', step('b1'))]);
    assert.deepEqual(results, ['a1', 'a2', 'b1']);
    assert.ok(log.indexOf('a1 end') < log.indexOf('a2 start'));
    assert.ok(log.indexOf('b1 start') < log.indexOf('a1 end'));
    await tick();
    assert.equal(queue.size, 0);
  });

  it('keyed queue - a failure reaches its caller only; the next work still runs', async () => {
    const queue = new KeyedQueue();
    const failed = queue.run('a', () => Promise.reject(new Error('boom')));
    const next = queue.run('a', () => Promise.resolve('ok'));
    await assert.rejects(failed, /boom/);
    assert.equal(await next, 'ok');
  });
});
