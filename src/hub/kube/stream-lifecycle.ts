import http2 from 'node:http2';

export interface StreamLifecycle {
  /** The link stream carrying the request to the agent. */
  stream: http2.ClientHttp2Stream;
  /** The client's response or socket; its close cancels the stream. */
  client: { on(event: 'close', listener: () => void): unknown };
  /** Whether the link the stream rides on is still up. */
  linkOpen: () => boolean;
  /** The agent finished the response normally. */
  onEnd: () => void;
  /** The stream failed or was torn down with the link. */
  onBroken: () => void;
  /** Called exactly once, after either of the above or the client leaving. */
  done: () => void;
}

/**
 * Ties a link stream to the client it serves. A session torn down by a
 * dropped link also ends the stream's readable side, so the end is judged at
 * 'close' by the reset code and the link: only NO_ERROR after a full read, on
 * a link still up, is a real end.
 */
export function tieStreamToClient(lifecycle: StreamLifecycle): void {
  const { stream, client } = lifecycle;
  let settled = false;
  const done = (): void => {
    if (settled) return;
    settled = true;
    lifecycle.done();
  };
  stream.on('error', () => {
    lifecycle.onBroken();
    done();
  });
  stream.on('close', () => {
    if (stream.rstCode === http2.constants.NGHTTP2_NO_ERROR && stream.readableEnded && lifecycle.linkOpen()) lifecycle.onEnd();
    else lifecycle.onBroken();
    done();
  });
  client.on('close', () => {
    if (!stream.closed) stream.close(http2.constants.NGHTTP2_CANCEL);
    done();
  });
}
