// The HTTPS client of bench/relay.ts: one request at a time on a keep-alive
// agent, timed to the end of its answer.
import https from 'node:https';

export interface Answer {
  status: number;
  bytes: number;
  ms: number;
}

/**
 * One HTTPS request, its answer read whole and its bytes counted. A
 * kept-alive connection the server closed while idle (Node servers do after
 * 5 s, and a round of big streams takes longer) fails with ECONNRESET when
 * reused: the request is then sent once more on a new connection, and timed
 * from there, as Node's documentation advises for reused sockets.
 */
export function timedRequest(url: string, options: https.RequestOptions, payload?: Buffer, retry = true): Promise<Answer> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = https.request(url, options, (res) => {
      let bytes = 0;
      res.on('data', (chunk: Buffer) => { bytes += chunk.length; });
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, bytes, ms: performance.now() - started }); });
      res.on('error', reject);
    });
    req.on('error', (error: NodeJS.ErrnoException) => {
      if (retry && req.reusedSocket && error.code === 'ECONNRESET') timedRequest(url, options, payload, false).then(resolve, reject);
      else reject(error);
    });
    req.end(payload);
  });
}
