// Services whose endpoints are servers on this machine: a selector-less
// Service and a hand-made EndpointSlice at this machine's own non-loopback
// address, which the agent dials as it would a pod. (The API server refuses
// loopback addresses in EndpointSlices, and the agent refuses them anywhere.)
import assert from 'node:assert/strict';
import { networkInterfaces } from 'node:os';
import { kubectl } from './cluster.ts';

/** This machine's first non-loopback IPv4 address: where test servers listen and the cluster's objects point. */
export function hostAddress(): string {
  const found = Object.values(networkInterfaces()).flat().find((i) => i?.family === 'IPv4' && !i.internal);
  assert.ok(found, 'the machine needs a non-loopback IPv4 address for this test');
  return found.address;
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
