import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SSE_KEEPALIVE, encodeSseEvent } from './sse.ts';

describe('server-sent events', () => {
  it('sse - an event is its name, one data line of JSON and a blank line', () => {
    assert.equal(encodeSseEvent('ADDED', { type: 'ADDED', n: 1 }), 'event: ADDED\ndata: {"type":"ADDED","n":1}\n\n');
  });

  it('sse - line breaks in the data stay escaped, so an event never splits', () => {
    const text = encodeSseEvent('ERROR', { message: 'one\ntwo\r\nthree\u2028' });
    assert.equal(text, 'event: ERROR\ndata: {"message":"one\\ntwo\\r\\nthree\u2028"}\n\n');
    assert.equal(text.split('\n').length, 4);
  });

  it('sse - a line break in the name cannot inject a field', () => {
    assert.equal(encodeSseEvent('A\ndata: x', 1), 'event: Adata: x\ndata: 1\n\n');
  });

  it('sse - the keepalive is a comment', () => {
    assert.match(SSE_KEEPALIVE, /^:[^\n]*\n\n$/);
  });
});
