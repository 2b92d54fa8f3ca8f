// Both ends of the link in one process on loopback, and one suite run over
// each transport (transport.ts): HTTP/2 on the upgraded socket itself, and
// HTTP/2 over WebSocket. The sessions never ask which one they run on, so
// every behaviour below must hold on both.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import { createServer, type Server } from 'node:http';
import { createServer as createTcpServer, connect, type AddressInfo, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { WebSocketServer } from 'ws';
import { createLogger } from '../util/logger.ts';
import { AgentSession } from './agent-session.ts';
import { LinkDialError, agentConnectUrl, dialHub, parseRetryAfter } from './dial.ts';
import { dialHubH2, dialLink } from './dial-h2.ts';
import { acceptH2Upgrade, decodeLinkClose, encodeLinkClose } from './h2-socket.ts';
import { MAX_WS_MESSAGE_BYTES } from './http2-settings.ts';
import { HubSession } from './hub-session.ts';
import { ndjsonLine } from './ndjson.ts';
import { AGENT_PATHS, LINK_CLOSE, LINK_H2_UPGRADE, LINK_SUBPROTOCOL } from './protocol.ts';
import { h2Transport, webSocketTransport, type LinkTransport } from './transport.ts';

const log = createLogger({ name: 'link-test', level: 'silent' });
const KEEPALIVE = { intervalMs: 200, deadAfterMs: 3000 };
const TRANSPORTS = ['h2', 'websocket'] as const;
type Transport = (typeof TRANSPORTS)[number];

interface Harness {
  server: Server;
  url: string;
  port: number;
  hubSessions: HubSession[];
  /** Refuse upgrades with this status (101: accept). */
  nextStatus: number;
  /** Answer h2 upgrades (else 400, as a WebSocket-only hub or proxy would). */
  h2: boolean;
}

async function startHarness(): Promise<Harness> {
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: MAX_WS_MESSAGE_BYTES, handleProtocols: () => LINK_SUBPROTOCOL });
  const server = createServer();
  const harness: Harness = { server, url: '', port: 0, hubSessions: [], nextStatus: 101, h2: true };
  const accept = (transport: LinkTransport): void => { harness.hubSessions.push(new HubSession({ transport, log, keepalive: KEEPALIVE })); };
  server.on('upgrade', (req, socket, head) => {
    if (harness.nextStatus !== 101) {
      socket.end(`HTTP/1.1 ${harness.nextStatus} No\r\nRetry-After: 7\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
      return;
    }
    if (req.headers.upgrade === LINK_H2_UPGRADE) {
      if (!harness.h2) {
        socket.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
        return;
      }
      void acceptH2Upgrade(socket, head, LINK_H2_UPGRADE).then((h2) => { accept(h2Transport(h2)); });
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => { accept(webSocketTransport(ws)); });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  harness.port = (server.address() as AddressInfo).port;
  harness.url = `http://127.0.0.1:${harness.port}`;
  return harness;
}

/** A TCP relay in front of the hub that can be frozen: no byte passes either way, as on a dead network path. */
async function startRelay(port: number): Promise<{ url: string; freeze: () => void; close: () => void }> {
  const sockets: Socket[] = [];
  const relay = createTcpServer((client) => {
    const upstream = connect(port, '127.0.0.1');
    sockets.push(client, upstream);
    client.on('error', () => undefined);
    upstream.on('error', () => undefined);
    client.pipe(upstream).pipe(client);
  });
  relay.listen(0, '127.0.0.1');
  await once(relay, 'listening');
  return {
    url: `http://127.0.0.1:${(relay.address() as AddressInfo).port}`,
    freeze: () => { for (const socket of sockets) { socket.unpipe(); socket.pause(); } },
    close: () => { for (const socket of sockets) socket.destroy(); relay.close(); },
  };
}

let endEvents: (() => void) | undefined;

function agentHandler(req: Http2ServerRequest, res: Http2ServerResponse): void {
  if (req.url === AGENT_PATHS.info) {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ hello: 'hub', method: req.method }));
  } else if (req.url === AGENT_PATHS.events) {
    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    res.write(ndjsonLine({ type: 'heartbeat', n: 1 }));
    res.write(ndjsonLine({ type: 'heartbeat', n: 2 }));
    endEvents = () => { res.end(); };
  } else if (req.url === '/v1/slow') {
    setTimeout(() => { res.writeHead(200, { 'content-type': 'application/json' }).end('{"slow":true}'); }, 300);
  } else if (req.url === '/v1/hang') {
    // never answers; the client cancels
  } else {
    res.writeHead(404).end();
  }
}

