// A hub-like peer for attack and fuzz tests of the agent: it accepts a real
// agent's link (the HTTP/2 upgrade, no token check) and hands the test the
// HubSession, through which it sends the agent whatever requests it likes.
import { once } from 'node:events';
import http from 'node:http';
import type { TestContext } from 'node:test';
import { acceptH2Upgrade } from '../../src/link/h2-socket.ts';
import { HubSession } from '../../src/link/hub-session.ts';
import { DEFAULT_KEEPALIVE } from '../../src/link/keepalive.ts';
import { AGENT_CONNECT_PATH, LINK_H2_UPGRADE } from '../../src/link/protocol.ts';
import { createLogger } from '../../src/util/logger.ts';
import { h2Transport } from '../../src/link/transport.ts';

export interface FakeHub {
  /** http:// URL for the agent's --hub-url. */
  url: string;
  /** The newest agent link, waiting for one if there is none open. */
  session(): Promise<HubSession>;
}

export async function startFakeHub(t: Pick<TestContext, 'after'>): Promise<FakeHub> {
  const log = createLogger({ name: 'fake-hub', level: 'silent' });
  let current: HubSession | undefined;
  const waiting: ((session: HubSession) => void)[] = [];
  const server = http.createServer((_req, res) => { res.writeHead(404).end(); });
  server.on('upgrade', (req, socket, head) => {
    socket.on('error', () => undefined);
    if (req.url !== AGENT_CONNECT_PATH || req.headers.upgrade?.toLowerCase() !== LINK_H2_UPGRADE) {
      socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
      return;
    }
    acceptH2Upgrade(socket, head, LINK_H2_UPGRADE).then((ws) => {
      const session = new HubSession({ transport: h2Transport(ws), log, keepalive: DEFAULT_KEEPALIVE });
      // As the hub does: the agent's events are read (and dropped here), so its stream never stalls.
      session.openEvents(() => undefined);
      current = session;
      for (const resolve of waiting.splice(0)) resolve(session);
    }, () => { socket.destroy(); });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => {
    current?.close(1000, 'test over');
    server.closeAllConnections();
    server.close();
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    session: () => (current?.isOpen === true ? Promise.resolve(current) : new Promise((resolve) => { waiting.push(resolve); })),
  };
}
