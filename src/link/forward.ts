// TCP forwards over the link (`uplink forward`): what names a target, and its
// validation, shared by the hub (which reads it from the CLI's query) and the
// agent (which reads it from the link stream's headers). A target is always
// a Kubernetes object and a port, never an address: the agent finds the
// address itself (src/agent/forward/), so no request can make it dial one.
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { isDnsLabel, isDnsSubdomain, isPortName } from '../domain/kube-names.ts';

/** Kinds of object a forward can name, as `kubectl port-forward` takes them. */
export const FORWARD_KINDS = ['service', 'pod', 'deployment'] as const;
export type ForwardKind = (typeof FORWARD_KINDS)[number];

/** Link stream headers naming the target (AGENT_PATHS.forward); the impersonation travels as the kube passthrough's. */
export const FORWARD_HEADERS = {
  kind: 'x-uplink-forward-kind',
  namespace: 'x-uplink-forward-namespace',
  name: 'x-uplink-forward-name',
  port: 'x-uplink-forward-port',
} as const;

/** The HTTP/1.1 Upgrade token of the hub's forward route; after its 101 the connection carries raw TCP bytes. */
export const FORWARD_UPGRADE = 'uplink-forward';

/** What a forward reaches: an object, and a port number or a named port of it. */
export interface ForwardTarget {
  kind: ForwardKind;
  namespace: string;
  name: string;
  port: number | string;
}

/** A target that does not validate; the message names the field. */
export class ForwardTargetError extends Error {
  override readonly name = 'ForwardTargetError';
}

const PORT_NUMBER = /^[1-9][0-9]{0,4}$/;

/** A port as a number (1-65535) or a port name; throws ForwardTargetError. */
export function parseForwardPort(text: string): number | string {
  if (PORT_NUMBER.test(text)) {
    const port = Number(text);
    if (port <= 65_535) return port;
  }
  if (isPortName(text)) return text;
  throw new ForwardTargetError(`port must be a number from 1 to 65535 or a port name, got ${JSON.stringify(text.slice(0, 40))}`);
}

/** Names a kind's objects may have: Services are DNS labels, pods and Deployments DNS subdomains. */
function nameProblem(kind: ForwardKind, name: string): string | undefined {
  const ok = kind === 'service' ? isDnsLabel(name) : isDnsSubdomain(name);
  return ok ? undefined : `name must be a ${kind === 'service' ? 'DNS label' : 'DNS subdomain'} naming a ${kind}, got ${JSON.stringify(name.slice(0, 80))}`;
}

/** Reads and checks a target's four fields, each a string or absent; throws ForwardTargetError naming the first bad one. */
export function parseForwardTarget(fields: Record<keyof ForwardTarget, unknown>): ForwardTarget {
  const text = (field: keyof ForwardTarget): string => {
    const value = fields[field];
    if (typeof value !== 'string' || value === '') throw new ForwardTargetError(`${field} is required`);
    if (value.length > 253) throw new ForwardTargetError(`${field} is longer than 253 characters`);
    return value;
  };
  const kind = text('kind');
  if (!(FORWARD_KINDS as readonly string[]).includes(kind)) throw new ForwardTargetError(`kind must be one of ${FORWARD_KINDS.join(', ')}`);
  const namespace = text('namespace');
  if (!isDnsLabel(namespace)) throw new ForwardTargetError(`namespace must be a DNS label, got ${JSON.stringify(namespace.slice(0, 80))}`);
  const name = text('name');
  const problem = nameProblem(kind as ForwardKind, name);
  if (problem !== undefined) throw new ForwardTargetError(problem);
  return { kind: kind as ForwardKind, namespace, name, port: parseForwardPort(text('port')) };
}

/** The target read from a link stream's headers (FORWARD_HEADERS); throws ForwardTargetError. */
export function forwardTargetFromHeaders(headers: IncomingHttpHeaders): ForwardTarget {
  return parseForwardTarget({
    kind: headers[FORWARD_HEADERS.kind], namespace: headers[FORWARD_HEADERS.namespace],
    name: headers[FORWARD_HEADERS.name], port: headers[FORWARD_HEADERS.port],
  });
}

/** The link stream headers that name a target. */
export function forwardTargetHeaders(target: ForwardTarget): OutgoingHttpHeaders {
  return {
    [FORWARD_HEADERS.kind]: target.kind, [FORWARD_HEADERS.namespace]: target.namespace,
    [FORWARD_HEADERS.name]: target.name, [FORWARD_HEADERS.port]: String(target.port),
  };
}

/** `svc/db:5432`, as the CLI prints and the audit log records a target. */
export function describeForwardTarget(target: ForwardTarget): string {
  const short = target.kind === 'service' ? 'svc' : target.kind === 'deployment' ? 'deploy' : 'pod';
  return `${short}/${target.name}:${target.port}`;
}
