// A relayed kubectl watch whose replica is killed mid-stream goes on through
// the next one. Replica A's public port (plain HTTP) relays to B's or C's
// peer port over real mutual TLS; B is killed by closing its peer port with
// no grace, which cuts its connections as a dead process would.
import assert from 'node:assert/strict';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { createLogger } from '../../util/logger.ts';
import { HubMetrics } from '../metrics.ts';
import type { PeerTarget } from './peer-connections.ts';
import { listenLoopback, tierFixtures, waitFor, type TierFixtures } from './peer-fixtures.test-helper.ts';
import { PeerRelay } from './peer-relay.ts';
import { startPeerServer, type RunningPeerServer } from './peer-server.ts';
import type { LocateCluster } from './relay-resume.ts';

const log = createLogger({ name: 'test', level: 'silent' });
const WATCH = '/k8s/clusters/prod/api/v1/namespaces/d/pods?watch=true&resourceVersion=4&allowWatchBookmarks=true';
let fixtures: TierFixtures;
let publicA: http.Server;
let portA: number;
let relay: PeerRelay;
let metrics: HubMetrics;
let locate: LocateCluster;
let peers: { b: RunningPeerServer; c: RunningPeerServer };
let hubs: { b: (req: IncomingMessage, res: ServerResponse) => void; c: (req: IncomingMessage, res: ServerResponse) => void };
const asked: { replica: string; url: string }[] = [];

const event = (type: string, version: string): string => `${JSON.stringify({ type, object: { metadata: { name: 'p', resourceVersion: version } } })}\n`;
const target = (replicaId: 'b' | 'c'): PeerTarget => ({ replicaId, peerUrl: `https://127.0.0.1:${peers[replicaId].port}` });

/** A hub's watch: the events given, then the response held open. */
function watching(...events: string[]): (req: IncomingMessage, res: ServerResponse) => void {
  return (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    for (const line of events) res.write(line);
  };
}

async function startPeer(replica: 'b' | 'c'): Promise<RunningPeerServer> {
  return await startPeerServer({
    host: '127.0.0.1', port: 0, credentials: fixtures.peers[replica], log,
    onRequest: (req, res) => {
      asked.push({ replica, url: req.url ?? '' });
      hubs[replica](req, res);
    },
    onUpgrade: (_req, socket) => { socket.destroy(); },
  });
}

/** Opens the watch through A; `text()` is what arrived so far, `ended` resolves when the response ends. */
function openWatch(): Promise<{ text: () => string; ended: Promise<boolean>; destroy: () => void }> {
  return new Promise((resolve, reject) => {
    const request = http.get({ host: '127.0.0.1', port: portA, path: WATCH, agent: false }, (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => { text += chunk.toString(); });
      const ended = new Promise<boolean>((done) => { res.on('close', () => { done(res.complete); }); });
      resolve({ text: () => text, ended, destroy: () => { res.destroy(); } });
    });
    request.on('error', reject);
  });
}

async function resumes(outcome: string): Promise<number> {
  return (await metrics.peerRelayResumes.get()).values.find((value) => value.labels.outcome === outcome)?.value ?? 0;
}

before(async () => {
  fixtures = await tierFixtures();
  publicA = http.createServer((req, res) => { relay.relayRequest(req, res, target('b')); });
  portA = await listenLoopback(publicA);
});
beforeEach(async () => {
  asked.length = 0;
  metrics = new HubMetrics();
  hubs = { b: watching(event('ADDED', '5'), event('MODIFIED', '6')), c: watching(event('MODIFIED', '7')) };
  peers = { b: await startPeer('b'), c: await startPeer('c') };
  locate = () => Promise.resolve(target('c'));
  relay = new PeerRelay({ credentials: fixtures.peers.a, log, metrics, locate: (cluster, options) => locate(cluster, options) });
});
afterEach(async () => {
  relay.close();
  await Promise.all([peers.b.close(), peers.c.close()]);
});
after(() => {
  publicA.closeAllConnections();
  publicA.close();
  fixtures.cleanup();
});

