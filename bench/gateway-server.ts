// The service behind bench/gateway.ts: a plain HTTP/1.1 server in a process
// of its own (so serving and reading do not take turns on one event loop),
// listening on this machine's non-loopback address, where the test cluster's
// EndpointSlice points. GET /big answers BENCH_GW_MIB MiB (written as portforward-source.ts writes), GET /small a body
// of about 100 bytes; both with a Content-Length and keep-alive.
import { fork } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import { HOST, listening } from '../test/helpers/service-endpoints.ts';
import { pump } from './portforward-source.ts';

const MIB = 1024 * 1024;
/** The small answer: about the size of a tiny JSON status. */
export const SMALL_BODY = Buffer.from(JSON.stringify({ ok: true, service: 'bench', note: 'a small answer of about one hundred bytes.....' }));

export interface BenchServer {
  host: string;
  port: number;
  pid: number;
  stop(): void;
}

/** Forks the server; resolves once it listens. */
export async function startBenchServer(mib: number): Promise<BenchServer> {
  const child = fork(import.meta.filename, ['serve', String(mib)]);
  const [port] = (await once(child, 'message')) as [number];
  return { host: HOST, port, pid: child.pid ?? 0, stop: () => { child.kill(); } };
}

async function serve(mib: number): Promise<void> {
  const server = http.createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
    req.resume();
    if (req.url === '/big') {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': mib * MIB });
      pump(res, mib * MIB);
    } else if (req.url === '/small') {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': SMALL_BODY.length }).end(SMALL_BODY);
    } else res.writeHead(404).end();
  });
  process.send?.(await listening(server));
  process.on('disconnect', () => { process.exit(0); });
}

const [role, mib = '0'] = process.argv.slice(2);
if (role === 'serve') await serve(Number(mib));
