// The relay between two replicas on loopback, over real mutual TLS: replica
// A's public port (plain HTTP here) relays to replica B's peer port, whose
// "hub" is a handler each test sets.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import http, { type IncomingMessage } from 'node:http';
import { after, before, beforeEach, describe, it } from 'node:test';
import { createLogger } from '../../util/logger.ts';
import { HubMetrics } from '../metrics.ts';
import { fetchLoopback, nextEvent, startTwoReplicas, tierFixtures, waitFor, type TierFixtures, type TwoReplicas } from './peer-fixtures.test-helper.ts';
import { PeerRelay } from './peer-relay.ts';
import { isRelayed, RELAYED_FOR_HEADER } from './peer-server.ts';

const log = createLogger({ name: 'test', level: 'silent' });
const DOMAIN = 'kube.example.com';
let fixtures: TierFixtures;
let replicas: TwoReplicas;
let metrics: HubMetrics;
let relay: PeerRelay;

before(async () => {
  fixtures = await tierFixtures();
  replicas = await startTwoReplicas(fixtures, new PeerRelay({ credentials: fixtures.peers.a, log }));
});
beforeEach(() => {
  metrics = new HubMetrics();
  relay = new PeerRelay({ credentials: fixtures.peers.a, log, metrics, kubeDomain: DOMAIN });
  replicas.relay = relay;
});
after(async () => {
  await replicas.close();
  fixtures.cleanup();
});

async function counted(name: 'peerRelays' | 'peerRelayBytes', labels: Record<string, string>): Promise<number> {
  const metric = await metrics[name].get();
  return metric.values.find((value) => Object.entries(labels).every(([key, wanted]) => value.labels[key as never] === wanted))?.value ?? 0;
}

/** Opens a streaming request to A; resolves with the response once its head is in. */
function openStream(path: string, headers: Record<string, string> = {}): Promise<{ res: IncomingMessage; request: http.ClientRequest }> {
  return new Promise((resolve, reject) => {
    const request = http.get({ host: '127.0.0.1', port: replicas.portA, path, agent: false, headers }, (res) => { resolve({ res, request }); });
    request.on('error', reject);
  });
}

