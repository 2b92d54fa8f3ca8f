// The line splitting a relayed stream shares whether it is a kubectl watch
// (relay-watch.ts) or a followed log (relay-logs.ts): whole lines are handed
// on, each read by its stream's own reader on the way; the start of an
// unfinished line is held until its end comes, up to a bound. Past the bound,
// or once a reader no longer knows where the stream is, bytes pass on as
// they come and the stream can no longer be resumed.
import type { ResumableTrack } from './relay-watch.ts';

const NEWLINE = 0x0a;

/**
 * Splits a stream into whole lines for `readLine`. Subclasses read each
 * line (what to hand on of it) and call `loseTrack` when the stream's
 * position is no longer known.
 */
export abstract class LineTrack implements Pick<ResumableTrack, 'push' | 'rest' | 'discardPartial' | 'resumable'> {
  readonly #maxLineBytes: number;
  #held: Buffer[] = [];
  #heldBytes = 0;
  #tracking = true;

  protected constructor(maxLineBytes: number) {
    this.#maxLineBytes = maxLineBytes;
  }

  /** Whether the stream's position is known: every line was read whole. */
  get resumable(): boolean {
    return this.#tracking;
  }

  /** Takes a chunk of the body; returns the bytes to hand on now, if any. */
  push(chunk: Buffer): Buffer | undefined {
    // Lost track: bytes pass on as they come, after whatever was held.
    if (!this.#tracking) return this.#heldBytes === 0 ? chunk : Buffer.concat([this.#release(), chunk]);
    const last = chunk.lastIndexOf(NEWLINE);
    if (last === -1) return this.#hold(chunk) ? undefined : this.#release();
    const whole = this.#heldBytes === 0 ? chunk.subarray(0, last + 1) : Buffer.concat([...this.#held, chunk.subarray(0, last + 1)]);
    this.#held = [];
    this.#heldBytes = 0;
    const out = this.#read(whole);
    if (!this.#hold(chunk.subarray(last + 1))) return Buffer.concat([out, this.#release()]);
    return out.length === 0 ? undefined : out;
  }

  /** What is held of an unfinished last line, handed on at a clean end of the body. */
  rest(): Buffer | undefined {
    return this.#heldBytes === 0 ? undefined : this.#release();
  }

  /** What is held of an unfinished line, dropped: the stream broke inside it. */
  discardPartial(): void {
    this.#held = [];
    this.#heldBytes = 0;
  }

  /** One whole line, its newline included: what of it the client gets (undefined: nothing). */
  protected abstract readLine(line: Buffer): Buffer | undefined;

  /** The stream's position is no longer known: the rest passes on as it comes. */
  protected loseTrack(): void {
    this.#tracking = false;
  }

  /** Each whole line through readLine; what comes out, in one buffer. */
  #read(whole: Buffer): Buffer {
    const out: Buffer[] = [];
    let start = 0;
    while (start < whole.length) {
      const end = whole.indexOf(NEWLINE, start);
      const line = whole.subarray(start, end + 1);
      start = end + 1;
      const kept = this.#tracking ? this.readLine(line) : line;
      if (kept !== undefined) out.push(kept);
    }
    return out.length === 1 ? (out[0] as Buffer) : Buffer.concat(out);
  }

  /** Holds the start of an unfinished line; false once the stream is not tracked (too long a line, or lost before). */
  #hold(bytes: Buffer): boolean {
    if (bytes.length > 0) {
      this.#held.push(bytes);
      this.#heldBytes += bytes.length;
      if (this.#heldBytes > this.#maxLineBytes) this.#tracking = false;
    }
    return this.#tracking;
  }

  #release(): Buffer {
    const out = Buffer.concat(this.#held);
    this.#held = [];
    this.#heldBytes = 0;
    return out;
  }
}
