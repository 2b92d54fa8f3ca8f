// Two agents started with one cluster token: the replaced one learns close
// 4005 on either transport, and the hub lets the link change hands only a
// few times before the agent holding it keeps it, so the pair does not take
// the link from each other for ever; also when each links to another of two
// hub replicas.
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { kubeconfigPath } from '../../helpers/cluster.ts';
import { startHubTier } from '../../helpers/hub-tier.ts';
import { eventually, hubMetricsText, metricValue, startAgent, startHub, type AgentHandle, type HubHandle, type LogLine } from '../../helpers/uplink.ts';
import { MAX_REPLACEMENTS } from '../../../src/hub/link-replacements.ts';

const REPLACED = 'another agent linked with this cluster token and replaced this one; waiting before linking again';

function replacedLines(agent: AgentHandle): LogLine[] {
  return agent.process.lines.filter((l) => l.msg === REPLACED);
}

interface Twins {
  /** Where each of the two agents links. */
  hubUrls: readonly [string, string];
  caHash: string;
  /** Creates the cluster; its token. */
  token: string;
  /** The hubs whose metrics count (summed). */
  hubs: readonly Pick<HubHandle, 'url' | 'caHash' | 'dataDir'>[];
  /** Where the fleet is listed. */
  client: HubHandle['client'];
  args: string[];
}

/** Starts the twins and checks the link changed hands at most MAX_REPLACEMENTS times, then stayed with one. */
async function checkTwins(t: TestContext, twins: Twins, cluster: string): Promise<void> {
  const kubeconfig = await kubeconfigPath();
  const common = { caHash: twins.caHash, token: twins.token, kubeconfig, args: twins.args };
  const first = await startAgent(t, { ...common, hubUrl: twins.hubUrls[0] });
  const second = await startAgent(t, { ...common, hubUrl: twins.hubUrls[1], waitLinked: false });
  const metric = async (reason: string): Promise<number> => {
    const texts = await Promise.all(twins.hubs.map((hub) => hubMetricsText(hub as HubHandle)));
    return texts.reduce((sum, text) => sum + metricValue(text, 'uplink_hub_link_errors_total', `reason="${reason}"`), 0);
  };
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
  const clusters = await twins.client.request<{ items: { name: string; connected: boolean }[] }>('GET', '/api/v1/clusters');
  assert.equal(clusters.items.find((c) => c.name === cluster)?.connected, true);
  const held = [first, second].flatMap((a) => a.process.lines.filter((l) => /another agent holds the link/.test(l.msg)));
  assert.ok(held.length >= 1, 'the refused twin says why');
}

describe('agent-link: two agents with one token', () => {
  for (const transport of ['h2', 'websocket']) {
    it(`agent-link - over ${transport}, the replaced agent sees close 4005 and the link changes hands at most ${MAX_REPLACEMENTS} times`, async (t) => {
      const hub = await startHub(t);
      const { token } = await hub.client.request<{ token: string }>('POST', '/api/v1/clusters', { name: `twins-${transport}` });
      const twins = { hubUrls: [hub.url, hub.url] as const, caHash: hub.caHash as string, token, hubs: [hub], client: hub.client };
      await checkTwins(t, { ...twins, args: ['--link-transport', transport] }, `twins-${transport}`);
    });
  }

  it(`agent-link - each twin on another hub replica: the link changes hands at most ${MAX_REPLACEMENTS} times across them`, async (t) => {
    const tier = await startHubTier(t, 2);
    const [a, b] = tier.replicas as [typeof tier.replicas[0], typeof tier.replicas[0]];
    const { token } = await tier.client.request<{ token: string }>('POST', '/api/v1/clusters', { name: 'twins-tier' });
    const hubs = [a, b].map((r) => ({ url: r.url, caHash: tier.caHash, dataDir: r.dataDir }));
    await checkTwins(t, { hubUrls: [a.url, b.url], caHash: tier.caHash, token, hubs, client: tier.client, args: [] }, 'twins-tier');
  });
});
