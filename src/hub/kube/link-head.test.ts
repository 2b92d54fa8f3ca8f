// How the hub sends a kubectl request's head to the agent: short heads as
// HTTP/2 headers, long ones in an envelope only to agents that read one,
// never a long head (cut or whole) to an agent that does not.
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { KUBE_ENVELOPE_THRESHOLD_BYTES, readKubeEnvelope } from '../../link/kube-envelope.ts';
import { AGENT_FEATURES, AGENT_HEADERS, AGENT_PATHS, parseAgentFeatures } from '../../link/protocol.ts';
import { linkUpgradeHeaders } from '../../link/dial.ts';
import { planLinkHead, type PlanLinkHeadInput } from './link-head.ts';

const HEADERS = { accept: 'application/json', 'impersonate-user': 'uplink:alice', 'impersonate-group': 'uplink:view' };

function input(apiPath: string, envelopes: boolean): PlanLinkHeadInput {
  return { method: 'DELETE', apiPath, headers: HEADERS, envelopes, clusterName: 'prod' };
}

describe('link head', () => {
  it('link head - a short head travels as the stream\'s headers, to any agent', () => {
    for (const envelopes of [true, false]) {
      const plan = planLinkHead(input('/api/v1/namespaces/a/pods?labelSelector=app%3Dweb', envelopes));
      assert.ok(!('tooLong' in plan));
      assert.equal(plan.envelope, undefined);
      assert.deepEqual(plan.headers, { ':method': 'DELETE', ':path': `${AGENT_PATHS.kube}/api/v1/namespaces/a/pods?labelSelector=app%3Dweb`, ...HEADERS });
    }
  });

  it('link head - a long head goes in an envelope that reads back as the same request', async () => {
    const apiPath = `/api/v1/namespaces/a/pods?labelSelector=${'x'.repeat(KUBE_ENVELOPE_THRESHOLD_BYTES)}`;
    const plan = planLinkHead(input(apiPath, true));
    assert.ok(!('tooLong' in plan));
    assert.deepEqual(plan.headers, { ':method': 'POST', ':path': AGENT_PATHS.kubeEnvelope });
    assert.ok(plan.envelope);
    const stream = new PassThrough();
    stream.end(plan.envelope);
    assert.deepEqual(await readKubeEnvelope(stream), { method: 'DELETE', target: apiPath, headers: HEADERS });
  });

  it('link head - an agent that does not read envelopes is never sent a long head: the hub refuses it, naming the fix', () => {
    const plan = planLinkHead(input(`/api/v1/namespaces/a/pods?labelSelector=${'x'.repeat(KUBE_ENVELOPE_THRESHOLD_BYTES)}`, false));
    assert.ok('tooLong' in plan);
    assert.match(plan.tooLong, /the agent of cluster "prod" takes at most 16384 over its link: upgrade the agent/);
  });

  it('link head - a head too long even for an envelope is refused', () => {
    const plan = planLinkHead({ ...input('/api/v1/pods', true), headers: { ...HEADERS, 'user-agent': '"'.repeat(700 * 1024) } });
    assert.ok('tooLong' in plan);
    assert.match(plan.tooLong, /too long to forward/);
  });

  it('link head - an agent lists its features on the upgrade request and the hub keeps only those it knows', () => {
    const base = { hubUrl: 'https://hub', token: 'upc_x', agentVersion: '1.0.0', rejectUnauthorized: true };
    assert.equal(linkUpgradeHeaders(base)[AGENT_HEADERS.features], undefined, 'an agent listing nothing sends no header, as an old one');
    const sent = linkUpgradeHeaders({ ...base, features: [AGENT_FEATURES.kubeEnvelope] });
    assert.equal(sent[AGENT_HEADERS.features], 'kube-envelope');
    assert.deepEqual([...parseAgentFeatures(sent[AGENT_HEADERS.features])], ['kube-envelope']);
    assert.deepEqual([...parseAgentFeatures(undefined)], []);
    assert.deepEqual([...parseAgentFeatures(' teleport , kube-envelope,,')], ['kube-envelope']);
    assert.deepEqual([...parseAgentFeatures(['x', 'kube-envelope'])], ['kube-envelope']);
  });
});
