// One Server-Sent Events stream of the agent's runtime endpoints: replays a
// ReplayBuffer's entries to a client that connects, then follows it. Bounded:
// at most `maxClients` at once (429 beyond), a comment every `heartbeatMs`
// so proxies and port-forwards keep the connection, and a client whose
// unsent bytes pass `maxBufferedBytes` (it reads slower than we write) is
// dropped rather than buffered without end.
import type { IncomingHttpHeaders } from 'node:http';
import type { Logger } from '../../util/logger.ts';
import type { Numbered, ReplayBuffer } from './replay-buffer.ts';

export const DEFAULT_MAX_SSE_CLIENTS = 8;
export const DEFAULT_SSE_HEARTBEAT_MS = 15_000;
export const DEFAULT_MAX_SSE_BUFFERED_BYTES = 256 * 1024;
/** How long a browser waits before reconnecting, told in the stream's first bytes. */
const RECONNECT_MS = 3_000;
/** Last-Event-ID is an id this agent gave, so a few digits. */
const MAX_LAST_EVENT_ID_CHARS = 15;

/** What a stream needs of an HTTP response (node's ServerResponse is one). */
export interface SseResponse {
  writeHead(status: number, headers: Record<string, string>): unknown;
  write(chunk: string): boolean;
  end(chunk?: string): unknown;
  destroy(): unknown;
  readonly writableLength: number;
  once(event: 'close', listener: () => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
}

/** Why a client left the stream (or was never let in). */
export type SseDrop = 'refused' | 'slow';

export interface SseChannelOptions<T> {
  /** Names the stream in metrics (`events`, `logs`). */
  name: string;
  buffer: ReplayBuffer<T>;
  /** The SSE event name and the one-line data of an entry. */
  format: (value: T) => { event: string; data: string };
  maxClients?: number;
  heartbeatMs?: number;
  maxBufferedBytes?: number;
  /** Told the number of clients connected after every change. */
  onClients?: (count: number) => void;
  /** Told each client refused (over the limit) or dropped (too slow). */
  onDrop?: (reason: SseDrop) => void;
  /** Where clients coming and going are logged, at debug. */
  log?: Pick<Logger, 'debug'>;
}

/** The id after which a reconnecting client wants entries, from its Last-Event-ID; 0 for all held. */
export function lastEventId(headers: IncomingHttpHeaders): number {
  const value = headers['last-event-id'];
  if (typeof value !== 'string' || value.length > MAX_LAST_EVENT_ID_CHARS || !/^\d+$/.test(value)) return 0;
  return Number(value);
}

/** The bytes of one SSE message; `data` must hold no newline (JSON.stringify output never does). */
export function sseMessage(id: number, event: string, data: string): string {
  return `id: ${id}\nevent: ${event}\ndata: ${data.replace(/[\r\n]+/g, ' ')}\n\n`;
}

/** Serves one replayed, live stream to a bounded set of clients. */
export class SseChannel<T> {
  private readonly options: SseChannelOptions<T>;
  private readonly clients = new Map<SseResponse, () => void>();
  private heartbeat: NodeJS.Timeout | undefined;

  constructor(options: SseChannelOptions<T>) {
    this.options = options;
  }

  get clientCount(): number {
    return this.clients.size;
  }

  /** Starts streaming to `res`, or answers 429 when the channel is full. */
  serve(res: SseResponse, headers: IncomingHttpHeaders): void {
    if (this.clients.size >= (this.options.maxClients ?? DEFAULT_MAX_SSE_CLIENTS)) {
      this.options.onDrop?.('refused');
      this.options.log?.debug({ stream: this.options.name }, 'refused a client of a runtime stream: too many clients');
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '5', 'cache-control': 'no-store' });
      res.end(`${JSON.stringify({ error: `too many clients on the ${this.options.name} stream` })}\n`);
      return;
    }
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff',
      // A proxy in front (nginx) must pass each message at once.
      'x-accel-buffering': 'no',
    });
    // The replay is bounded by the buffer's capacity, so it is written whole; the slow-client bound applies from here.
    let replay = `retry: ${RECONNECT_MS}\n\n`;
    // An id beyond the newest was given by an earlier run of the agent (ids start again at 1): replay all.
    const after = lastEventId(headers);
    for (const entry of this.options.buffer.recent(after > this.options.buffer.lastId ? 0 : after)) replay += this.message(entry);
    res.write(replay);
    this.clients.set(res, this.options.buffer.subscribe((entry) => { this.write(res, this.message(entry)); }));
    res.once('close', () => {
      if (this.remove(res)) this.options.log?.debug({ stream: this.options.name, clients: this.clients.size }, 'a client left a runtime stream');
    });
    // A write racing the client's going away errs; 'close' follows and removes it.
    res.on('error', () => undefined);
    this.changed();
    // Logged last: on the logs stream the new client then sees its own line.
    this.options.log?.debug({ stream: this.options.name, clients: this.clients.size }, 'a client connected to a runtime stream');
  }

  /** Ends every client's stream (shutdown). */
  close(): void {
    for (const res of [...this.clients.keys()]) {
      this.remove(res);
      res.end();
    }
  }

  private message(entry: Numbered<T>): string {
    const { event, data } = this.options.format(entry.value);
    return sseMessage(entry.id, event, data);
  }

  private write(res: SseResponse, text: string): void {
    res.write(text);
    if (res.writableLength > (this.options.maxBufferedBytes ?? DEFAULT_MAX_SSE_BUFFERED_BYTES)) {
      this.options.onDrop?.('slow');
      // Not logged here: this runs inside a log call when the stream is the logs.
      this.remove(res);
      res.destroy();
    }
  }

  /** Takes `res` off the stream; false when it was not on it. */
  private remove(res: SseResponse): boolean {
    const unsubscribe = this.clients.get(res);
    if (!unsubscribe) return false;
    unsubscribe();
    this.clients.delete(res);
    this.changed();
    return true;
  }

  private changed(): void {
    this.options.onClients?.(this.clients.size);
    if (this.clients.size > 0 && !this.heartbeat) {
      this.heartbeat = setInterval(() => {
        for (const res of [...this.clients.keys()]) this.write(res, ': keepalive\n\n');
      }, this.options.heartbeatMs ?? DEFAULT_SSE_HEARTBEAT_MS);
      this.heartbeat.unref();
    } else if (this.clients.size === 0 && this.heartbeat) {
      clearInterval(this.heartbeat);
      this.heartbeat = undefined;
    }
  }
}
