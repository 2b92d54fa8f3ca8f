// Where agents come in: the upgrade at AGENT_CONNECT_PATH, to HTTP/2 on the
// socket itself (LINK_H2_UPGRADE) or to a WebSocket. The cluster token is
// checked before the upgrade is accepted, so a bad token costs one HTTP
// answer and no session state.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { acceptH2Upgrade } from '../link/h2-socket.ts';
import { MAX_WS_MESSAGE_BYTES } from '../link/http2-settings.ts';
import { HubSession } from '../link/hub-session.ts';
import { parseLeaderHeader, type LinkLeader } from '../link/leader-header.ts';
import type { KeepaliveOptions } from '../link/keepalive.ts';
import { h2Transport, webSocketTransport, type LinkTransport } from '../link/transport.ts';
import { HeartbeatError, parseHeartbeat } from '../link/heartbeat-schema.ts';
import { AGENT_HEADERS, LINK_CLOSE, LINK_H2_UPGRADE, LINK_SUBPROTOCOL, parseAgentFeatures, type HeartbeatEvent } from '../link/protocol.ts';
import { background } from '../util/background.ts';
import { throttledWarnings, type Logger } from '../util/logger.ts';
import type { AddonStatusRecorder } from './addons/index.ts';
import type { Fleet } from './fleet.ts';
import type { HubMetrics, LinkErrorReason } from './metrics.ts';
import type { ClusterRecord, Store } from './store/index.ts';
import { parseToken, verifyStoredToken, verifyToken } from './tokens.ts';

/** Seconds an overloaded hub asks agents to wait, before their own jitter. */
const OVERLOAD_RETRY_AFTER_SECONDS = [1, 5] as const;
/** An upgrade request that has not finished authenticating by then is dropped. */
const HANDSHAKE_TIMEOUT_MS = 10_000;
const MAX_AGENT_VERSION_LENGTH = 64;
/** Seconds an agent refused because another holds its cluster's link is asked to wait. */
const HELD_RETRY_AFTER_SECONDS = 30;
/** WebSocket code for a connection that ended without a close frame. */
const ABNORMAL_CLOSURE = 1006;

export interface AgentGatewayOptions {
  store: Store;
  fleet: Fleet;
  /** Checks and stores the add-on statuses agents report. */
  addonStatuses: AddonStatusRecorder;
  log: Logger;
  metrics: HubMetrics;
  keepalive: KeepaliveOptions;
  maxPendingHandshakes: number;
}

export class AgentGateway {
  private readonly options: AgentGatewayOptions;
  private readonly wss: WebSocketServer;
  private pending = 0;

  constructor(options: AgentGatewayOptions) {
    this.options = options;
    this.wss = new WebSocketServer({
      noServer: true,
      perMessageDeflate: false,
      maxPayload: MAX_WS_MESSAGE_BYTES,
      handleProtocols: (protocols) => (protocols.has(LINK_SUBPROTOCOL) ? LINK_SUBPROTOCOL : false),
    });
  }

