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
    assert.deepEqual(held.replace({ generation: 2, exposures: [web] }), { result: 'stored', ended: 0 });
    assert.deepEqual(held.get(id), web);
    assert.deepEqual(held.replace({ generation: 1, exposures: [] }), { result: 'stale', held: 2 });
    assert.deepEqual(held.get(id), web);
    // A delete on the hub is a newer set without it: the id stops working at once.
    assert.deepEqual(held.replace({ generation: 3, exposures: [] }), { result: 'stored', ended: 0 });
    assert.equal(held.get(id), undefined);
    assert.equal(held.generation, 3);
  });

  it('held exposures - a set that withdraws an exposure or points it elsewhere ends its open streams, and only those', () => {
    const held = new HeldExposures();
    const [a, b, c] = [newExposureId(), newExposureId(), newExposureId()];
    const web = { id: a, namespace: 'ns', service: 'web', port: 80 };
    const db = { id: b, namespace: 'ns', service: 'db', port: 5432 };
    const api = { id: c, namespace: 'ns', service: 'api', port: 'http' };
    held.replace({ generation: 1, exposures: [web, db, api] });
    const ended: string[] = [];
    held.track(a, () => ended.push('web 1'));
    held.track(a, () => ended.push('web 2'));
    const untrackDb = held.track(b, () => ended.push('db'));
    held.track(c, () => ended.push('api'));
    // The same set again ends nothing; a closed stream's ender is forgotten.
    assert.deepEqual(held.replace({ generation: 1, exposures: [web, db, api] }), { result: 'stored', ended: 0 });
    untrackDb();
    // web withdrawn, db withdrawn (its stream already closed), api now at another port.
    assert.deepEqual(held.replace({ generation: 2, exposures: [{ ...api, port: 8080 }] }), { result: 'stored', ended: 3 });
    assert.deepEqual(ended.sort(), ['api', 'web 1', 'web 2']);
    // An older set never ends anything.
    held.track(c, () => ended.push('api again'));
    assert.deepEqual(held.replace({ generation: 1, exposures: [] }), { result: 'stale', held: 2 });
    assert.equal(ended.length, 3);
  });
});
