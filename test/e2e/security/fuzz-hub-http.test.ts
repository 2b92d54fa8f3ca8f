// Fuzzing the hub's HTTP surface: mutated and random bytes as raw requests on
// a TLS socket (so malformed HTTP reaches Node's parser), and mutated JSON
// bodies with odd path parameters on every API route, the kubectl endpoint
// and the dashboard, anonymous, as a view user and as an admin. The hub must
// stay up, answer malformed input with 4xx (5xx only for the documented link
// states: 502, 503 offline, 504), and an admin and a linked agent must not
// notice.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { fuzz, mutatedJson, mutatedText, NASTY_TEXT } from '../../helpers/fuzz.ts';
import { hubRequest, livez, rawExchange, watchOtherClients } from '../../helpers/hub-http.ts';
import { heartbeat, linkRawAgent } from '../../helpers/raw-agent.ts';
import { startHub, suiteContext, type HubHandle } from '../../helpers/uplink.ts';

/** 5xx answers that describe the cluster's link, not the request: documented in kubectl.md and resources.md. */
const LINK_STATUSES = new Set([502, 503, 504]);
/** Names the fuzz must not delete, rotate or regrant: the monitor and the tokens rely on them. */
const PROTECTED = /fuzzed|admin|viewer/i;
/** Routes an anonymous caller may be answered 2xx on. */
const PUBLIC = /^\/(livez|readyz|version|metrics|api\/v1\/ca)?(\?|$)|^\/assets\//;

interface Route { method: string; path: string; body?: unknown }

/** Every route family with a real body where it takes one; `:x` are filled by the fuzz. */
const ROUTES: Route[] = [
  { method: 'GET', path: '/api/v1/clusters' }, { method: 'POST', path: '/api/v1/clusters', body: { name: 'c-new', labels: { env: 'prod' } } },
  { method: 'GET', path: '/api/v1/clusters/:c' }, { method: 'DELETE', path: '/api/v1/clusters/:c' },
  { method: 'POST', path: '/api/v1/clusters/:c/rotate-token' }, { method: 'POST', path: '/api/v1/clusters/:c/agent/upgrade', body: { version: '1.4.0' } },
  { method: 'GET', path: '/api/v1/clusters/:c/addons' }, { method: 'GET', path: '/api/v1/clusters/:c/addons/:n' },
  { method: 'GET', path: '/api/v1/clusters/:c/addons/:n/history' },
  { method: 'PUT', path: '/api/v1/clusters/:c/addons/:n', body: { source: { repo: { url: 'https://charts.example.com', chart: 'web' } }, version: '1.2.3', namespace: 'web', values: { a: 1 }, ignoreDifferences: [{ kind: 'Deployment', jqPathExpressions: ['.spec.replicas'] }] } },
  { method: 'POST', path: '/api/v1/clusters/:c/addons/:n/rollback', body: { revision: 1 } }, { method: 'POST', path: '/api/v1/clusters/:c/addons/:n/sync', body: {} },
  { method: 'DELETE', path: '/api/v1/clusters/:c/addons/:n' },
  { method: 'GET', path: '/api/v1/clusters/:c/resources' }, { method: 'GET', path: '/api/v1/clusters/:c/resources/:k?namespace=default&limit=5' },
  { method: 'GET', path: '/api/v1/clusters/:c/resources/:k/:n?namespace=default' }, { method: 'GET', path: '/api/v1/clusters/:c/resources/:k/:n/events' },
  { method: 'GET', path: '/api/v1/clusters/:c/logs?namespace=default&pod=:n&tailLines=10' },
  { method: 'GET', path: '/api/v1/users' }, { method: 'POST', path: '/api/v1/users', body: { name: 'u-new', grants: [{ role: 'view', cluster: 'fuzzed' }] } },
  { method: 'GET', path: '/api/v1/users/:u' }, { method: 'DELETE', path: '/api/v1/users/:u' },
  { method: 'POST', path: '/api/v1/users/:u/grants', body: { role: 'edit', cluster: 'fuzzed' } }, { method: 'DELETE', path: '/api/v1/users/:u/grants/:r?cluster=:c' },
  { method: 'POST', path: '/api/v1/users/:u/tokens', body: { name: 'ci' } }, { method: 'GET', path: '/api/v1/users/:u/tokens' },
  { method: 'DELETE', path: '/api/v1/tokens/:t' }, { method: 'GET', path: '/api/v1/whoami' },
  { method: 'GET', path: '/api/v1/audit?since=1h&limit=10&user=:u&cluster=:c' },
  { method: 'GET', path: '/k8s/clusters/:c/api/v1/namespaces/default/pods?limit=1' }, { method: 'GET', path: '/k8s/clusters/:c/version' },
  { method: 'POST', path: '/k8s/clusters/:c/api/v1/namespaces/:n/configmaps', body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } } },
  { method: 'GET', path: '/' }, { method: 'GET', path: '/assets/x.js' }, { method: 'GET', path: '/livez' }, { method: 'GET', path: '/api/v1/ca' },
];

