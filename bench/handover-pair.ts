// The parts of bench/handover.ts: a hub, a cluster registered on it,
// and two `bin/uplink agent --leader-elect` processes for that cluster (one
// leading, one standing by), what they report, and one timed handover.
import type { TestContext } from 'node:test';
import type { ClusterView } from '../src/hub/fleet.ts';
import { createTestNamespace, kubeconfigPath } from '../test/helpers/cluster.ts';
import { eventually, metricValue, startAgent, startHub, type AgentHandle, type HubHandle } from '../test/helpers/uplink.ts';
import { sleep } from './sim/measure.ts';

/** --leader-elect timings, in seconds. */
export interface Timings {
  lease: number;
  renew: number;
  retry: number;
}

export interface Rig {
  t: TestContext;
  hub: HubHandle;
  cluster: string;
  namespace: string;
  token: string;
  kubeconfig: string;
}

/** The leader and the agent standing by. */
export interface Pair {
  leader: AgentHandle;
  standby: AgentHandle;
}

interface Readyz {
  status: string;
  leader?: string;
}

/** Time to wait for any one step (a takeover, a start) before the bench gives up. */
const WAIT_MS = 90_000;
/** Per request: a busy machine may answer slowly, but a hung request must not stall the round. */
const REQUEST_TIMEOUT_MS = 5_000;

/** A hub, a namespace for the Lease and a cluster registered on the hub. */
export async function startRig(t: TestContext, cluster: string): Promise<Rig> {
  const namespace = await createTestNamespace(t, 'bench');
  const kubeconfig = await kubeconfigPath();
  const hub = await startHub(t);
  const { token } = await hub.client.request<{ token: string }>('POST', '/api/v1/clusters', { name: cluster });
  return { t, hub, cluster, namespace, token, kubeconfig };
}

/** One agent replica with leader election on the Lease named after `timings`; returns once it serves /readyz. */
export async function startReplica(rig: Rig, timings: Timings): Promise<AgentHandle> {
  return startAgent(rig.t, {
    hubUrl: rig.hub.url, caHash: rig.hub.caHash, token: rig.token, kubeconfig: rig.kubeconfig, waitLinked: false,
    args: [
      '--leader-elect', '--namespace', rig.namespace, '--leader-elect-lease', leaseName(timings),
      '--leader-elect-lease-duration', String(timings.lease), '--leader-elect-renew-deadline', String(timings.renew),
      '--leader-elect-retry-period', String(timings.retry), '--log-level', 'info',
    ],
  });
}

export function leaseName(timings: Timings): string {
  return `agent-${timings.lease}-${timings.renew}-${String(timings.retry).replace('.', '-')}`;
}

async function readyz(agent: AgentHandle): Promise<Readyz | undefined> {
  try {
    const res = await fetch(`${agent.healthUrl}/readyz`, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    return (await res.json()) as Readyz;
  } catch {
    return undefined;
  }
}

async function clusterView(rig: Rig): Promise<ClusterView | undefined> {
  try {
    return await rig.hub.client.request<ClusterView>('GET', `/api/v1/clusters/${rig.cluster}`);
  } catch {
    return undefined;
  }
}

/** One agent's memory and inventory, from its /metrics. */
export interface MemorySample {
  rssBytes: number;
  heapUsedBytes: number;
  objects: number;
}

export async function memoryOf(agent: AgentHandle): Promise<MemorySample> {
  const text = await (await fetch(`${agent.healthUrl}/metrics`, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) })).text();
  return {
    rssBytes: metricValue(text, 'uplink_agent_process_resident_memory_bytes'),
    heapUsedBytes: metricValue(text, 'uplink_agent_nodejs_heap_size_used_bytes'),
    objects: metricValue(text, 'uplink_agent_inventory_objects'),
  };
}

/** Waits until one of `agents` leads and is linked, the other stands by, and the hub shows the cluster online. */
export async function steady(rig: Rig, agents: readonly [AgentHandle, AgentHandle]): Promise<Pair> {
  return eventually('one agent leading and linked, the other standing by, the cluster online', WAIT_MS, async () => {
    const [a, b] = await Promise.all(agents.map(readyz));
    const view = await clusterView(rig);
    if (view?.status !== 'online') return undefined;
    const leads = (r: Readyz | undefined): boolean => r?.leader === 'leader' && r.status === 'ok';
    if (leads(a) && b?.leader === 'standby') return { leader: agents[0], standby: agents[1] };
    if (leads(b) && a?.leader === 'standby') return { leader: agents[1], standby: agents[0] };
    return undefined;
  });
}

/** Seconds from the signal to each step of one handover. */
export interface Handover {
  /** The other agent's /readyz says it leads: it holds the Lease and has started its add-on engine. */
  lease: number;
  /** The other agent's /readyz says it leads and is linked. */
  linked: number;
  /** The hub shows the cluster online on a link made after the signal. */
  hub: number;
  /** The signalled leader's process has exited. */
  exited: number;
}

/**
 * Sends `signal` to the leader and polls the standby's /readyz and the hub's
 * view of the cluster every `pollMs` until the standby leads, is linked and
 * the hub shows the new link; each step is timed at the answer that first
 * showed it (so late by up to one poll and one request).
 */
export async function handOver(rig: Rig, pair: Pair, signal: 'SIGTERM' | 'SIGKILL', pollMs: number): Promise<Handover> {
  const { child } = pair.leader.process;
  const startedWall = Date.now();
  const started = performance.now();
  const elapsed = (): number => (performance.now() - started) / 1000;
  let exited: number | undefined;
  child.once('exit', () => { exited = elapsed(); });
  child.kill(signal);
  const seen: Partial<Handover> = {};
  while (seen.lease === undefined || seen.linked === undefined || seen.hub === undefined || exited === undefined) {
    if (elapsed() * 1000 > WAIT_MS) throw new Error(`no handover within ${WAIT_MS} ms after ${signal}: ${JSON.stringify({ ...seen, exited })}`);
    const [ready, view] = await Promise.all([readyz(pair.standby), clusterView(rig)]);
    const at = elapsed();
    if (ready?.leader === 'leader') seen.lease ??= at;
    if (ready?.leader === 'leader' && ready.status === 'ok') seen.linked ??= at;
    if (view?.status === 'online' && view.connectedAt !== null && Date.parse(view.connectedAt) >= startedWall) seen.hub ??= at;
    await sleep(pollMs);
  }
  return { lease: seen.lease, linked: seen.linked, hub: seen.hub, exited };
}
