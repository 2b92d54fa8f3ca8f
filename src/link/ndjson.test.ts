import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NdjsonDecoder, NdjsonError, ndjsonLine } from './ndjson.ts';

describe('NdjsonDecoder', () => {
  it('ndjson - values split across chunks come out whole', () => {
    const decoder = new NdjsonDecoder(1024);
    const bytes = Buffer.from(ndjsonLine({ a: 1 }) + ndjsonLine({ b: 'two' }));
    const out: unknown[] = [];
    for (let i = 0; i < bytes.length; i += 3) out.push(...decoder.push(bytes.subarray(i, i + 3)));
    assert.deepEqual(out, [{ a: 1 }, { b: 'two' }]);
  });

  it('ndjson - a multi-byte character split between chunks survives', () => {
    const decoder = new NdjsonDecoder(1024);
    const bytes = Buffer.from('{"name":"zürich-€"}\n');
    const cut = bytes.indexOf(0xe2) + 1; // inside the euro sign
    assert.deepEqual(decoder.push(bytes.subarray(0, cut)), []);
    assert.deepEqual(decoder.push(bytes.subarray(cut)), [{ name: 'zürich-€' }]);
  });

  it('ndjson - blank lines are skipped and a partial line waits', () => {
    const decoder = new NdjsonDecoder(1024);
    assert.deepEqual(decoder.push(Buffer.from('\n\n{"x":1}\n{"y"')), [{ x: 1 }]);
    assert.equal(decoder.remainder, '{"y"');
  });

  it('ndjson - an unfinished line over the limit is refused before it grows', () => {
    const decoder = new NdjsonDecoder(16);
    assert.throws(() => decoder.push(Buffer.from('{"long":"' + 'x'.repeat(40))), (error: unknown) =>
      error instanceof NdjsonError && error.code === 'NDJSON_INVALID' && /exceeds 16 bytes/.test(error.message));
  });

  it('ndjson - a complete line over the limit is refused', () => {
    const decoder = new NdjsonDecoder(8);
    assert.throws(() => decoder.push(Buffer.from('{"a":"0123456789"}\n')), /exceeds 8 bytes/);
  });

  it('ndjson - a line that is not JSON names itself', () => {
    const decoder = new NdjsonDecoder(1024);
    assert.throws(() => decoder.push(Buffer.from('hello\n')), /not JSON: hello/);
  });
});
