import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import https from 'node:https';
import { after, before, describe, it } from 'node:test';
import { connect } from 'node:tls';
import { createLogger } from '../../util/logger.ts';
import { tierFixtures, type TierFixtures } from './peer-fixtures.test-helper.ts';
import { clientAddressOf, isRelayed, relayedBy, startPeerServer, stripRelayHeaders, RELAYED_FOR_HEADER, type PeerRefusal, type RunningPeerServer } from './peer-server.ts';

const log = createLogger({ name: 'test', level: 'silent' });
let fixtures: TierFixtures;
let server: RunningPeerServer;
const refusals: PeerRefusal[] = [];
const seen: { relayed: boolean; by: string | undefined; client: string | undefined }[] = [];

before(async () => {
  fixtures = await tierFixtures();
  server = await startPeerServer({
    host: '127.0.0.1', port: 0, credentials: fixtures.peers.b, log,
    onRefused: (reason) => { refusals.push(reason); },
    onRequest: (req, res) => {
      seen.push({ relayed: isRelayed(req), by: relayedBy(req), client: clientAddressOf(req) });
      res.end('served');
    },
    onUpgrade: (req, socket) => {
      seen.push({ relayed: isRelayed(req), by: relayedBy(req), client: clientAddressOf(req) });
      socket.end('HTTP/1.1 101 Switching Protocols\r\nUpgrade: test\r\nConnection: Upgrade\r\n\r\nswitched');
    },
  });
});
after(async () => {
  await server.close();
  fixtures.cleanup();
});

interface ClientIdentity { certPem?: string; keyPem?: string; caPem?: string }

/** One GET to the peer port with a client identity; the body, or the error that ended it. */
function get(identity: ClientIdentity, headers: Record<string, string> = {}): Promise<{ body: string } | { error: string }> {
  return new Promise((resolve) => {
    const request = https.request({
      host: '127.0.0.1', port: server.port, path: '/k8s/clusters/c/api', agent: false, headers,
      ca: identity.caPem ?? fixtures.caPem, cert: identity.certPem, key: identity.keyPem,
    }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => { body += chunk.toString(); });
      res.on('end', () => { resolve({ body }); });
    });
    request.on('error', (error: NodeJS.ErrnoException) => { resolve({ error: error.code ?? error.message }); });
    request.end();
  });
}

describe('peer server', () => {
  it('peer server - a peer\'s request is handed on marked as relayed, with the client address it names', async () => {
    seen.length = 0;
    assert.deepEqual(await get(fixtures.peers.a, { [RELAYED_FOR_HEADER]: '203.0.113.7' }), { body: 'served' });
    assert.deepEqual(await get(fixtures.peers.c, { [RELAYED_FOR_HEADER]: 'not an address' }), { body: 'served' });
    assert.deepEqual(seen, [
      { relayed: true, by: 'a', client: '203.0.113.7' },
      { relayed: true, by: 'c', client: '127.0.0.1' },
    ]);
  });

  it('peer server - refuses a client without a certificate, with another CA\'s, with the hub\'s serving certificate, and with an unmarked leaf', async () => {
    seen.length = 0;
    refusals.length = 0;
    const cases: [string, ClientIdentity][] = [
      ['no certificate', {}],
      ['another CA', { certPem: fixtures.stranger.certPem, keyPem: fixtures.stranger.keyPem }],
      ['the serving certificate', fixtures.serving],
      ['an unmarked clientAuth leaf', fixtures.unmarked],
    ];
    for (const [name, identity] of cases) {
      const answer = await get(identity);
      assert.ok('error' in answer, `${name}: ${JSON.stringify(answer)}`);
    }
    assert.deepEqual(seen, [], 'no request reached the hub');
    assert.deepEqual(refusals, ['tls', 'tls', 'tls', 'not_peer']);
  });

  it('peer server - a peer\'s upgrade is handed on marked as relayed', async () => {
    seen.length = 0;
    const socket = connect({ host: '127.0.0.1', port: server.port, ca: fixtures.caPem, cert: fixtures.peers.a.certPem, key: fixtures.peers.a.keyPem });
    socket.end('GET /k8s/clusters/c/api/v1/namespaces/d/pods/p/exec HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: test\r\n\r\n');
    let text = '';
    for await (const chunk of socket) text += (chunk as Buffer).toString();
    assert.match(text, /^HTTP\/1\.1 101 [\s\S]*\r\n\r\nswitched$/);
    assert.deepEqual(seen, [{ relayed: true, by: 'a', client: '127.0.0.1' }]);
  });

  it('peer server - off the peer port, a client cannot name itself: the header is stripped and the socket address counts', () => {
    const req = { headers: { [RELAYED_FOR_HEADER]: '198.51.100.1', host: 'h' }, socket: { remoteAddress: '192.0.2.9' } } as unknown as IncomingMessage;
    assert.equal(isRelayed(req), false);
    assert.equal(clientAddressOf(req), '192.0.2.9');
    stripRelayHeaders(req);
    assert.deepEqual(req.headers, { host: 'h' });
  });

  it('peer server - close cuts what is still open once the grace period is over', async () => {
    const held = await startPeerServer({
      host: '127.0.0.1', port: 0, credentials: fixtures.peers.b, log,
      onRequest: (_req, res) => { res.writeHead(200).flushHeaders(); },
      onUpgrade: (_req, socket) => { socket.destroy(); },
    });
    const ended = new Promise<string>((resolve) => {
      https.get({ host: '127.0.0.1', port: held.port, path: '/watch', agent: false, ca: fixtures.caPem, cert: fixtures.peers.a.certPem, key: fixtures.peers.a.keyPem }, (res) => {
        res.on('data', () => undefined);
        res.on('close', () => { resolve(res.complete ? 'complete' : 'cut'); });
        void held.close(0);
      });
    });
    assert.equal(await ended, 'cut');
  });
});
