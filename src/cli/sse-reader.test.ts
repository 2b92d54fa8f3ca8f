import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeSseEvent, SSE_KEEPALIVE } from '../hub/resources/sse.ts';
import { SseReader } from './sse-reader.ts';

describe('server-sent events reader', () => {
  it('sse reader - reads what the hub writes, split at any character', () => {
    const text = encodeSseEvent('ADDED', { name: 'a\nb' }) + SSE_KEEPALIVE + encodeSseEvent('ERROR', { message: 'gone' });
    for (let step = 1; step <= text.length; step += 1) {
      const reader = new SseReader();
      const events = [];
      for (let i = 0; i < text.length; i += step) events.push(...reader.push(text.slice(i, i + step)));
      assert.deepEqual(events, [
        { event: 'ADDED', data: '{"name":"a\\nb"}' },
        { event: 'ERROR', data: '{"message":"gone"}' },
      ], `step ${step}`);
    }
  });

  it('sse reader - CRLF and CR line ends, several data lines, unnamed events', () => {
    const reader = new SseReader();
    assert.deepEqual(reader.push('data: one\r\ndata:two\r\r'), [{ event: 'message', data: 'one\ntwo' }]);
    assert.deepEqual(reader.push('event: X\rid: 7\nretry: 5\n\n'), [], 'no data, no event');
    assert.deepEqual(reader.push('event: Y\ndata\n\n'), [{ event: 'Y', data: '' }]);
    // A CRLF split between two reads is one line end, not an empty line.
    assert.deepEqual(reader.push('data: a\r'), []);
    assert.deepEqual(reader.push('\ndata: b\n\n'), [{ event: 'message', data: 'a\nb' }]);
  });

  it('sse reader - refuses an unbounded event', () => {
    const reader = new SseReader();
    assert.throws(() => reader.push(`data: ${'x'.repeat(9 * 1024 * 1024)}`), /larger than/);
  });
});
