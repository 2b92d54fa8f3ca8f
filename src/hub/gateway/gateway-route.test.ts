// The gateway route against real HTTP servers: a hub-side server running
// GatewayRoute and a service it reaches through `openStream`, here a plain
// TCP connection to the service (the link stream's stand-in: the bytes are
// the same). The store is real (SQLite in memory).
import assert from 'node:assert/strict';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import { WebSocket, WebSocketServer } from 'ws';
import { createLogger } from '../../util/logger.ts';
import type { HubSession } from '../../link/hub-session.ts';
import { ClusterLimiter } from '../kube/limiter.ts';
import { LiveStreams } from '../live-streams.ts';
import { HubMetrics } from '../metrics.ts';
import { StreamAudit } from '../stream-audit.ts';
import { openSqliteStore, type AuditRecord, type Store } from '../store/index.ts';
import { issueToken } from '../tokens.ts';
import { GatewayRoute, type GatewayExposure } from './gateway-route.ts';
import { GatewaySessions } from './sessions.ts';
import { LinkAgents } from './link-agents.ts';

interface Seen { url: string; headers: http.IncomingHttpHeaders }

const seen: Seen[] = [];
const service = http.createServer((req, res) => {
  seen.push({ url: req.url ?? '', headers: req.headers });
  if (req.url === '/redirect') res.writeHead(302, { location: '/target', 'set-cookie': ['app=1; Path=/', 'uplink_gw=forged; Path=/'] }).end();
  else if (req.url === '/events') {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write('data: first\n\n');
    const timer = setInterval(() => res.write('data: tick\n\n'), 200);
    res.on('close', () => { clearInterval(timer); });
  } else if (req.method === 'POST') req.pipe(res);
  else res.writeHead(200, { 'content-type': 'text/html' }).end('<h1>hello</h1>');
});
const wss = new WebSocketServer({ server: service });
wss.on('connection', (socket, req) => {
  seen.push({ url: req.url ?? '', headers: req.headers });
  socket.on('message', (data: Buffer) => { socket.send(`echo ${data.toString('utf8')}`); });
});

const exposure: GatewayExposure = { id: 'ex_one', name: 'app', namespace: 'web', service: 'app', port: 8080, minRole: 'edit' };
let store: Store;
let hub: http.Server;
let hubUrl: string;
let liveStreams: LiveStreams;
const audit: AuditRecord[] = [];
const tokens: Record<string, string> = {};
const linkAgents = new LinkAgents();
let opened = 0;
/** One link for the whole suite: kept-alive connections belong to the link they were opened over. */
const session = { isOpen: true } as unknown as HubSession;

async function addUser(name: string, role: 'view' | 'edit' | 'admin' | undefined): Promise<void> {
  const userId = `u${name}`;
  await store.createUser({ id: userId, name, createdAt: new Date().toISOString() });
  const { token, hash } = issueToken('api', `t${name}`);
  await store.createApiToken({ id: `t${name}`, userId, name, tokenHash: hash, createdAt: new Date().toISOString() });
  if (role !== undefined) await store.addGrant({ userId, role, clusterId: 'c1' });
  tokens[name] = token;
}

