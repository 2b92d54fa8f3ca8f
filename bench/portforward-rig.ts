// The rig of bench/portforward.ts: a pod in a fresh namespace of the test
// cluster, a real hub and agent (the agent with the cluster's admin
// kubeconfig: the bench measures the path, not RBAC), and one long-lived
// `kubectl port-forward pod/P :8080` per path, straight to the API server
// and through the hub. Each connection to a forward's local port is a new
// stream pair inside that kubectl's one upgraded connection, as when a
// developer keeps a port-forward open.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { TestContext } from 'node:test';
import { runChecked } from '../src/util/run-process.ts';
import { waitForDefaultServiceAccount } from '../test/helpers/cluster.ts';
import { kubeconfigThroughHub } from '../test/helpers/kubectl-hub.ts';
import { eventually, startAgent, startHub, type AgentHandle, type HubHandle } from '../test/helpers/uplink.ts';

/** One running `kubectl port-forward` and the local port it opened. */
export interface Forward {
  label: string;
  child: ChildProcess;
  port: number;
}

export interface PortForwardRig {
  hub: HubHandle;
  agent: AgentHandle;
  direct: Forward;
  viaHub: Forward;
  /** Process ids whose CPU time the bench reads, by name. */
  pids: Record<string, number>;
}

export interface PortForwardRigOptions {
  /** The test cluster's admin kubeconfig. */
  kubeconfig: string;
  kubectl: string;
  namespace: string;
  /** Extra environment of the kubectl processes (KUBECTL_PORT_FORWARD_WEBSOCKETS). */
  kubectlEnv: Record<string, string>;
  /** Where the hub and the agent write a .cpuprofile on exit, when set. */
  profileDir: string | undefined;
}

const POD = 'forward-target';
const CLUSTER_SCRIPT = join(import.meta.dirname, '../test/cluster/cluster');

/** Runs test/cluster/cluster with `args` (`start`, `bin`); its output, trimmed. */
export function cluster(...args: string[]): string {
  const result = spawnSync(CLUSTER_SCRIPT, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (result.status !== 0) throw new Error(`cluster ${args.join(' ')} failed`);
  return result.stdout.trim();
}

async function createPod(options: PortForwardRigOptions): Promise<void> {
  const kubectl = (args: string[]): Promise<unknown> => runChecked(options.kubectl, ['--kubeconfig', options.kubeconfig, ...args], { timeoutMs: 70_000 });
  await kubectl(['create', 'namespace', options.namespace]);
  await waitForDefaultServiceAccount(options.namespace);
  await kubectl(['-n', options.namespace, 'run', POD, '--image=registry.invalid/forward:1', '--overrides={"spec":{"nodeName":"kwok-node-0"}}']);
  await kubectl(['-n', options.namespace, 'wait', '--for=condition=Ready', `pod/${POD}`, '--timeout=60s']);
}

/** Starts `kubectl port-forward` with `kubeconfig` and waits for the local port it prints. */
async function startForward(t: TestContext, label: string, kubeconfig: string, options: PortForwardRigOptions): Promise<Forward> {
  const child = spawn(options.kubectl, ['--kubeconfig', kubeconfig, '-n', options.namespace, 'port-forward', `pod/${POD}`, ':8080'], {
    env: { ...process.env, ...options.kubectlEnv }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.after(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill();
    await exited;
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString(); });
  child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString(); });
  const port = await eventually(`${label}: port-forward to listen`, 30_000, () => {
    if (child.exitCode !== null) throw new Error(`${label}: kubectl port-forward exited: ${output}`);
    const match = /Forwarding from 127\.0\.0\.1:(\d+)/.exec(output);
    return match ? Number(match[1]) : undefined;
  });
  return { label, child, port };
}

/** The API server's and kwok's process ids, from the test cluster's pid files beside its kubeconfig. */
export function clusterPids(kubeconfig: string): Record<string, number> {
  const dir = join(dirname(kubeconfig), 'pids');
  const read = (name: string): number => Number(readFileSync(join(dir, name), 'utf8').trim());
  return { 'kube-apiserver': read('apiserver'), kwok: read('kwok') };
}

/** The environment that makes a Node process write a CPU profile into `dir` when it exits; undefined for none. */
export function profileEnv(dir: string | undefined): Record<string, string> | undefined {
  return dir === undefined ? undefined : { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${dir}` };
}

/**
 * A hub and an agent linked to it for `clusterName`, the agent with the
 * test cluster's admin kubeconfig; both write a CPU profile into
 * `profileDir` when they stop, if given.
 */
export async function startLinkedHub(t: TestContext, options: { kubeconfig: string; clusterName: string; profileDir: string | undefined }): Promise<{ hub: HubHandle; agent: AgentHandle }> {
  const env = profileEnv(options.profileDir);
  const hub = await startHub(t, env === undefined ? {} : { env });
  const created = await hub.client.request<{ token: string }>('POST', '/api/v1/clusters', { name: options.clusterName });
  // Quiet and with the usual heartbeat: the agent's own work should not weigh on the path.
  const agent = await startAgent(t, {
    hubUrl: hub.url, caHash: hub.caHash, token: created.token, kubeconfig: options.kubeconfig,
    args: ['--log-level', 'info', '--heartbeat-interval', '15'], ...(env === undefined ? {} : { env }),
  });
  return { hub, agent };
}

/** Starts everything; cleanups (the namespace included) go to `t`. */
export async function startPortForwardRig(t: TestContext, options: PortForwardRigOptions): Promise<PortForwardRig> {
  t.after(() => runChecked(options.kubectl, ['--kubeconfig', options.kubeconfig, 'delete', 'namespace', options.namespace, '--wait=false']));
  await createPod(options);
  const { hub, agent } = await startLinkedHub(t, { kubeconfig: options.kubeconfig, clusterName: 'bench-pf', profileDir: options.profileDir });
  const viaHubKubeconfig = await kubeconfigThroughHub(hub.cliConfig, 'bench-pf');
  const direct = await startForward(t, 'direct', options.kubeconfig, options);
  const viaHub = await startForward(t, 'via hub', viaHubKubeconfig, options);
  const pids = {
    hub: hub.process.child.pid ?? 0, agent: agent.process.child.pid ?? 0, ...clusterPids(options.kubeconfig),
    'kubectl (direct)': direct.child.pid ?? 0, 'kubectl (via hub)': viaHub.child.pid ?? 0,
  };
  return { hub, agent, direct, viaHub, pids };
}
