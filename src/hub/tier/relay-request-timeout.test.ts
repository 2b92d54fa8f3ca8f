// A slow kubectl upload through a replica that does not hold the link: the
// relaying replica's --request-timeout (here shortened to half a second, with
// Node's own connection checker, which mock timers do not reach) must leave
// it alone, as the direct path does (ForwardedBodies in client-errors.ts).
// Real mutual TLS to a real peer port on loopback.
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLogger } from '../../util/logger.ts';
import { createClientErrorHandler, ForwardedBodies } from '../client-errors.ts';
import { HubMetrics } from '../metrics.ts';
import { listenLoopback, tierFixtures, type TierFixtures } from './peer-fixtures.test-helper.ts';
import { PeerRelay } from './peer-relay.ts';
import { startPeerServer, type RunningPeerServer } from './peer-server.ts';

const log = createLogger({ name: 'test', level: 'silent' });
const REQUEST_TIMEOUT_MS = 500;
/** The upload takes several times the timeout: this many chunks, one per CHUNK_EVERY_MS. */
const CHUNKS = 12;
const CHUNK_EVERY_MS = 100;

let fixtures: TierFixtures;
let peerB: RunningPeerServer;

before(async () => {
  fixtures = await tierFixtures();
  // B's hub reads the whole body, then says how much it got.
  peerB = await startPeerServer({
    host: '127.0.0.1', port: 0, credentials: fixtures.peers.b, log,
    onRequest: (req, res) => {
      let bytes = 0;
      req.on('data', (chunk: Buffer) => { bytes += chunk.length; });
      req.on('end', () => { res.writeHead(201, { 'content-type': 'text/plain' }).end(`got ${bytes} bytes`); });
    },
    onUpgrade: (_req, socket) => { socket.destroy(); },
  });
});
after(async () => {
  await peerB.close();
  fixtures.cleanup();
});

/** Replica A's public port with a short --request-timeout, relaying everything to B; closed after the test. */
async function startReplicaA(t: { after: (fn: () => void) => void }, forwardedBodies: ForwardedBodies | undefined): Promise<number> {
  const relay = new PeerRelay({ credentials: fixtures.peers.a, log, ...(forwardedBodies === undefined ? {} : { forwardedBodies }) });
  const target = { replicaId: 'b', peerUrl: `https://127.0.0.1:${peerB.port}` };
  const server = http.createServer({ connectionsCheckingInterval: 50 }, (req, res) => { relay.relayRequest(req, res, target); });
  server.headersTimeout = REQUEST_TIMEOUT_MS;
  server.requestTimeout = REQUEST_TIMEOUT_MS;
  server.on('clientError', createClientErrorHandler({ metrics: new HubMetrics(), audit: () => undefined, ...(forwardedBodies === undefined ? {} : { forwardedBodies }) }));
  const port = await listenLoopback(server);
  t.after(() => {
    relay.close();
    server.closeAllConnections();
    server.close();
  });
  return port;
}

/** Uploads CHUNKS chunks of 1 KiB, one per CHUNK_EVERY_MS; resolves with the answer's status and body (status 0: no answer). */
async function slowUpload(port: number, path: string): Promise<{ status: number; body: string }> {
  const request = http.request({ host: '127.0.0.1', port, method: 'POST', path, agent: false, headers: { 'content-type': 'application/json' } });
  const answered = new Promise<{ status: number; body: string }>((resolve) => {
    request.on('response', (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => { body += chunk.toString(); });
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, body }); });
      res.on('error', () => { resolve({ status: res.statusCode ?? 0, body }); });
    });
    request.on('error', () => { resolve({ status: 0, body: '' }); });
  });
  for (let i = 0; i < CHUNKS && !request.destroyed; i += 1) {
    request.write(Buffer.alloc(1024, 0x61));
    await sleep(CHUNK_EVERY_MS);
  }
  if (!request.destroyed) request.end();
  return answered;
}

describe('peer relay - --request-timeout on the relaying replica', () => {
  it('peer relay - a kubectl body arriving for longer than --request-timeout reaches the peer whole', async (t) => {
    const port = await startReplicaA(t, new ForwardedBodies());
    const answer = await slowUpload(port, '/k8s/clusters/prod/api/v1/namespaces/default/configmaps');
    assert.deepEqual(answer, { status: 201, body: `got ${CHUNKS * 1024} bytes` });
  });

  it('peer relay - without the exemption (and for a JSON API body) the same upload is cut with 408', async (t) => {
    const exempt = await startReplicaA(t, new ForwardedBodies());
    const notExempt = await startReplicaA(t, undefined);
    // An agent-bound API route is timed as on the direct path: only kubectl bodies belong to the API server.
    const api = await slowUpload(exempt, '/api/v1/clusters/prod/addons/web/sync');
    const kube = await slowUpload(notExempt, '/k8s/clusters/prod/api/v1/namespaces/default/configmaps');
    assert.equal(api.status, 408, api.body);
    assert.equal(kube.status, 408, kube.body);
  });
});
