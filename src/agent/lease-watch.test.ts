import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { releasedByEvent } from './lease-watch.ts';

const lease = (holderIdentity: string | undefined) => ({
  metadata: { name: 'agent', resourceVersion: '42' },
  spec: { ...(holderIdentity === undefined ? {} : { holderIdentity }), leaseDurationSeconds: 1, leaseTransitions: 3 },
});

describe('lease watch', () => {
  it('lease watch - a released or deleted Lease wakes the standby; a held one, or anything malformed, does not', () => {
    assert.equal(releasedByEvent({ type: 'MODIFIED', object: lease('') }), true);
    assert.equal(releasedByEvent({ type: 'ADDED', object: lease(undefined) }), true, 'no holder at all');
    assert.equal(releasedByEvent({ type: 'DELETED', object: lease('agent-a_01') }), true);
    assert.equal(releasedByEvent({ type: 'MODIFIED', object: lease('agent-a_01') }), false);
    for (const bad of [null, 'x', 7, {}, { type: 'BOOKMARK', object: lease('') }, { type: 'ERROR', object: { code: 410 } },
      { type: 'MODIFIED', object: { spec: { holderIdentity: '' } } }, { type: 'MODIFIED', object: { metadata: { resourceVersion: '1' }, spec: { holderIdentity: 7 } } }]) {
      assert.equal(releasedByEvent(bad), false, JSON.stringify(bad));
    }
  });
});
