// The link upgraded to HTTP/2 on the socket itself (h2-socket.ts), both ends
// in one process on loopback: requests and events, close codes carried in
// GOAWAY, a drain that ends as soon as its last stream does, keepalive pings,
// and `auto` falling back to WebSocket where nothing upgrades to h2.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { WebSocketServer } from 'ws';
import { createLogger } from '../util/logger.ts';
import { AgentSession } from './agent-session.ts';
import { LinkDialError } from './dial.ts';
import { dialHubH2, dialLink } from './dial-h2.ts';
import { acceptH2Upgrade, decodeLinkClose, encodeLinkClose, H2LinkSocket } from './h2-socket.ts';
import { HubSession } from './hub-session.ts';
import { ndjsonLine } from './ndjson.ts';
import { AGENT_PATHS, LINK_CLOSE, LINK_H2_UPGRADE, LINK_SUBPROTOCOL } from './protocol.ts';

const log = createLogger({ name: 'h2-link-test', level: 'silent' });
const KEEPALIVE = { intervalMs: 200, deadAfterMs: 3000 };

interface Harness {
  server: Server;
  url: string;
  hubSessions: HubSession[];
  /** Answer h2 upgrades (else 400, as a WebSocket-only hub or proxy would). */
  h2: boolean;
}

async function startHarness(): Promise<Harness> {
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, handleProtocols: () => LINK_SUBPROTOCOL });
  const server = createServer();
  const harness: Harness = { server, url: '', hubSessions: [], h2: true };
  server.on('upgrade', (req, socket, head) => {
    if (req.headers.upgrade === LINK_H2_UPGRADE) {
      if (!harness.h2) {
        socket.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
        return;
      }
      void acceptH2Upgrade(socket, head, LINK_H2_UPGRADE).then((ws) => { harness.hubSessions.push(new HubSession({ ws, log, keepalive: KEEPALIVE })); });
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => { harness.hubSessions.push(new HubSession({ ws, log, keepalive: KEEPALIVE })); });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  harness.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return harness;
}

let endEvents: (() => void) | undefined;

function agentHandler(req: Http2ServerRequest, res: Http2ServerResponse): void {
  if (req.url === AGENT_PATHS.info) {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ hello: 'hub' }));
  } else if (req.url === AGENT_PATHS.events) {
    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    res.write(ndjsonLine({ type: 'heartbeat', n: 1 }));
    endEvents = () => { res.end(); };
  } else if (req.url === '/v1/hang') {
    // never answers
  } else {
    res.writeHead(404).end();
  }
}

async function link(harness: Harness): Promise<{ agent: AgentSession; hub: HubSession }> {
  const socket = await dialHubH2({ hubUrl: harness.url, token: 'upc_test', agentVersion: '0.0.0-test', rejectUnauthorized: true });
  const agent = new AgentSession({ socket, handler: agentHandler, log, keepalive: KEEPALIVE });
  while (harness.hubSessions.length === 0) await new Promise((r) => setTimeout(r, 5));
  const hub = harness.hubSessions.shift();
  assert.ok(hub);
  return { agent, hub };
}

describe('link over h2', () => {
  let harness: Harness;
  before(async () => { harness = await startHarness(); });
  after(() => { harness.server.close(); });

  it('h2 link - requests and events run on HTTP/2 on the socket itself', async () => {
    const { agent, hub } = await link(harness);
    assert.equal(hub.transport, 'h2');
    assert.deepEqual(await hub.requestJson('GET', AGENT_PATHS.info), { status: 200, body: { hello: 'hub' } });
    const events: unknown[] = [];
    hub.openEvents((event) => events.push(event));
    while (events.length < 1) await new Promise((r) => setTimeout(r, 5));
    assert.deepEqual(events, [{ type: 'heartbeat', n: 1 }]);
    // A drain ends as soon as its last stream has, not at its timeout: with
    // a timeout no test waits for, the drain returning at all shows it.
    await agent.drain(24 * 3600_000, () => { endEvents?.(); });
    assert.equal((await hub.closed).code, 1000);
  });

  it('h2 link - the hub\'s close code reaches the agent in the GOAWAY', async () => {
    const { agent, hub } = await link(harness);
    hub.close(LINK_CLOSE.replaced, 'replaced by a newer link');
    assert.deepEqual(await agent.closed, { code: LINK_CLOSE.replaced, reason: 'replaced by a newer link' });
    assert.equal(hub.isOpen, false);
  });

  it('h2 link - keepalive pings are answered, and a dropped socket ends in-flight requests', async () => {
    const { agent, hub } = await link(harness);
    const socket = (hub as unknown as { ws: H2LinkSocket }).ws;
    let pongs = 0;
    socket.on('pong', () => { pongs++; });
    await new Promise((r) => setTimeout(r, 700));
    assert.ok(pongs >= 2, `${pongs} pongs`);
    assert.ok(hub.isOpen);
    const pending = hub.requestJson('GET', '/v1/hang', undefined, 10_000);
    await new Promise((r) => setTimeout(r, 50));
    agent.destroy();
    await assert.rejects(pending, (error: Error & { code?: string }) => error.code === 'LINK_CLOSED');
    assert.equal((await hub.closed).code, 1006);
  });

  it('h2 link - auto falls back to WebSocket when the upgrade is refused; h2 alone reports the refusal', async () => {
    harness.h2 = false;
    try {
      await assert.rejects(dialHubH2({ hubUrl: harness.url, token: 'x', agentVersion: 't', rejectUnauthorized: true }),
        (error: unknown) => error instanceof LinkDialError && error.code === 'LINK_REFUSED' && error.status === 400);
      const reasons: string[] = [];
      const socket = await dialLink({ hubUrl: harness.url, token: 'x', agentVersion: 't', rejectUnauthorized: true, transport: 'auto', onFallback: (why) => reasons.push(why) });
      assert.equal(socket.ws instanceof H2LinkSocket, false);
      assert.match(reasons[0] ?? '', /HTTP 400/);
      socket.ws.terminate();
    } finally {
      harness.h2 = true;
    }
  });

  it('h2 link - close data round-trips and junk decodes to nothing', () => {
    assert.deepEqual(decodeLinkClose(encodeLinkClose(4002, 'token rotated')), { code: 4002, reason: 'token rotated' });
    assert.equal(decodeLinkClose(Buffer.from('hello')), undefined);
    assert.equal(decodeLinkClose(undefined), undefined);
    assert.equal(encodeLinkClose(4000, 'x'.repeat(500)).length, 'uplink-close 4000 '.length + 123);
  });
});
