import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatLeaderHeader, parseLeaderHeader, podOfIdentity } from './leader-header.ts';
import { AGENT_HEADERS } from './protocol.ts';

const parse = (value: string | string[] | undefined) => parseLeaderHeader({ [AGENT_HEADERS.leader]: value });

describe('leader header', () => {
  it('leader header - round-trips a term and identity', () => {
    const leader = { term: 7, identity: 'uplink-agent-5d8f9c7b6-x2x9q_0a1b2c3d' };
    assert.deepEqual(parse(formatLeaderHeader(leader)), leader);
    assert.deepEqual(parse('0 a_f'), { term: 0, identity: 'a_f' });
    assert.deepEqual(parse(`2147483647 ${'a'.repeat(253)}_ff`), { term: 2 ** 31 - 1, identity: `${'a'.repeat(253)}_ff` });
  });

  it('leader header - absent is undefined; anything malformed, repeated or out of range is invalid', () => {
    assert.equal(parseLeaderHeader({}), undefined);
    for (const bad of ['', '7', '7 ', ' 7 pod_ab', '-1 pod_ab', '07 pod_ab', '1.5 pod_ab', '2147483648 pod_ab', '99999999999 pod_ab',
      '7 Pod_ab', '7 pod', '7 pod_xyz', '7 pod_ab extra', '7 -pod_ab', `7 ${'a'.repeat(254)}_ab`, '7 pod_ab\n', '7 pod_0123456789abcdef0']) {
      assert.equal(parse(bad), 'invalid', JSON.stringify(bad));
    }
    assert.equal(parse(['1 a_b', '2 a_c']), 'invalid');
  });

  it('leader header - the pod is the identity without its process suffix', () => {
    assert.equal(podOfIdentity('uplink-agent-7c9-abcde_0a1b2c3d'), 'uplink-agent-7c9-abcde');
    assert.equal(podOfIdentity('host_name_ab'), 'host_name');
    assert.equal(podOfIdentity('plain'), 'plain');
  });
});
