import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compareLeaders, storedLeader } from './leader-handover.ts';

const a3 = { term: 3, identity: 'agent-a_01' };

describe('leader handover', () => {
  it('leader handover - a higher term hands over, a lower one is stale, the same leader relinks', () => {
    assert.equal(compareLeaders(a3, { term: 4, identity: 'agent-b_02' }), 'handover');
    assert.equal(compareLeaders(a3, { term: 2, identity: 'agent-b_02' }), 'stale');
    assert.equal(compareLeaders(a3, { term: 3, identity: 'agent-a_01' }), 'same');
  });

  it('leader handover - without terms on both sides, or an equal term of another identity, the replacement rules decide', () => {
    assert.equal(compareLeaders(undefined, a3), 'unrelated');
    assert.equal(compareLeaders(a3, undefined), 'unrelated');
    assert.equal(compareLeaders(undefined, undefined), 'unrelated');
    assert.equal(compareLeaders(a3, { term: 3, identity: 'agent-b_02' }), 'unrelated');
  });

  it('leader handover - the stored facts give the holder last reported', () => {
    assert.deepEqual(storedLeader({ pod: 'agent-a', identity: 'agent-a_01', term: 3, since: '2026-12-07T20:00:00.000Z' }), a3);
    assert.equal(storedLeader(undefined), undefined);
  });
});