  /** Handles an upgrade request for the agent endpoint. Never throws. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => undefined);
    const h2 = req.headers.upgrade?.toLowerCase() === LINK_H2_UPGRADE;
    const protocols = (req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
    if (!h2 && !protocols.includes(LINK_SUBPROTOCOL)) {
      this.refuse(socket, 400, 'bad_request', `the agent endpoint upgrades to ${LINK_H2_UPGRADE}, or to a WebSocket with subprotocol ${LINK_SUBPROTOCOL}`);
      return;
    }
    if (this.pending >= this.options.maxPendingHandshakes) {
      const [min, max] = OVERLOAD_RETRY_AFTER_SECONDS;
      const retryAfter = min + Math.floor(Math.random() * (max - min + 1));
      this.refuse(socket, 503, 'overloaded', 'the hub is admitting other agents; retry later', { 'Retry-After': String(retryAfter) });
      return;
    }
    const leader = parseLeaderHeader(req.headers);
    if (leader === 'invalid') {
      this.refuse(socket, 400, 'bad_request', `the ${AGENT_HEADERS.leader} header must be a term and a Lease identity, like "3 uplink-agent-7d9f-x2x_0a1b2c3d"`);
      return;
    }
    this.pending += 1;
    this.options.metrics.pendingHandshakes.set(this.pending);
    const timer = setTimeout(() => { socket.destroy(); }, HANDSHAKE_TIMEOUT_MS);
    this.authenticate(req)
      .then(async (cluster) => {
        if (!cluster) {
          this.refuse(socket, 401, 'unauthorized', 'the cluster token is not valid');
          return;
        }
        const admission = await this.options.fleet.admitLink(cluster, leader);
        if (admission === 'held') {
          this.refuse(socket, 409, 'held', 'another agent holds the link for this cluster token and has been replaced too often lately; it keeps the link until it goes away', { 'Retry-After': String(HELD_RETRY_AFTER_SECONDS) });
          return;
        }
        if (admission === 'stale') {
          this.refuse(socket, 409, 'stale_leader', 'a later leader of this cluster\'s agents holds the link; this agent no longer leads', { 'Retry-After': String(HELD_RETRY_AFTER_SECONDS) });
          return;
        }
        // The handshake timed out, or the agent gave up, while the tier was asked.
        if (socket.destroyed) return;
        if (h2) {
          acceptH2Upgrade(socket, head, LINK_H2_UPGRADE).then((ws) => { this.accept(h2Transport(ws), cluster, req, leader); }, () => { socket.destroy(); });
        } else {
          this.wss.handleUpgrade(req, socket, head, (ws) => { this.accept(webSocketTransport(ws), cluster, req, leader); });
        }
      })
      .catch((error: unknown) => {
        this.options.log.error({ err: error }, 'agent authentication failed');
        this.refuse(socket, 503, 'store', 'the hub cannot check tokens right now', { 'Retry-After': '5' });
      })
      .finally(() => {
        clearTimeout(timer);
        this.pending -= 1;
        this.options.metrics.pendingHandshakes.set(this.pending);
      });
  }

  /** Finds the cluster a bearer token belongs to; undefined when it is not valid. */
  private async authenticate(req: IncomingMessage): Promise<ClusterRecord | undefined> {
    const match = /^Bearer (\S{1,256})$/.exec(req.headers.authorization ?? '');
    const token = match?.[1];
    const parsed = token === undefined ? undefined : parseToken(token);
    if (token === undefined || parsed?.kind !== 'cluster') return undefined;
    const cluster = await this.options.store.getCluster(parsed.id);
    // An unknown id is checked like a wrong secret: no answer tells them apart.
    if (verifyStoredToken(token, cluster?.tokenHash) && cluster) return cluster;
    if (!cluster) return undefined;
    if (cluster.nextTokenHash !== null && verifyToken(token, cluster.nextTokenHash)) {
      // The agent stored a rotated token the hub never saw confirmed: the
      // rotation is complete now, and the old token stops working.
      await this.options.store.updateClusterTokens(cluster.id, { tokenHash: cluster.nextTokenHash, nextTokenHash: null });
      return cluster;
    }
    return undefined;
  }

  private accept(transport: LinkTransport, cluster: ClusterRecord, req: IncomingMessage, leader: LinkLeader | undefined): void {
    const { log, metrics, fleet, keepalive } = this.options;
    const clusterLog = log.child({ clusterId: cluster.id, cluster: cluster.name });
    const features = parseAgentFeatures(req.headers[AGENT_HEADERS.features]);
    const session = new HubSession({
      transport, log: clusterLog, keepalive, features,
      onStreamCount: (delta) => { metrics.streamsOpen.inc(delta); },
    });
    const version = req.headers[AGENT_HEADERS.version];
    const agentVersion = typeof version === 'string' ? version.slice(0, MAX_AGENT_VERSION_LENGTH) : undefined;
    metrics.linksAccepted.inc();
    fleet.attach(cluster.id, session, agentVersion, leader);
    clusterLog.info({ agentVersion, features: [...features], transport: session.transport, remote: req.socket.remoteAddress, leader: leader?.identity, term: leader?.term }, 'agent linked');
    const sinks: AgentEventSinks = {
      fleet, addonStatuses: this.options.addonStatuses,
      dropped: (type) => { metrics.agentEventsDropped.inc({ type }); },
    };
    const eventLog = throttledWarnings(clusterLog, MALFORMED_HEARTBEAT_LOG_INTERVAL_MS);
    session.openEvents((event) => { routeAgentEvent(sinks, cluster, event, eventLog); });
    background(session.closed.then(({ code, reason }) => {
      if (code === LINK_CLOSE.protocolError) metrics.linkError('protocol');
      else if (code === LINK_CLOSE.peerTimeout) metrics.linkError('timeout');
      else if (code === ABNORMAL_CLOSURE) metrics.linkError('dropped');
      clusterLog.info({ code, reason }, 'agent link closed');
    }), clusterLog, 'could not record a closed link');
  }

