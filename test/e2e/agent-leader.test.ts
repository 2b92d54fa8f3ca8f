// Two agent processes for one cluster with --leader-elect, against a real hub
// and the test cluster's API server: one links and the other stands by, as
// their /readyz and metrics say; SIGTERM on the leader releases the Lease and
// the standby links; a leader cut off from the API server cuts its link at
// its renew deadline, before the standby takes the Lease.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import type { ClusterView } from '../../src/hub/fleet.ts';
import { loggedAt, metricsOf, readyz, SHORT_LEADER_TIMINGS, twoLeaderElectedAgents } from '../helpers/agent-pair.ts';
import { kubectlJson, testTempDir } from '../helpers/cluster.ts';
import { startTcpRelay, type TcpRelay } from '../helpers/tcp-relay.ts';
import { eventually, metricValue, uplink } from '../helpers/uplink.ts';

/** The admin kubeconfig with its server moved to a relay on loopback (the API server's certificate names 127.0.0.1). */
async function kubeconfigThrough(t: TestContext, relay: TcpRelay): Promise<string> {
  const config = await kubectlJson<{ clusters: { cluster: { server: string } }[] }>(['config', 'view', '--raw']);
  for (const { cluster } of config.clusters) {
    const server = new URL(cluster.server);
    server.port = String(relay.port);
    cluster.server = server.origin;
  }
  const file = join(testTempDir(t, 'uplink-relay-'), 'kubeconfig');
  writeFileSync(file, JSON.stringify(config), { mode: 0o600 });
  return file;
}

describe('agent replicas with leader election', () => {
  it('agent leader - of two agents one links and one stands by; SIGTERM on the leader hands the link over', async (t) => {
    const { hub, namespace, first, second } = await twoLeaderElectedAgents(t, { name: 'e2e-leader', args: SHORT_LEADER_TIMINGS });
    const standby = await eventually('the second agent standing by', 30_000, async () => {
      const report = await readyz(second);
      return report.leader === 'standby' ? report : undefined;
    });
    assert.equal(standby.status, 'ok', 'a standby is ready without a link');
    const leader = await readyz(first);
    assert.equal(leader.leader, 'leader');
    assert.equal(standby.holder, leader.holder);
    assert.equal(metricValue(await metricsOf(first), 'uplink_agent_leader'), 1);
    assert.equal(metricValue(await metricsOf(first), 'uplink_agent_link_up'), 1);
    assert.equal(metricValue(await metricsOf(second), 'uplink_agent_leader'), 0);
    assert.equal(metricValue(await metricsOf(second), 'uplink_agent_link_up'), 0);
    assert.equal(second.process.lines.some((l) => l.msg === 'linked to the hub'), false, 'the standby never linked');
    assert.equal(second.process.lines.some((l) => l.msg === 'add-on engine started'), false, 'the standby never ran the engine');
    const clusterOnline = async (): Promise<ClusterView | undefined> => {
      const result = await uplink(['clusters', 'get', 'e2e-leader', '-o', 'json'], hub.cliConfig);
      const view = JSON.parse(result.stdout) as ClusterView;
      return view.status === 'online' ? view : undefined;
    };
    await eventually('the cluster online', 30_000, clusterOnline);

    const stoppedAt = Date.now();
    await first.process.stop('SIGTERM');
    assert.ok(first.process.lines.some((l) => l.msg === 'released the leader lease'), 'the leader released the Lease on SIGTERM');
    await second.process.waitForLog((l) => l.msg === 'linked to the hub', 30_000);
    assert.ok(second.process.lines.some((l) => l.msg === 'the leader lease was released; trying to take it now'), 'the standby\'s watch saw the release');
    console.log(`# the standby linked ${Date.now() - stoppedAt} ms after SIGTERM to the leader (lease 6 s, retry 0.5 s)`);
    assert.equal((await readyz(second)).leader, 'leader');
    assert.equal(metricValue(await metricsOf(second), 'uplink_agent_leader'), 1);
    const lease = await kubectlJson<{ spec: { holderIdentity: string; leaseTransitions: number } }>(['-n', namespace, 'get', 'lease', 'agent']);
    assert.equal(lease.spec.holderIdentity, (await readyz(second)).holder);
    assert.equal(lease.spec.leaseTransitions, 1);
    await eventually('the cluster online again', 30_000, clusterOnline);
  });

  it('agent leader - a leader cut off from the API server cuts its link at the renew deadline, before the standby takes the Lease and links', async (t) => {
    const apiServer = new URL((await kubectlJson<{ clusters: { cluster: { server: string } }[] }>(['config', 'view', '--raw'])).clusters[0]?.cluster.server ?? '');
    const relay = await startTcpRelay(t, { host: apiServer.hostname, port: Number(apiServer.port) });
    const { first, second } = await twoLeaderElectedAgents(t, { name: 'e2e-partition', args: SHORT_LEADER_TIMINGS, firstKubeconfig: await kubeconfigThrough(t, relay) });
    await eventually('the second agent standing by', 30_000, async () => ((await readyz(second)).leader === 'standby' || undefined));
    relay.cut();
    await second.process.waitForLog((l) => l.msg === 'linked to the hub', 60_000);
    const stopped = loggedAt(first, 'stopped leading');
    const cutLink = loggedAt(first, 'lost the leader lease: cutting the link to the hub');
    const took = loggedAt(second, 'became the leader');
    const linked = loggedAt(second, 'linked to the hub');
    assert.ok(stopped !== undefined && cutLink !== undefined && took !== undefined && linked !== undefined,
      `every step logged: ${JSON.stringify({ stopped, cutLink, took, linked })}`);
    assert.ok(first.process.lines.some((l) => l.msg === 'stopped leading' && l.reason === 'deadline'), 'the first stopped at its renew deadline');
    assert.ok(stopped < took && cutLink < took, `the first stopped (${stopped}) and cut its link (${cutLink}) before the second took the Lease (${took})`);
    console.log(`# the cut-off leader stopped ${took - stopped} ms before the standby took the Lease; linked ${linked - took} ms after that`);
    // Never two engines: the first's had stopped (its helm writes killed) before the second's started.
    const engineStopped = loggedAt(first, 'add-on engine stopped');
    const engineStarted = second.process.lines.filter((l) => l.msg === 'add-on engine started').map((l) => Date.parse(String(l.time)));
    assert.ok(engineStopped !== undefined && engineStarted.length === 1, `engine steps logged: ${JSON.stringify({ engineStopped, engineStarted })}`);
    assert.ok(engineStopped < (engineStarted[0] ?? 0), `the first's engine stopped (${engineStopped}) before the second's started (${engineStarted[0] ?? 0})`);
    assert.equal(metricValue(await metricsOf(first), 'uplink_agent_link_up'), 0);
    assert.equal(metricValue(await metricsOf(first), 'uplink_agent_leader'), 0);
    relay.heal();
    await eventually('the first agent standing by', 60_000, async () => ((await readyz(first)).leader === 'standby' || undefined));
    assert.equal((await readyz(second)).leader, 'leader');
  });
});
