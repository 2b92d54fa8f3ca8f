// The far end of bench/portforward.ts: a TCP server in a process of its own
// that writes N MiB to each connection and ends it. It listens where kwok's
// ClusterPortForward sends the test pod's port 8080 (POD_FORWARD_TARGET_PORT),
// so the same bytes reach the bench straight (the floor) or through
// `kubectl port-forward`. bench/forward.ts starts it on this machine's own
// address instead, where a Service's EndpointSlice points. A process of its
// own, so that writing and reading the stream do not take turns on one
// event loop.
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type Server } from 'node:net';
import type { Writable } from 'node:stream';
import { POD_FORWARD_TARGET_PORT } from '../test/helpers/cluster.ts';

const MIB = 1024 * 1024;
/** One write: big enough that the writer is never the slow end. */
const CHUNK = Buffer.alloc(256 * 1024, 97);
/** Other tests use the same fixed port for a moment; the bench waits this long for it. */
const PORT_WAIT_MS = 120_000;

export interface Source {
  port: number;
  pid: number;
  stop(): void;
}

/** Forks the source process; resolves once it listens on `host`:`port` (by default 127.0.0.1:POD_FORWARD_TARGET_PORT; port 0 is any free one). */
export async function startSource(mib: number, where: { host?: string; port?: number } = {}): Promise<Source> {
  const host = where.host ?? '127.0.0.1';
  const child: ChildProcess = fork(import.meta.filename, ['source', String(mib), host, String(where.port ?? POD_FORWARD_TARGET_PORT)]);
  const [message] = (await once(child, 'message')) as [{ port?: number; error?: string }];
  if (message.port === undefined) {
    child.kill();
    throw new Error(`the stream source could not listen: ${message.error ?? 'unknown'}`);
  }
  return { port: message.port, pid: child.pid ?? 0, stop: () => { child.kill(); } };
}

/** Writes `bytes` to `socket` (or an HTTP answer) in CHUNK-sized writes, waiting for it to drain, then ends it. */
export function pump(socket: Writable, bytes: number): void {
  let left = bytes;
  const write = (): void => {
    while (left > 0) {
      const chunk = left >= CHUNK.length ? CHUNK : CHUNK.subarray(0, left);
      left -= chunk.length;
      if (!socket.write(chunk)) {
        socket.once('drain', write);
        return;
      }
    }
    socket.end();
  };
  write();
}

async function listenWhenFree(server: Server, host: string, port: number): Promise<number> {
  const deadline = Date.now() + PORT_WAIT_MS;
  for (;;) {
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      const address = server.address();
      return typeof address === 'object' && address !== null ? address.port : port;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

async function runSource(mib: number, host: string, port: number): Promise<void> {
  const server = createServer((socket) => {
    socket.on('error', () => undefined);
    socket.resume(); // nothing is expected from the client
    pump(socket, mib * MIB);
  });
  try {
    process.send?.({ port: await listenWhenFree(server, host, port) });
  } catch (error) {
    process.send?.({ error: (error as Error).message });
    process.exit(1);
  }
  process.on('disconnect', () => { process.exit(0); });
}

const [role, mib = '0', host = '127.0.0.1', port = String(POD_FORWARD_TARGET_PORT)] = process.argv.slice(2);
if (role === 'source') await runSource(Number(mib), host, Number(port));
