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

describe('ClusterLimiter with user shares', () => {
  it('limiter - a user holds at most its share of a class; others still get the rest', () => {
    const limiter = new ClusterLimiter({ unary: 8, streaming: 8, userSharePercent: 25 });
    assert.equal(limiter.userLimit('streaming'), 2);
    const hog = [limiter.tryAcquire('c', 'streaming', 'view-user'), limiter.tryAcquire('c', 'streaming', 'view-user')];
    assert.ok(hog.every(Boolean));
    assert.equal(limiter.tryAcquire('c', 'streaming', 'view-user'), undefined, 'beyond its share');
    assert.equal(limiter.refusal('c', 'streaming', 'view-user'), 'user');
    assert.ok(limiter.tryAcquire('c', 'unary', 'view-user'), 'unary has its own share');
    assert.ok(limiter.tryAcquire('c2', 'streaming', 'view-user'), 'another cluster has its own share');
    const admin = limiter.tryAcquire('c', 'streaming', 'admin');
    assert.ok(admin, 'another user still gets a slot');
    hog[0]?.();
    assert.ok(limiter.tryAcquire('c', 'streaming', 'view-user'), 'a released slot returns to the user');
    assert.equal(limiter.userCount('c', 'streaming', 'view-user'), 2);
  });

  it('limiter - the cluster limit still binds when every user is within its share', () => {
    const limiter = new ClusterLimiter({ unary: 4, streaming: 2, userSharePercent: 50 });
    assert.ok(limiter.tryAcquire('c', 'streaming', 'a'));
    assert.ok(limiter.tryAcquire('c', 'streaming', 'b'));
    assert.equal(limiter.tryAcquire('c', 'streaming', 'c'), undefined);
    assert.equal(limiter.refusal('c', 'streaming', 'c'), 'cluster');
  });

  it('limiter - a tiny limit still leaves each user one slot, and releasing twice frees one', () => {
    const limiter = new ClusterLimiter({ unary: 1, streaming: 3, userSharePercent: 10 });
    assert.equal(limiter.userLimit('unary'), 1);
    const release = limiter.tryAcquire('c', 'streaming', 'u');
    assert.ok(release);
    assert.equal(limiter.tryAcquire('c', 'streaming', 'u'), undefined);
    release();
    release();
    assert.equal(limiter.userCount('c', 'streaming', 'u'), 0);
    assert.equal(limiter.count('c', 'streaming'), 0);
  });
});
