// The hub's end of a link: an HTTP/2 client on the link's transport.
// Every request the hub makes of a cluster is a stream on this session.
import http2 from 'node:http2';
import { UplinkError } from '../util/errors.ts';
import type { Logger } from '../util/logger.ts';
import type { LinkClosed } from './agent-session.ts';
import {
  LINK_HTTP2_SETTINGS, MAX_SESSION_MEMORY_MB, SESSION_WINDOW_BYTES,
} from './http2-settings.ts';
import { startKeepalive, type KeepaliveOptions } from './keepalive.ts';
import { NdjsonDecoder } from './ndjson.ts';
import { AGENT_PATHS, LINK_CLOSE, MAX_EVENT_LINE_BYTES, type AgentFeature } from './protocol.ts';
import type { LinkTransport } from './transport.ts';

/** Default limit for a unary request to the agent. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
/** Largest unary response body the hub buffers. */
export const MAX_UNARY_BODY_BYTES = 8 * 1024 * 1024;

/** A request over the link failed: link gone, timeout, or a bad answer. */
/** Codes: LINK_CLOSED, LINK_TIMEOUT, LINK_BAD_RESPONSE. */
export class LinkRequestError extends UplinkError {}

export interface LinkResponse<T> {
  status: number;
  body: T;
}

export interface HubSessionOptions {
  /** The link's transport (transport.ts): h2 on the socket itself, or WebSocket. */
  transport: LinkTransport;
  log: Logger;
  keepalive: KeepaliveOptions;
  /** Called for each open and close of a stream, for the streams-open gauge. */
  onStreamCount?: (delta: 1 | -1) => void;
  /** What the agent said it understands on its upgrade request (parseAgentFeatures); none when absent. */
  features?: ReadonlySet<AgentFeature>;
}

export class HubSession {
  readonly closed: Promise<LinkClosed>;
  private readonly link: LinkTransport;
  private readonly session: http2.ClientHttp2Session;
  private readonly log: Logger;
  private readonly onStreamCount: (delta: 1 | -1) => void;
  private readonly features: ReadonlySet<AgentFeature>;
  /** Set once the agent sent GOAWAY: what follows is a drain, not a fault. */
  private draining = false;
  private streams = 0;
  /** Why the hub closed the link, when it was the hub that did. */
  private closedBy: LinkClosed | undefined;

  constructor(options: HubSessionOptions) {
    const { transport, log } = options;
    const ws = transport.ws;
    this.link = transport;
    this.log = log;
    this.onStreamCount = options.onStreamCount ?? (() => undefined);
    this.features = options.features ?? new Set();
    // Resolves with the hub's own close code when the hub closed the link
    // (what the peer echoes back is not to be trusted), else the agent's.
    this.closed = new Promise((resolve) => {
      ws.once('close', (code, reason) => { resolve(this.closedBy ?? { code, reason: reason.toString() }); });
    });
    // Over h2 the socket itself carries HTTP/2 (node:http2 reads it natively);
    // over WebSocket a byte stream reads and writes the messages.
    const duplex = transport.stream;
    duplex.on('error', (error) => { log.debug({ err: error }, 'link byte stream error'); });
    this.session = http2.connect('http://uplink-agent', {
      createConnection: () => duplex,
      settings: LINK_HTTP2_SETTINGS,
      maxSessionMemory: MAX_SESSION_MEMORY_MB,
    });
    transport.attach(this.session);
    this.session.on('connect', () => { this.session.setLocalWindowSize(SESSION_WINDOW_BYTES); });
    // The byte stream only sees EOF when the WebSocket closes; destroy the
    // session at once so every open stream ends now, not at some timeout.
    ws.once('close', () => { if (!this.session.destroyed) this.session.destroy(); });
    this.session.on('error', (error) => {
      log.warn({ err: error }, 'agent broke the HTTP/2 protocol; closing its link');
      this.close(LINK_CLOSE.protocolError, 'http2 protocol error');
    });
    this.session.on('goaway', () => { this.draining = true; });
    this.session.on('close', () => {
      if (this.draining) this.close(1000, 'agent drained');
      else this.close(LINK_CLOSE.protocolError, 'http2 session closed');
    });
    startKeepalive(ws, options.keepalive, () => {
      this.closedBy = { code: LINK_CLOSE.peerTimeout, reason: 'keepalive timeout' };
      log.warn('agent stopped answering pings; dropping its link');
    });
  }

  /** Whether the agent on this link listed `feature` (AGENT_FEATURES) when it linked. */
  supports(feature: AgentFeature): boolean {
    return this.features.has(feature);
  }

  /** Streams open to the agent now, the events stream included. */
  get openStreams(): number {
    return this.streams;
  }

  get isOpen(): boolean {
    return !this.session.closed && !this.session.destroyed && this.link.ws.readyState === this.link.ws.OPEN;
  }