before(async () => {
  await new Promise<void>((resolve) => { service.listen(0, '127.0.0.1', resolve); });
  const servicePort = (service.address() as AddressInfo).port;
  store = openSqliteStore({ path: ':memory:' });
  await store.migrate();
  await store.createCluster({ id: 'c1', name: 'prod', labels: {}, tokenHash: `sha256:${'a'.repeat(64)}`, createdAt: new Date().toISOString() });
  await addUser('alice', 'edit');
  await addUser('viewer', 'view');
  await addUser('nobody', undefined);
  await addUser('admin2', 'admin');
  liveStreams = new LiveStreams({ store });
  const route = new GatewayRoute({
    store, fleet: { session: () => session }, limiter: new ClusterLimiter({ unary: 8, streaming: 8, userSharePercent: 100 }),
    metrics: new HubMetrics(), log: createLogger({ name: 'gateway-test', level: 'silent' }), audit: (record) => { audit.push(record); },
    streamAudit: new StreamAudit({ store, replica: null, onEndLost: () => undefined }), liveStreams, sessions: new GatewaySessions({ store }),
    findExposure: (clusterId, name) => Promise.resolve(clusterId === 'c1' && name === 'app' ? exposure : undefined),
    openStream: ({ exposureId }) => {
      assert.equal(exposureId, 'ex_one');
      opened += 1;
      const socket = net.connect(servicePort, '127.0.0.1');
      return new Promise((resolve, reject) => { socket.once('connect', () => { resolve(socket); }).once('error', reject); });
    },
    proto: 'https', linkAgents,
  });
  hub = http.createServer((req, res) => { route.handleRequest(req, res); });
  hub.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => { route.handleUpgrade(req, socket, head); });
  await new Promise<void>((resolve) => { hub.listen(0, '127.0.0.1', resolve); });
  hubUrl = `http://127.0.0.1:${(hub.address() as AddressInfo).port}`;
});

after(async () => {
  liveStreams.close();
  linkAgents.close();
  hub.closeAllConnections();
  await new Promise((resolve) => hub.close(resolve));
  wss.close();
  service.closeAllConnections();
  await new Promise((resolve) => service.close(resolve));
  await store.close();
});

beforeEach(() => { seen.length = 0; });

function bearer(name: string, extra: Record<string, string> = {}): RequestInit {
  return { headers: { authorization: `Bearer ${tokens[name] ?? ''}`, ...extra }, redirect: 'manual' };
}

