import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cachedExposures } from './exposure-cache.ts';
import type { GatewayExposure } from './gateway-route.ts';

const EXPOSURE: GatewayExposure = { id: 'ex_a', name: 'app', namespace: 'web', service: 'app', port: 80, minRole: 'view' };

describe('gateway exposure cache', () => {
  it('shares a read for a second, then reads again; a miss or a failed read is not kept', async () => {
    let reads = 0;
    let fail = false;
    const clock = { now: 0 };
    const find = cachedExposures((clusterId, name) => {
      reads += 1;
      return fail ? Promise.reject(new Error('store down')) : Promise.resolve(clusterId === 'c1' && name === 'app' ? EXPOSURE : undefined);
    }, { now: () => clock.now });
    assert.equal(await find('c1', 'app'), EXPOSURE);
    assert.equal(await find('c1', 'app'), EXPOSURE);
    assert.equal(await find('c1', 'other'), undefined);
    assert.equal(await find('c1', 'other'), undefined);
    assert.equal(reads, 3);
    clock.now += 1_000;
    fail = true;
    await assert.rejects(find('c1', 'app'));
    fail = false;
    assert.equal(await find('c1', 'app'), EXPOSURE);
    assert.equal(reads, 5);
  });
});
