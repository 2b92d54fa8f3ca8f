// Two leader-elected agent processes for one cluster against a real hub, for
// the e2e tests of agent replicas: the first finds the Lease free and leads,
// the second then finds it held. With their /readyz, metrics and log times.
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { createTestNamespace, kubeconfigPath } from './cluster.ts';
import { startAgent, startHub, uplink, type AgentHandle, type HubHandle, type LogLine } from './uplink.ts';

/** Short Lease timings, so a takeover after a lost leader comes within seconds. */
export const SHORT_LEADER_TIMINGS = ['--leader-elect-lease-duration', '6', '--leader-elect-renew-deadline', '4', '--leader-elect-retry-period', '0.5'];

export interface Readyz {
  status: string;
  leader?: string;
  holder?: string;
}

export async function readyz(agent: AgentHandle): Promise<Readyz> {
  return (await fetch(`${agent.healthUrl}/readyz`)).json() as Promise<Readyz>;
}

export async function metricsOf(agent: AgentHandle): Promise<string> {
  return (await fetch(`${agent.healthUrl}/metrics`)).text();
}

/** When a process logged its first line matching `msg` (the log's own ISO time). */
export function loggedAt(agent: AgentHandle, msg: string): number | undefined {
  const line = agent.process.lines.find((l: LogLine) => l.msg === msg);
  return typeof line?.time === 'string' ? Date.parse(line.time) : undefined;
}

export interface AgentPair {
  hub: HubHandle;
  namespace: string;
  token: string;
  first: AgentHandle;
  second: AgentHandle;
}

export interface AgentPairOptions {
  /** The cluster's name on the hub. */
  name: string;
  /** Arguments after --leader-elect and the Lease (timings, sweep interval...). */
  args: string[];
  /** The first agent's kubeconfig (default: the test cluster's admin one). */
  firstKubeconfig?: string;
  /** POD_NAME of the first and the second agent (default: none, the host name). */
  pods?: [string, string];
}

/** A hub, a cluster, and two agents with --leader-elect on the Lease `agent` in a namespace of their own. */
export async function twoLeaderElectedAgents(t: TestContext, options: AgentPairOptions): Promise<AgentPair> {
  const namespace = await createTestNamespace(t, 'agent-pair');
  const kubeconfig = await kubeconfigPath();
  const hub = await startHub(t);
  const created = await uplink(['clusters', 'create', options.name, '-o', 'json'], hub.cliConfig);
  assert.equal(created.code, 0, created.stderr);
  const { token } = JSON.parse(created.stdout) as { token: string };
  const args = ['--leader-elect', '--namespace', namespace, '--leader-elect-lease', 'agent', ...options.args];
  const common = { hubUrl: hub.url, caHash: hub.caHash, token, kubeconfig, args };
  const env = (pod: string | undefined): { env?: Record<string, string> } => (pod === undefined ? {} : { env: { POD_NAME: pod } });
  const first = await startAgent(t, { ...common, kubeconfig: options.firstKubeconfig ?? kubeconfig, ...env(options.pods?.[0]) });
  const second = await startAgent(t, { ...common, waitLinked: false, ...env(options.pods?.[1]) });
  return { hub, namespace, token, first, second };
}
