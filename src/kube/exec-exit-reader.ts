// The exit code of an `exec` over WebSocket, read passively from the bytes
// the API server sends (RFC 6455 frames carrying the v4/v5 channel protocol,
// exec-channels.ts) while they are relayed untouched. Only the frame heads
// are read; payloads are skipped, except the error channel's (3), where the
// API server sends its final Status, kept up to MAX_EXIT_STATUS_BYTES. Pure
// and bounded: a few counters, a 14-byte head buffer and the Status buffer.
// Nothing it is given can make it throw: what it cannot read, it stops
// reading and says so.
import { EXEC_CHANNEL, exitOfStatus } from './exec-channels.ts';

/** Largest final Status kept; the API server's are a few hundred bytes. */
export const MAX_EXIT_STATUS_BYTES = 4096;
/** Longest failure reason kept for the audit log. */
export const MAX_EXIT_REASON_CHARS = 256;

/** The subprotocols whose error channel carries a JSON Status (v4 and later), and whether it is base64 text. */
const STATUS_SUBPROTOCOLS: ReadonlyMap<string, { base64: boolean }> = new Map([
  ['v5.channel.k8s.io', { base64: false }],
  ['v4.channel.k8s.io', { base64: false }],
  ['v4.base64.channel.k8s.io', { base64: true }],
]);

/** How an exec ended, as its final Status says. */
export interface ExecExit {
  /** The command's exit code: 0 on Success, N on NonZeroExitCode; null when the Status gives none. */
  exitCode: number | null;
  /** Why there is no exit code: the Status's reason and message (bounded); null when there is one. */
  reason: string | null;
}

const OPCODE = { continuation: 0x0, text: 0x1, binary: 0x2, close: 0x8, ping: 0x9, pong: 0xa } as const;
const MAX_CONTROL_PAYLOAD = 125;
/** 2^21: a 64-bit length whose high word reaches this is beyond Number.MAX_SAFE_INTEGER. */
const MAX_HIGH_WORD = 0x20_0000;
const HIGH_WORD = 0x1_0000_0000;

/** The frame being read. */
interface Frame {
  fin: boolean;
  control: boolean;
  /** Payload bytes still to come. */
  remaining: number;
  /** Payload bytes seen, for unmasking. */
  offset: number;
  mask: Uint8Array | null;
}

/** The data message being read (it may span frames, with control frames between). */
interface Message {
  /** Its channel, once its first payload byte came. */
  channel: number | null;
  /** Bytes of an error channel's payload, kept; null when not kept. */
  kept: Uint8Array | null;
  length: number;
  overflow: boolean;
}

/**
 * Reads the final Status of an exec from the server's WebSocket frames.
 * `push` every chunk as relayed, in order; `exit` is set once the Status
 * came. Stops reading at the Status, or at the first thing it cannot read.
 */
export class ExecExitReader {
  readonly #base64: boolean;
  readonly #head = new Uint8Array(14);
  #headLength = 0;
  #frame: Frame | null = null;
  #message: Message | null = null;
  #exit: ExecExit | undefined;
  #unreadable: string | undefined;

  constructor(options: { base64?: boolean } = {}) {
    this.#base64 = options.base64 === true;
  }

  /** The exit, once the final Status was read. */
  get exit(): ExecExit | undefined {
    return this.#exit;
  }

  /** Why reading stopped before a Status, if it did. */
  get unreadable(): string | undefined {
    return this.#unreadable;
  }

  /** Reads a chunk of the server's bytes. Never throws; never keeps a reference to the chunk. */
  push(chunk: Uint8Array): void {
    let at = 0;
    try {
      while (at < chunk.length && this.#exit === undefined && this.#unreadable === undefined) {
        at = this.#frame === null ? this.#readHead(chunk, at) : this.#readPayload(chunk, at);
      }
    } catch {
      // Defensive only: every path above is bounded and checked.
      this.#unreadable = 'the frames could not be read';
    }
  }

