// Both sides of bench/link.ts: the hub side's listener in this process, the
// agent side forked (bench/link-agent.ts), linked over the real link code, plus
// plain HTTP/2 clients to the agent side's direct ports.
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import http2 from 'node:http2';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocketServer } from 'ws';
import { ensureHubCertificates } from '../src/hub/tls-certificates.ts';
import {
  LINK_HTTP2_SETTINGS, MAX_SESSION_MEMORY_MB, MAX_WS_MESSAGE_BYTES, SESSION_WINDOW_BYTES,
} from '../src/link/http2-settings.ts';
import { acceptH2Upgrade } from '../src/link/h2-socket.ts';
import { HubSession } from '../src/link/hub-session.ts';
import { DEFAULT_KEEPALIVE } from '../src/link/keepalive.ts';
import { AGENT_CONNECT_PATH, LINK_H2_UPGRADE, LINK_SUBPROTOCOL } from '../src/link/protocol.ts';
import { createLogger } from '../src/util/logger.ts';
import type { Requester } from './link-measure.ts';
import type { AgentReady, AgentStart } from './link-shared.ts';
import { h2Transport, webSocketTransport } from '../src/link/transport.ts';

const log = createLogger({ name: 'bench-link', level: 'warn' });

/** The paths between the two processes, and how to end them. */
export interface Paths {
  /** The link as agents dial it by default: HTTP/2 on the upgraded TLS socket. */
  link: Requester;
  /** The WebSocket transport agents fall back to. */
  linkWs: Requester;
  h2c: Requester;
  h2tls: Requester;
  ready: AgentReady;
  caPem: string;
  /** The agent side's process id, to read its CPU time. */
  agentPid: number;
  stop: () => Promise<void>;
}

/** The hub side's listener: the upgrade as AgentGateway accepts it, minus the token check. */
async function startHubSide(cert: { certPem: string; keyPem: string }): Promise<{ server: Server; url: string; sessions: HubSession[] }> {
  const wss = new WebSocketServer({
    noServer: true, perMessageDeflate: false, maxPayload: MAX_WS_MESSAGE_BYTES,
    handleProtocols: (protocols) => (protocols.has(LINK_SUBPROTOCOL) ? LINK_SUBPROTOCOL : false),
  });
  const server = createServer({ cert: cert.certPem, key: cert.keyPem });
  const sessions: HubSession[] = [];
  server.on('upgrade', (req, socket, head) => {
    if (req.url !== AGENT_CONNECT_PATH) {
      socket.destroy();
      return;
    }
    if (req.headers.upgrade === LINK_H2_UPGRADE) {
      void acceptH2Upgrade(socket, head, LINK_H2_UPGRADE).then((h2) => { sessions.push(new HubSession({ transport: h2Transport(h2), log, keepalive: DEFAULT_KEEPALIVE })); });
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => { sessions.push(new HubSession({ transport: webSocketTransport(ws), log, keepalive: DEFAULT_KEEPALIVE })); });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`, sessions };
}

/** A plain HTTP/2 client with the link's settings, as HubSession makes one. */
async function connectHttp2(url: string, caPem?: string): Promise<http2.ClientHttp2Session> {
  const session = http2.connect(url, {
    settings: LINK_HTTP2_SETTINGS, maxSessionMemory: MAX_SESSION_MEMORY_MB, ...(caPem ? { ca: caPem, servername: 'localhost' } : {}),
  });
  await once(session, 'connect');
  session.setLocalWindowSize(SESSION_WINDOW_BYTES);
  return session;
}

/** Certificates, the hub side, and the agent side linked to it; BENCH_LINK_AGENT_ARGS goes to the agent side's node. */
export async function setUp(): Promise<Paths> {
  const dir = await mkdtemp(join(tmpdir(), 'uplink-bench-link-'));
  const certs = await ensureHubCertificates({ dir });
  await rm(dir, { recursive: true, force: true });
  const hub = await startHubSide(certs);
  // The agent side runs as bin/uplink runs the agent: a small young
  // generation and large buffers always returned to the system.
  const agent = fork(join(import.meta.dirname, 'link-agent.ts'), [], {
    execArgv: ['--max-semi-space-size=2', ...process.env.BENCH_LINK_AGENT_ARGS?.split(' ').filter((a) => a !== '') ?? []],
    env: { ...process.env, MALLOC_MMAP_THRESHOLD_: process.env.MALLOC_MMAP_THRESHOLD_ ?? '131072' },
  });
  process.once('exit', () => { agent.kill('SIGKILL'); });
  const start: AgentStart = { type: 'start', hubUrl: hub.url, caPem: certs.caPem, certPem: certs.certPem, keyPem: certs.keyPem };
  agent.send(start);
  const [ready] = await once(agent, 'message') as [AgentReady];
  while (hub.sessions.length < 2) await new Promise((r) => setTimeout(r, 5));
  const linkSession = hub.sessions.find((s) => s.transport === 'h2') as HubSession;
  const wsSession = hub.sessions.find((s) => s.transport === 'websocket') as HubSession;
  const h2c = await connectHttp2(`http://127.0.0.1:${ready.h2Port}`);
  const h2tls = await connectHttp2(`https://127.0.0.1:${ready.h2TlsPort}`, certs.caPem);
  return {
    link: (headers) => linkSession.request(headers),
    linkWs: (headers) => wsSession.request(headers),
    h2c: (headers) => h2c.request(headers),
    h2tls: (headers) => h2tls.request(headers),
    ready, caPem: certs.caPem, agentPid: agent.pid ?? 0,
    stop: async () => {
      h2c.close();
      h2tls.close();
      agent.send({ type: 'stop' });
      await Promise.all([linkSession.closed, wsSession.closed]);
      hub.server.close();
    },
  };
}
