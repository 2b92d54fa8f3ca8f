// The bytes of each connection's request head as they arrive, before Node's
// parser has a request to show. The hub reads heads up to the API server's
// 1 MiB + 4 KiB (MAX_REQUEST_HEAD_BYTES), and a connection holds what it has
// received of one until it is complete: measured, about 1.1 MiB a
// connection at the limit, so the connection caps alone would let one
// address hold a GiB and the whole hub ten. Heads longer than Node's usual
// 16 KiB are rare (long exec commands and selectors), so only
// MAX_LONG_HEADS connections may be inside one at a time; one more is
// answered 429 with Retry-After, which client-go retries by itself, and
// audited as an unauthenticated refusal. Every other connection stays
// within LONG_HEAD_BYTES while its head arrives, as before.
//
// The start of each head is kept too (REQUEST_START_BYTES), so that a head
// refused for its size (client-errors.ts) is audited with its method and
// path, which Node's parser error no longer holds by then.
import type http from 'node:http';
import type { Socket } from 'node:net';
import tls from 'node:tls';
import { closeAfter, refusedHeadRecord, statusAnswer } from './client-errors.ts';
import type { HubMetrics } from './metrics.ts';
import type { AuditRecord } from './store/index.ts';

/** A head longer than this (Node's own default limit) counts as long. */
export const LONG_HEAD_BYTES = 16 * 1024;
/** Connections that may be receiving a long head at once: about 70 MiB at the most. */
export const MAX_LONG_HEADS = 64;
/** Bytes of each head kept for the audit row of its refusal. */
export const REQUEST_START_BYTES = 2048;
/** Seconds a client refused for too many long heads is asked to wait. */
const RETRY_AFTER_SECONDS = 1;

interface HeadState {
  /** False from the end of a head until its answer is sent: what arrives then is a body. */
  counting: boolean;
  bytes: number;
  start: Buffer;
  long: boolean;
  refused: boolean;
  onData: (chunk: Buffer) => void;
}

export interface RequestHeadsOptions {
  metrics: Pick<HubMetrics, 'requestHeadsRefused' | 'longRequestHeads'>;
  audit: (record: AuditRecord) => void;
  /** Defaults to MAX_LONG_HEADS; tests lower it. */
  maxLong?: number;
  now?: () => Date;
}

export class RequestHeads {
  readonly #options: RequestHeadsOptions;
  readonly #states = new WeakMap<Socket, HeadState>();
  readonly #maxLong: number;
  #long = 0;

  constructor(options: RequestHeadsOptions) {
    this.#options = options;
    this.#maxLong = options.maxLong ?? MAX_LONG_HEADS;
  }

  /** The first bytes of the head `socket` is sending now, if any arrived. */
  startOf(socket: unknown): Buffer | undefined {
    const state = this.#states.get(socket as Socket);
    return state === undefined || state.bytes === 0 ? undefined : state.start;
  }

  /** Connections inside a long head now. */
  get long(): number {
    return this.#long;
  }

  /**
   * Watches `server`'s connections. Must run after the server was created:
   * a 'data' listener added after Node's own makes Node's parser read the
   * socket through JavaScript, so both see every chunk, this one first.
   */
  attach(server: http.Server): void {
    server.on(server instanceof tls.Server ? 'secureConnection' : 'connection', (socket: Socket) => { this.#watch(socket); });
    server.prependListener('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
      const state = this.#states.get(req.socket);
      if (state === undefined) return;
      this.#headDone(state);
      res.once('finish', () => {
        state.counting = true;
        state.bytes = 0;
        state.start = Buffer.alloc(0);
      });
    });
    // An upgraded connection leaves HTTP: its bytes belong to the link or the stream now.
    server.prependListener('upgrade', (req: http.IncomingMessage) => {
      const state = this.#states.get(req.socket);
      if (state === undefined) return;
      this.#headDone(state);
      req.socket.removeListener('data', state.onData);
      this.#states.delete(req.socket);
    });
  }

  #watch(socket: Socket): void {
    const state: HeadState = {
      counting: true, bytes: 0, start: Buffer.alloc(0), long: false, refused: false,
      onData: (chunk) => { this.#onData(socket, state, chunk); },
    };
    this.#states.set(socket, state);
    socket.prependListener('data', state.onData);
    socket.once('close', () => { this.#headDone(state); });
  }

  #onData(socket: Socket, state: HeadState, chunk: Buffer): void {
    if (!state.counting || state.refused) return;
    if (state.bytes < REQUEST_START_BYTES) state.start = Buffer.concat([state.start, chunk.subarray(0, REQUEST_START_BYTES - state.bytes)]);
    state.bytes += chunk.length;
    if (state.long || state.bytes <= LONG_HEAD_BYTES) return;
    if (this.#long < this.#maxLong) {
      state.long = true;
      this.#long += 1;
      this.#options.metrics.longRequestHeads.set(this.#long);
      return;
    }
    this.#refuse(socket, state);
  }

  /** Too many long heads at once: 429, and the parser never sees the rest of this connection. */
  #refuse(socket: Socket, state: HeadState): void {
    state.refused = true;
    this.#options.metrics.requestHeadsRefused.inc({ reason: 'too_many_long' });
    this.#options.audit(refusedHeadRecord(state.start, 429, (this.#options.now ?? ((): Date => new Date()))()));
    for (const listener of socket.listeners('data')) {
      if (listener !== state.onData) socket.removeListener('data', listener as (chunk: Buffer) => void);
    }
    closeAfter(socket, statusAnswer(429, 'TooManyRequests',
      `the hub is receiving ${this.#maxLong} requests with long request lines or headers at once, its limit; retry shortly`, { 'Retry-After': String(RETRY_AFTER_SECONDS) }));
  }

  #headDone(state: HeadState): void {
    state.counting = false;
    if (!state.long) return;
    state.long = false;
    this.#long -= 1;
    this.#options.metrics.longRequestHeads.set(this.#long);
  }
}
