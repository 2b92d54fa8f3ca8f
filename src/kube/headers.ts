// Header rules of kubectl passthrough, shared by the hub (which strips what a
// client must not choose and sets the impersonation) and the agent (which
// refuses any impersonation the hub could not have set).
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { IMPERSONATION } from '../link/protocol.ts';
import { isBearerSubprotocol } from './bearer.ts';

/** Connection-specific headers: meaningless across a proxy hop and forbidden in HTTP/2. */
export const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization',
  'te', 'trailer', 'transfer-encoding', 'upgrade', 'host', 'http2-settings',
]);

/**
 * The request headers that reach the API server, besides the impersonation:
 * what kubectl and client-go send and the API server reads (content
 * negotiation, request bodies, kubectl's command and session, audit and
 * trace ids, conditional requests, and the SPDY and WebSocket upgrade
 * handshakes of exec, attach and port-forward). Anything else is dropped,
 * so a header an authenticating proxy in front of the API server would trust
 * (X-Remote-User, X-Remote-Group, X-Remote-Extra-*, X-Forwarded-*) never
 * reaches it. Accept-Encoding passes: a gzip answer is relayed byte for byte
 * with its Content-Encoding, and the client decodes it.
 */
export const API_REQUEST_HEADERS: ReadonlySet<string> = new Set([
  'accept', 'accept-encoding', 'accept-language', 'content-type', 'content-length', 'content-encoding', 'user-agent',
  'audit-id', 'kubectl-command', 'kubectl-session', 'traceparent', 'tracestate', 'if-match', 'if-none-match',
  'x-stream-protocol-version', 'sec-websocket-key', 'sec-websocket-version', 'sec-websocket-protocol', 'sec-websocket-extensions',
]);

/** Names listed in Connection: headers meant for the next hop only (RFC 9110, 7.6.1), never forwarded. */
function connectionNamed(headers: IncomingHttpHeaders): Set<string> {
  const value = headers.connection;
  const list = Array.isArray(value) ? value.join(',') : value ?? '';
  return new Set(list.split(',').map((name) => name.trim().toLowerCase()).filter((name) => name !== ''));
}

/**
 * The allow-listed request headers (API_REQUEST_HEADERS) of `headers`, minus
 * any the Connection header names, and with a bearer token in the WebSocket
 * subprotocol list removed. Names are matched in any casing.
 */
export function allowedRequestHeaders(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const hopOnly = connectionNamed(headers);
  const out: OutgoingHttpHeaders = {};
  for (const [key, value] of Object.entries(headers)) {
    const name = key.toLowerCase();
    if (value === undefined || !API_REQUEST_HEADERS.has(name) || hopOnly.has(name)) continue;
    if (name === 'sec-websocket-protocol') {
      const kept = (Array.isArray(value) ? value.join(',') : value).split(',').map((p) => p.trim()).filter((p) => p !== '' && !isBearerSubprotocol(p));
      if (kept.length > 0) out[name] = kept.join(', ');
      continue;
    }
    out[name] = value;
  }
  return out;
}

export type HubRole = keyof typeof IMPERSONATION.groups;

/**
 * The headers the hub forwards for a client request: the allow-listed ones
 * (allowedRequestHeaders; credentials, cookies, client impersonation and
 * proxy identity headers are not among them), and the user's identity set as
 * `Impersonate-User: uplink:<user>` and `Impersonate-Group: uplink:<role>`.
 *
 * An upgrade (an `Upgrade` header) loses its Content-Length: kubectl's SPDY
 * upgrade is a POST with `Content-Length: 0`, and after the 101 its link
 * stream carries the upgraded connection's bytes, not a body of that length.
 * HTTP/2 (nghttp2) takes DATA beyond a declared content-length as a protocol
 * error of the whole session, which is the cluster's link.
 */
export function forwardedRequestHeaders(headers: IncomingHttpHeaders, identity: { user: string; role: HubRole }): OutgoingHttpHeaders {
  const out = allowedRequestHeaders(headers);
  if (headers.upgrade !== undefined) delete out['content-length'];
  out['impersonate-user'] = `${IMPERSONATION.userPrefix}${identity.user}`;
  out['impersonate-group'] = IMPERSONATION.groups[identity.role];
  return out;
}

const ALLOWED_GROUPS = new Set<string>(Object.values(IMPERSONATION.groups));

/**
 * The agent's check before it lends its credentials: exactly one
 * `uplink:`-prefixed user and exactly one of the uplink groups, and no other
 * impersonation. Returns a reason to refuse, or undefined when acceptable.
 */
export function impersonationProblem(headers: IncomingHttpHeaders): string | undefined {
  const user = headers['impersonate-user'];
  const group = headers['impersonate-group'];
  if (typeof user !== 'string' || !user.startsWith(IMPERSONATION.userPrefix) || user.length <= IMPERSONATION.userPrefix.length) {
    return 'requests through the hub must impersonate an uplink: user';
  }
  const groups = Array.isArray(group) ? group : group === undefined ? [] : group.split(',').map((g) => g.trim());
  if (groups.length !== 1 || !ALLOWED_GROUPS.has(groups[0] ?? '')) {
    return `requests through the hub must impersonate exactly one of ${[...ALLOWED_GROUPS].join(', ')}`;
  }
  const other = Object.keys(headers).find((h) => h.toLowerCase().startsWith('impersonate-') && h !== 'impersonate-user' && h !== 'impersonate-group');
  if (other !== undefined) return `the hub does not impersonate with ${other}`;
  return undefined;
}

/** Response headers to pass back to the client: everything but hop-by-hop and link-internal ones. */
export function forwardedResponseHeaders(headers: Record<string, string | string[] | number | undefined>): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [key, value] of Object.entries(headers)) {
    const name = key.toLowerCase();
    if (value === undefined || name.startsWith(':') || HOP_BY_HOP.has(name) || name.startsWith('x-uplink-')) continue;
    out[name] = value;
  }
  return out;
}

/** A Kubernetes `Status` body, so kubectl prints the hub's refusals like the API server's. */
export function kubeStatus(code: number, reason: string, message: string): string {
  return JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code });
}
