import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ReplayBuffer } from './replay-buffer.ts';
import { SseChannel, lastEventId, sseMessage, type SseDrop, type SseResponse } from './sse-channel.ts';

/** A response that records what is written; `buffered` stands for bytes the client has not read. */
class FakeResponse implements SseResponse {
  status = 0;
  headers: Record<string, string> = {};
  text = '';
  ended = false;
  destroyed = false;
  buffered = 0;
  private onClose: (() => void) | undefined;

  get writableLength(): number {
    return this.buffered;
  }

  writeHead(status: number, headers: Record<string, string>): this {
    this.status = status;
    this.headers = headers;
    return this;
  }

  write(chunk: string): boolean {
    this.text += chunk;
    return true;
  }

  end(chunk?: string): this {
    if (chunk !== undefined) this.text += chunk;
    this.ended = true;
    return this;
  }

  destroy(): this {
    this.destroyed = true;
    this.onClose?.();
    return this;
  }

  once(_event: 'close', listener: () => void): this {
    this.onClose = listener;
    return this;
  }

  on(): this {
    return this;
  }

  close(): void {
    this.onClose?.();
  }
}

function channel(options: { maxClients?: number; maxBufferedBytes?: number } = {}): { buffer: ReplayBuffer<string>; sse: SseChannel<string>; counts: number[]; drops: SseDrop[] } {
  const buffer = new ReplayBuffer<string>(3);
  const counts: number[] = [];
  const drops: SseDrop[] = [];
  const sse = new SseChannel<string>({
    name: 'logs', buffer, format: (value) => ({ event: 'log', data: value }), heartbeatMs: 15_000, ...options,
    onClients: (count) => { counts.push(count); }, onDrop: (reason) => { drops.push(reason); },
  });
  return { buffer, sse, counts, drops };
}

describe('sse channel', () => {
  it('sse channel - replays the held entries (after Last-Event-ID, all for an id from an earlier run) and then follows new ones', () => {
    const { buffer, sse } = channel();
    for (const value of ['a', 'b', 'c', 'd']) buffer.push(value);
    const res = new FakeResponse();
    sse.serve(res, { 'last-event-id': '2' });
    buffer.push('e');
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'text/event-stream; charset=utf-8');
    assert.equal(res.text, `retry: 3000\n\n${sseMessage(3, 'log', 'c')}${sseMessage(4, 'log', 'd')}${sseMessage(5, 'log', 'e')}`);
    const fromEarlierRun = new FakeResponse();
    sse.serve(fromEarlierRun, { 'last-event-id': '900' });
    assert.equal(fromEarlierRun.text, `retry: 3000\n\n${sseMessage(3, 'log', 'c')}${sseMessage(4, 'log', 'd')}${sseMessage(5, 'log', 'e')}`);
  });

  it('sse channel - refuses the client beyond the limit with 429, and lets one in again once another leaves', () => {
    const { sse, counts, drops } = channel({ maxClients: 2 });
    const [first, second, third, fourth] = [new FakeResponse(), new FakeResponse(), new FakeResponse(), new FakeResponse()];
    sse.serve(first, {});
    sse.serve(second, {});
    sse.serve(third, {});
    assert.equal(third.status, 429);
    assert.equal(third.headers['retry-after'], '5');
    assert.ok(third.ended);
    assert.deepEqual(drops, ['refused']);
    first.close();
    sse.serve(fourth, {});
    assert.equal(fourth.status, 200);
    assert.deepEqual(counts, [1, 2, 1, 2]);
    assert.equal(sse.clientCount, 2);
    sse.close();
    assert.ok(second.ended && fourth.ended);
    assert.equal(sse.clientCount, 0);
  });

  it('sse channel - sends a heartbeat comment every 15 s while a client is connected, and none once all left', (t) => {
    t.mock.timers.enable({ apis: ['setInterval'] });
    const { sse } = channel();
    const res = new FakeResponse();
    sse.serve(res, {});
    const start = res.text.length;
    t.mock.timers.tick(14_999);
    assert.equal(res.text.length, start);
    t.mock.timers.tick(1);
    assert.equal(res.text.slice(start), ': keepalive\n\n');
    t.mock.timers.tick(15_000);
    assert.equal(res.text.slice(start), ': keepalive\n\n: keepalive\n\n');
    res.close();
    const after = res.text.length;
    t.mock.timers.tick(60_000);
    assert.equal(res.text.length, after);
  });

  it('sse channel - drops a client whose unread bytes pass the bound, on a new entry or a heartbeat', (t) => {
    t.mock.timers.enable({ apis: ['setInterval'] });
    const { buffer, sse, drops } = channel({ maxBufferedBytes: 1000 });
    const slow = new FakeResponse();
    const quick = new FakeResponse();
    sse.serve(slow, {});
    sse.serve(quick, {});
    slow.buffered = 1001;
    buffer.push('x');
    assert.ok(slow.destroyed);
    assert.deepEqual(drops, ['slow']);
    assert.equal(sse.clientCount, 1);
    buffer.push('y');
    assert.ok(!slow.text.includes('data: y') && quick.text.includes('data: y'));
    quick.buffered = 5000;
    t.mock.timers.tick(15_000);
    assert.ok(quick.destroyed);
    assert.equal(sse.clientCount, 0);
  });

  it('sse channel - Last-Event-ID is read only when it is a short run of digits', () => {
    assert.equal(lastEventId({ 'last-event-id': '42' }), 42);
    assert.equal(lastEventId({ 'last-event-id': '4x2' }), 0);
    assert.equal(lastEventId({ 'last-event-id': '9'.repeat(16) }), 0);
    assert.equal(lastEventId({}), 0);
    assert.equal(sseMessage(1, 'log', 'a\nb\r\nc'), 'id: 1\nevent: log\ndata: a b c\n\n');
  });
});
