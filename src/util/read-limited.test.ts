import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { BodyTooLargeError, readLimited } from './read-limited.ts';

describe('readLimited', () => {
  it('read-limited - joins chunks into text', async () => {
    assert.equal(await readLimited(Readable.from([Buffer.from('hé'), Buffer.from('llo')]), 100), 'héllo');
  });

  it('read-limited - refuses a body over the limit and destroys the stream', async () => {
    const stream = Readable.from([Buffer.alloc(60), Buffer.alloc(60)]);
    await assert.rejects(readLimited(stream, 100), (error: unknown) => error instanceof BodyTooLargeError && error.code === 'BODY_TOO_LARGE');
    assert.equal(stream.destroyed, true);
  });

  it('read-limited - accepts a body of exactly the limit', async () => {
    assert.equal((await readLimited(Readable.from([Buffer.alloc(100, 0x61)]), 100)).length, 100);
  });
});
