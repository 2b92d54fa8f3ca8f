// relayFeed between a real HTTP/2 "agent" and a real HTTP client on loopback:
// the framing, the extras the hub adds, and every way a feed ends.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, it } from 'node:test';
import type { ResourceOutcome } from '../metrics.ts';
import { relayFeed } from './feed.ts';

const row = (kind: string, name: string): object => ({
  kind, namespace: 'default', name, uid: name, resourceVersion: '1', createdAt: null, labels: {}, status: 'Active', health: 'healthy', columns: {},
});
const line = (value: object): string => `${JSON.stringify(value)}\n`;
const SYNCED = { type: 'SYNCED', at: '2026-01-01T00:00:00.000Z', inventory: { synced: true } };
const CLUSTER = { name: 'c1', status: 'online' as const, connected: true, lastHeartbeatAgeSeconds: 1 };

interface Rig {
  /** Where the agent's watch stream writes. */
  agent: Promise<http2.ServerHttp2Stream>;
  /** The client's response to read. */
  response: Promise<http.IncomingMessage>;
  outcome: Promise<ResourceOutcome>;
  agentServer: http2.Http2Server;
  session: http2.ClientHttp2Session;
}

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

async function rig(options: { allowSecrets?: boolean; maxBacklogBytes?: number; keepaliveMs?: number } = {}): Promise<Rig> {
  const agentServer = http2.createServer();
  const agent = new Promise<http2.ServerHttp2Stream>((resolve) => {
    agentServer.on('stream', (stream) => {
      stream.respond({ ':status': 200, 'content-type': 'application/x-ndjson' });
      resolve(stream);
    });
  });
  agentServer.listen(0, '127.0.0.1');
  await once(agentServer, 'listening');
  const session = http2.connect(`http://127.0.0.1:${(agentServer.address() as AddressInfo).port}`);
  let settle: (outcome: ResourceOutcome) => void = () => undefined;
  const outcome = new Promise<ResourceOutcome>((resolve) => { settle = resolve; });
  const hub = http.createServer((_req, res) => {
    const stream = session.request({ ':path': '/watch' }, { endStream: true });
    stream.once('response', () => {
      relayFeed({
        stream, res, clusterName: 'c1', summary: () => CLUSTER, linkOpen: () => !session.destroyed,
        allowSecrets: options.allowSecrets ?? true, done: settle,
        ...(options.maxBacklogBytes === undefined ? {} : { maxBacklogBytes: options.maxBacklogBytes }),
        ...(options.keepaliveMs === undefined ? {} : { keepaliveMs: options.keepaliveMs }),
      });
    });
  });
  hub.listen(0, '127.0.0.1');
  await once(hub, 'listening');
  const response = new Promise<http.IncomingMessage>((resolve, reject) => {
    http.get(`http://127.0.0.1:${(hub.address() as AddressInfo).port}/`, resolve).on('error', reject);
  });
  cleanups.push(() => {
    session.destroy();
    agentServer.close();
    hub.closeAllConnections();
    hub.close();
  });
  return { agent, response, outcome, agentServer, session };
}

async function readAll(res: http.IncomingMessage): Promise<string> {
  let text = '';
  res.setEncoding('utf8');
  for await (const chunk of res) text += chunk as string;
  return text;
}

describe('live feed relay', () => {
  it('feed - changes become events, SYNCED carries the cluster, the agent\'s ERROR ends it', async () => {
    const r = await rig();
    const agent = await r.agent;
    agent.write(line({ type: 'ADDED', row: row('ConfigMap', 'a'), at: 't' }));
    agent.write(line(SYNCED).slice(0, 10));
    agent.write(line(SYNCED).slice(10) + line({ type: 'SOMETHING_NEW' }));
    agent.end(line({ type: 'ERROR', at: 't', message: 'agent stopping' }));
    const res = await r.response;
    assert.equal(res.headers['content-type'], 'text/event-stream; charset=utf-8');
    const text = await readAll(res);
    const events = text.split('\n\n').filter((e) => e !== '');
    assert.equal(events.length, 3, text);
    assert.match(events[0] ?? '', /^event: ADDED\ndata: \{"type":"ADDED","row":\{"kind":"ConfigMap"/);
    assert.deepEqual(JSON.parse((events[1] ?? '').split('data: ')[1] ?? ''), { ...SYNCED, cluster: CLUSTER });
    assert.match(events[2] ?? '', /^event: ERROR\ndata: .*agent stopping/);
    assert.equal(await r.outcome, 'ok');
  });

  it('feed - an agent end without ERROR is announced as one', async () => {
    const r = await rig();
    (await r.agent).end();
    const text = await readAll(await r.response);
    assert.match(text, /^event: ERROR\ndata: .*ended the feed; reconnect to resync/);
  });

  it('feed - a dropped link ends the feed with an ERROR naming the cluster', async () => {
    const r = await rig();
    (await r.agent).write(line(SYNCED));
    const res = await r.response;
    const reading = readAll(res);
    setTimeout(() => { r.session.destroy(); }, 50);
    const text = await reading;
    assert.match(text, /event: ERROR\ndata: .*the link to cluster 'c1' closed/);
    assert.equal(await r.outcome, 'link_failed');
  });

  it('feed - a Secret row ends the feed for a caller who may not read secrets', async () => {
    const r = await rig({ allowSecrets: false });
    const agent = await r.agent;
    agent.write(line({ type: 'ADDED', row: row('ConfigMap', 'a'), at: 't' }) + line({ type: 'ADDED', row: row('Secret', 's'), at: 't' }));
    const text = await readAll(await r.response);
    assert.match(text, /ConfigMap/);
    assert.doesNotMatch(text, /"name":"s"/);
    assert.match(text, /event: ERROR\ndata: .*secrets needs the edit or admin role/);
    assert.equal(await r.outcome, 'forbidden');
  });

  it('feed - a client that does not read is dropped once its backlog passes the bound', async () => {
    const r = await rig({ maxBacklogBytes: 64 * 1024 });
    const agent = await r.agent;
    const res = await r.response;
    res.pause();
    const big = line({ type: 'ADDED', row: { ...row('ConfigMap', 'x'), labels: { pad: 'p'.repeat(8000) } }, at: 't' });
    const writer = setInterval(() => { if (!agent.closed) agent.write(big.repeat(16)); }, 5);
    const outcome = await r.outcome;
    clearInterval(writer);
    assert.equal(outcome, 'too_slow');
    res.resume();
    const text = await readAll(res);
    assert.match(text, /event: ERROR\ndata: .*client too slow/);
  });

  it('feed - an idle feed sends keepalive comments', async () => {
    const r = await rig({ keepaliveMs: 20 });
    await r.agent;
    const res = await r.response;
    res.setEncoding('utf8');
    const [chunk] = await once(res, 'data') as [string];
    assert.equal(chunk, ': keepalive\n\n');
    res.destroy();
    assert.equal(await r.outcome, 'ok');
  });
});
