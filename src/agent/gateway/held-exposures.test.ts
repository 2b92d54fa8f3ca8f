import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { newExposureId } from '../../domain/exposure.ts';
import { HeldExposures } from './held-exposures.ts';

describe('held exposures', () => {
  it('held exposures - holds nothing before the first push; a newer set replaces, an older one is refused', () => {
    const held = new HeldExposures();
    const id = newExposureId();
    assert.equal(held.get(id), undefined);
    assert.deepEqual(held.snapshot(), { generation: 0, exposures: [] });
    const web = { id, namespace: 'ns', service: 'web', port: 80 };
    assert.deepEqual(held.replace({ generation: 2, exposures: [web] }), { result: 'stored' });
    assert.deepEqual(held.get(id), web);
    assert.deepEqual(held.replace({ generation: 1, exposures: [] }), { result: 'stale', held: 2 });
    assert.deepEqual(held.get(id), web);
    // A delete on the hub is a newer set without it: the id stops working at once.
    assert.deepEqual(held.replace({ generation: 3, exposures: [] }), { result: 'stored' });
    assert.equal(held.get(id), undefined);
    assert.equal(held.generation, 3);
  });
});
