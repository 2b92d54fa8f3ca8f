import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeForwardTarget, forwardTargetFromHeaders, forwardTargetHeaders, ForwardTargetError, parseForwardPort, parseForwardTarget } from './forward.ts';

describe('forward target', () => {
  it('forward target - reads each kind, a numbered and a named port, and round-trips through link headers', () => {
    const target = parseForwardTarget({ kind: 'service', namespace: 'data', name: 'db', port: '5432' });
    assert.deepEqual(target, { kind: 'service', namespace: 'data', name: 'db', port: 5432 });
    assert.deepEqual(forwardTargetFromHeaders(forwardTargetHeaders(target) as Record<string, string>), target);
    assert.equal(parseForwardTarget({ kind: 'pod', namespace: 'a', name: 'web-0.x', port: 'http-alt' }).port, 'http-alt');
    assert.equal(describeForwardTarget({ kind: 'deployment', namespace: 'a', name: 'web', port: 80 }), 'deploy/web:80');
  });

  it('forward target - refuses every field out of bounds, naming it', () => {
    const good = { kind: 'service', namespace: 'data', name: 'db', port: '80' };
    const bad: [Partial<Record<keyof typeof good, unknown>>, RegExp][] = [
      [{ kind: 'node' }, /kind must be one of/],
      [{ kind: undefined }, /kind is required/],
      [{ namespace: 'Data' }, /namespace must be a DNS label/],
      [{ namespace: ['a', 'b'] }, /namespace is required/],
      [{ name: '169.254.169.254' }, /name must be a DNS label/],
      [{ name: 'a'.repeat(254) }, /name is longer than 253/],
      [{ port: '0' }, /port must be/],
      [{ port: '65536' }, /port must be/],
      [{ port: '080' }, /port must be/],
      [{ port: '127.0.0.1:80' }, /port must be/],
      [{ port: 'a--b' }, /port must be/],
      [{ port: 'sixteen-chars-xx' }, /port must be/],
    ];
    for (const [change, message] of bad) {
      assert.throws(() => parseForwardTarget({ ...good, ...change }), (error: unknown) => error instanceof ForwardTargetError && message.test(error.message), JSON.stringify(change));
    }
    assert.equal(parseForwardPort('65535'), 65_535);
  });
});
