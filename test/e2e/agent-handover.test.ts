// Handovers between two leader-elected agents of one cluster, against a real
// hub, the real helm and the test cluster: a leader killed with SIGKILL is
// replaced by the standby at the Lease's own pace (client-go's default
// timings), the hub shows the new leader's pod, and an add-on changed while
// nobody led is applied exactly once; a leader frozen with SIGSTOP (its
// connection to the hub open, as on a node that fell off the network) loses
// its link to the next leader at once, which the hub takes as a handover,
// not as two agents fighting over one token; the frozen one, woken, is
// fenced by its older term.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { WebSocket } from 'ws';
import type { ClusterView } from '../../src/hub/fleet.ts';
import { agentConnectUrl } from '../../src/link/dial.ts';
import { formatLeaderHeader } from '../../src/link/leader-header.ts';
import { AGENT_HEADERS, LINK_SUBPROTOCOL } from '../../src/link/protocol.ts';
import { AddonHub, webappSpec } from '../helpers/addons.ts';
import { serveChartRepo } from '../helpers/chart-sources.ts';
import { loggedAt, metricsOf, readyz, SHORT_LEADER_TIMINGS, twoLeaderElectedAgents, type AgentPair } from '../helpers/agent-pair.ts';
import { helm, kubectl, REPO_ROOT, uniqueName } from '../helpers/cluster.ts';
import { eventually, hubMetricsText, metricValue, uplink, type HubHandle } from '../helpers/uplink.ts';

const WEBAPP = join(REPO_ROOT, 'examples/charts/webapp');
/** Two agents (pods agent-a, agent-b) for cluster `name`: agent-a leads, agent-b stands by. */
async function twoAgents(t: TestContext, name: string, args: string[]): Promise<AgentPair> {
  const pair = await twoLeaderElectedAgents(t, { name, args, pods: ['agent-a', 'agent-b'] });
  await eventually('the second agent standing by', 30_000, async () => ((await readyz(pair.second)).leader === 'standby' || undefined));
  return pair;
}

/** The cluster's view once it is online with `pod` leading. */
function onlineLedBy(hub: HubHandle, name: string, pod: string): Promise<ClusterView> {
  return eventually(`${name} online, led by ${pod}`, 60_000, async () => {
    const view = await hub.client.request<ClusterView>('GET', `/api/v1/clusters/${name}`);
    return view.status === 'online' && view.facts?.leader?.pod === pod ? view : undefined;
  });
}

/** The HTTP status the hub answers a link upgrade with `headers`. */
function upgradeStatus(hub: HubHandle, token: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(agentConnectUrl(hub.url), [LINK_SUBPROTOCOL], {
      headers: { authorization: `Bearer ${token}`, ...headers }, rejectUnauthorized: false,
    });
    ws.on('unexpected-response', (_req, res) => { resolve(res.statusCode ?? 0); ws.terminate(); });
    ws.on('open', () => { ws.terminate(); reject(new Error('the upgrade was accepted')); });
    ws.on('error', () => undefined);
  });
}

