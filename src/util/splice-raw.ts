// Raw bytes from one stream into another (an upgraded exec, attach or
// port-forward: the hub's client socket and its link stream, the agent's
// API server socket and its link stream, a relayed upgrade and its peer), a
// turn of the event loop at a time. Each write to a TLS socket is a record,
// a syscall and a wakeup of the reader, and each write to an HTTP/2 stream a
// request into nghttp2; one read on the other side is often several TLS
// records or DATA frames, each its own chunk. Corking the sink until the end
// of the turn makes them one write (one writev), and the source is paused
// only once much waits for the sink, not at every turn.

/**
 * Bytes a stream may have queued for its sink before its source is paused.
 * Above a socket's high-water mark (64 KiB), which one turn's chunks of a
 * fast stream pass every time: pausing there stops and restarts the reading
 * socket on each turn (a pair of epoll changes, a turn lost). Per stream
 * (and direction of a splice): 10,000 streams with stalled clients hold
 * 2.5 GiB at most; one whose client keeps up holds a turn's chunks.
 */
export const MAX_QUEUED_BYTES = 256 * 1024;

/** The side of a spliced connection spliceRaw reads. */
export interface SpliceSource {
  on(event: 'data', listener: (chunk: Buffer) => void): unknown;
  once(event: 'end', listener: () => void): unknown;
  pause(): unknown;
  resume(): unknown;
}

/** The side of a spliced connection spliceRaw writes. */
export interface SpliceSink {
  once(event: 'drain', listener: () => void): unknown;
  write(chunk: Buffer): boolean;
  end(): unknown;
  cork(): void;
  uncork(): void;
  readonly writableLength: number;
}

export interface SpliceOptions {
  from: SpliceSource;
  to: SpliceSink;
  /** Sees each chunk first (byte counts for audit and metrics). */
  onChunk?: (chunk: Buffer) => void;
  /**
   * Whether `from` ending ends `to` (default true). False where the caller
   * must first tell a real end from a dropped link (an HTTP/2 stream's
   * readable side also ends when its session is torn down).
   */
  end?: boolean;
}

/**
 * Pipes the raw bytes of `from` into `to`: `to` is corked until the end of
 * the turn, so the chunks of one turn go out in one write, and `from` is
 * paused only once MAX_QUEUED_BYTES wait for `to`, and resumed on its drain.
 * Closing and errors are the caller's.
 */
export function spliceRaw(options: SpliceOptions): void {
  const { from, to, onChunk } = options;
  let corked = false;
  let waiting = false;
  const uncork = (): void => {
    if (!corked) return;
    corked = false;
    to.uncork();
  };
  from.on('data', (chunk) => {
    onChunk?.(chunk);
    if (!corked) {
      corked = true;
      to.cork();
      // After the I/O of this turn, so that every chunk read in it goes along.
      setImmediate(uncork);
    }
    to.write(chunk);
    if (waiting || to.writableLength <= MAX_QUEUED_BYTES) return;
    waiting = true;
    from.pause();
    to.once('drain', () => {
      waiting = false;
      from.resume();
    });
  });
  if (options.end !== false) {
    from.once('end', () => {
      // The turn's chunks first: a corked chunked HTTP answer (ServerResponse) would end before them.
      uncork();
      to.end();
    });
  }
}