async function until(what: string, check: () => boolean): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function link(harness: Harness, transport: Transport, hubUrl = harness.url): Promise<{ agent: AgentSession; hub: HubSession; socket: LinkTransport }> {
  const socket = await dialLink({ hubUrl, token: 'upc_test', agentVersion: '0.0.0-test', rejectUnauthorized: true, transport });
  const agent = new AgentSession({ socket, handler: agentHandler, log, keepalive: KEEPALIVE });
  await until('the hub session', () => harness.hubSessions.length > 0);
  const hub = harness.hubSessions.shift();
  assert.ok(hub);
  return { agent, hub, socket };
}

for (const transport of TRANSPORTS) {
  describe(`link over ${transport}`, () => {
    let harness: Harness;
    before(async () => { harness = await startHarness(); });
    after(() => { harness.server.closeAllConnections(); harness.server.close(); });

    it(`link ${transport} - the hub makes HTTP/2 requests to the agent`, async () => {
      const { agent, hub } = await link(harness, transport);
      assert.equal(hub.transport, transport);
      const response = await hub.requestJson<{ hello: string; method: string }>('GET', AGENT_PATHS.info);
      assert.deepEqual(response, { status: 200, body: { hello: 'hub', method: 'GET' } });
      await agent.drain(24 * 3600_000, () => { endEvents?.(); });
    });

    it(`link ${transport} - events arrive as decoded NDJSON; a drain closes with 1000 once its last stream ended`, async () => {
      const { agent, hub } = await link(harness, transport);
      const events: unknown[] = [];
      hub.openEvents((event) => events.push(event));
      await until('two events', () => events.length >= 2);
      assert.deepEqual(events, [{ type: 'heartbeat', n: 1 }, { type: 'heartbeat', n: 2 }]);
      // With a timeout no test waits for, the drain returning at all shows it did not wait for it.
      await agent.drain(24 * 3600_000, () => { endEvents?.(); });
      assert.equal((await hub.closed).code, 1000);
    });

    it(`link ${transport} - thousands of cancelled streams do not trip rapid-reset protection`, async () => {
      const { agent, hub } = await link(harness, transport);
      for (let i = 0; i < 3000; i++) {
        const stream = hub.request({ ':method': 'GET', ':path': '/v1/hang' });
        stream.on('error', () => undefined);
        stream.close(0x8); // CANCEL, as a client abandoning a watch does
        if (i % 500 === 0) await new Promise((r) => setImmediate(r));
      }
      const response = await hub.requestJson('GET', AGENT_PATHS.info);
      assert.equal(response.status, 200, 'the link still serves after the burst');
      assert.ok(hub.isOpen);
      await agent.drain(1000);
    });

    it(`link ${transport} - a dropped link ends in-flight requests with a clean error`, async () => {
      const { agent, hub } = await link(harness, transport);
      const pending = hub.requestJson('GET', '/v1/hang', undefined, 10_000);
      await new Promise((r) => setTimeout(r, 50));
      agent.destroy();
      await assert.rejects(pending, (error: Error & { code?: string }) => error.code === 'LINK_CLOSED');
      assert.equal((await hub.closed).code, 1006);
      assert.equal(hub.isOpen, false);
    });

    it(`link ${transport} - drain finishes in-flight streams, then closes with 1000`, async () => {
      const { agent, hub } = await link(harness, transport);
      const inFlight = hub.requestJson<{ slow: boolean }>('GET', '/v1/slow');
      await new Promise((r) => setTimeout(r, 50));
      const drained = agent.drain(24 * 3600_000);
      assert.deepEqual(await inFlight, { status: 200, body: { slow: true } }, 'the open stream completes during the drain');
      await drained;
      assert.equal((await hub.closed).code, 1000);
      await assert.rejects(hub.requestJson('GET', AGENT_PATHS.info), (error: Error & { code?: string }) => error.code === 'LINK_CLOSED');
    });

    it(`link ${transport} - the hub's close code and reason reach the agent`, async () => {
      const { agent, hub } = await link(harness, transport);
      hub.close(LINK_CLOSE.replaced, 'replaced by a newer link');
      assert.deepEqual(await agent.closed, { code: LINK_CLOSE.replaced, reason: 'replaced by a newer link' });
      assert.equal(hub.isOpen, false);
    });

    it(`link ${transport} - keepalive pings are answered while the link lives`, async () => {
      const { agent, hub, socket } = await link(harness, transport);
      let pongs = 0;
      socket.ws.on('pong', () => { pongs++; });
      await until('three pongs', () => pongs >= 3);
      assert.ok(hub.isOpen);
      await agent.drain(1000);
    });

    it(`link ${transport} - keepalive drops a peer that goes silent`, async () => {
      const relay = await startRelay(harness.port);
      try {
        const { agent, hub } = await link(harness, transport, relay.url);
        assert.equal((await hub.requestJson('GET', AGENT_PATHS.info)).status, 200);
        relay.freeze();
        const closed = await hub.closed;
        assert.equal(closed.code, LINK_CLOSE.peerTimeout);
        agent.destroy();
      } finally {
        relay.close();
      }
    });

    it(`link ${transport} - bytes that are not HTTP/2 end the link, never as a clean close`, async () => {
      const { agent, hub, socket } = await link(harness, transport);
      socket.stream.write(Buffer.from('GET / HTTP/1.1\r\nthis is not a frame\r\n\r\n'.repeat(20)));
      const closed = await hub.closed;
      assert.ok(closed.code === LINK_CLOSE.protocolError || closed.code === 1006, `closed with ${closed.code}`);
      assert.equal(hub.isOpen, false);
      await assert.rejects(hub.requestJson('GET', AGENT_PATHS.info), (error: Error & { code?: string }) => error.code === 'LINK_CLOSED');
      agent.destroy();
    });
  });
}

