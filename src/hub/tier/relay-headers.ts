// Header rules of the relay between replicas. The relay is a plain HTTP hop:
// every end-to-end header travels as the client sent it, in its order and
// casing (Authorization included: the replica holding the link authenticates
// the user again against the shared database), and Host too, since it can
// name the cluster (`<cluster>.<kube domain>`). Hop-by-hop headers are for
// one connection only and are dropped both ways, except the Upgrade
// handshake of an upgrade. The relaying replica names the client's address
// in RELAYED_FOR_HEADER, replacing any value a client sent.
import type { IncomingHttpHeaders } from 'node:http';
import http from 'node:http';
import { RELAYED_FOR_HEADER } from './peer-server.ts';

/** Connection-level headers (RFC 9110, 7.6.1), plus Expect: the replica the client reached has answered any 100-continue. */
const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization',
  'te', 'trailer', 'transfer-encoding', 'upgrade', 'http2-settings', 'expect',
]);

/** Names listed in Connection headers of a raw header list: for the next hop only. */
function connectionNamed(rawHeaders: readonly string[]): Set<string> {
  const named = new Set<string>();
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if (rawHeaders[i]?.toLowerCase() !== 'connection') continue;
    for (const name of (rawHeaders[i + 1] ?? '').split(',')) {
      const trimmed = name.trim().toLowerCase();
      if (trimmed !== '') named.add(trimmed);
    }
  }
  return named;
}

/** The pairs of a raw header list whose names `keep` accepts, as a flat list again. */
function filterRaw(rawHeaders: readonly string[], keep: (name: string) => boolean): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] ?? '';
    if (keep(name.toLowerCase())) out.push(name, rawHeaders[i + 1] ?? '');
  }
  return out;
}

export interface RelayRequestHeadersOptions {
  /** The request's headers as received (IncomingMessage.rawHeaders). */
  rawHeaders: readonly string[];
  /** The client's parsed headers, for the Upgrade value. */
  headers: IncomingHttpHeaders;
  /** The client's address, named to the peer. */
  clientAddress: string | undefined;
  /** Used as Host when the client sent none (HTTP/1.0). */
  fallbackHost: string;
  /** Whether the request is an upgrade: its Upgrade handshake is kept. */
  upgrade: boolean;
}

/** The headers a relayed request carries to the peer, as a flat raw list (http.request takes one). */
export function relayRequestHeaders(options: RelayRequestHeadersOptions): string[] {
  const hopOnly = connectionNamed(options.rawHeaders);
  const hosts = { seen: 0 };
  const out = filterRaw(options.rawHeaders, (name) => {
    // Node reads the first Host; a second would only confuse the peer.
    if (name === 'host') return (hosts.seen += 1) === 1;
    return !HOP_BY_HOP.has(name) && !hopOnly.has(name) && name !== RELAYED_FOR_HEADER;
  });
  if (hosts.seen === 0) out.push('Host', options.fallbackHost);
  const upgrade = options.headers.upgrade;
  if (options.upgrade && upgrade !== undefined) out.push('Connection', 'Upgrade', 'Upgrade', upgrade);
  if (options.clientAddress !== undefined) out.push(RELAYED_FOR_HEADER, options.clientAddress);
  return out;
}

/** The headers of a peer's answer passed to the client: all but the hop-by-hop ones. */
export function relayResponseHeaders(rawHeaders: readonly string[]): string[] {
  const hopOnly = connectionNamed(rawHeaders);
  return filterRaw(rawHeaders, (name) => !HOP_BY_HOP.has(name) && !hopOnly.has(name));
}

/**
 * An HTTP/1.1 response head as bytes for a raw socket: the peer's 101 with
 * its handshake headers as sent, or another answer to an upgrade request
 * (its hop-by-hop headers dropped, the body delimited by closing).
 */
export function rawResponseHead(status: number, statusMessage: string | undefined, rawHeaders: readonly string[]): string {
  const headers = status === 101 ? [...rawHeaders] : [...relayResponseHeaders(rawHeaders), 'Connection', 'close'];
  const lines = [`HTTP/1.1 ${status} ${statusMessage ?? http.STATUS_CODES[status] ?? ''}`];
  for (let i = 0; i + 1 < headers.length; i += 2) lines.push(`${headers[i] ?? ''}: ${headers[i + 1] ?? ''}`);
  return `${lines.join('\r\n')}\r\n\r\n`;
}