  /** Opens a stream to the agent. The caller owns it (and must end or cancel it). */
  request(headers: http2.OutgoingHttpHeaders, options?: http2.ClientSessionRequestOptions): http2.ClientHttp2Stream {
    if (!this.isOpen) throw new LinkRequestError('LINK_CLOSED', 'the agent link is closed');
    const stream = this.session.request(headers, options);
    this.streams++;
    this.onStreamCount(1);
    stream.once('close', () => { this.streams--; this.onStreamCount(-1); });
    return stream;
  }

  /** A unary JSON request with a timeout and a cap on the response size; `headers` are added to the request's. */
  async requestJson<T>(method: string, path: string, body?: unknown, timeoutMs = DEFAULT_REQUEST_TIMEOUT_MS, headers: http2.OutgoingHttpHeaders = {}): Promise<LinkResponse<T>> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const stream = this.request({
      ...headers,
      ':method': method,
      ':path': path,
      ...(payload ? { 'content-type': 'application/json' } : {}),
    }, { endStream: payload === undefined });
    if (payload) stream.end(payload);
    stream.setTimeout(timeoutMs, () => {
      stream.destroy(new LinkRequestError('LINK_TIMEOUT', `${method} ${path} over the link timed out after ${timeoutMs} ms`));
    });
    return readJsonResponse<T>(stream, `${method} ${path}`);
  }

  /**
   * Opens the agent's event stream and hands each decoded event to `onEvent`.
   * The stream lives as long as the link; if it ends, the link is closed so
   * the agent reconnects and a fresh session starts.
   */
  openEvents(onEvent: (event: unknown) => void): void {
    const stream = this.request({ ':method': 'GET', ':path': AGENT_PATHS.events }, { endStream: true });
    const decoder = new NdjsonDecoder(MAX_EVENT_LINE_BYTES);
    stream.on('response', (headers) => {
      if (headers[':status'] !== 200) {
        this.log.warn({ status: headers[':status'] }, 'agent refused the event stream; closing its link');
        this.close(LINK_CLOSE.protocolError, 'event stream refused');
      }
    });
    stream.on('data', (chunk: Buffer) => {
      try {
        for (const event of decoder.push(chunk)) onEvent(event);
      } catch (error) {
        this.log.warn({ err: error }, 'bad event from agent; closing its link');
        this.close(LINK_CLOSE.protocolError, 'bad event stream');
      }
    });
    stream.on('error', () => { this.close(LINK_CLOSE.protocolError, 'event stream failed'); });
    // A draining agent ends the stream on purpose; otherwise its end is a fault.
    stream.on('close', () => {
      if (!this.draining) this.close(LINK_CLOSE.protocolError, 'event stream ended');
    });
  }

  /**
   * GOAWAY, then close the WebSocket with `code`; idempotent. Over h2 the
   * code rides on the GOAWAY itself, so that one goes first.
   */
  close(code: number, reason: string): void {
    const { ws } = this.link;
    if (ws.readyState === ws.CLOSED || ws.readyState === ws.CLOSING) return;
    this.closedBy = { code, reason };
    this.link.close(this.session, code, reason);
  }

  /** `h2` or `websocket`, for logs. */
  get transport(): 'h2' | 'websocket' {
    return this.link.kind;
  }
}

function readJsonResponse<T>(stream: http2.ClientHttp2Stream, what: string): Promise<LinkResponse<T>> {
  return new Promise((resolve, reject) => {
    let status = 0;
    let settled = false;
    const chunks: Buffer[] = [];
    let size = 0;
    const fail = (error: LinkRequestError): void => {
      if (!settled) reject(error);
      settled = true;
    };
    stream.on('response', (headers) => { status = Number(headers[':status']); });
    stream.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_UNARY_BODY_BYTES) {
        stream.destroy(new LinkRequestError('LINK_BAD_RESPONSE', `${what}: response over ${MAX_UNARY_BODY_BYTES} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    stream.on('error', (error: Error) => {
      fail(error instanceof LinkRequestError ? error
        : new LinkRequestError('LINK_CLOSED', `${what} failed: ${error.message}`, { cause: error }));
    });
    // A stream torn down with the session may end without an error event;
    // without a complete response that is a failure, never an empty success.
    stream.on('close', () => {
      if (status === 0 || stream.rstCode !== http2.constants.NGHTTP2_NO_ERROR) {
        fail(new LinkRequestError('LINK_CLOSED', `${what} failed: the link closed before the agent answered`));
        return;
      }
      if (settled) return;
      settled = true;
      const text = Buffer.concat(chunks).toString('utf8');
      try {
        resolve({ status, body: (text === '' ? undefined : JSON.parse(text)) as T });
      } catch (error) {
        reject(new LinkRequestError('LINK_BAD_RESPONSE', `${what}: response is not JSON`, { cause: error }));
      }
    });
  });
}