describe('relay resume', () => {
  it('relay resume - the watch goes on through the next holder from the last version the client saw, in the same response', async () => {
    const watch = await openWatch();
    await waitFor(() => watch.text().includes('"6"'));
    const seen: { cluster: string; failed: string }[] = [];
    locate = (cluster, options) => {
      seen.push({ cluster, failed: options.failed.replicaId });
      return Promise.resolve(target('c'));
    };
    await peers.b.close(0);
    await waitFor(() => watch.text().includes('"7"'));
    assert.equal(watch.text(), event('ADDED', '5') + event('MODIFIED', '6') + event('MODIFIED', '7'));
    assert.deepEqual(seen, [{ cluster: 'prod', failed: 'b' }]);
    assert.deepEqual(asked, [
      { replica: 'b', url: WATCH },
      { replica: 'c', url: WATCH.replace('resourceVersion=4', 'resourceVersion=6') },
    ]);
    assert.equal(await resumes('resumed'), 1);
    assert.equal(relay.openStreams('c'), 1, 'the slot moved with the watch');
    assert.equal(relay.openStreams('b'), 0);
    watch.destroy();
    await waitFor(() => relay.openStreams() === 0);
  });

  it('relay resume - a version the API server no longer has ends the watch with its 410 as an ERROR event', async () => {
    const gone = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'too old resource version: 6 (40)', reason: 'Expired', code: 410 };
    hubs.c = (_req, res) => { res.writeHead(410, { 'content-type': 'application/json' }).end(JSON.stringify(gone)); };
    const watch = await openWatch();
    await waitFor(() => watch.text().includes('"6"'));
    await peers.b.close(0);
    assert.equal(await watch.ended, true, 'a clean end');
    assert.equal(watch.text(), `${event('ADDED', '5')}${event('MODIFIED', '6')}${JSON.stringify({ type: 'ERROR', object: gone })}\n`);
    assert.equal(await resumes('expired'), 1);
  });

  it('relay resume - while the record still names the dead replica, the holder is asked again each second until the next one answers', async (t) => {
    const watch = await openWatch();
    await waitFor(() => watch.text().includes('"6"'));
    t.mock.timers.enable({ apis: ['setTimeout'] });
    let calls = 0;
    locate = () => {
      calls += 1;
      return Promise.resolve(target(calls === 1 ? 'b' : 'c'));
    };
    await peers.b.close(0);
    // The first answer (b) is refused: the retry waits a second, on the mocked clock.
    await waitFor(() => {
      t.mock.timers.tick(1_000);
      return calls === 2;
    });
    await waitFor(() => watch.text().includes('"7"'));
    assert.deepEqual(asked.map((request) => request.replica), ['b', 'c']);
    watch.destroy();
  });

  it('relay resume - no holder in time ends the watch with a 503 ERROR event naming the cluster', async (t) => {
    const watch = await openWatch();
    await waitFor(() => watch.text().includes('"6"'));
    t.mock.timers.enable({ apis: ['setTimeout'] });
    let signal: AbortSignal | undefined;
    locate = (_cluster, options) => {
      signal = options.signal;
      return new Promise((resolve) => { options.signal.addEventListener('abort', () => { resolve(undefined); }); });
    };
    await peers.b.close(0);
    await waitFor(() => signal !== undefined);
    t.mock.timers.tick(30_000);
    assert.equal(await watch.ended, true);
    const last = JSON.parse(watch.text().trim().split('\n').at(-1) ?? '') as { type: string; object: { code: number; message: string } };
    assert.equal(last.type, 'ERROR');
    assert.equal(last.object.code, 503);
    assert.match(last.object.message, /no hub replica took the link of cluster "prod" again within 30 s/);
    assert.equal(await resumes('no_holder'), 1);
    assert.equal(relay.openStreams(), 0);
  });

  it('relay resume - the client leaving while the holder is sought stops the search', async () => {
    const watch = await openWatch();
    await waitFor(() => watch.text().includes('"6"'));
    let signal: AbortSignal | undefined;
    locate = (_cluster, options) => {
      signal = options.signal;
      return new Promise(() => undefined);
    };
    await peers.b.close(0);
    await waitFor(() => signal !== undefined);
    watch.destroy();
    await waitFor(() => signal?.aborted === true);
    await waitFor(() => relay.openStreams() === 0);
    assert.deepEqual(asked.map((request) => request.replica), ['b']);
  });
});