describe('agent handover between leader-elected replicas', () => {
  it('agent handover - SIGKILL on the leader: with the default timings the standby takes the Lease and links, the hub shows its pod, and an add-on changed meanwhile is applied once', async (t) => {
    const name = 'e2e-handover';
    const repo = await serveChartRepo(t, [WEBAPP]);
    const { hub, first, second } = await twoAgents(t, name, ['--addons-sweep-interval', '5']);
    const addons = new AddonHub(hub);
    const releaseNamespace = uniqueName('handover-web');
    t.after(() => kubectl(['delete', 'namespace', releaseNamespace, '--ignore-not-found', '--wait=false']));
    await addons.put(name, 'web', webappSpec(repo, releaseNamespace, 'replicaCount: 1\n'));
    await addons.deployedAt(name, 'web', 1);
    const before = await onlineLedBy(hub, name, 'agent-a');
    assert.equal(before.facts?.leader?.identity, (await readyz(first)).holder);
    const wide = await uplink(['clusters', 'get', name, '-o', 'wide'], hub.cliConfig);
    assert.match(wide.stdout, /LEADER/);
    assert.match(wide.stdout, /\bagent-a\b/);
    // One sweeps, from the hub's view and from both agents' metrics.
    await eventually('the leader sweeping', 60_000, async () => (metricValue(await metricsOf(first), 'uplink_agent_addon_sweeps_total') >= 1 || undefined));
    assert.equal(metricValue(await metricsOf(second), 'uplink_agent_addon_sweeps_total'), 0, 'the standby never sweeps');
    assert.equal(metricValue(await metricsOf(second), 'uplink_agent_link_up'), 0);
    assert.notEqual((await hub.client.request<ClusterView>('GET', `/api/v1/clusters/${name}`)).addonSweep, null);

    const killedAt = Date.now();
    await first.process.stop('SIGKILL');
    await addons.put(name, 'web', webappSpec(repo, releaseNamespace, 'replicaCount: 2\n'));
    await second.process.waitForLog((l) => l.msg === 'linked to the hub', 90_000);
    console.log(`# the standby linked ${Date.now() - killedAt} ms after SIGKILL to the leader (lease 15 s, renew 10 s, retry 2 s)`);
    const after = await onlineLedBy(hub, name, 'agent-b');
    assert.equal(after.facts?.leader?.term, 1, 'the Lease changed hands once');
    await addons.deployedAt(name, 'web', 2);
    // Two more sweeps of the new leader find nothing to do: the change was applied once.
    const sweeps = metricValue(await metricsOf(second), 'uplink_agent_addon_sweeps_total');
    await eventually('two more sweeps', 60_000, async () => (metricValue(await metricsOf(second), 'uplink_agent_addon_sweeps_total') >= sweeps + 2 || undefined));
    const history = JSON.parse((await helm(['history', 'web', '-n', releaseNamespace, '-o', 'json'])).stdout) as { revision: number }[];
    assert.deepEqual(history.map((r) => r.revision), [1, 2]);
    assert.equal(metricValue(await hubMetricsText(hub), 'uplink_hub_link_errors_total', 'reason="replaced"'), 0, 'no replacement counted');
  });

  it('agent handover - a frozen leader whose link is still open: the next leader takes the link as a handover, never refused, and the old leader is fenced by its term', async (t) => {
    const name = 'e2e-frozen';
    const { hub, token, first, second } = await twoAgents(t, name, SHORT_LEADER_TIMINGS);
    const before = await onlineLedBy(hub, name, 'agent-a');
    const oldLeader = before.facts?.leader;
    assert.ok(oldLeader, 'the leader is in the facts');
    first.process.child.kill('SIGSTOP');
    t.after(() => { first.process.child.kill('SIGCONT'); });
    await second.process.waitForLog((l) => l.msg === 'linked to the hub', 60_000);
    const after = await onlineLedBy(hub, name, 'agent-b');
    assert.ok((after.facts?.leader?.term ?? 0) > oldLeader.term, 'a later term');
    const text = await hubMetricsText(hub);
    assert.equal(metricValue(text, 'uplink_hub_leader_handovers_total', 'kind="handover"'), 1, 'the frozen leader\'s open link was handed over');
    assert.equal(metricValue(text, 'uplink_hub_link_errors_total', 'reason="replaced"'), 0, 'not counted as a replacement');
    assert.equal(metricValue(text, 'uplink_hub_link_errors_total', 'reason="held"'), 0);
    // The frozen leader's own word, replayed: an earlier term is refused while the later one holds the link.
    assert.equal(await upgradeStatus(hub, token, { [AGENT_HEADERS.leader]: formatLeaderHeader(oldLeader) }), 409);
    assert.equal(metricValue(await hubMetricsText(hub), 'uplink_hub_link_errors_total', 'reason="stale_leader"'), 1);
    // Woken, it finds its renew deadline long past: it stops leading and stands by; the link stays with agent-b.
    first.process.child.kill('SIGCONT');
    await eventually('the woken agent standing by', 60_000, async () => ((await readyz(first)).leader === 'standby' || undefined));
    assert.equal(metricValue(await metricsOf(first), 'uplink_agent_link_up'), 0);
    const stopped = loggedAt(first, 'add-on engine stopped');
    assert.ok(stopped !== undefined, 'the woken agent stopped its engine');
    assert.equal((await onlineLedBy(hub, name, 'agent-b')).facts?.leader?.pod, 'agent-b');
  });
});