  private refuse(socket: Duplex, status: number, reason: LinkErrorReason, message: string, headers: Record<string, string> = {}): void {
    this.options.metrics.linkError(reason);
    if (socket.destroyed) return;
    const body = `${message}\n`;
    const lines = [
      `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}`,
      'Content-Type: text/plain; charset=utf-8',
      `Content-Length: ${Buffer.byteLength(body)}`,
      'Connection: close',
      ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
    ];
    socket.end(`${lines.join('\r\n')}\r\n\r\n${body}`);
  }

  close(): void {
    this.wss.close();
  }
}

const STATUS_TEXT: Record<number, string> = { 400: 'Bad Request', 401: 'Unauthorized', 409: 'Conflict', 503: 'Service Unavailable' };

/** Why an event was dropped at the hub: the label of uplink_hub_agent_events_dropped_total. */
export type DroppedEventType = 'heartbeat' | 'unknown';

/** Where a cluster's events go: narrow, so routing is testable without a socket. */
export interface AgentEventSinks {
  fleet: Pick<Fleet, 'heartbeat' | 'addonSweep'>;
  addonStatuses: Pick<AddonStatusRecorder, 'receive'>;
  /** Counts an event dropped here (heartbeats that do not parse, unknown types). */
  dropped: (type: DroppedEventType) => void;
}

/** A cluster's warnings about malformed heartbeats are logged at most this often. */
export const MALFORMED_HEARTBEAT_LOG_INTERVAL_MS = 60_000;

/**
 * One line of a cluster's event stream, parsed at the boundary. A heartbeat
 * must fit the protocol's schema with its bounds (fields a newer agent adds
 * are dropped, not refused); one that does not is dropped and counted, with a
 * warning naming the field, never its value, at most once a minute per link.
 * Add-on statuses and sweep reports are checked by their receivers, which
 * drop a malformed one with a warning naming the field. Unknown types (a
 * newer agent's) are counted and ignored.
 */
export function routeAgentEvent(sinks: AgentEventSinks, cluster: Pick<ClusterRecord, 'id' | 'name'>, event: unknown, log: Logger): void {
  if (isEnvelope(event, 'heartbeat')) {
    let heartbeat: HeartbeatEvent;
    try {
      heartbeat = parseHeartbeat(event);
    } catch (error) {
      sinks.dropped('heartbeat');
      const field = error instanceof HeartbeatError ? error.field : undefined;
      log.warn({ field, reason: (error as Error).message }, 'the agent sent a malformed heartbeat; dropped');
      return;
    }
    sinks.fleet.heartbeat(cluster.id, heartbeat);
  } else if (isEnvelope(event, 'addonStatus')) sinks.addonStatuses.receive(cluster.id, event.status, log);
  else if (isEnvelope(event, 'addonSweep')) void sinks.fleet.addonSweep(cluster, event.sweep, log);
  else sinks.dropped('unknown');
}

/** The envelope only: what it carries is checked by its parser or receiver. */
function isEnvelope<T extends 'heartbeat' | 'addonStatus' | 'addonSweep'>(event: unknown, type: T): event is { type: T } & Record<string, unknown> {
  return typeof event === 'object' && event !== null && !Array.isArray(event) && (event as { type?: unknown }).type === type;
}