describe('link dialing', () => {
  let harness: Harness;
  before(async () => { harness = await startHarness(); });
  after(() => { harness.server.closeAllConnections(); harness.server.close(); });

  it('link - a refused upgrade becomes a typed error with Retry-After, on either transport', async () => {
    harness.nextStatus = 503;
    try {
      for (const dial of [dialHub, dialHubH2]) {
        await assert.rejects(dial({ hubUrl: harness.url, token: 'x', agentVersion: 't', rejectUnauthorized: true }),
          (error: unknown) => error instanceof LinkDialError && error.code === 'LINK_UNAVAILABLE' && error.retryAfterMs === 7000);
      }
      harness.nextStatus = 401;
      await assert.rejects(dialHub({ hubUrl: harness.url, token: 'x', agentVersion: 't', rejectUnauthorized: true }),
        (error: unknown) => error instanceof LinkDialError && error.code === 'LINK_UNAUTHORIZED' && error.status === 401);
    } finally {
      harness.nextStatus = 101;
    }
  });

  it('link - auto falls back to WebSocket when the h2 upgrade is refused; h2 alone reports the refusal', async () => {
    harness.h2 = false;
    try {
      await assert.rejects(dialHubH2({ hubUrl: harness.url, token: 'x', agentVersion: 't', rejectUnauthorized: true }),
        (error: unknown) => error instanceof LinkDialError && error.code === 'LINK_REFUSED' && error.status === 400);
      const reasons: string[] = [];
      const socket = await dialLink({ hubUrl: harness.url, token: 'x', agentVersion: 't', rejectUnauthorized: true, transport: 'auto', onFallback: (why) => reasons.push(why) });
      assert.equal(socket.kind, 'websocket');
      assert.match(reasons[0] ?? '', /HTTP 400/);
      socket.ws.terminate();
    } finally {
      harness.h2 = true;
    }
  });

  it('link - an unreachable hub is LINK_UNREACHABLE', async () => {
    await assert.rejects(dialHub({ hubUrl: 'http://127.0.0.1:1', token: 'x', agentVersion: 't', rejectUnauthorized: true }),
      (error: unknown) => error instanceof LinkDialError && error.code === 'LINK_UNREACHABLE');
  });
});

describe('link helpers', () => {
  it('link - agentConnectUrl maps the scheme and keeps a base path', () => {
    assert.equal(agentConnectUrl('https://hub.example:8443'), 'wss://hub.example:8443/api/v1/agent/connect');
    assert.equal(agentConnectUrl('http://proxy.example/uplink/'), 'ws://proxy.example/uplink/api/v1/agent/connect');
    assert.equal(LINK_SUBPROTOCOL, 'uplink.v1');
  });

  it('link - parseRetryAfter reads seconds and dates', () => {
    assert.equal(parseRetryAfter('5'), 5000);
    assert.equal(parseRetryAfter(new Date(1_000_000 + 3000).toUTCString(), 1_000_000), 3000);
    assert.equal(parseRetryAfter('soon'), undefined);
    assert.equal(parseRetryAfter(undefined), undefined);
  });

  it('link - close data round-trips and junk decodes to nothing', () => {
    assert.deepEqual(decodeLinkClose(encodeLinkClose(4002, 'token rotated')), { code: 4002, reason: 'token rotated' });
    assert.equal(decodeLinkClose(Buffer.from('hello')), undefined);
    assert.equal(decodeLinkClose(undefined), undefined);
    assert.equal(encodeLinkClose(4000, 'x'.repeat(500)).length, 'uplink-close 4000 '.length + 123);
  });
});
