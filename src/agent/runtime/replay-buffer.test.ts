import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RuntimeEventBus } from './event-bus.ts';
import { ReplayBuffer } from './replay-buffer.ts';

describe('replay buffer', () => {
  it('replay buffer - keeps the last entries up to its capacity, with increasing ids, and tells listeners until they leave', () => {
    const buffer = new ReplayBuffer<string>(3);
    const heard: number[] = [];
    const off = buffer.subscribe((entry) => { heard.push(entry.id); });
    for (const value of ['a', 'b', 'c', 'd', 'e']) buffer.push(value);
    assert.deepEqual(buffer.recent().map((e) => [e.id, e.value]), [[3, 'c'], [4, 'd'], [5, 'e']]);
    assert.deepEqual(buffer.recent(4).map((e) => e.value), ['e']);
    assert.deepEqual(buffer.recent(99), []);
    assert.equal(buffer.lastId, 5);
    off();
    buffer.push('f');
    assert.deepEqual(heard, [1, 2, 3, 4, 5]);
    assert.equal(buffer.listenerCount, 0);
  });

  it('replay buffer - refuses a capacity that is not a positive integer', () => {
    assert.throws(() => new ReplayBuffer(0), RangeError);
    assert.throws(() => new ReplayBuffer(1.5), RangeError);
  });

  it('event bus - stamps events with the clock, bounds them at 100, and finds the last of a type', () => {
    let now = Date.parse('2026-01-01T00:00:00Z');
    const bus = new RuntimeEventBus({ now: () => now });
    bus.emit('link', { state: 'up', transport: 'h2' });
    for (let i = 0; i < 150; i += 1) {
      now += 1000;
      bus.emit('leader', { state: i % 2 === 0 ? 'leader' : 'standby' });
    }
    assert.equal(bus.buffer.recent().length, 100);
    assert.equal(bus.last('link'), undefined, 'the link event was pushed out');
    assert.deepEqual(bus.last('leader'), { type: 'leader', at: '2026-01-01T00:02:30.000Z', data: { state: 'standby' } });
  });
});
