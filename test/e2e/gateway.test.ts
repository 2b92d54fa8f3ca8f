// The Service gateway end to end: the real hub and agent, a real cluster
// whose selector-less Service has a hand-made EndpointSlice pointing at a
// real HTTP server (with a WebSocket echo and a server-sent event stream) on
// this machine's non-loopback address, and real Chromium signing in with the
// gateway's form. The server counts every request it gets, so "never reaches
// the service" is asserted where it matters.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import https from 'node:https';
import { networkInterfaces } from 'node:os';
import { after, before, describe, it } from 'node:test';
import { WebSocketServer } from 'ws';
import { go, launchBrowser, screenshot, signedInPage } from '../helpers/browser.ts';
import { createTestNamespace, kubectl } from '../helpers/cluster.ts';
import { hubCa, hubRequest } from '../helpers/hub-http.ts';
import { startHubCluster, type HubCluster } from '../helpers/kubectl-hub.ts';
import { eventually, metricValue, suiteContext } from '../helpers/uplink.ts';

/** This machine's first non-loopback IPv4 address: the agent refuses loopback endpoints. */
function hostAddress(): string {
  const found = Object.values(networkInterfaces()).flat().find((i) => i?.family === 'IPv4' && !i.internal);
  assert.ok(found, 'the machine needs a non-loopback IPv4 address for this test');
  return found.address;
}

const HOST = hostAddress();
/** The host form's domain; requests name its hosts in their Host header (no DNS needed). */
const GATEWAY_DOMAIN = 'gw.e2e.invalid';

/** The app's page: a WebSocket echo and an event stream, each writing what it got into the page. */
const APP_PAGE = `<!doctype html><html><head><title>gateway app</title></head><body><h1>gateway app</h1>
<p id="ws">ws: waiting</p><p id="sse">sse: waiting</p>
<script>
const ws = new WebSocket(new URL('ws', location.href).href.replace(/^http/, 'ws'));
ws.onopen = () => ws.send('ping');
ws.onmessage = (event) => { document.getElementById('ws').textContent = 'ws: ' + event.data; };
const events = new EventSource('events');
events.onmessage = (event) => { document.getElementById('sse').textContent = 'sse: ' + event.data; };
</script></body></html>`;

interface Seen { method: string; url: string; headers: http.IncomingHttpHeaders }

function startApp(): { server: http.Server; seen: Seen[] } {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    if (req.url === '/redirect') res.writeHead(302, { location: '/landing' }).end();
    else if (req.url === '/headers') res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(req.headers));
    else if (req.url === '/events') {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
      let n = 0;
      const tick = (): void => { res.write(`data: tick ${++n}\n\n`); };
      tick();
      const timer = setInterval(tick, 300);
      res.on('close', () => { clearInterval(timer); });
    } else res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(APP_PAGE);
  });
  const wss = new WebSocketServer({ server });
  wss.on('connection', (socket, req) => {
    seen.push({ method: 'WS', url: req.url ?? '', headers: req.headers });
    socket.on('message', (data: Buffer) => { socket.send(`echo ${data.toString('utf8')}`); });
  });
  return { server, seen };
}

/** A user with `role` on the cluster (or none) and an API token; the token's id is inside it. */
async function userToken(env: HubCluster, name: string, role?: string): Promise<string> {
  await env.hub.client.request('POST', '/api/v1/users', { name });
  if (role !== undefined) await env.hub.client.request('POST', `/api/v1/users/${name}/grants`, { role, cluster: env.clusterName });
  return (await env.hub.client.request<{ token: string }>('POST', `/api/v1/users/${name}/tokens`, { name: 'e2e' })).token;
}

