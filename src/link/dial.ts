// The agent's side of opening a link: one WebSocket upgrade to the hub, with
// the cluster token in a header (never in the URL) and TLS verified.
import type { IncomingMessage } from 'node:http';
import { WebSocket } from 'ws';
import { UplinkError } from '../util/errors.ts';
import { MAX_WS_MESSAGE_BYTES } from './http2-settings.ts';
import { formatLeaderHeader, type LinkLeader } from './leader-header.ts';
import { AGENT_CONNECT_PATH, AGENT_HEADERS, LINK_SUBPROTOCOL, type AgentFeature } from './protocol.ts';
import { trustingCa } from './tls.ts';
import { webSocketTransport, type LinkTransport } from './transport.ts';

export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 15_000;

export type LinkRefusal = 'LINK_UNAUTHORIZED' | 'LINK_UNAVAILABLE' | 'LINK_HELD' | 'LINK_REFUSED' | 'LINK_UNREACHABLE';

/** The hub did not accept the link; `status` is its HTTP answer, 0 when none came. */
export class LinkDialError extends UplinkError {
  readonly status: number;
  /** From Retry-After on 409/429/503, in milliseconds. */
  readonly retryAfterMs: number | undefined;

  constructor(code: LinkRefusal, message: string, details: { status: number; retryAfterMs?: number }, options?: ErrorOptions) {
    super(code, message, options);
    this.status = details.status;
    this.retryAfterMs = details.retryAfterMs;
  }
}

export interface DialOptions {
  /** The hub's base URL, https:// (or http:// behind a TLS-terminating proxy). */
  hubUrl: string;
  token: string;
  agentVersion: string;
  /** PEM of the CA to trust for the hub (from a pin or a file). */
  ca?: string;
  /** Verify the hub's certificate; only an explicit operator opt-out turns this off. */
  rejectUnauthorized: boolean;
  handshakeTimeoutMs?: number;
  /** What this agent's request handler understands (AGENT_FEATURES), told to the hub; none when absent. */
  features?: readonly AgentFeature[];
  /** This agent's term of leadership, with leader election (AGENT_HEADERS.leader). */
  leader?: LinkLeader | undefined;
}

/** The headers of the link upgrade request, over either transport. */
export function linkUpgradeHeaders(options: DialOptions): Record<string, string> {
  const features = options.features ?? [];
  return {
    authorization: `Bearer ${options.token}`,
    [AGENT_HEADERS.version]: options.agentVersion,
    ...(features.length > 0 ? { [AGENT_HEADERS.features]: features.join(', ') } : {}),
    ...(options.leader ? { [AGENT_HEADERS.leader]: formatLeaderHeader(options.leader) } : {}),
  };
}

/** The WebSocket URL of the agent endpoint under a hub base URL. */
export function agentConnectUrl(hubUrl: string): string {
  const url = new URL(hubUrl);
  url.protocol = url.protocol === 'http:' ? 'ws:' : 'wss:';
  url.pathname = `${url.pathname.replace(/\/+$/, '')}${AGENT_CONNECT_PATH}`;
  url.search = '';
  url.hash = '';
  return url.toString();
}

/** Parses Retry-After (seconds or an HTTP date) into milliseconds. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** The error for a hub's HTTP answer that is not an upgrade. */
export function refusal(res: IncomingMessage): LinkDialError {
  const status = res.statusCode ?? 0;
  const retryAfterMs = parseRetryAfter(res.headers['retry-after']);
  const details = retryAfterMs === undefined ? { status } : { status, retryAfterMs };
  if (status === 401 || status === 403) {
    return new LinkDialError('LINK_UNAUTHORIZED', `the hub refused the cluster token (HTTP ${status})`, details);
  }
  if (status === 429 || status === 503) {
    return new LinkDialError('LINK_UNAVAILABLE', `the hub is busy (HTTP ${status})`, details);
  }
  if (status === 409) {
    return new LinkDialError('LINK_HELD', `another agent holds the link for this cluster token (HTTP ${status}); are two agents running with one token?`, details);
  }
  return new LinkDialError('LINK_REFUSED', `the hub answered HTTP ${status} instead of upgrading`, details);
}


/**
 * Opens the link's WebSocket; resolves once the upgrade succeeded. The byte
 * stream is attached inside the 'open' event: the hub's first HTTP/2 bytes
 * can arrive in the same read as the 101 response, and ws emits them before
 * any awaiting code would run, so a later attach would lose them.
 */
export function dialHub(options: DialOptions): Promise<LinkTransport> {
  const url = agentConnectUrl(options.hubUrl);
  // Client-to-server masking (RFC 6455 §10.3) protects proxies that cannot
  // parse WebSocket from bytes a browser script chose. Inside TLS no
  // intermediary sees the frames, and XOR-ing every byte capped a stream at
  // ~100 MiB/s (~400 MiB/s without), so over wss the mask is all zeros, which
  // ws skips on both ends. Plain ws:// keeps real masks.
  const zeroMask = url.startsWith('wss:');
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, [LINK_SUBPROTOCOL], {
      headers: linkUpgradeHeaders(options),
      perMessageDeflate: false,
      ...(zeroMask ? { generateMask: (mask: Buffer) => { mask.fill(0); } } : {}),
      maxPayload: MAX_WS_MESSAGE_BYTES,
      handshakeTimeout: options.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS,
      rejectUnauthorized: options.rejectUnauthorized,
      ...trustingCa(options.ca),
    });
    ws.once('unexpected-response', (req, res) => {
      reject(refusal(res));
      res.resume();
      req.destroy();
    });
    ws.once('error', (error) => {
      reject(new LinkDialError('LINK_UNREACHABLE', `cannot reach the hub at ${url}: ${error.message}`, { status: 0 }, { cause: error }));
    });
    ws.once('open', () => {
      if (ws.protocol !== LINK_SUBPROTOCOL) {
        ws.terminate();
        reject(new LinkDialError('LINK_REFUSED', `the hub chose subprotocol '${ws.protocol}', not ${LINK_SUBPROTOCOL}`, { status: 101 }));
        return;
      }
      const transport = webSocketTransport(ws);
      // Later errors surface as 'close', which the session handles.
      ws.on('error', () => undefined);
      resolve(transport);
    });
  });
}
