// Pod logs relayed from the agent as they arrive. Backpressure travels back
// over the link (HTTP/2 flow control), so a slow reader slows the agent's
// read of the API server instead of growing a buffer here. A link that drops
// mid-stream breaks the client's connection, so the client sees an error and
// never mistakes a cut-off log for a complete one.
import type http2 from 'node:http2';
import type { ServerResponse } from 'node:http';
import { tieStreamToClient } from '../kube/stream-lifecycle.ts';
import type { ResourceOutcome } from '../metrics.ts';

export interface LogRelayOptions {
  /** The agent's log stream, answered 200. */
  stream: http2.ClientHttp2Stream;
  res: ServerResponse;
  contentType: string;
  linkOpen: () => boolean;
  /** Called once when the stream is over, with how it ended and the bytes relayed. */
  done: (outcome: ResourceOutcome, bytes: number) => void;
}

/** Relays the log until either side ends it; returns a function that cuts it (a revoked access). */
export function relayLogs(options: LogRelayOptions): () => void {
  const { stream, res } = options;
  let bytes = 0;
  let outcome: ResourceOutcome = 'ok';
  res.writeHead(200, {
    'content-type': options.contentType.startsWith('text/plain') ? options.contentType : 'text/plain; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    'x-content-type-options': 'nosniff',
    'x-accel-buffering': 'no',
  });
  // Send the headers now: a followed log may stay silent for a long time.
  res.flushHeaders();
  stream.on('data', (chunk: Buffer) => { bytes += chunk.length; });
  // Each chunk is written as it comes (chunked encoding, no batching); the
  // end is left to tieStreamToClient, which tells a real end from a dropped link.
  stream.pipe(res, { end: false });
  tieStreamToClient({
    stream,
    client: res,
    linkOpen: options.linkOpen,
    onEnd: () => { res.end(); },
    onBroken: () => {
      if (res.writableEnded) return;
      outcome = 'link_failed';
      res.destroy();
    },
    done: () => { options.done(outcome, bytes); },
  });
  return () => {
    outcome = 'forbidden';
    res.destroy();
  };
}
