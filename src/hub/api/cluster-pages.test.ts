// Continue tokens of the fleet list: what this hub issues comes back as the
// name it holds; anything else is a 400 naming `continue`, never a crash.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HttpError } from '../errors.ts';
import { decodeContinue, encodeContinue } from './cluster-pages.ts';

const refused = (error: unknown): boolean => error instanceof HttpError && error.code === 'BAD_REQUEST' && /^continue: /.test(error.message);

describe('cluster pages', () => {
  it('cluster pages - a token names the cluster the next page starts after', () => {
    for (const name of ['a', 'prod-eu-1', 'x'.repeat(63)]) {
      const token = encodeContinue(name);
      assert.match(token, /^[A-Za-z0-9_-]+$/, 'safe in a query string as it is');
      assert.equal(decodeContinue(token), name);
    }
  });

  it('cluster pages - no token, or an empty one, is the first page', () => {
    assert.equal(decodeContinue(undefined), undefined);
    assert.equal(decodeContinue(''), undefined);
  });

  it('cluster pages - a token this hub would not issue is refused with a 400 naming continue', () => {
    const encode = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
    const bad = [
      'not base64!', '%%%', 'a'.repeat(257), Buffer.from('not json').toString('base64url'), encode(null), encode([1]), encode('prod'),
      encode({ after: 'prod' }), encode({ v: 2, after: 'prod' }), encode({ v: 1 }), encode({ v: 1, after: 7 }),
      encode({ v: 1, after: '' }), encode({ v: 1, after: 'Prod' }), encode({ v: 1, after: "x' OR 1=1 --" }), encode({ v: 1, after: 'x'.repeat(64) }),
      Buffer.from([0xff, 0xfe, 0x00]).toString('base64url'),
    ];
    for (const token of bad) assert.throws(() => decodeContinue(token), refused, token);
  });
});
