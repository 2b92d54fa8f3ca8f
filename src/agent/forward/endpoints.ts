// Where a forward's target listens, from the objects the API server holds:
// pure functions over a Service and its EndpointSlices, a pod, or a
// Deployment's pods. The agent dials only what these return; nothing of the
// hub's request but the object's name and the port is used.
import { isIP } from 'node:net';

/** One address and port to dial. */
export interface Endpoint {
  address: string;
  port: number;
}

/** A target that resolves to nothing dialable: no such port, no ready endpoint. */
export class NoEndpointError extends Error {
  override readonly name = 'NoEndpointError';
}

/** The parts of a Service read here. */
export interface ServiceObject {
  spec?: { ports?: { name?: string; port?: number; protocol?: string }[] };
}

/** The parts of a discovery.k8s.io/v1 EndpointSlice read here. */
export interface EndpointSliceObject {
  addressType?: string;
  ports?: { name?: string | null; port?: number | null; protocol?: string | null }[] | null;
  endpoints?: { addresses?: string[]; conditions?: { ready?: boolean | null } }[] | null;
}

/** The parts of a pod read here. */
export interface PodObject {
  metadata?: { name?: string; deletionTimestamp?: string };
  spec?: { containers?: { ports?: { name?: string; containerPort?: number; protocol?: string }[] }[] };
  status?: { phase?: string; podIP?: string; conditions?: { type?: string; status?: string }[] };
}

/** A Deployment's label selector, as the API holds it. */
export interface LabelSelectorObject {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

const isTcp = (protocol: string | null | undefined): boolean => protocol === undefined || protocol === null || protocol === 'TCP';

/**
 * The name of the Service port a forward asks for (by its number or its
 * name), which is the name its EndpointSlices give the port (empty for the
 * unnamed port of a one-port Service).
 */
export function servicePortName(service: ServiceObject, port: number | string): string {
  const ports = (service.spec?.ports ?? []).filter((p) => isTcp(p.protocol));
  const found = ports.find((p) => (typeof port === 'number' ? p.port === port : p.name === port));
  if (found === undefined) throw new NoEndpointError(`the Service has no TCP port ${port}`);
  return found.name ?? '';
}

/**
 * Ready endpoints of a Service port across its EndpointSlices: each ready
 * endpoint's addresses with the slice's target port of that name. Slices of
 * FQDN addresses are skipped (the agent dials only IP addresses), as are
 * endpoints whose readiness is false (unset counts as ready, as the API says).
 */
export function sliceEndpoints(slices: readonly EndpointSliceObject[], portName: string): Endpoint[] {
  const out: Endpoint[] = [];
  for (const slice of slices) {
    if (slice.addressType !== 'IPv4' && slice.addressType !== 'IPv6') continue;
    const port = (slice.ports ?? []).find((p) => (p.name ?? '') === portName && isTcp(p.protocol));
    if (port?.port === undefined || port.port === null || !validPort(port.port)) continue;
    for (const endpoint of slice.endpoints ?? []) {
      if (endpoint.conditions?.ready === false) continue;
      for (const address of endpoint.addresses ?? []) if (isIP(address) !== 0) out.push({ address, port: port.port });
    }
  }
  return dedupe(out);
}

function validPort(port: number): boolean {
  return Number.isInteger(port) && port >= 1 && port <= 65_535;
}

function dedupe(endpoints: Endpoint[]): Endpoint[] {
  const seen = new Set<string>();
  return endpoints.filter((e) => {
    const key = `${e.address}|${e.port}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Whether a pod can take a forward: running, not being deleted, with an IP. */
function podRunning(pod: PodObject): boolean {
  return pod.status?.phase === 'Running' && pod.metadata?.deletionTimestamp === undefined && isIP(pod.status.podIP ?? '') !== 0;
}

function podReady(pod: PodObject): boolean {
  return (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

/** The pod's endpoint for a port: a number as is (as kubectl allows), a name from its containers' ports. */
export function podEndpoint(pod: PodObject, port: number | string): Endpoint {
  if (!podRunning(pod)) throw new NoEndpointError(`pod ${pod.metadata?.name ?? ''} is not running with an IP address`);
  const address = pod.status?.podIP ?? '';
  if (typeof port === 'number') return { address, port };
  for (const container of pod.spec?.containers ?? []) {
    const found = (container.ports ?? []).find((p) => p.name === port && isTcp(p.protocol));
    if (found?.containerPort !== undefined && validPort(found.containerPort)) return { address, port: found.containerPort };
  }
  throw new NoEndpointError(`pod ${pod.metadata?.name ?? ''} has no TCP container port named ${port}`);
}

/** Endpoints of a Deployment's pods: the ready ones, or the running ones when none is ready. */
export function deploymentEndpoints(pods: readonly PodObject[], port: number | string): Endpoint[] {
  const running = pods.filter(podRunning);
  const ready = running.filter(podReady);
  const out: Endpoint[] = [];
  for (const pod of ready.length > 0 ? ready : running) {
    try {
      out.push(podEndpoint(pod, port));
    } catch (error) {
      if (!(error instanceof NoEndpointError)) throw error;
    }
  }
  return dedupe(out);
}

/** A selector as the `labelSelector` query of a list; throws NoEndpointError for an operator the API does not define. */
export function labelSelectorQuery(selector: LabelSelectorObject): string {
  const terms = Object.entries(selector.matchLabels ?? {}).map(([key, value]) => `${key}=${value}`);
  for (const { key, operator, values = [] } of selector.matchExpressions ?? []) {
    if (operator === 'In') terms.push(`${key} in (${values.join(',')})`);
    else if (operator === 'NotIn') terms.push(`${key} notin (${values.join(',')})`);
    else if (operator === 'Exists') terms.push(key);
    else if (operator === 'DoesNotExist') terms.push(`!${key}`);
    else throw new NoEndpointError(`the selector has an unknown operator ${operator}`);
  }
  if (terms.length === 0) throw new NoEndpointError('the Deployment selects no pods');
  return terms.join(',');
}

/** The order to try endpoints in: all of them, from a random one on, so forwards spread. */
export function dialOrder<T>(endpoints: readonly T[], random: () => number = Math.random): T[] {
  if (endpoints.length === 0) return [];
  const start = Math.floor(random() * endpoints.length) % endpoints.length;
  return [...endpoints.slice(start), ...endpoints.slice(0, start)];
}
