import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ClusterLimiter } from './limiter.ts';

describe('ClusterLimiter', () => {
  it('limiter - refuses beyond the limit per class and cluster', () => {
    const limiter = new ClusterLimiter({ unary: 2, streaming: 1 });
    const a = limiter.tryAcquire('c1', 'unary');
    const b = limiter.tryAcquire('c1', 'unary');
    assert.ok(a && b);
    assert.equal(limiter.tryAcquire('c1', 'unary'), undefined, 'third unary refused');
    assert.ok(limiter.tryAcquire('c1', 'streaming'), 'streaming has its own budget');
    assert.ok(limiter.tryAcquire('c2', 'unary'), 'another cluster has its own budget');
    a();
    assert.ok(limiter.tryAcquire('c1', 'unary'), 'a released slot is reusable');
  });

  it('limiter - releasing twice frees one slot only', () => {
    const limiter = new ClusterLimiter({ unary: 1, streaming: 1 });
    const release = limiter.tryAcquire('c', 'unary');
    assert.ok(release);
    release();
    release();
    assert.equal(limiter.count('c', 'unary'), 0);
    assert.ok(limiter.tryAcquire('c', 'unary'));
    assert.equal(limiter.tryAcquire('c', 'unary'), undefined);
  });
});