  /** Copies head bytes from `chunk` at `at`; starts the frame once the head is whole. Returns the new position. */
  #readHead(chunk: Uint8Array, at: number): number {
    let position = at;
    while (position < chunk.length) {
      const need = this.#headLength < 2 ? 2 : headLength(this.#head);
      if (this.#headLength >= need) break;
      this.#head[this.#headLength++] = chunk[position++] ?? 0;
    }
    if (this.#headLength >= 2 && this.#headLength === headLength(this.#head)) this.#startFrame();
    return position;
  }

  #startFrame(): void {
    const head = this.#head;
    this.#headLength = 0;
    const first = head[0] ?? 0;
    const length = payloadLength(head);
    const fault = length === null ? 'a frame is longer than 2^53 bytes' : frameFault(first, length, this.#message !== null);
    if (fault !== undefined || length === null) {
      this.#stop(fault ?? '');
      return;
    }
    const opcode = first & 0x0f;
    const maskAt = headLength(head) - 4;
    const masked = ((head[1] ?? 0) & 0x80) !== 0;
    if (opcode === OPCODE.text || opcode === OPCODE.binary) this.#message = { channel: null, kept: null, length: 0, overflow: false };
    this.#frame = { fin: (first & 0x80) !== 0, control: opcode >= 0x8, remaining: length, offset: 0, mask: masked ? head.slice(maskAt, maskAt + 4) : null };
    if (length === 0) this.#endFrame();
  }

  /** Skips or keeps payload bytes of the current frame. Returns the new position. */
  #readPayload(chunk: Uint8Array, at: number): number {
    const frame = this.#frame;
    if (frame === null) return at;
    const take = Math.min(frame.remaining, chunk.length - at);
    if (!frame.control && this.#message !== null) this.#see(chunk.subarray(at, at + take), frame);
    frame.offset += take;
    frame.remaining -= take;
    if (frame.remaining === 0) this.#endFrame();
    return at + take;
  }

  /** A data frame's payload bytes: the first names the message's channel; the error channel's are kept. */
  #see(bytes: Uint8Array, frame: Frame): void {
    const message = this.#message;
    if (message === null || bytes.length === 0) return;
    let from = 0;
    if (message.channel === null) {
      message.channel = channelOf(unmasked(bytes[0] ?? 0, frame, 0), this.#base64);
      if (message.channel === EXEC_CHANNEL.status) message.kept = new Uint8Array(this.#base64 ? Math.ceil(MAX_EXIT_STATUS_BYTES / 3) * 4 : MAX_EXIT_STATUS_BYTES);
      from = 1;
    }
    const kept = message.kept;
    if (kept === null) return;
    for (let i = from; i < bytes.length; i++) {
      if (message.length >= kept.length) {
        message.overflow = true;
        return;
      }
      kept[message.length++] = unmasked(bytes[i] ?? 0, frame, i);
    }
  }

  #endFrame(): void {
    const frame = this.#frame;
    this.#frame = null;
    if (frame === null || frame.control || !frame.fin) return;
    const message = this.#message;
    this.#message = null;
    // An empty message on the error channel only says it is open (the API server's first message when no output channel is).
    if (message === null || message.kept === null || (message.length === 0 && !message.overflow)) return;
    this.#exit = message.overflow
      ? { exitCode: null, reason: `the final status is larger than ${MAX_EXIT_STATUS_BYTES} bytes` }
      : exitOfPayload(message.kept.subarray(0, message.length), this.#base64);
  }

  #stop(why: string): void {
    this.#unreadable = why;
    this.#frame = null;
    this.#message = null;
  }
}

/** A reader for an exec answered with `subprotocol` (the 101's Sec-WebSocket-Protocol); undefined for a protocol without a JSON Status (SPDY, v1 to v3). */
export function execExitReaderFor(subprotocol: string | undefined): ExecExitReader | undefined {
  const known = subprotocol === undefined ? undefined : STATUS_SUBPROTOCOLS.get(subprotocol.trim().toLowerCase());
  return known === undefined ? undefined : new ExecExitReader(known);
}

/** What makes a frame unreadable (RFC 6455, section 5), given its first byte, its length and whether a fragmented message is open; undefined when nothing does. */
function frameFault(first: number, length: number, inMessage: boolean): string | undefined {
  const opcode = first & 0x0f;
  const fin = (first & 0x80) !== 0;
  if ((first & 0x70) !== 0) return 'a frame uses an extension (compressed?)';
  switch (opcode) {
    case OPCODE.close:
    case OPCODE.ping:
    case OPCODE.pong:
      return !fin || length > MAX_CONTROL_PAYLOAD ? 'a control frame is fragmented or too long' : undefined;
    case OPCODE.continuation:
      return inMessage ? undefined : 'a continuation frame starts no message';
    case OPCODE.text:
    case OPCODE.binary:
      return inMessage ? 'a data frame interrupts a fragmented message' : undefined;
    default:
      return `a frame has the reserved opcode ${opcode}`;
  }
}

/** The head's length once its first two bytes are known: 2, plus 2 or 8 for a long length, plus 4 for a mask. */
function headLength(head: Uint8Array): number {
  const second = head[1] ?? 0;
  const short = second & 0x7f;
  return 2 + (short === 126 ? 2 : short === 127 ? 8 : 0) + ((second & 0x80) !== 0 ? 4 : 0);
}

/** The payload length in a whole head; null when it does not fit a safe integer (or sets the reserved top bit). */
function payloadLength(head: Uint8Array): number | null {
  const short = (head[1] ?? 0) & 0x7f;
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  if (short === 126) return view.getUint16(2);
  if (short !== 127) return short;
  const high = view.getUint32(2);
  return high >= MAX_HIGH_WORD ? null : high * HIGH_WORD + view.getUint32(6);
}

function unmasked(byte: number, frame: Frame, index: number): number {
  return frame.mask === null ? byte : byte ^ (frame.mask[(frame.offset + index) % 4] ?? 0);
}

/** A message's channel from its first byte: the byte itself, or in base64 protocols an ASCII digit. */
function channelOf(byte: number, base64: boolean): number {
  return base64 ? byte - 0x30 : byte;
}

/** The exit a Status payload says, its reason bounded. */
function exitOfPayload(payload: Uint8Array, base64: boolean): ExecExit {
  const bytes = base64 ? decodeBase64(payload) : payload;
  if (bytes === null) return { exitCode: null, reason: 'the final status is not base64' };
  const { exitCode, reason, message } = exitOfStatus(bytes);
  if (exitCode !== null) return { exitCode, reason: null };
  const text = reason === null ? message : `${reason}: ${message}`;
  return { exitCode: null, reason: text.length > MAX_EXIT_REASON_CHARS ? `${text.slice(0, MAX_EXIT_REASON_CHARS - 1)}…` : text };
}

function decodeBase64(text: Uint8Array): Uint8Array | null {
  const ascii = String.fromCharCode(...text);
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(ascii) || ascii.length % 4 !== 0) return null;
  return Uint8Array.from(atob(ascii), (c) => c.charCodeAt(0));
}
