// Both ends of the link in one process over a real WebSocket on loopback.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { WebSocketServer, type WebSocket } from 'ws';
import { createLogger } from '../util/logger.ts';
import { AgentSession } from './agent-session.ts';
import { LinkDialError, agentConnectUrl, dialHub, parseRetryAfter } from './dial.ts';
import { MAX_WS_MESSAGE_BYTES } from './http2-settings.ts';
import { HubSession } from './hub-session.ts';
import { ndjsonLine } from './ndjson.ts';
import { AGENT_PATHS, LINK_SUBPROTOCOL } from './protocol.ts';

const log = createLogger({ name: 'link-test', level: 'silent' });
const KEEPALIVE = { intervalMs: 1000, deadAfterMs: 3000 };

interface Harness {
  server: Server;
  url: string;
  hubSessions: HubSession[];
  nextStatus: number;
}

async function startHarness(): Promise<Harness> {
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: MAX_WS_MESSAGE_BYTES });
  const server = createServer();
  const harness: Harness = { server, url: '', hubSessions: [], nextStatus: 101 };
  server.on('upgrade', (req, socket, head) => {
    if (harness.nextStatus !== 101) {
      socket.end(`HTTP/1.1 ${harness.nextStatus} No\r\nRetry-After: 7\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
      harness.hubSessions.push(new HubSession({ ws, log, keepalive: KEEPALIVE }));
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  harness.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return harness;
}

function agentHandler(req: Http2ServerRequest, res: Http2ServerResponse): void {
  if (req.url === AGENT_PATHS.info) {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ hello: 'hub', method: req.method }));
  } else if (req.url === AGENT_PATHS.events) {
    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    res.write(ndjsonLine({ type: 'heartbeat', n: 1 }));
    res.write(ndjsonLine({ type: 'heartbeat', n: 2 }));
  } else if (req.url === '/v1/slow') {
    setTimeout(() => { res.writeHead(200, { 'content-type': 'application/json' }).end('{"slow":true}'); }, 300);
  } else if (req.url === '/v1/hang') {
    // never answers; the client cancels
  } else {
    res.writeHead(404).end();
  }
}

async function link(harness: Harness): Promise<{ agent: AgentSession; hub: HubSession }> {
  const socket = await dialHub({ hubUrl: harness.url, token: 'upc_test', agentVersion: '0.0.0-test', rejectUnauthorized: true });
  const agent = new AgentSession({ socket, handler: agentHandler, log, keepalive: KEEPALIVE });
  while (harness.hubSessions.length === 0) await new Promise((r) => setTimeout(r, 5));
  const hub = harness.hubSessions.shift();
  assert.ok(hub);
  return { agent, hub };
}

describe('link', () => {
  let harness: Harness;
  before(async () => { harness = await startHarness(); });
  after(() => { harness.server.close(); });

  it('link - the hub makes HTTP/2 requests to the agent over the WebSocket', async () => {
    const { agent, hub } = await link(harness);
    const response = await hub.requestJson<{ hello: string; method: string }>('GET', AGENT_PATHS.info);
    assert.deepEqual(response, { status: 200, body: { hello: 'hub', method: 'GET' } });
    await agent.drain(1000);
  });

  it('link - events arrive as decoded NDJSON', async () => {
    const { agent, hub } = await link(harness);
    const events: unknown[] = [];
    hub.openEvents((event) => events.push(event));
    while (events.length < 2) await new Promise((r) => setTimeout(r, 5));
    assert.deepEqual(events, [{ type: 'heartbeat', n: 1 }, { type: 'heartbeat', n: 2 }]);
    await agent.drain(1000);
    const closed = await hub.closed;
    assert.equal(closed.code, 1000);
  });

  it('link - thousands of cancelled streams do not trip rapid-reset protection', async () => {
    const { agent, hub } = await link(harness);
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

  it('link - a dropped WebSocket ends in-flight requests with a clean error', async () => {
    const { agent, hub } = await link(harness);
    const pending = hub.requestJson('GET', '/v1/hang', undefined, 10_000);
    await new Promise((r) => setTimeout(r, 50));
    agent.destroy();
    await assert.rejects(pending, (error: Error & { code?: string }) => error.code === 'LINK_CLOSED');
    await hub.closed;
    assert.equal(hub.isOpen, false);
  });

  it('link - drain sends GOAWAY, finishes in-flight streams, then closes with 1000', async () => {
    const { agent, hub } = await link(harness);
    const inFlight = hub.requestJson<{ slow: boolean }>('GET', '/v1/slow');
    await new Promise((r) => setTimeout(r, 50));
    const drained = agent.drain(2000);
    assert.deepEqual(await inFlight, { status: 200, body: { slow: true } }, 'the open stream completes during the drain');
    await drained;
    assert.equal((await hub.closed).code, 1000);
    await assert.rejects(hub.requestJson('GET', AGENT_PATHS.info), (error: Error & { code?: string }) => error.code === 'LINK_CLOSED');
  });

  it('link - keepalive drops a peer that goes silent', async () => {
    const { agent, hub } = await link(harness);
    const started = Date.now();
    // Freeze the agent's socket: it stops reading, so it answers no pings.
    const ws = (agent as unknown as { ws: WebSocket }).ws;
    ws.pause();
    const closed = await hub.closed;
    const took = Date.now() - started;
    assert.notEqual(closed.code, 1000);
    assert.ok(took >= KEEPALIVE.deadAfterMs - 1000 && took < KEEPALIVE.deadAfterMs + 2500, `dropped after ${took} ms`);
    agent.destroy();
  });

  it('link - a refused upgrade becomes a typed error with Retry-After', async () => {
    harness.nextStatus = 503;
    try {
      await assert.rejects(dialHub({ hubUrl: harness.url, token: 'x', agentVersion: 't', rejectUnauthorized: true }),
        (error: unknown) => error instanceof LinkDialError && error.code === 'LINK_UNAVAILABLE' && error.retryAfterMs === 7000);
      harness.nextStatus = 401;
      await assert.rejects(dialHub({ hubUrl: harness.url, token: 'x', agentVersion: 't', rejectUnauthorized: true }),
        (error: unknown) => error instanceof LinkDialError && error.code === 'LINK_UNAUTHORIZED' && error.status === 401);
    } finally {
      harness.nextStatus = 101;
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
});