describe('peer relay - requests', () => {
  it('peer relay - passes end-to-end headers both ways (Authorization, Host), drops hop-by-hop ones, and names the client', async () => {
    let seen: IncomingMessage | undefined;
    replicas.hubB = (req, res) => {
      seen = req;
      res.writeHead(201, { 'content-type': 'application/json', 'x-answer': '1', connection: 'x-answer-hop', 'x-answer-hop': 'y' }).end('{"ok":true}');
    };
    const answer = await fetchLoopback(replicas.portA, {
      method: 'GET', path: '/k8s/clusters/prod/api/v1/pods?limit=1',
      headers: {
        host: 'hub.example.com', authorization: 'Bearer secret', 'x-custom': 'kept', connection: 'keep-alive, x-hop', 'x-hop': 'dropped',
        'keep-alive': 'timeout=5', te: 'trailers', [RELAYED_FOR_HEADER]: '6.6.6.6', 'proxy-authorization': 'Basic x',
      },
    });
    assert.deepEqual([answer.status, answer.body, answer.headers['x-answer'], answer.headers['x-answer-hop']], [201, '{"ok":true}', '1', undefined]);
    assert.ok(seen !== undefined && isRelayed(seen));
    assert.equal(seen.url, '/k8s/clusters/prod/api/v1/pods?limit=1');
    assert.equal(seen.headers.host, 'hub.example.com');
    assert.equal(seen.headers.authorization, 'Bearer secret');
    assert.equal(seen.headers['x-custom'], 'kept');
    assert.equal(seen.headers[RELAYED_FOR_HEADER], '127.0.0.1', 'the client\'s own address, not the one it claimed');
    for (const hop of ['x-hop', 'keep-alive', 'te', 'proxy-authorization']) assert.equal(seen.headers[hop], undefined, hop);
    assert.equal(await counted('peerRelays', { kind: 'request', outcome: 'ok' }), 1);
    assert.equal(relay.openStreams(), 0);
  });

  it('peer relay - keeps its connection to the peer alive between requests', async () => {
    const sockets = new Set<unknown>();
    replicas.hubB = (req, res) => {
      sockets.add(req.socket);
      res.end('x');
    };
    for (let i = 0; i < 3; i += 1) assert.equal((await fetchLoopback(replicas.portA, { path: '/k8s/clusters/prod/version' })).body, 'x');
    assert.equal(sockets.size, 1);
  });

  it('peer relay - streams large bodies both ways unchanged, with or without a length', async () => {
    replicas.hubB = (req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      req.pipe(res);
    };
    const body = Buffer.alloc(8 * 1024 * 1024, 'relay-');
    const digest = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex');
    const sized = await new Promise<Buffer>((resolve, reject) => {
      const request = http.request({ host: '127.0.0.1', port: replicas.portA, path: '/api/v1/clusters/prod/addons/a/sync', method: 'POST', agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => { resolve(Buffer.concat(chunks)); });
      });
      request.on('error', reject);
      // Written in pieces without a Content-Length: chunked on the way in, chunked on to the peer.
      for (let offset = 0; offset < body.length; offset += 1024 * 1024) request.write(body.subarray(offset, offset + 1024 * 1024));
      request.end();
    });
    assert.equal(digest(sized), digest(body));
    const withLength = await fetchLoopback(replicas.portA, { method: 'POST', path: '/k8s/clusters/prod/api/v1/namespaces', body, headers: { 'content-length': String(body.length) } });
    assert.equal(withLength.body.length, body.length);
    assert.ok(await counted('peerRelayBytes', { direction: 'to_peer' }) >= 2 * body.length);
    assert.ok(await counted('peerRelayBytes', { direction: 'from_peer' }) >= 2 * body.length);
  });

  it('peer relay - a watch streams as it comes, and the client leaving ends the peer\'s request', async () => {
    let peerRequest: IncomingMessage | undefined;
    replicas.hubB = (req, res) => {
      peerRequest = req;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"type":"ADDED","object":{"metadata":{"resourceVersion":"5"}}}\n');
    };
    const { res } = await openStream('/k8s/clusters/prod/api/v1/pods?watch=1');
    assert.equal(String(await nextEvent<Buffer>(res, 'data')), '{"type":"ADDED","object":{"metadata":{"resourceVersion":"5"}}}\n');
    assert.equal(relay.openStreams('b'), 1);
    assert.ok(peerRequest !== undefined);
    const gone = nextEvent(peerRequest, 'close');
    res.destroy();
    await gone;
    assert.equal(relay.openStreams('b'), 0);
    assert.equal(await counted('peerRelays', { kind: 'request', outcome: 'client_gone' }), 1);
  });

  it('peer relay - a peer dying mid-watch ends the kubectl watch with an ERROR event, and cuts any other stream', async () => {
    replicas.hubB = (req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"type":"ADDED","object":{"metadata":{"resourceVersion":"5"}}}\n{"type":"MOD');
      setImmediate(() => { req.socket.destroy(); });
    };
    const watch = await fetchLoopback(replicas.portA, { path: '/k8s/clusters/prod/api/v1/pods?watch=true' });
    const lines = watch.body.trim().split('\n').map((line) => JSON.parse(line) as { type: string; object: { code?: number; message?: string } });
    assert.deepEqual(lines.map((line) => line.type), ['ADDED', 'ERROR'], 'the half event is not passed on');
    const failure = lines[1]?.object ?? {};
    assert.equal(failure.code, 503);
    assert.match(failure.message ?? '', /hub replica "b"/);
    const { res } = await openStream('/api/v1/clusters/prod/logs?pod=p&follow=true');
    const closed = await new Promise<boolean>((resolve) => {
      res.on('data', () => undefined);
      res.on('close', () => { resolve(res.complete); });
    });
    assert.equal(closed, false, 'a log stream is cut, so the client sees an error rather than a clean end');
    assert.equal(await counted('peerRelays', { kind: 'request', outcome: 'peer_broke' }), 2);
  });

  it('peer relay - over its bound of streams to a peer, a request is refused 503 with Retry-After', async () => {
    relay = new PeerRelay({ credentials: fixtures.peers.a, log, metrics, kubeDomain: DOMAIN, maxStreamsPerPeer: 1 });
    replicas.relay = relay;
    replicas.hubB = (_req, res) => { res.writeHead(200, { 'content-type': 'application/json' }).flushHeaders(); };
    const first = await openStream('/k8s/clusters/prod/api/v1/pods?watch=1');
    const refused = await fetchLoopback(replicas.portA, { path: '/k8s/clusters/prod/api/v1/pods' });
    assert.equal(refused.status, 503);
    assert.equal(refused.headers['retry-after'], '1');
    assert.deepEqual(JSON.parse(refused.body), {
      kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', reason: 'ServiceUnavailable', code: 503,
      message: 'this hub replica relays 1 requests to hub replica "b", which holds the cluster\'s link, the most it allows; retry shortly',
    });
    const api = await fetchLoopback(replicas.portA, { path: '/api/v1/clusters/prod/resources' });
    assert.equal((JSON.parse(api.body) as { error: { code: string } }).error.code, 'PEER_BUSY');
    const gone = nextEvent(first.res, 'close');
    first.res.destroy();
    await gone;
    replicas.hubB = (_req, res) => { res.end('free'); };
    await waitFor(() => relay.openStreams('b') === 0);
    assert.equal((await fetchLoopback(replicas.portA, { path: '/k8s/clusters/prod/version' })).body, 'free');
  });
});
