// The agent's end of a link: an HTTP/2 server on the WebSocket byte stream.
import http2 from 'node:http2';
import type { Logger } from '../util/logger.ts';
import {
  LINK_HTTP2_SETTINGS, MAX_SESSION_MEMORY_MB, SESSION_WINDOW_BYTES, STREAM_RESET_BURST, STREAM_RESET_RATE,
} from './http2-settings.ts';
import { startKeepalive, type KeepaliveOptions } from './keepalive.ts';
import type { LinkTransport } from './transport.ts';

/** How often a drain looks whether the last stream has finished. */
const DRAIN_POLL_MS = 20;

export type LinkRequestHandler = (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void;

export interface LinkClosed {
  code: number;
  reason: string;
}

export interface AgentSessionOptions {
  /** The link's transport (transport.ts), as dialLink returns it. */
  socket: LinkTransport;
  handler: LinkRequestHandler;
  log: Logger;
  keepalive: KeepaliveOptions;
}

/** One live link, from the agent's side. */
export class AgentSession {
  /** Resolves when the WebSocket has closed, with the hub's close code. */
  readonly closed: Promise<LinkClosed>;
  private readonly link: LinkTransport;
  private readonly server: http2.Http2Server;
  private session: http2.ServerHttp2Session | undefined;

  constructor(options: AgentSessionOptions) {
    const { log } = options;
    const { ws, stream: duplex } = options.socket;
    this.link = options.socket;
    this.closed = new Promise((resolve) => {
      ws.once('close', (code, reason) => { resolve({ code, reason: reason.toString() }); });
    });
    duplex.on('error', (error) => { log.debug({ err: error }, 'link byte stream error'); });
    this.server = http2.createServer({
      settings: LINK_HTTP2_SETTINGS,
      maxSessionMemory: MAX_SESSION_MEMORY_MB,
      streamResetBurst: STREAM_RESET_BURST,
      streamResetRate: STREAM_RESET_RATE,
    }, options.handler);
    this.server.on('session', (session) => {
      this.session = session;
      options.socket.attach(session);
      session.setLocalWindowSize(SESSION_WINDOW_BYTES);
      session.on('error', (error) => { log.warn({ err: error }, 'link HTTP/2 session error'); });
      session.on('close', () => { ws.close(1000, 'http2 session closed'); });
    });
    this.server.on('sessionError', (error) => { log.warn({ err: error }, 'link HTTP/2 error'); });
    startKeepalive(ws, options.keepalive, () => { log.warn('hub stopped answering pings; dropping the link'); });
    // As on the hub: a closed WebSocket ends the session and its streams at once.
    ws.once('close', () => { if (this.session && !this.session.destroyed) this.session.destroy(); });
    this.server.emit('connection', duplex);
  }

  /**
   * Graceful shutdown: GOAWAY (the hub opens no new streams), then
   * `afterGoaway` (to end long-lived streams), wait up to `timeoutMs` for
   * open streams to finish, then close the WebSocket.
   */
  async drain(timeoutMs: number, afterGoaway: () => void = () => undefined): Promise<void> {
    const session = this.session;
    if (session && !session.closed) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          clearInterval(poll);
          resolve();
        };
        const timer = setTimeout(done, timeoutMs);
        session.close(done);
        // node:http2 emits the session's 'close' only after its socket has
        // closed, which on the link waits for our own close below; a session
        // destroyed because its last stream finished has nothing left to drain.
        const poll = setInterval(() => { if (session.destroyed) done(); }, DRAIN_POLL_MS);
        // GOAWAY is on its way; now end the streams that never end by themselves.
        afterGoaway();
      });
    } else {
      afterGoaway();
    }
    this.link.close(this.session, 1000, 'agent shutting down');
    const timer = setTimeout(() => { this.link.ws.terminate(); }, 1000);
    await this.closed;
    clearTimeout(timer);
  }

  /** Ends the link at once. */
  destroy(): void {
    // The socket first: over h2 a destroyed session would end it gracefully and wait for the hub.
    this.link.ws.terminate();
    this.session?.destroy();
  }
}