/** A live event stream through the hub's gateway: its status, what arrived, and whether it closed. */
async function openEvents(env: HubCluster, path: string, headers: Record<string, string>): Promise<{ status: number | undefined; text: () => string; closed: () => boolean }> {
  const url = new URL(env.hub.url);
  const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
    https.get({ host: url.hostname, port: url.port, path, ca: hubCa(env.hub), agent: false, headers }, resolve).on('error', reject);
  });
  let text = '';
  let closed = false;
  res.on('data', (chunk: Buffer) => { text += chunk.toString(); });
  res.on('close', () => { closed = true; });
  res.on('error', () => { closed = true; });
  return { status: res.statusCode, text: () => text, closed: () => closed };
}

describe('Service gateway', () => {
  const suite = suiteContext('gateway');
  let env: HubCluster;
  let namespace: string;
  let app: ReturnType<typeof startApp>;
  let viewerToken: string;
  let nobodyToken: string;
  let base: string;

  before(async () => {
    env = await startHubCluster(suite.t, 'gw-e2e', ['--gateway-domain', GATEWAY_DOMAIN]);
    namespace = await createTestNamespace(suite.t, 'gw');
    app = startApp();
    app.server.listen(0, HOST);
    await once(app.server, 'listening');
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const service = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'app', namespace }, spec: { ports: [{ name: 'http', port: 80, protocol: 'TCP' }] } };
    const slice = {
      apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
      metadata: { name: 'app-1', namespace, labels: { 'kubernetes.io/service-name': 'app', 'endpointslice.kubernetes.io/managed-by': 'e2e.uplink.dev' } },
      addressType: 'IPv4', ports: [{ name: 'http', port, protocol: 'TCP' }], endpoints: [{ addresses: [HOST], conditions: { ready: true } }],
    };
    const applied = await kubectl(['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [service, slice] }) });
    assert.equal(applied.code, 0, applied.stderr);
    await env.hub.client.request('POST', `/api/v1/clusters/${env.clusterName}/exposures`, { name: 'app', namespace, service: 'app', port: 80 });
    await env.hub.client.request('POST', `/api/v1/clusters/${env.clusterName}/exposures`, { name: 'admins', namespace, service: 'app', port: 80, minRole: 'admin' });
    viewerToken = await userToken(env, 'viewer', 'view');
    nobodyToken = await userToken(env, 'nobody');
    base = `/gw/${env.clusterName}/app`;
  });

  after(async () => {
    app.server.closeAllConnections();
    app.server.close();
    await suite.runCleanups();
  });

  const asViewer = (): Record<string, string> => ({ authorization: `Bearer ${viewerToken}` });

  it('serves a view user the app, its WebSocket and its event stream in Chromium after signing in once', async () => {
    const browser = await launchBrowser(suite.t, env.hub);
    const page = await (await browser.newContext()).newPage();
    await page.goto(`${env.hub.url}${base}/`);
    assert.match(page.url(), /\/gw\/-\/login\?next=/);
    assert.equal(app.seen.length, 0, 'the sign-in page comes before anything reaches the service');
    await page.getByLabel('API token').fill(viewerToken);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'gateway app' }).waitFor();
    assert.equal(page.url(), `${env.hub.url}${base}/`);
    await page.getByText('ws: echo ping').waitFor({ timeout: 30_000 });
    await page.getByText(/sse: tick [2-9]/).waitFor({ timeout: 30_000 });
    await screenshot(page, 'gateway-app');
    const cookies = await page.context().cookies();
    const session = cookies.find((c) => c.name === 'uplink_gw');
    assert.deepEqual([session?.httpOnly, session?.secure, session?.sameSite, session?.path], [true, true, 'Lax', '/gw/']);
    for (const request of app.seen) {
      assert.equal(request.headers.authorization, undefined);
      assert.ok(!(request.headers.cookie ?? '').includes('uplink_gw'), 'the service never sees the gateway\'s cookies');
    }
    assert.equal(app.seen.find((r) => r.method === 'WS')?.url, '/ws');
    // Closing the tab ends its WebSocket and event stream; their audit rows complete then.
    await page.context().close();
  });

  it('never lets an anonymous request, a user without a role or below the exposure\'s role reach the service', async () => {
    const before = app.seen.length;
    assert.equal((await hubRequest(env.hub, { path: `${base}/headers` })).status, 401);
    const page = await hubRequest(env.hub, { path: `${base}/headers`, headers: { accept: 'text/html' } });
    assert.equal(page.status, 303);
    assert.match(String(page.headers.location), /^\/gw\/-\/login\?next=/);
    assert.equal((await hubRequest(env.hub, { path: `${base}/headers`, headers: { authorization: `Bearer ${nobodyToken}` } })).status, 404);
    assert.equal((await hubRequest(env.hub, { path: `/gw/${env.clusterName}/admins/`, headers: asViewer() })).status, 403);
    assert.equal(app.seen.length, before);
  });

  it('rewrites redirects, sets X-Forwarded-* and the Service\'s Host', async () => {
    const slashless = await hubRequest(env.hub, { path: base, headers: asViewer() });
    assert.equal(slashless.status, 308);
    assert.equal(slashless.headers.location, `${base}/`);
    const redirect = await hubRequest(env.hub, { path: `${base}/redirect`, headers: asViewer() });
    assert.equal(redirect.status, 302);
    assert.equal(redirect.headers.location, `${base}/landing`);
    const seen = JSON.parse((await hubRequest(env.hub, { path: `${base}/headers`, headers: { ...asViewer(), cookie: 'theirs=1' } })).body) as Record<string, string>;
    assert.equal(seen.host, `app.${namespace}.svc`);
    assert.equal(seen['x-forwarded-prefix'], base);
    assert.equal(seen['x-forwarded-proto'], 'https');
    assert.equal(seen['x-forwarded-host'], new URL(env.hub.url).host);
    assert.equal(seen.cookie, 'theirs=1');
    assert.equal(seen.authorization, undefined);
  });

  it('serves the host form, <exposure>--<cluster>.<domain>, with the service\'s own paths', async () => {
    const host = `app--${env.clusterName}.${GATEWAY_DOMAIN}`;
    const seen = JSON.parse((await hubRequest(env.hub, { path: '/headers', headers: { ...asViewer(), host } })).body) as Record<string, string>;
    assert.equal(seen.host, `app.${namespace}.svc`);
    assert.equal(seen['x-forwarded-host'], host);
    assert.equal(seen['x-forwarded-prefix'], undefined);
    const redirect = await hubRequest(env.hub, { path: '/redirect', headers: { ...asViewer(), host } });
    assert.equal(redirect.headers.location, '/landing');
    const anonymous = await hubRequest(env.hub, { path: '/d?x=1', headers: { host, accept: 'text/html' } });
    assert.equal(anonymous.status, 303);
    assert.equal(anonymous.headers.location, `/gw/-/login?next=${encodeURIComponent('/d?x=1')}`);
    const login = await hubRequest(env.hub, { path: '/gw/-/login', headers: { host } });
    assert.equal(login.status, 200);
    const csrfCookie = [login.headers['set-cookie'] ?? []].flat()[0]?.split(';')[0] ?? '';
    const csrf = /name="csrf" value="([^"]+)"/.exec(login.body)?.[1] ?? '';
    const signedIn = await hubRequest(env.hub, {
      method: 'POST', path: '/gw/-/login', body: new URLSearchParams({ csrf, token: viewerToken, next: '/headers' }).toString(),
      headers: { host, origin: `https://${host}`, cookie: csrfCookie, 'content-type': 'application/x-www-form-urlencoded' },
    });
    assert.equal(signedIn.status, 303);
    assert.equal(signedIn.headers.location, '/headers');
    const session = [signedIn.headers['set-cookie'] ?? []].flat().find((c) => c.startsWith('__Host-uplink_gw='));
    assert.match(session ?? '', /; Path=\/; Max-Age=43200; HttpOnly; Secure; SameSite=Lax$/, 'a host-only __Host- cookie a sibling host cannot plant');
    const asSession = await hubRequest(env.hub, { path: '/headers', headers: { host, cookie: session?.split(';')[0] ?? '' } });
    assert.equal(asSession.status, 200);
    assert.equal((JSON.parse(asSession.body) as Record<string, string>).cookie, undefined);
    assert.equal((await hubRequest(env.hub, { path: '/', headers: { host: `nope.${GATEWAY_DOMAIN}` } })).status, 400);
  });

  it('audits every request: method, path without the query, status and bytes', async () => {
    await hubRequest(env.hub, { path: `${base}/headers?secret=1`, headers: asViewer() });
    const rows = await eventually('the gateway rows', 30_000, async () => {
      const { items } = await env.hub.client.request<{ items: { path: string; status: number; userName: string; verb: string; bytesOut: number }[] }>(
        'GET', `/api/v1/audit?cluster=${env.clusterName}&limit=1000`);
      const mine = items.filter((r) => r.path.startsWith(`${base}/`));
      return mine.some((r) => r.path === `${base}/ws` && r.status === 101) ? mine : undefined;
    });
    assert.ok(rows.some((r) => r.path === `${base}/headers` && r.status === 200 && r.userName === 'viewer' && r.verb === 'get' && r.bytesOut > 0));
    // A refusal for a cluster the user has no role on names no cluster id (as the kubectl endpoint's do): found by user.
    const { items: refused } = await env.hub.client.request<{ items: { path: string; status: number }[] }>('GET', '/api/v1/audit?user=nobody');
    assert.ok(refused.some((r) => r.path === `${base}/headers` && r.status === 404));
    assert.ok(!rows.some((r) => r.path.includes('?')));
  });

  it('signs in with the form, and removing the user\'s role ends the session\'s live stream and its access', async () => {
    const token = await userToken(env, 'watcher', 'view');
    const form = await hubRequest(env.hub, { path: '/gw/-/login' });
    const csrfCookie = [form.headers['set-cookie'] ?? []].flat().map(String)[0]?.split(';')[0] ?? '';
    const csrf = /name="csrf" value="([^"]+)"/.exec(form.body)?.[1] ?? '';
    const signedIn = await hubRequest(env.hub, {
      method: 'POST', path: '/gw/-/login', body: new URLSearchParams({ csrf, token, next: `${base}/` }).toString(),
      headers: { origin: env.hub.url, cookie: csrfCookie, 'content-type': 'application/x-www-form-urlencoded' },
    });
    assert.equal(signedIn.status, 303);
    const cookie = [signedIn.headers['set-cookie']].flat().map(String).find((c) => c.startsWith('uplink_gw='))?.split(';')[0] ?? '';
    const events = await openEvents(env, `${base}/events`, { cookie });
    assert.equal(events.status, 200);
    await eventually('an event', 30_000, () => (events.text().includes('data: tick') ? true : undefined));
    await env.hub.client.request('DELETE', `/api/v1/users/watcher/grants/view?cluster=${env.clusterName}`);
    await eventually('the stream ended', 30_000, () => (events.closed() ? true : undefined));
    assert.equal((await hubRequest(env.hub, { path: `${base}/headers`, headers: { cookie } })).status, 404);
  });

  it('lists, publishes and withdraws services in the dashboard\'s Services tab; a view user only lists them', async () => {
    const browser = await launchBrowser(suite.t, env.hub);
    const admin = await signedInPage(browser, env.hub, env.hub.adminToken);
    await go(admin, `#/clusters/${env.clusterName}/services`);
    const table = admin.getByRole('table', { name: 'Published services' });
    await table.locator('tr[data-exposure="app"]').waitFor();
    assert.equal(await table.locator('tr[data-exposure="app"] a').getAttribute('href'), `/gw/${env.clusterName}/app/`);

    const form = admin.getByRole('form', { name: 'Publish a service' });
    await form.getByLabel('Namespace', { exact: true }).fill(namespace);
    await form.getByLabel('Service', { exact: true }).fill('app');
    await form.getByLabel('Port', { exact: true }).fill('http');
    await form.getByLabel('Name', { exact: true }).fill('from-dashboard');
    await form.getByLabel('Who may open it').selectOption('edit');
    await form.getByRole('button', { name: 'Publish' }).click();
    await table.locator('tr[data-exposure="from-dashboard"]').waitFor();
    const stored = await env.hub.client.request<{ port: unknown; minRole: string; createdBy: string }>('GET', `/api/v1/clusters/${env.clusterName}/exposures/from-dashboard`);
    assert.deepEqual([stored.port, stored.minRole, stored.createdBy], ['http', 'edit', 'admin']);
    await screenshot(admin, 'gateway-services-tab');

    const viewer = await signedInPage(browser, env.hub, viewerToken);
    await go(viewer, `#/clusters/${env.clusterName}/services`);
    await viewer.getByRole('table', { name: 'Published services' }).locator('tr[data-exposure="from-dashboard"]').waitFor();
    assert.equal(await viewer.getByRole('form', { name: 'Publish a service' }).count(), 0, 'a view user gets no publish form');
    assert.equal(await viewer.getByRole('button', { name: 'Withdraw' }).count(), 0, 'nor a withdraw button');

    admin.once('dialog', (dialog) => { void dialog.accept(); });
    await table.locator('tr[data-exposure="from-dashboard"]').getByRole('button', { name: 'Withdraw' }).click();
    await eventually('the row gone', 30_000, async () => ((await table.locator('tr[data-exposure="from-dashboard"]').count()) === 0 ? true : undefined));
    const { items } = await env.hub.client.request<{ items: { name: string }[] }>('GET', `/api/v1/clusters/${env.clusterName}/exposures`);
    assert.deepEqual(items.map((e) => e.name).sort(), ['admins', 'app']);
    await admin.context().close();
    await viewer.context().close();
  });

  it('ends a live event stream when its exposure is deleted, on the agent\'s side', async () => {
    await env.hub.client.request('POST', `/api/v1/clusters/${env.clusterName}/exposures`, { name: 'brief', namespace, service: 'app', port: 80 });
    const events = await openEvents(env, `/gw/${env.clusterName}/brief/events`, asViewer());
    assert.equal(events.status, 200);
    await eventually('an event', 30_000, () => (events.text().includes('data: tick') ? true : undefined));
    const withdrawn = async (): Promise<number> => metricValue(await (await fetch(`${env.agent.healthUrl}/metrics`)).text(), 'uplink_agent_gateway_refused_total', 'reason="withdrawn"');
    const before = await withdrawn();
    await env.hub.client.request('DELETE', `/api/v1/clusters/${env.clusterName}/exposures/brief`);
    await eventually('the stream ended', 30_000, () => (events.closed() ? true : undefined));
    assert.equal(await withdrawn(), before + 1, 'the agent ended it');
    // 404 from the hub once it sees the delete; 403 EXPOSURE_UNKNOWN from the agent while the hub's 1 s cache still has it.
    const after = (await hubRequest(env.hub, { path: `/gw/${env.clusterName}/brief/headers`, headers: asViewer() })).status;
    assert.ok(after === 404 || after === 403, `refused after the delete, got ${after}`);
  });

  it('ends a live event stream when its token is revoked', async () => {
    const token = await userToken(env, 'streamer', 'view');
    const events = await openEvents(env, `${base}/events`, { authorization: `Bearer ${token}` });
    assert.equal(events.status, 200);
    await eventually('two events', 30_000, () => ((events.text().match(/data: tick/g) ?? []).length >= 2 ? true : undefined));
    const tokenId = token.split('_')[1] ?? '';
    await env.hub.client.request('DELETE', `/api/v1/tokens/${tokenId}`);
    await eventually('the stream ended', 30_000, () => (events.closed() ? true : undefined));
  });
});
