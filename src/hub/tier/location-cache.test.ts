import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LOCATION_FRESH_MS, LocationCache } from './location-cache.ts';
import type { LinkLocation } from './replica-tier.ts';

const at = (replicaId: string): LinkLocation => ({ clusterId: 'c1', holder: { replicaId, peerUrl: `https://${replicaId}:8444` }, stale: false });

describe('location cache', () => {
  it('location cache - a location is given back while fresh, then forgotten', () => {
    let now = 1_000;
    const cache = new LocationCache({ now: () => now });
    cache.remember('prod', at('a'));
    assert.deepEqual(cache.fresh('prod'), at('a'));
    now += LOCATION_FRESH_MS - 1;
    assert.deepEqual(cache.fresh('prod'), at('a'));
    now += 1;
    assert.equal(cache.fresh('prod'), undefined);
    assert.equal(cache.size, 0, 'a stale entry is dropped when met');
  });

  it('location cache - a new reading replaces the old one and starts its own window', () => {
    let now = 0;
    const cache = new LocationCache({ now: () => now });
    cache.remember('prod', at('a'));
    now += LOCATION_FRESH_MS / 2;
    cache.remember('prod', at('b'));
    now += LOCATION_FRESH_MS / 2;
    assert.deepEqual(cache.fresh('prod'), at('b'));
  });

  it('location cache - no such cluster is not remembered, and forgets what was', () => {
    const cache = new LocationCache();
    cache.remember('prod', at('a'));
    cache.remember('prod', undefined);
    assert.equal(cache.fresh('prod'), undefined);
    assert.equal(cache.size, 0);
  });

  it('location cache - holds at most maxEntries, the oldest going first', () => {
    const cache = new LocationCache({ maxEntries: 3 });
    for (const ref of ['a', 'b', 'c', 'd']) cache.remember(ref, at('x'));
    assert.equal(cache.size, 3);
    assert.equal(cache.fresh('a'), undefined);
    cache.remember('b', at('y')); // read again: now the newest
    cache.remember('e', at('x'));
    assert.equal(cache.fresh('c'), undefined);
    assert.deepEqual(cache.fresh('b'), at('y'));
  });
});