describe('gateway route', () => {
  it('proxies with the Service as Host, X-Forwarded-*, and no Uplink credentials', async () => {
    const response = await fetch(`${hubUrl}/gw/prod/app/page?x=1`, bearer('alice', { cookie: 'theirs=1; uplink_gw=abc' }));
    assert.equal(response.status, 200);
    assert.equal(await response.text(), '<h1>hello</h1>');
    const request = seen[0];
    assert.equal(request?.url, '/page?x=1');
    assert.equal(request.headers.host, 'app.web.svc:8080');
    assert.equal(request.headers['x-forwarded-prefix'], '/gw/prod/app');
    assert.equal(request.headers['x-forwarded-proto'], 'https');
    assert.equal(request.headers['x-forwarded-host'], new URL(hubUrl).host);
    assert.equal(request.headers['x-forwarded-for'], '127.0.0.1');
    assert.equal(request.headers.authorization, undefined);
    assert.equal(request.headers.cookie, 'theirs=1');
    const row = audit.find((r) => r.path === '/gw/prod/app/page');
    assert.deepEqual([row?.userName, row?.status, row?.verb, row?.namespace, row?.name], ['alice', 200, 'get', 'web', 'app']);
  });

  it('keeps connections to the service alive per user, never shared between users', async () => {
    linkAgents.close();
    const before = opened;
    for (let i = 0; i < 3; i++) assert.equal((await fetch(`${hubUrl}/gw/prod/app/a`, bearer('alice'))).status, 200);
    assert.equal(opened - before, 1);
    assert.equal((await fetch(`${hubUrl}/gw/prod/app/a`, bearer('admin2'))).status, 200);
    assert.equal(opened - before, 2);
  });

  it('streams a request body both ways', async () => {
    const response = await fetch(`${hubUrl}/gw/prod/app/echo`, { ...bearer('alice'), method: 'POST', body: 'x'.repeat(100_000) });
    assert.equal((await response.text()).length, 100_000);
  });

  it('keeps redirects and cookies under the prefix, and never lets the service set the gateway\'s cookie', async () => {
    const response = await fetch(`${hubUrl}/gw/prod/app/redirect`, bearer('alice'));
    assert.equal(response.status, 302);
    assert.equal(response.headers.get('location'), '/gw/prod/app/target');
    assert.deepEqual(response.headers.getSetCookie(), ['app=1; Path=/gw/prod/app/']);
  });

  it('sends the slashless URL to the slash form', async () => {
    const response = await fetch(`${hubUrl}/gw/prod/app?q=1`, { redirect: 'manual' });
    assert.equal(response.status, 308);
    assert.equal(response.headers.get('location'), '/gw/prod/app/?q=1');
  });

  it('never lets an anonymous request, a user without a role or with a lower one reach the service', async () => {
    const page = await fetch(`${hubUrl}/gw/prod/app/page?x=1`, { headers: { accept: 'text/html' }, redirect: 'manual' });
    assert.equal(page.status, 303);
    assert.equal(page.headers.get('location'), `/gw/-/login?next=${encodeURIComponent('/gw/prod/app/page?x=1')}`);
    assert.equal((await fetch(`${hubUrl}/gw/prod/app/api`, { redirect: 'manual' })).status, 401);
    assert.equal((await fetch(`${hubUrl}/gw/prod/app/api`, bearer('nobody'))).status, 404);
    assert.equal((await fetch(`${hubUrl}/gw/prod/app/api`, bearer('viewer'))).status, 403);
    assert.equal((await fetch(`${hubUrl}/gw/prod/other/api`, bearer('alice'))).status, 404);
    assert.equal((await fetch(`${hubUrl}/gw/prod/app/api`, { headers: { authorization: 'Bearer upk_nope_x' } })).status, 401);
    assert.equal(seen.length, 0);
  });

  it('signs a browser in with a form, once, and refuses a cross-site form', async () => {
    const form = await fetch(`${hubUrl}/gw/-/login?next=${encodeURIComponent('/gw/prod/app/page')}`);
    assert.equal(form.status, 200);
    assert.match(form.headers.get('content-security-policy') ?? '', /default-src 'none'/);
    const csrfCookie = form.headers.getSetCookie()[0]?.split(';')[0] ?? '';
    const csrf = /name="csrf" value="([^"]+)"/.exec(await form.text())?.[1] ?? '';
    assert.equal(csrfCookie, `uplink_gw_csrf=${csrf}`);
    const post = (origin: string, token: string): Promise<Response> => fetch(`${hubUrl}/gw/-/login`, {
      method: 'POST', redirect: 'manual',
      headers: { origin, cookie: csrfCookie, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ csrf, token, next: '/gw/prod/app/page' }).toString(),
    });
    assert.equal((await post('https://evil.example', tokens.alice ?? '')).status, 403);
    assert.equal((await post(hubUrl, 'upk_wrong_token')).status, 401);
    const signedIn = await post(hubUrl, tokens.alice ?? '');
    assert.equal(signedIn.status, 303);
    assert.equal(signedIn.headers.get('location'), '/gw/prod/app/page');
    const session = signedIn.headers.getSetCookie().find((c) => c.startsWith('uplink_gw='));
    assert.match(session ?? '', /^uplink_gw=[A-Za-z0-9_-]{43}; Path=\/gw\/; Max-Age=43200; HttpOnly; Secure; SameSite=Lax$/);
    const cookie = session?.split(';')[0] ?? '';
    const page = await fetch(`${hubUrl}/gw/prod/app/page`, { headers: { cookie } });
    assert.equal(page.status, 200);
    assert.equal(seen.at(-1)?.headers.cookie, undefined);
    const out = await fetch(`${hubUrl}/gw/-/logout`, {
      method: 'POST', redirect: 'manual', headers: { origin: hubUrl, cookie: `${cookie}; ${csrfCookie}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ csrf }).toString(),
    });
    assert.equal(out.status, 303);
    assert.equal((await fetch(`${hubUrl}/gw/prod/app/page`, { headers: { cookie }, redirect: 'manual' })).status, 401);
    const sessionRows = audit.filter((r) => r.resource === 'gateway-sessions').map((r) => [r.userName, r.verb, r.status]);
    assert.deepEqual(sessionRows.slice(-4), [['(unauthenticated)', 'create', 403], ['(unauthenticated)', 'create', 401], ['alice', 'create', 303], ['alice', 'delete', 303]]);
  });

  it('answers malformed, oversized, foreign and unknown page requests without a session', async () => {
    const form = await fetch(`${hubUrl}/gw/-/login?next=${encodeURIComponent('https://evil.example/')}`);
    const csrfCookie = form.headers.getSetCookie()[0]?.split(';')[0] ?? '';
    const csrf = /name="csrf" value="([^"]+)"/.exec(await form.text())?.[1] ?? '';
    assert.match(await (await fetch(`${hubUrl}/gw/-/login?next=%2Fgw%2Fa%2Fb%2F`)).text(), /name="next" value="\/gw\/a\/b\/"/);
    const post = (body: string, type = 'application/x-www-form-urlencoded', page = 'login'): Promise<Response> => fetch(`${hubUrl}/gw/-/${page}`, {
      method: 'POST', redirect: 'manual', headers: { origin: hubUrl, cookie: csrfCookie, 'content-type': type }, body,
    });
    assert.equal((await post(JSON.stringify({ token: tokens.alice }), 'application/json')).status, 400);
    assert.equal((await post(`csrf=${csrf}&token=${'x'.repeat(10_000)}`)).status, 400);
    assert.equal((await post('csrf=wrong&token=x', undefined, 'logout')).status, 403);
    const signedIn = await post(new URLSearchParams({ csrf, token: tokens.alice ?? '', next: 'https://evil.example/' }).toString());
    assert.equal(signedIn.status, 303);
    assert.equal(signedIn.headers.get('location'), '/gw/-/login', 'never to another site');
    assert.equal((await fetch(`${hubUrl}/gw/-/logout`)).status, 405);
    assert.equal((await fetch(`${hubUrl}/gw/-/nothing`)).status, 404);
  });

  it('passes server-sent events as they come, and ends the stream when the token is revoked', async () => {
    const response = await fetch(`${hubUrl}/gw/prod/app/events`, bearer('alice'));
    assert.equal(response.headers.get('content-type'), 'text/event-stream');
    const reader = response.body?.getReader();
    if (reader === undefined) throw new Error('no body');
    const first = await reader.read();
    assert.match(Buffer.from(first.value ?? []).toString('utf8'), /data: first/);
    assert.equal(liveStreams.revokeToken('talice'), 1);
    // Ticks already on their way may still come; then the stream ends (or breaks off).
    const drained = async (): Promise<boolean> => {
      for (;;) if ((await reader.read()).done) return true;
    };
    assert.equal(await drained().catch(() => true), true);
  });

  it('holds a streaming slot of the cluster per request: beyond the limit 429, and the slot comes back at the end', async () => {
    const open = await Promise.all(Array.from({ length: 8 }, async () => {
      const controller = new AbortController();
      const response = await fetch(`${hubUrl}/gw/prod/app/events`, { ...bearer('admin2'), signal: controller.signal });
      assert.equal(response.status, 200);
      return controller;
    }));
    const refused = await fetch(`${hubUrl}/gw/prod/app/x`, bearer('admin2'));
    assert.equal(refused.status, 429);
    assert.equal(refused.headers.get('retry-after'), '1');
    for (const controller of open) controller.abort();
    let status = 0;
    for (let i = 0; i < 100 && status !== 200; i++) {
      status = (await fetch(`${hubUrl}/gw/prod/app/x`, bearer('admin2'))).status;
      if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.equal(status, 200);
  });

  it('carries a WebSocket both ways, audited as one row', async () => {
    const socket = new WebSocket(`${hubUrl.replace('http', 'ws')}/gw/prod/app/ws`, { headers: { authorization: `Bearer ${tokens.alice ?? ''}` } });
    const reply = await new Promise<string>((resolve, reject) => {
      socket.on('open', () => { socket.send('hi'); });
      socket.on('message', (data: Buffer) => { resolve(data.toString('utf8')); });
      socket.on('error', reject);
    });
    assert.equal(reply, 'echo hi');
    assert.equal(seen[0]?.headers.host, 'app.web.svc:8080');
    socket.close();
    const rows = async (): Promise<number> => (await store.listAudit({})).filter((r) => r.path === '/gw/prod/app/ws' && r.state === 'complete' && r.status === 101).length;
    for (let i = 0; i < 100 && (await rows()) === 0; i++) await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(await rows(), 1);
  });
});
