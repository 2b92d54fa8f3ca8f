// Upgrades through the relay, and the answers when the peer cannot be
// reached: replica A's public port (plain HTTP) relays to replica B's peer
// port over real mutual TLS.
import assert from 'node:assert/strict';
import type http from 'node:http';
import https from 'node:https';
import net, { type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '../../util/logger.ts';
import { HubMetrics } from '../metrics.ts';
import { fetchLoopback, listenLoopback, nextEvent, startTwoReplicas, tierFixtures, waitFor, type TierFixtures, type TwoReplicas } from './peer-fixtures.test-helper.ts';
import { PeerRelay } from './peer-relay.ts';
import { isRelayed } from './peer-server.ts';

const log = createLogger({ name: 'test', level: 'silent' });
let fixtures: TierFixtures;
let replicas: TwoReplicas;
let relay: PeerRelay;

before(async () => {
  fixtures = await tierFixtures();
  relay = new PeerRelay({ credentials: fixtures.peers.a, log, metrics: new HubMetrics() });
  replicas = await startTwoReplicas(fixtures, relay);
});
after(async () => {
  await replicas.close();
  fixtures.cleanup();
});

const EXEC_HEAD = 'POST /k8s/clusters/prod/api/v1/namespaces/d/pods/p/exec?command=sh&stdin=true HTTP/1.1\r\n'
  + 'Host: hub.example.com\r\nAuthorization: Bearer t\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n'
  + 'X-Stream-Protocol-Version: v5.channel.k8s.io\r\nContent-Length: 0\r\n\r\n';

/** Reads a socket until `done` says what arrived is enough. */
async function readUntil(socket: Socket, done: (text: string) => boolean): Promise<string> {
  let text = '';
  while (!done(text)) {
    const chunk = await Promise.race([nextEvent<Buffer>(socket, 'data'), nextEvent(socket, 'close').then(() => undefined)]);
    if (chunk === undefined) return text;
    text += chunk.toString('latin1');
  }
  return text;
}

describe('peer relay - upgrades', () => {
  it('peer relay - an upgrade is switched by the peer and spliced as raw bytes both ways, early bytes included', async () => {
    let peerSocket: Duplex | undefined;
    replicas.upgradeB = (req, socket, head) => {
      peerSocket = socket;
      assert.ok(isRelayed(req));
      assert.equal(req.headers.authorization, 'Bearer t');
      assert.equal(req.headers['x-stream-protocol-version'], 'v5.channel.k8s.io');
      socket.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: v5.channel.k8s.io\r\n\r\nhello');
      // An echo in upper case: the bytes after the request head (early ones too) are the stream's.
      socket.write(head.toString().toUpperCase());
      socket.on('data', (chunk: Buffer) => { socket.write(chunk.toString().toUpperCase()); });
    };
    const client = net.connect(replicas.portA, '127.0.0.1');
    client.write(`${EXEC_HEAD}early`);
    const switched = await readUntil(client, (text) => text.includes('hello'));
    assert.match(switched, /^HTTP\/1\.1 101 Switching Protocols\r\n/);
    assert.match(switched, /\r\nX-Stream-Protocol-Version: v5\.channel\.k8s\.io\r\n/);
    assert.match(switched, /\r\nUpgrade: SPDY\/3\.1\r\n/);
    client.write('ping');
    const stream = switched + await readUntil(client, (text) => (switched + text).endsWith('PING'));
    assert.equal(stream.slice(stream.indexOf('\r\n\r\n') + 4), 'helloEARLYPING');
    assert.equal(relay.openStreams('b'), 1);
    assert.ok(peerSocket !== undefined);
    const peerClosed = nextEvent(peerSocket, 'close');
    client.destroy();
    await peerClosed;
    await waitFor(() => relay.openStreams('b') === 0);
  });

  it('peer relay - a peer that refuses the upgrade is answered as it answered, and the connection closed', async () => {
    replicas.upgradeB = (_req, socket) => {
      socket.end('HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\nContent-Length: 9\r\nX-Why: policy\r\n\r\n{"no":1}\n');
    };
    const client = net.connect(replicas.portA, '127.0.0.1');
    client.write(EXEC_HEAD);
    const answer = await readUntil(client, () => false);
    const [head, body] = answer.split('\r\n\r\n');
    assert.match(head ?? '', /^HTTP\/1\.1 403 Forbidden\r\n/);
    assert.match(head ?? '', /\r\nX-Why: policy/);
    assert.match(head ?? '', /\r\nConnection: close$/);
    assert.equal(body, '{"no":1}\n');
  });

  it('peer relay - a peer that cannot be reached is a 502 naming the replica, as a Status for kubectl and as an API error', async () => {
    const closed = net.createServer();
    const port = await listenLoopback(closed as unknown as http.Server);
    await new Promise<void>((resolve) => { closed.close(() => { resolve(); }); });
    replicas.target = { replicaId: 'gone', peerUrl: `https://127.0.0.1:${port}` };
    const kube = await fetchLoopback(replicas.portA, { path: '/k8s/clusters/prod/api/v1/pods' });
    assert.equal(kube.status, 502);
    assert.deepEqual(JSON.parse(kube.body), {
      kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', reason: 'ServiceUnavailable', code: 502,
      message: 'hub replica "gone", which holds the cluster\'s link, was not reached: it refused the connection (is it running?)',
    });
    const api = await fetchLoopback(replicas.portA, { path: '/api/v1/clusters/prod/logs?pod=p' });
    assert.equal(api.status, 502);
    assert.equal((JSON.parse(api.body) as { error: { code: string } }).error.code, 'PEER_UNREACHABLE');
    const client = net.connect(replicas.portA, '127.0.0.1');
    client.write(EXEC_HEAD);
    assert.match(await readUntil(client, () => false), /^HTTP\/1\.1 502 Bad Gateway\r\n[\s\S]*"message":"hub replica \\"gone\\"/);
    replicas.target = replicas.targetB();
  });

  it('peer relay - a server that is not the replica meant is refused: another replica, or a hub port that is not a peer\'s', async () => {
    replicas.target = { replicaId: 'c', peerUrl: `https://127.0.0.1:${replicas.peerB.port}` };
    const other = await fetchLoopback(replicas.portA, { path: '/k8s/clusters/prod/api' });
    assert.equal(other.status, 502);
    assert.match(other.body, /was not reached: it is replica \\"b\\", not \\"c\\"/);
    const serving = https.createServer({ key: fixtures.serving.keyPem, cert: fixtures.serving.certPem }, (_req, res) => { res.end('wrong cluster'); });
    const port = await listenLoopback(serving);
    replicas.target = { replicaId: 'b', peerUrl: `https://127.0.0.1:${port}` };
    const notPeer = await fetchLoopback(replicas.portA, { path: '/k8s/clusters/prod/api' });
    assert.equal(notPeer.status, 502);
    assert.match(notPeer.body, /its certificate is not a hub replica's peer certificate/);
    serving.close();
    replicas.target = replicas.targetB();
  });

  it('peer relay - a peer that does not complete its handshake in time is a 504', async (t) => {
    const silent = net.createServer((socket) => { socket.on('error', () => undefined); });
    const port = await listenLoopback(silent as unknown as http.Server);
    const accepted = nextEvent<Socket>(silent, 'connection');
    t.mock.timers.enable({ apis: ['setTimeout'] });
    replicas.target = { replicaId: 'slow', peerUrl: `https://127.0.0.1:${port}` };
    const answer = fetchLoopback(replicas.portA, { path: '/k8s/clusters/prod/api' });
    const socket = await accepted;
    t.mock.timers.tick(5_000);
    const timedOut = await answer;
    assert.equal(timedOut.status, 504);
    assert.deepEqual((JSON.parse(timedOut.body) as { reason: string; message: string }), {
      ...JSON.parse(timedOut.body) as object, reason: 'Timeout',
      message: 'hub replica "slow", which holds the cluster\'s link, did not take a connection in time (no connection within 5 s)',
    });
    socket.destroy();
    silent.close();
    replicas.target = replicas.targetB();
  });
});
