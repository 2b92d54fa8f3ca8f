// The agent side of bench/link.ts, a process of its own (forked by it; not a
// benchmark to run by itself). It dials the hub side over the real link
// (dialHub + AgentSession: wss://, TLS verified against the pinned CA, the
// agent as HTTP/2 server) and serves the same handler on plain loopback
// HTTP/2 ports (h2c, and h2 over TLS), plus raw TCP and TLS byte servers for
// the copy baselines.
import http2 from 'node:http2';
import { createServer as createTcpServer, type AddressInfo, type Server as TcpServer, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { AgentSession } from '../src/link/agent-session.ts';
import { dialHub } from '../src/link/dial.ts';
import { dialHubH2 } from '../src/link/dial-h2.ts';
import {
  LINK_HTTP2_SETTINGS, MAX_SESSION_MEMORY_MB, SESSION_WINDOW_BYTES, STREAM_RESET_BURST, STREAM_RESET_RATE,
} from '../src/link/http2-settings.ts';
import { DEFAULT_KEEPALIVE } from '../src/link/keepalive.ts';
import { createLogger } from '../src/util/logger.ts';
import { BENCH_PATHS, CHUNK, SMALL_BODY, type AgentReady, type AgentStart } from './link-shared.ts';

const log = createLogger({ name: 'bench-link-agent', level: 'warn' });

/** A byte sink with backpressure: a socket or an HTTP/2 response. */
interface Sink {
  write: (chunk: Buffer) => boolean;
  onDrain: (resume: () => void) => void;
  end: () => void;
  isGone: () => boolean;
}

/** Writes `total` bytes (Infinity: until the reader goes away) in CHUNK pieces, waiting whenever the sink is full. */
function pump(sink: Sink, total: number): void {
  let left = total;
  const more = (): void => {
    while (left > 0 && !sink.isGone()) {
      const chunk = left >= CHUNK.length ? CHUNK : CHUNK.subarray(0, left);
      left -= chunk.length;
      if (!sink.write(chunk)) {
        sink.onDrain(more);
        return;
      }
    }
    if (!sink.isGone()) sink.end();
  };
  more();
}

/** The link's request handler here: what the hub side asks for. */
function handler(req: http2.Http2ServerRequest, res: http2.Http2ServerResponse): void {
  const url = new URL(req.url, 'http://agent');
  if (url.pathname === BENCH_PATHS.small) {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': SMALL_BODY.length }).end(SMALL_BODY);
    return;
  }
  if (url.pathname === BENCH_PATHS.bulk || url.pathname === BENCH_PATHS.flood) {
    const total = url.pathname === BENCH_PATHS.flood ? Infinity : Number(url.searchParams.get('bytes'));
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    pump({
      write: (chunk) => res.write(chunk), onDrain: (resume) => res.once('drain', resume), end: () => res.end(),
      isGone: () => res.stream.destroyed || res.stream.closed,
    }, total);
    return;
  }
  res.writeHead(404).end();
}

/** Raw byte server: reads one line "N\n", answers with N bytes, then ends. */
function serveBytes(socket: Socket): void {
  socket.setNoDelay(true);
  socket.on('error', () => undefined);
  let line = '';
  const onData = (data: Buffer): void => {
    line += data.toString('latin1');
    const newline = line.indexOf('\n');
    if (newline < 0) return;
    socket.off('data', onData);
    pump({
      write: (chunk) => socket.write(chunk), onDrain: (resume) => socket.once('drain', resume), end: () => socket.end(),
      isGone: () => socket.destroyed,
    }, Number(line.slice(0, newline)));
  };
  socket.on('data', onData);
}

async function listen(server: TcpServer): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

async function start(message: AgentStart): Promise<AgentSession> {
  const tcpPort = await listen(createTcpServer(serveBytes));
  const tlsPort = await listen(createTlsServer({ cert: message.certPem, key: message.keyPem }, serveBytes));
  // The same HTTP/2 server as AgentSession builds, on a loopback port: the
  // link minus the WebSocket and TLS layers.
  const h2 = http2.createServer({
    settings: LINK_HTTP2_SETTINGS, maxSessionMemory: MAX_SESSION_MEMORY_MB,
    streamResetBurst: STREAM_RESET_BURST, streamResetRate: STREAM_RESET_RATE,
  }, handler);
  h2.on('session', (session) => { session.setLocalWindowSize(SESSION_WINDOW_BYTES); });
  const h2Port = await listen(h2);
  const h2TlsServer = http2.createSecureServer({
    cert: message.certPem, key: message.keyPem, settings: LINK_HTTP2_SETTINGS, maxSessionMemory: MAX_SESSION_MEMORY_MB,
    streamResetBurst: STREAM_RESET_BURST, streamResetRate: STREAM_RESET_RATE,
  }, handler);
  h2TlsServer.on('session', (session) => { session.setLocalWindowSize(SESSION_WINDOW_BYTES); });
  const h2TlsPort = await listen(h2TlsServer);
  const dial = { hubUrl: message.hubUrl, token: 'upc_bench', agentVersion: '0.0.0-bench', ca: message.caPem, rejectUnauthorized: true };
  // Both transports: HTTP/2 on the upgraded socket (the default) and the WebSocket fallback.
  const session = new AgentSession({ socket: await dialHubH2(dial), handler, log, keepalive: DEFAULT_KEEPALIVE });
  wsSession = new AgentSession({ socket: await dialHub(dial), handler, log, keepalive: DEFAULT_KEEPALIVE });
  const ready: AgentReady = { type: 'ready', tcpPort, tlsPort, h2Port, h2TlsPort };
  process.send?.(ready);
  return session;
}

if (!process.send) {
  console.error('bench/link-agent.ts is the agent side of bench/link.ts; run scripts/bench.sh link');
  process.exit(2);
}
let session: AgentSession | undefined;
let wsSession: AgentSession | undefined;
process.on('message', (message: AgentStart | { type: 'stop' }) => {
  if (message.type === 'start') {
    start(message).then((s) => { session = s; }, (error: unknown) => {
      console.error('agent side failed to start:', error);
      process.exit(1);
    });
  } else {
    const drained = Promise.all([session?.drain(1000), wsSession?.drain(1000)]);
    void drained.finally(() => { process.exit(0); });
  }
});
// The hub side going away ends this process too.
process.on('disconnect', () => { process.exit(0); });
