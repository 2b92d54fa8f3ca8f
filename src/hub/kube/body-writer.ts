// How a streamed answer (a kubectl answer forwarded from the link, or one
// relayed from another replica) is written to its client: a turn of the
// event loop at a time. Each write to a TLS socket is a record, a syscall and
// a wakeup of the reader, and on this path every one of them is paid again
// on each hop; most answers (a GET, a list page) arrive with their head, body
// and end in one read, so the head waits for the body, the body's chunks of
// one turn go out together, and the last of them goes with the end: a small
// answer is one write. A watch or a followed log may not write its first byte
// for minutes: a head with no body by the end of its first turn goes out
// alone. Upgraded streams (exec, port-forward) are spliced the same way
// (src/util/splice-raw.ts).
import type { ServerResponse } from 'node:http';
import { MAX_QUEUED_BYTES } from '../../util/splice-raw.ts';


/** What the body is read from: paused while the client's connection is full. */
export interface BodySource {
  pause(): unknown;
  resume(): unknown;
}

/** Writes one answer's body to `res` (its head written already with writeHead). */
export class BodyWriter {
  readonly #res: ServerResponse;
  #pending: (Buffer | string)[] = [];
  #scheduled = false;
  /** Whether the head has gone out (alone, or with body). */
  #headSent = false;
  #ended = false;
  #source: BodySource | undefined;
  #waitingForDrain = false;

  /** Call right after writeHead: the head goes out with the body of this turn, or alone after it. */
  constructor(res: ServerResponse) {
    this.#res = res;
    this.#schedule();
  }

  /** Adds a chunk from `source`, written at the end of this turn; `source` is paused while the client cannot take more. */
  write(chunk: Buffer | string, source?: BodySource): void {
    if (this.#ended || chunk.length === 0) return;
    this.#source = source;
    this.#pending.push(chunk);
    this.#schedule();
  }

  /** Ends the answer with what is pending and `last`, in one write when nothing else is in flight. */
  end(last?: Buffer | string): void {
    if (this.#ended) return;
    this.#ended = true;
    const chunks = this.#pending;
    this.#pending = [];
    if (last !== undefined && last.length > 0) chunks.push(last);
    if (!this.#writable()) return;
    const final = chunks.pop();
    for (const chunk of chunks) this.#res.write(chunk);
    this.#res.end(final);
  }

  #writable(): boolean {
    return !this.#res.destroyed && !this.#res.writableEnded;
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => { this.#flush(); });
  }

  #flush(): void {
    this.#scheduled = false;
    if (this.#ended || !this.#writable()) return;
    const chunks = this.#pending;
    this.#pending = [];
    if (chunks.length === 0) {
      if (!this.#headSent) this.#res.flushHeaders();
      this.#headSent = true;
      return;
    }
    this.#headSent = true;
    // One turn's chunks reach the socket as one write (OutgoingMessage corks until the next tick).
    for (const chunk of chunks) this.#res.write(chunk);
    if (this.#res.writableLength <= MAX_QUEUED_BYTES || this.#source === undefined) return;
    this.#source.pause();
    if (this.#waitingForDrain) return;
    this.#waitingForDrain = true;
    this.#res.once('drain', () => {
      this.#waitingForDrain = false;
      // The source of the latest chunk: a resumed watch reads from another answer than it began with.
      this.#source?.resume();
    });
  }
}
