// A hub with one linked cluster and kubeconfigs for users of given roles,
// so e2e tests can run the real kubectl only through the hub.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { runProcess, type ProcessResult } from '../../src/util/run-process.ts';
import { POD_FORWARD_TARGET_PORT, clusterBinDir, createTestNamespace, mintServiceAccountToken } from './cluster.ts';
import { eventually, startAgent, startHub, uplink, type AgentHandle, type HubHandle } from './uplink.ts';

export interface HubCluster {
  hub: HubHandle;
  agent: AgentHandle;
  clusterId: string;
  clusterName: string;
  /** kubeconfig of the hub's admin, through the hub. */
  adminKubeconfig: string;
}

/** Starts a hub (extra hub flags allowed), registers a cluster and links an agent with a cluster-admin ServiceAccount token. */
export async function startHubCluster(t: TestContext, name: string, hubArgs: string[] = []): Promise<HubCluster> {
  const namespace = await createTestNamespace(t, 'agent');
  const { kubeconfig } = await mintServiceAccountToken(t, { namespace, clusterRole: 'cluster-admin' });
  const hub = await startHub(t, { args: hubArgs });
  const created = await hub.client.request<{ token: string; cluster: { id: string } }>('POST', '/api/v1/clusters', { name });
  const agent = await startAgent(t, { hubUrl: hub.url, caHash: hub.caHash, token: created.token, kubeconfig });
  const adminKubeconfig = await kubeconfigThroughHub(hub.cliConfig, name);
  return { hub, agent, clusterId: created.cluster.id, clusterName: name, adminKubeconfig };
}

/** Runs `uplink kubeconfig CLUSTER --file F` with a CLI login file; returns F. */
export async function kubeconfigThroughHub(cliConfig: string, cluster: string): Promise<string> {
  const file = join(mkdtempSync(join(tmpdir(), 'uplink-kubeconfig-')), 'config');
  const result = await uplink(['kubeconfig', cluster, '--file', file], cliConfig);
  if (result.code !== 0) throw new Error(`uplink kubeconfig failed: ${result.stderr}`);
  return file;
}

/** Creates a hub user with a role (fleet-wide, or on one cluster) and returns a CLI login file for it. */
export async function createUserLogin(hub: HubHandle, user: string, role: string, cluster?: string): Promise<string> {
  await hub.client.request('POST', '/api/v1/users', { name: user });
  await hub.client.request('POST', `/api/v1/users/${user}/grants`, cluster === undefined ? { role } : { role, cluster });
  const { token } = await hub.client.request<{ token: string }>('POST', `/api/v1/users/${user}/tokens`, { name: 'e2e' });
  const admin = JSON.parse(readFileSync(hub.cliConfig, 'utf8')) as Record<string, unknown>;
  const file = join(mkdtempSync(join(tmpdir(), `uplink-cli-${user}-`)), 'cli.json');
  writeFileSync(file, JSON.stringify({ ...admin, token }), { mode: 0o600 });
  return file;
}

/** The real kubectl with a given kubeconfig. Never throws on a non-zero exit. */
export async function kubectlVia(kubeconfig: string, args: string[], input?: string): Promise<ProcessResult> {
  return runProcess(join(await clusterBinDir(), 'kubectl'), ['--kubeconfig', kubeconfig, ...args], {
    timeoutMs: 60_000, ...(input === undefined ? {} : { input }),
  });
}

/** A long-running kubectl (watch, logs -f, port-forward, attach) whose output is collected. */
export class KubectlStream {
  readonly child: ChildProcess;
  output = '';
  readonly exited: Promise<number | null>;

  constructor(binDir: string, kubeconfig: string, args: string[]) {
    this.child = spawn(join(binDir, 'kubectl'), ['--kubeconfig', kubeconfig, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdout?.on('data', (chunk: Buffer) => { this.output += chunk.toString(); });
    this.child.stderr?.on('data', (chunk: Buffer) => { this.output += chunk.toString(); });
    // 'close', not 'exit': only then has all of the child's output been read.
    this.exited = once(this.child, 'close').then(([code]) => code as number | null);
  }

  static async start(t: TestContext, kubeconfig: string, args: string[]): Promise<KubectlStream> {
    const stream = new KubectlStream(await clusterBinDir(), kubeconfig, args);
    t.after(() => { stream.child.kill('SIGKILL'); });
    return stream;
  }
}

/**
 * Listens where the test pod's port 8080 leads (POD_FORWARD_TARGET_PORT),
 * answering each chunk with `pong:<chunk>`; closed with its connections
 * after the test.
 */
export async function startForwardEcho(t: TestContext): Promise<void> {
  const accepted: Socket[] = [];
  const server = createServer((socket) => {
    accepted.push(socket);
    socket.on('data', (chunk: Buffer) => { socket.write(`pong:${chunk.toString()}`); });
  });
  server.listen(POD_FORWARD_TARGET_PORT, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => { for (const socket of accepted) socket.destroy(); server.close(); });
}

/** A connection through `kubectl port-forward` to the pod's port 8080, and what came back on it so far. */
export interface ForwardedConnection {
  forward: KubectlStream;
  client: Socket;
  received: () => string;
}

/** Starts `kubectl port-forward pod/POD :8080` and connects to the local port it opens; `label` names it in failures. */
export async function connectThroughPortForward(
  t: TestContext, options: { kubeconfig: string; namespace: string; pod: string; label?: string },
): Promise<ForwardedConnection> {
  const prefix = options.label === undefined ? '' : `${options.label}: `;
  const forward = await KubectlStream.start(t, options.kubeconfig, ['-n', options.namespace, 'port-forward', `pod/${options.pod}`, ':8080']);
  await eventually(`${prefix}port-forward to listen`, 15_000, () => (/Forwarding from 127\.0\.0\.1:\d+/.test(forward.output) ? true : undefined));
  const port = Number(/Forwarding from 127\.0\.0\.1:(\d+)/.exec(forward.output)?.[1]);
  const client = connect(port, '127.0.0.1');
  t.after(() => { client.destroy(); });
  await once(client, 'connect');
  let received = '';
  client.on('data', (chunk: Buffer) => { received += chunk.toString(); });
  return { forward, client, received: () => received };
}
