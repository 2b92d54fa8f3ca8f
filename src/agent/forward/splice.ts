// The bytes of one link stream spliced to one TCP connection, after the
// agent's 200: shared by TCP forwards and the Service gateway.
import http2 from 'node:http2';
import type { Socket } from 'node:net';
import type { Counter } from 'prom-client';
import { spliceRaw } from '../../util/splice-raw.ts';

export interface SpliceInput {
  req: http2.Http2ServerRequest;
  res: http2.Http2ServerResponse;
  socket: Socket;
  /** Bytes to the endpoint (`in`) and back (`out`). */
  bytes: Counter<'direction'>;
  idleTimeoutMs: number;
  /** Called once, when the connection closed. */
  done: () => void;
}

/**
 * Bytes both ways with backpressure, a turn of the event loop at a time
 * (spliceRaw, as kubectl's upgrades are); a half-close travels as one, an
 * error or idle timeout ends both.
 */
export function splice(input: SpliceInput): void {
  const { req, res, socket, bytes } = input;
  res.writeHead(200, { 'content-type': 'application/octet-stream' });
  socket.setNoDelay(true);
  socket.setTimeout(input.idleTimeoutMs, () => { socket.destroy(); });
  // The raw HTTP/2 stream, not the compatibility response: each turn's chunks
  // go to nghttp2 in one writev, with none of the response's per-write work.
  spliceRaw({ from: req, to: socket, onChunk: (chunk) => { bytes.inc({ direction: 'in' }, chunk.length); } });
  spliceRaw({ from: socket, to: res.stream, onChunk: (chunk) => { bytes.inc({ direction: 'out' }, chunk.length); } });
  socket.on('error', () => undefined); // the close below tells the hub
  socket.on('close', (hadError) => {
    if (hadError && !res.stream.destroyed) res.stream.close(http2.constants.NGHTTP2_CANCEL);
    input.done();
  });
  res.on('close', () => { socket.destroy(); });
}

/** `fn`, callable any number of times, run at most once. */
export function once(fn: () => void): () => void {
  let called = false;
  return () => {
    if (called) return;
    called = true;
    fn();
  };
}
