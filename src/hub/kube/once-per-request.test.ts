import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { oncePerRequest, type RequestHead } from './once-per-request.ts';

describe('once per request', () => {
  it('once per request - reads a request once, errors included, and again when its URL, Host or the domain changed', () => {
    let reads = 0;
    const read = oncePerRequest((req: RequestHead, domain: string | undefined) => {
      reads += 1;
      if (req.url === '/bad') throw new Error('unreadable');
      return `${req.url ?? ''}@${req.headers.host ?? ''}/${domain ?? ''}`;
    });
    const req: RequestHead = { method: 'GET', url: '/a', headers: { host: 'h' } };
    assert.equal(read(req, 'd'), '/a@h/d');
    assert.equal(read(req, 'd'), '/a@h/d');
    assert.equal(reads, 1);
    assert.equal(read({ ...req }, 'd'), '/a@h/d', 'another request object is read on its own');
    assert.equal(read(req, undefined), '/a@h/');
    req.headers = { host: 'other' };
    assert.equal(read(req, undefined), '/a@other/');
    assert.equal(reads, 4);
    const bad: RequestHead = { method: 'GET', url: '/bad', headers: {} };
    assert.throws(() => read(bad, 'd'), /unreadable/);
    assert.throws(() => read(bad, 'd'), /unreadable/);
    assert.equal(reads, 5);
  });
});
