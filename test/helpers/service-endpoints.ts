// Servers on this machine reached the way the agent reaches pods: selector-less
// Services with hand-made EndpointSlices (and hand-made pods given a status)
// pointing at this machine's own non-loopback address. The API server refuses
// loopback addresses in EndpointSlices, and the agent refuses them anywhere.
// Also `uplink forward` as a child process, and small clients of local ports.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import { connect, type Server } from 'node:net';
import { networkInterfaces } from 'node:os';
import { kubectl } from './cluster.ts';
import { UPLINK_BIN } from './uplink.ts';

export interface Running {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
}

/** `uplink forward ARGS` as the user of `cliConfig`, killed when the suite ends. */
export function runForward(cliConfig: string, args: string[], cleanups: (() => void)[]): Running {
  const child = spawn(UPLINK_BIN, ['forward', ...args], { env: { ...process.env, UPLINK_CLI_CONFIG: cliConfig }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString(); });
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
  cleanups.push(() => { child.kill('SIGKILL'); });
  return { child, stdout: () => stdout, stderr: () => stderr };
}

/** This machine's first non-loopback IPv4 address: where the test servers listen and the cluster's objects point. */
export function hostAddress(): string {
  const found = Object.values(networkInterfaces()).flat().find((i) => i?.family === 'IPv4' && !i.internal);
  assert.ok(found, 'the machine needs a non-loopback IPv4 address for this test');
  return found.address;
}

export const HOST = hostAddress();

export async function listening(server: Server): Promise<number> {
  server.listen(0, HOST);
  await once(server, 'listening');
  const address = server.address();
  return typeof address === 'object' && address ? address.port : 0;
}

/** Sends `payload` to 127.0.0.1:`port`, half-closes, and resolves with everything read until the other side ends. */
export function exchange(port: number, payload: Buffer | string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('end', () => { resolve(Buffer.concat(chunks)); });
    socket.on('close', () => { resolve(Buffer.concat(chunks)); });
    socket.on('error', reject);
    socket.end(payload);
  });
}

export function httpGet(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => { body += chunk.toString(); });
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, body }); });
    }).on('error', reject);
  });
}

/** A selector-less Service with `ports` and one EndpointSlice at `address` with the given target ports. */
export async function applyService(namespace: string, name: string, address: string, ports: { name: string; port: number; target: number }[]): Promise<void> {
  const service = {
    apiVersion: 'v1', kind: 'Service', metadata: { name, namespace },
    spec: { ports: ports.map((p) => ({ name: p.name, port: p.port, protocol: 'TCP' })) },
  };
  const slice = {
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
    metadata: { name: `${name}-1`, namespace, labels: { 'kubernetes.io/service-name': name, 'endpointslice.kubernetes.io/managed-by': 'e2e.uplink.dev' } },
    addressType: 'IPv4',
    ports: ports.map((p) => ({ name: p.name, port: p.target, protocol: 'TCP' })),
    endpoints: [{ addresses: [address], conditions: { ready: true } }],
  };
  const result = await kubectl(['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [service, slice] }) });
  assert.equal(result.code, 0, result.stderr);
}

/** A pod no scheduler or kwok touches (it selects no node), given a Running, Ready status at `ip`. */
export async function applyPod(namespace: string, name: string, ip: string, labels: Record<string, string> = {}): Promise<void> {
  const pod = {
    apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace, labels },
    spec: { nodeSelector: { 'e2e.uplink.dev/no-node': 'true' }, containers: [{ name: 'c', image: 'registry.invalid/none:1', ports: [{ name: 'web', containerPort: 8080 }] }] },
  };
  assert.equal((await kubectl(['apply', '-f', '-'], { input: JSON.stringify(pod) })).code, 0);
  const status = { status: { phase: 'Running', podIP: ip, podIPs: [{ ip }], conditions: [{ type: 'Ready', status: 'True' }] } };
  const patched = await kubectl(['-n', namespace, 'patch', 'pod', name, '--subresource=status', '--type=merge', '-p', JSON.stringify(status)]);
  assert.equal(patched.code, 0, patched.stderr);
}
