import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { watchIdle } from './idle.ts';

describe('gateway idle deadline', () => {
  it('fires once after the limit without activity, and activity pushes it back', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
    let fired = 0;
    const watch = watchIdle(1000, () => { fired += 1; });
    t.mock.timers.tick(600);
    watch.touch();
    t.mock.timers.tick(600);
    assert.equal(fired, 0);
    t.mock.timers.tick(400);
    assert.equal(fired, 1);
    t.mock.timers.tick(5000);
    assert.equal(fired, 1);
  });

  it('never fires once stopped', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
    let fired = 0;
    const watch = watchIdle(1000, () => { fired += 1; });
    watch.stop();
    t.mock.timers.tick(5000);
    assert.equal(fired, 0);
  });
});
