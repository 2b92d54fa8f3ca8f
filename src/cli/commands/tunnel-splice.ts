// The bytes of one `uplink forward` connection once the hub switched
// protocols: the local connection and the upgraded socket to the hub,
// spliced both ways a turn of the event loop at a time (splice-raw.ts: each
// turn's chunks in one write), each side's end passed on as a half-close.
//
// The local client's end is passed to the hub a turn later, never from
// inside a read of the hub's socket. Ending a TLS socket makes Node call
// OpenSSL's SSL_shutdown twice; the second call reads on to look for the
// peer's close_notify and throws away the application data it meets. When
// the 101 and the service's last bytes came in one read (a service that
// answers and hangs up at once), the 101's record is handed to JavaScript
// first and the splice starts within that callback; a client that had
// already half-closed then ended the hub's socket while the last bytes'
// record still waited in OpenSSL's buffer, and they were lost.
import type { Duplex } from 'node:stream';
import { spliceRaw } from '../../util/splice-raw.ts';

export interface TunnelSpliceOptions {
  /** The connection accepted on the local port; paused, and maybe already ended (the client sent everything). */
  local: Duplex;
  /** The hub's socket after its 101; paused, half-open allowed. */
  remote: Duplex;
  /** Bytes the hub sent after its 101, in the same read. */
  head: Buffer;
}

/** Splices `local` and `remote`; closing and errors are the caller's. */
export function spliceTunnel(options: TunnelSpliceOptions): void {
  const { local, remote } = options;
  if (options.head.length > 0) local.write(options.head);
  spliceRaw({ from: remote, to: local });
  spliceRaw({ from: local, to: remote, end: false });
  // After this turn's reads, when OpenSSL holds no record not yet handed over (see above).
  const halfClose = (): void => { setImmediate(() => { remote.end(); }); };
  if (local.readableEnded) halfClose();
  else local.once('end', halfClose);
  remote.resume();
  local.resume();
}