const param = fc.oneof(
  fc.constantFrom('fuzzed', 'admin', 'viewer', 'missing', 'pods', 'deployments.apps', 'view', 'web', '1', 'default'),
  mutatedText(fc.constantFrom('fuzzed', 'pods', 'web', 'admin'), 3),
  fc.constantFrom(...NASTY_TEXT.filter((text) => text.isWellFormed()).map(encodeURIComponent)),
  fc.constantFrom('%E0%A4%A', '%2e%2e', '..%2f..', '%00', '%C0%AE', 'a'.repeat(300)),
);

describe('fuzz - the hub over HTTP', () => {
  let hub: HubHandle;
  let viewerToken: string;
  let stopBeats: () => void = () => undefined;
  const { t: setupContext, runCleanups } = suiteContext('fuzz-http');

  before(async () => {
    hub = await startHub(setupContext, { args: ['--offline-after', '5'] });
    const created = await hub.client.request<{ token: string }>('POST', '/api/v1/clusters', { name: 'fuzzed' });
    const agent = await linkRawAgent(setupContext, hub, created.token);
    agent.send(heartbeat());
    const beats = setInterval(() => { agent.send(heartbeat()); }, 1000);
    stopBeats = () => { clearInterval(beats); };
    await hub.client.request('POST', '/api/v1/users', { name: 'viewer', grants: [{ role: 'view', cluster: 'fuzzed' }] });
    viewerToken = (await hub.client.request<{ token: string }>('POST', '/api/v1/users/viewer/tokens', {})).token;
  });

  after(async () => {
    process.stdout.write(`# fuzz hub statuses seen: ${JSON.stringify(Object.fromEntries([...statuses].sort(([a], [b]) => a - b)))}\n`);
    stopBeats();
    await runCleanups();
  });

  const statuses = new Map<number, number>();
  function checkStatus(status: number, what: string): void {
    statuses.set(status, (statuses.get(status) ?? 0) + 1);
    assert.ok(status !== 500 && (status < 500 || LINK_STATUSES.has(status)), `${what}: answered ${status}`);
  }

  it('fuzz - mutated and random bytes as raw HTTP requests', async (t) => {
    const template = fc.record({
      route: fc.constantFrom(...ROUTES), c: param, n: param, token: fc.constantFrom('', hub.adminToken, viewerToken, 'upk_x_y'),
      extra: fc.constantFrom('', 'Connection: Upgrade\r\nUpgrade: SPDY/3.1\r\n', 'Transfer-Encoding: chunked\r\n', 'Expect: 100-continue\r\n', 'Content-Type: text/plain\r\n'),
    }).map(({ route, c, n, token, extra }) => {
      const path = route.path.replace(/:c/g, c).replace(/:[nkurt]/g, n);
      const body = route.body === undefined ? '' : JSON.stringify(route.body);
      // Mutations can turn any name into a protected one here: an admin's raw requests never delete, rotate or regrant.
      const asAdmin = token === hub.adminToken && isDestructive(route) ? '' : token;
      const auth = asAdmin === '' ? '' : `Authorization: Bearer ${asAdmin}\r\n`;
      return `${route.method} ${path} HTTP/1.1\r\nHost: hub\r\n${auth}${extra}Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
    });
    const input = fc.oneof(
      { weight: 6, arbitrary: mutatedText(template, 6).map((text) => Buffer.from(text, 'utf8')) },
      { weight: 1, arbitrary: fc.uint8Array({ maxLength: 2048 }).map((bytes) => Buffer.from(bytes)) },
    );
    const watch = watchOtherClients(hub, 'fuzzed');
    const summary = await fuzz(t, 'hub raw HTTP', input, async (bytes) => {
      const answer = await rawExchange(hub, bytes, 3000);
      for (const match of answer.matchAll(/^HTTP\/1\.[01] (\d{3}) /gm)) checkStatus(Number(match[1]), JSON.stringify(bytes.toString('latin1').slice(0, 120)));
    }).finally(watch.stop);
    assert.deepEqual(await watch.stop(), [], 'other clients saw no failure');
    assert.ok(summary.runs > 0);
    assert.equal(await livez(hub), 200);
  });

  it('fuzz - mutated JSON bodies and path parameters on every route, anonymous, as a viewer and as an admin', async (t) => {
    const input = fc.record({
      route: fc.constantFrom(...ROUTES), c: param, n: param, k: param, u: param, r: param, t: param,
      who: fc.constantFrom('anonymous', 'viewer', 'admin', 'garbage'), bodyKind: fc.constantFrom('mutated', 'mutated', 'random', 'none', 'text'),
      mutated: fc.anything(), seed: fc.nat(),
    }).chain((base) => (base.route.body === undefined ? fc.constant({ ...base, body: undefined })
      : mutatedJson(base.route.body, 3).map((body) => ({ ...base, body }))));
    const watch = watchOtherClients(hub, 'fuzzed');
    const summary = await fuzz(t, 'hub API', input, async ({ route, c, n, k, u, r, t: tokenParam, who, bodyKind, body, mutated }) => {
      // An admin may delete anything: the fuzz leaves alone what the monitor and the tokens stand on.
      // Any name holding a protected one is left alone: `fuzzed?x`, `fuzzed#` or `FUZZED` can reach the same record.
      if (who === 'admin' && isDestructive(route) && [c, u].some((name) => PROTECTED.test(decodeURIComponentSafe(name)))) return;
      const path = requestLinePath(route.path.replace(/:c/g, c).replace(/:n/g, n).replace(/:k/g, k).replace(/:u/g, u).replace(/:r/g, r).replace(/:t/g, tokenParam));
      const token = { anonymous: undefined, viewer: viewerToken, admin: hub.adminToken, garbage: 'upk_tnotthere_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' }[who];
      let payload: string | undefined;
      if (bodyKind === 'mutated' && body !== undefined) payload = JSON.stringify(body);
      else if (bodyKind === 'random') payload = JSON.stringify(mutated);
      else if (bodyKind === 'text') payload = typeof mutated === 'string' ? mutated : `${(JSON.stringify(mutated) as string | undefined) ?? ''}}{`.slice(0, 1000);
      const headers: Record<string, string> = { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(payload === undefined ? {} : { 'content-type': 'application/json' }) };
      const answer = await hubRequest(hub, { method: route.method, path, headers, ...(payload === undefined ? {} : { body: payload }), timeoutMs: 30_000 });
      const what = `${who} ${route.method} ${path} ${String(payload).slice(0, 120)}`;
      checkStatus(answer.status, what);
      if (who === 'anonymous' || who === 'garbage') {
        assert.ok(answer.status >= 400 || PUBLIC.test(path), `${what}: an unauthenticated caller got ${answer.status}`);
      }
    }).finally(watch.stop);
    assert.deepEqual(await watch.stop(), [], 'other clients saw no failure');
    assert.ok(summary.runs > 0);
    assert.equal(await livez(hub), 200);
  });
});

/** Whether an admin's request on `route` could take away what the fuzz stands on (the linked cluster, the tokens). */
function isDestructive(route: Route): boolean {
  return route.method === 'DELETE' || route.path.includes('rotate-token') || route.path.includes('/grants');
}

/** `path` with every byte outside printable ASCII percent-encoded, as a client must send it in a well-formed request line. */
function requestLinePath(path: string): string {
  return path.replace(/[^\x21-\x7e]/gu, (char) => [...Buffer.from(char, 'utf8')].map((byte) => `%${byte.toString(16).padStart(2, '0').toUpperCase()}`).join(''));
}

function decodeURIComponentSafe(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
