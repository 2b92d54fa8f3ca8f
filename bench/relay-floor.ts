// The floor under bench/relay.ts: what one extra HTTPS hop through a Node
// process costs on this machine, with nothing else in it. An origin process
// answers a small JSON object or a stream of 16 KiB writes; a proxy process
// relays to it over a keep-alive TLS 1.3 connection, the way a replica
// relays to its peer (http.request with the relay's header rules, the
// answer piped back), but with no routing, no database and no hub around it. The bench GETs each from the origin directly and through the
// proxy, alternately. Both are this file, forked with a role argument.
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { relayRequestHeaders, relayResponseHeaders } from '../src/hub/tier/relay-headers.ts';
import { ensureHubCertificates } from '../src/hub/tls-certificates.ts';
import { timedRequest, type Answer } from './relay-http.ts';

const SMALL_BODY = JSON.stringify({ kind: 'ConfigMap', apiVersion: 'v1', metadata: { name: 'small' }, data: { greeting: 'hello' } });
const STREAM_CHUNK = Buffer.alloc(16 * 1024, 97);

export interface FloorEnds {
  /** Keep-alive clients of the origin directly and of the proxy, trusting their certificate. */
  origin: { port: number; agent: https.Agent };
  proxy: { port: number; agent: https.Agent };
  stop(): void;
}

/** GETs `path` from one end; resolves with the milliseconds and the bytes of the answer. */
export function floorGet(end: { port: number; agent: https.Agent }, path: string): Promise<Answer> {
  return timedRequest(`https://127.0.0.1:${end.port}${path}`, { agent: end.agent, servername: 'localhost' });
}

async function started(child: ChildProcess): Promise<number> {
  const [port] = (await once(child, 'message')) as [number];
  return port;
}

/** Starts the origin and the proxy processes; `/stream?mib=N` answers N MiB, anything else the small object. */
export async function startFloor(): Promise<FloorEnds> {
  const dir = mkdtempSync(join(tmpdir(), 'uplink-bench-floor-'));
  const certs = await ensureHubCertificates({ dir });
  const origin = fork(import.meta.filename, ['origin', dir]);
  const originPort = await started(origin);
  const proxy = fork(import.meta.filename, ['proxy', dir, String(originPort)]);
  const proxyPort = await started(proxy);
  const client = (): https.Agent => new https.Agent({ keepAlive: true, maxSockets: 1, ca: certs.caPem });
  const ends = { origin: { port: originPort, agent: client() }, proxy: { port: proxyPort, agent: client() } };
  return {
    ...ends,
    stop: () => {
      ends.origin.agent.destroy();
      ends.proxy.agent.destroy();
      origin.kill();
      proxy.kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function serveOrigin(tls: https.ServerOptions): https.Server {
  return https.createServer(tls, (req, res) => {
    const mib = /^\/stream\?mib=(\d{1,4})$/.exec(req.url ?? '')?.[1];
    res.writeHead(200, { 'content-type': 'application/json' });
    if (mib === undefined) {
      res.end(SMALL_BODY);
      return;
    }
    let left = (Number(mib) * 1024 * 1024) / STREAM_CHUNK.length;
    const pump = (): void => {
      while (left > 0) {
        left -= 1;
        if (!res.write(STREAM_CHUNK)) {
          res.once('drain', pump);
          return;
        }
      }
      res.end();
    };
    pump();
  });
}

function serveProxy(tls: https.ServerOptions, caPem: string, originPort: number): https.Server {
  const agent = new https.Agent({ keepAlive: true, ca: caPem, minVersion: 'TLSv1.3' });
  return https.createServer(tls, (req, res) => {
    const headers = relayRequestHeaders({ rawHeaders: req.rawHeaders, headers: req.headers, clientAddress: req.socket.remoteAddress, fallbackHost: 'localhost', upgrade: false });
    const upstream = https.request({
      host: '127.0.0.1', port: originPort, servername: 'localhost', agent, method: req.method, path: req.url, headers, setHost: false,
    }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, relayResponseHeaders(answer.rawHeaders));
      answer.pipe(res);
    });
    upstream.on('error', () => { res.destroy(); });
    req.pipe(upstream);
  });
}

/** In a forked process: serve the role asked for and report the port to the parent. */
function runRole(role: string, dir: string, originPort: number): void {
  const tls = { key: readFileSync(join(dir, 'server.key')), cert: readFileSync(join(dir, 'server.crt')), minVersion: 'TLSv1.3' as const };
  const server = role === 'origin' ? serveOrigin(tls) : serveProxy(tls, readFileSync(join(dir, 'ca.crt'), 'utf8'), originPort);
  server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    process.send?.(typeof address === 'object' && address !== null ? address.port : 0);
  });
  process.on('disconnect', () => { process.exit(0); });
}

const [role, dir = '', originPort = '0'] = process.argv.slice(2);
if (role === 'origin' || role === 'proxy') runRole(role, dir, Number(originPort));
