// When a streamed answer's head goes out. A watch or a followed log may not
// write its first byte for minutes, so its head must not wait for the body;
// but most answers (a GET, a list) come with their body in the same read, and
// flushing the head at once sends it in a write (a TLS record, a syscall, a
// wakeup of the reader, and on the relayed path one more hop of each) of its
// own. The head is therefore sent with the first body write when that comes
// within the same turn of the event loop, and alone just after it otherwise.
import type { ServerResponse } from 'node:http';

/**
 * Flushes `res`'s head (written already with writeHead) after the current
 * turn of the event loop unless the body has begun by then (`bodyStarted`),
 * in which case the head went out with it. Does nothing on an ended or
 * destroyed response.
 */
export function flushHeadSoon(res: ServerResponse, bodyStarted: () => boolean): void {
  setImmediate(() => {
    if (!bodyStarted() && !res.writableEnded && !res.destroyed) res.flushHeaders();
  });
}
