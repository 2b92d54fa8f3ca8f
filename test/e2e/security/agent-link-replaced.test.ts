// Two agents started with one cluster token: the replaced one learns close
// 4005 on either transport, and the hub lets the link change hands only a
// few times before the agent holding it keeps it, so the pair does not take
// the link from each other for ever.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { kubeconfigPath } from '../../helpers/cluster.ts';
import { eventually, hubMetricsText, metricValue, startAgent, startHub, type AgentHandle, type LogLine } from '../../helpers/uplink.ts';
import { MAX_REPLACEMENTS } from '../../../src/hub/link-replacements.ts';

const REPLACED = 'another agent linked with this cluster token and replaced this one; waiting before linking again';

function replacedLines(agent: AgentHandle): LogLine[] {
  return agent.process.lines.filter((l) => l.msg === REPLACED);
}

describe('agent-link: two agents with one token', () => {
  for (const transport of ['h2', 'websocket']) {
    it(`agent-link - over ${transport}, the replaced agent sees close 4005 and the link changes hands at most ${MAX_REPLACEMENTS} times`, async (t) => {
      const hub = await startHub(t);
      const kubeconfig = await kubeconfigPath();
      const created = await hub.client.request<{ token: string }>('POST', '/api/v1/clusters', { name: `twins-${transport}` });
      const common = { hubUrl: hub.url, caHash: hub.caHash, token: created.token, kubeconfig, args: ['--link-transport', transport] };
      const first = await startAgent(t, common);
      const second = await startAgent(t, { ...common, waitLinked: false });
      const metric = async (reason: string): Promise<number> => metricValue(await hubMetricsText(hub), 'uplink_hub_link_errors_total', `reason="${reason}"`);
      // The observation window: until the hub has refused a twin twice, which
      // takes two of its retries; without the fix the pair swaps the link
      // every few seconds throughout.
      await eventually('the hub to refuse a twin twice', 120_000, async () => ((await metric('held')) >= 2 ? true : undefined));
      const replaced = await metric('replaced');
      assert.ok(replaced >= 1, 'the second agent did take the link once');
      assert.ok(replaced <= MAX_REPLACEMENTS, `the link changed hands ${replaced} times`);
      // Every replacement reached the replaced agent as 4005, none as a bare drop.
      const seen = [...replacedLines(first), ...replacedLines(second)];
      assert.equal(seen.length, replaced, `agent logs:\n${first.process.dump()}\n${second.process.dump()}`);
      for (const line of seen) assert.equal(line.code, 4005);
      const drops = [first, second].flatMap((a) => a.process.lines.filter((l) => l.msg === 'the link to the hub closed; reconnecting' && l.code === 1006));
      assert.deepEqual(drops, [], 'no agent saw its link drop without a code');
      // One of the two holds the link at the end, and the cluster is online.
      const clusters = await hub.client.request<{ items: { name: string; connected: boolean }[] }>('GET', '/api/v1/clusters');
      assert.equal(clusters.items.find((c) => c.name === `twins-${transport}`)?.connected, true);
      const held = [first, second].flatMap((a) => a.process.lines.filter((l) => /another agent holds the link/.test(l.msg)));
      assert.ok(held.length >= 1, 'the refused twin says why');
    });
  }
});
