// Two agent processes for one cluster with --leader-elect, against a real hub
// and the test cluster's API server: one links and the other stands by, as
// their /readyz and metrics say; SIGTERM on the leader releases the Lease and
// the standby links.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ClusterView } from '../../src/hub/fleet.ts';
import { createTestNamespace, kubeconfigPath, kubectlJson } from '../helpers/cluster.ts';
import { eventually, metricValue, startAgent, startHub, uplink, type AgentHandle } from '../helpers/uplink.ts';

interface Readyz {
  status: string;
  leader?: string;
  holder?: string;
}

async function readyz(agent: AgentHandle): Promise<Readyz> {
  return (await fetch(`${agent.healthUrl}/readyz`)).json() as Promise<Readyz>;
}

async function metricsOf(agent: AgentHandle): Promise<string> {
  return (await fetch(`${agent.healthUrl}/metrics`)).text();
}

describe('agent replicas with leader election', () => {
  it('agent leader - of two agents one links and one stands by; SIGTERM on the leader hands the link over', async (t) => {
    const namespace = await createTestNamespace(t, 'agent-leader');
    const kubeconfig = await kubeconfigPath();
    const hub = await startHub(t);
    const created = await uplink(['clusters', 'create', 'e2e-leader', '-o', 'json'], hub.cliConfig);
    assert.equal(created.code, 0, created.stderr);
    const { token } = JSON.parse(created.stdout) as { token: string };
    const args = [
      '--leader-elect', '--namespace', namespace, '--leader-elect-lease', 'agent',
      '--leader-elect-lease-duration', '6', '--leader-elect-renew-deadline', '4', '--leader-elect-retry-period', '0.5',
    ];
    const options = { hubUrl: hub.url, caHash: hub.caHash, token, kubeconfig, args };
    // The first agent finds the Lease free and leads; the second then finds it held.
    const first = await startAgent(t, options);
    const second = await startAgent(t, { ...options, waitLinked: false });
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
    console.log(`# the standby linked ${Date.now() - stoppedAt} ms after SIGTERM to the leader (lease 6 s, retry 0.5 s)`);
    assert.equal((await readyz(second)).leader, 'leader');
    assert.equal(metricValue(await metricsOf(second), 'uplink_agent_leader'), 1);
    const lease = await kubectlJson<{ spec: { holderIdentity: string; leaseTransitions: number } }>(['-n', namespace, 'get', 'lease', 'agent']);
    assert.equal(lease.spec.holderIdentity, (await readyz(second)).holder);
    assert.equal(lease.spec.leaseTransitions, 1);
    await eventually('the cluster online again', 30_000, clusterOnline);
  });
});
