// The agent's runtime endpoints against a real hub and the test cluster's
// API server: each answers with real values and none holds a secret; the
// connectivity check passes with the right pin and names the pins when the
// pin is wrong; the SSE streams replay and follow link, leader, sweep and
// log lines within their client limit; /dashboard runs in real Chromium
// without a console error.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { launchBrowser, screenshot } from '../helpers/browser.ts';
import { createTestNamespace, kubeconfigPath } from '../helpers/cluster.ts';
import { eventually, metricValue, startAgent, startHub, suiteContext, type AgentHandle, type HubHandle } from '../helpers/uplink.ts';

const { t: suite, runCleanups } = suiteContext('agent-runtime');
const WRONG_PIN = `sha256:${'0'.repeat(64)}`;
/** Every JSON endpoint and the page; the SSE streams are read apart. */
const PLAIN_PATHS = ['/version', '/api/health/detailed', '/api/status/features', '/api/metrics/runtime', '/api/status/connectivity', '/dashboard'];

let hub: HubHandle;
let agent: AgentHandle;
let token: string;
let namespace: string;

interface Step {
  step: string;
  status: string;
  ms: number;
  detail?: string;
  error?: string;
  expected?: string;
}

interface Connectivity {
  ok: boolean;
  hub: { host: string; port: number };
  steps: Step[];
}

async function getJson<T>(target: AgentHandle, path: string): Promise<T> {
  const response = await fetch(`${target.healthUrl}${path}`);
  assert.equal(response.status, 200, `${path} answered ${response.status}`);
  assert.match(response.headers.get('content-type') ?? '', /application\/json/);
  return response.json() as Promise<T>;
}

/** Reads an SSE stream until `done` holds for the text so far (or the deadline); returns the text. */
async function readSse(url: string, done: (text: string) => boolean, timeoutMs = 30_000, headers: Record<string, string> = {}): Promise<string> {
  const controller = new AbortController();
  const timer = setTimeout(() => { controller.abort(); }, timeoutMs);
  let text = '';
  try {
    const response = await fetch(url, { signal: controller.signal, headers });
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /text\/event-stream/);
    assert.ok(response.body);
    const decoder = new TextDecoder();
    for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
      text += decoder.decode(chunk, { stream: true });
      if (done(text)) break;
    }
  } catch (error) {
    if (!controller.signal.aborted) throw error;
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
  assert.ok(done(text), `the stream ${url} did not show what was awaited in ${timeoutMs} ms; it sent:\n${text.slice(-2000)}`);
  return text;
}

/** The data of each SSE message named `event`. */
function messages(text: string, event: string): string[] {
  return text.split('\n\n').filter((block) => block.includes(`\nevent: ${event}\n`)).map((block) => block.split('\ndata: ')[1] ?? '');
}

describe('agent runtime endpoints', () => {
  before(async () => {
    namespace = await createTestNamespace(suite, 'agent-runtime');
    hub = await startHub(suite);
    ({ token } = await hub.client.request<{ token: string }>('POST', '/api/v1/clusters', { name: 'e2e-runtime' }));
    agent = await startAgent(suite, {
      hubUrl: hub.url, caHash: hub.caHash, token, kubeconfig: await kubeconfigPath(),
      args: ['--namespace', namespace, '--addons-sweep-interval', '5', '--leader-elect', '--leader-elect-lease', 'runtime'],
    });
  });
  after(runCleanups);

  it('agent runtime - /version, detailed health, features and runtime metrics answer with real values', async () => {
    const version = await getJson<{ uplink: string; node: string }>(agent, '/version');
    assert.match(version.uplink, /^\d+\.\d+\.\d+/);
    assert.equal(version.node, process.versions.node);

    interface Health {
      link: { state: string; hubHost: string; ageSeconds: number };
      leader: { state: string; holder: string | null; term: number | null; terms: number; leaderElection: boolean };
      apiServer: { answered: boolean; ageSeconds: number };
      inventory: { synced: boolean; kinds: number; objects: number; syncAgeSeconds: number | null };
      engine: { running: boolean; addons: number };
      lastSweep: { at: string; ageSeconds: number; outcome: string } | null;
    }
    const health = await eventually('a synced inventory and a finished sweep in the detailed health', 60_000, async () => {
      const body = await getJson<Health>(agent, '/api/health/detailed');
      return body.inventory.synced && body.lastSweep !== null ? body : undefined;
    });
    assert.equal(health.link.state, 'up');
    assert.equal(health.link.hubHost, new URL(hub.url).host);
    assert.ok(health.link.ageSeconds >= 0);
    assert.equal(health.leader.state, 'leader');
    assert.equal(health.leader.leaderElection, true);
    assert.equal(health.leader.terms, 1);
    assert.equal(health.leader.term, 0, 'the first holder of a new Lease');
    assert.match(health.leader.holder ?? '', /_[0-9a-f]{8}$/);
    assert.equal(health.apiServer.answered, true);
    assert.ok(health.apiServer.ageSeconds < 60, `the API server answered ${health.apiServer.ageSeconds} s ago`);
    assert.ok(health.inventory.kinds >= 20 && health.inventory.objects > 0, JSON.stringify(health.inventory));
    assert.ok(health.inventory.syncAgeSeconds !== null && health.inventory.syncAgeSeconds >= 0);
    assert.deepEqual(health.engine, { ...health.engine, running: true, addons: 0 });
    assert.equal(health.lastSweep?.outcome, 'ok');
    assert.ok(health.lastSweep.ageSeconds >= 0);

    const features = await getJson<{ inventory: { kinds: string[] }; leaderElection: { enabled: boolean; lease: string }; link: { hubTrust: string }; addonEngine: { sweepIntervalSeconds: number } }>(agent, '/api/status/features');
    assert.ok(features.inventory.kinds.includes('pods') && features.inventory.kinds.includes('deployments'));
    assert.deepEqual([features.leaderElection.enabled, features.leaderElection.lease], [true, 'runtime']);
    assert.equal(features.link.hubTrust, 'pin');
    assert.equal(features.addonEngine.sweepIntervalSeconds, 5);

    interface Runtime {
      memory: { rssBytes: number; heapUsedBytes: number; heapTotalBytes: number };
      eventLoopDelayMs: { p50: number | null; p99: number | null; max: number | null };
      activeResources: { total: number; byType: Record<string, number> };
      uptimeSeconds: number;
    }
    const runtime = await getJson<Runtime>(agent, '/api/metrics/runtime');
    assert.ok(runtime.memory.rssBytes > 10_000_000 && runtime.memory.heapUsedBytes > 0 && runtime.memory.heapUsedBytes <= runtime.memory.heapTotalBytes);
    assert.ok(runtime.eventLoopDelayMs.p99 !== null && runtime.eventLoopDelayMs.p99 >= 0, JSON.stringify(runtime.eventLoopDelayMs));
    assert.ok((runtime.eventLoopDelayMs.max ?? -1) >= (runtime.eventLoopDelayMs.p50 ?? 0));
    assert.ok(runtime.activeResources.total > 0 && (runtime.activeResources.byType.TCPSocketWrap ?? 0) > 0, JSON.stringify(runtime.activeResources));
    assert.ok(runtime.uptimeSeconds > 0);
  });

  it('agent runtime - the connectivity check passes with the right pin, and a wrong pin fails naming both pins', async () => {
    const good = await getJson<Connectivity>(agent, '/api/status/connectivity');
    assert.deepEqual(good.steps.map((s) => [s.step, s.status]), [['dns', 'ok'], ['tcp', 'ok'], ['tls', 'ok'], ['pin', 'ok'], ['apiServer', 'ok']], JSON.stringify(good.steps));
    assert.equal(good.ok, true);
    assert.equal(good.hub.port, hub.port);
    for (const step of good.steps) assert.ok(Number.isFinite(step.ms) && step.ms >= 0);
    assert.equal(good.steps.find((s) => s.step === 'pin')?.expected, hub.caHash);

    const wrong = await startAgent(suite, {
      hubUrl: hub.url, caHash: WRONG_PIN, token, kubeconfig: await kubeconfigPath(), waitLinked: false,
      args: ['--namespace', 'default', '--no-manage-rbac'],
    });
    const report = await getJson<Connectivity>(wrong, '/api/status/connectivity');
    assert.equal(report.ok, false);
    const pin = report.steps.find((s) => s.step === 'pin');
    assert.equal(pin?.status, 'failed', JSON.stringify(report.steps));
    assert.equal(pin.expected, WRONG_PIN);
    assert.ok(pin.error?.includes(WRONG_PIN) === true && pin.error.includes(hub.caHash ?? 'no pin'), `the error names the expected and the seen pin: ${pin.error ?? ''}`);
    assert.equal(report.steps.find((s) => s.step === 'tls')?.status, 'ok', 'the handshake itself worked');
    assert.equal(report.steps.find((s) => s.step === 'apiServer')?.status, 'ok');
    // A second call within the cache time is the same check, not a new one.
    const again = await getJson<Connectivity & { checkedAt: string }>(wrong, '/api/status/connectivity');
    assert.equal(again.checkedAt, (report as Connectivity & { checkedAt: string }).checkedAt);
    const failing = await eventually('the wrong-pin agent reporting its link failing', 30_000, async () => {
      const health = await getJson<{ link: { state: string; problem?: string } }>(wrong, '/api/health/detailed');
      return health.link.state === 'failing' ? health.link : undefined;
    });
    assert.equal(failing.problem, 'tls:CA_HASH_MISMATCH');
    const events = await readSse(`${wrong.healthUrl}/api/realtime/events`, (text) => text.includes('CA_HASH_MISMATCH'));
    assert.ok(messages(events, 'link').some((data) => (JSON.parse(data) as { data: { state: string } }).data.state === 'failing'));
    const metrics = await (await fetch(`${wrong.healthUrl}/metrics`)).text();
    assert.equal(metricValue(metrics, 'uplink_agent_runtime_connectivity_checks_total', 'result="failed"'), 1);
    await wrong.process.stop();
  });

  it('agent runtime - the events stream replays the link and leader events and follows sweeps; the logs stream the agent\'s lines', async () => {
    const events = await readSse(`${agent.healthUrl}/api/realtime/events`, (text) => messages(text, 'link').length > 0 && messages(text, 'leader').length > 0);
    const link = messages(events, 'link').map((data) => JSON.parse(data) as { type: string; at: string; data: { state: string; transport?: string } });
    assert.ok(link.some((event) => event.type === 'link' && event.data.state === 'up' && typeof event.data.transport === 'string'), events.slice(0, 2000));
    assert.ok(messages(events, 'leader').some((data) => (JSON.parse(data) as { data: { state: string } }).data.state === 'leader'));
    // Resumed after the newest event held: only events that come later, such as the next sweep (every 5 s).
    const newest = Math.max(...[...events.matchAll(/^id: (\d+)$/gm)].map((match) => Number(match[1])));
    const later = await readSse(`${agent.healthUrl}/api/realtime/events`, (text) => messages(text, 'sweep').length > 0, 30_000, { 'last-event-id': String(newest) });
    const ids = [...later.matchAll(/^id: (\d+)$/gm)].map((match) => Number(match[1]));
    assert.ok(ids.length > 0 && ids.every((id) => id > newest), `only events after ${newest}: ${ids.join(', ')}`);
    const sweep = JSON.parse(messages(later, 'sweep')[0] ?? '{}') as { data: { intervalSeconds: number; addonsInspected: number } };
    assert.deepEqual([sweep.data.intervalSeconds, sweep.data.addonsInspected], [5, 0]);
    assert.match(events, /^retry: \d+\n\n/);

    const logs = await readSse(`${agent.healthUrl}/api/realtime/logs`, (text) => messages(text, 'log').some((data) => data.includes('"msg":"linked to the hub"')));
    const lines = messages(logs, 'log').map((data) => JSON.parse(data) as { level: string; msg: string; time: string });
    assert.ok(lines.length > 5 && lines.every((line) => typeof line.msg === 'string' && typeof line.time === 'string'));
    assert.ok(!logs.includes(token), 'no token in the log stream');
    // Live: resumed after the newest line held, a line comes as the agent writes it; here, the one it logs (at
    // debug) when another client connects to the events stream.
    const newestLine = Math.max(...[...logs.matchAll(/^id: (\d+)$/gm)].map((match) => Number(match[1])));
    const connected = (text: string): boolean => messages(text, 'log').some((data) => data.includes('"stream":"events"') && data.includes('a client connected to a runtime stream'));
    const tailing = readSse(`${agent.healthUrl}/api/realtime/logs`, connected, 30_000, { 'last-event-id': String(newestLine) });
    await eventually('the tail connected', 10_000, async () => {
      const metrics = await (await fetch(`${agent.healthUrl}/metrics`)).text();
      return metricValue(metrics, 'uplink_agent_runtime_sse_clients', 'stream="logs"') === 1 || undefined;
    });
    await readSse(`${agent.healthUrl}/api/realtime/events`, (text) => text.includes('event: link'));
    const tail = await tailing;
    const tailIds = [...tail.matchAll(/^id: (\d+)$/gm)].map((match) => Number(match[1]));
    assert.ok(tailIds.every((id) => id > newestLine), `only lines after ${newestLine}: ${tailIds.join(', ')}`);
  });

  it('agent runtime - a standby reports itself: leader standby with the holder, link idle, no engine', async () => {
    const standby = await startAgent(suite, {
      hubUrl: hub.url, caHash: hub.caHash, token, kubeconfig: await kubeconfigPath(), waitLinked: false,
      args: ['--namespace', namespace, '--leader-elect', '--leader-elect-lease', 'runtime', '--no-manage-rbac'],
    });
    interface Health { leader: { state: string; holder: string | null; term: number | null; terms: number }; link: { state: string }; engine: { running: boolean }; lastSweep: unknown }
    const health = await eventually('the second agent standing by', 30_000, async () => {
      const body = await getJson<Health>(standby, '/api/health/detailed');
      return body.leader.state === 'standby' ? body : undefined;
    });
    const leader = await getJson<Health>(agent, '/api/health/detailed');
    assert.equal(health.leader.holder, leader.leader.holder);
    assert.deepEqual([health.leader.terms, health.leader.term, health.link.state, health.engine.running, health.lastSweep], [0, null, 'idle', false, null]);
    await standby.process.stop();
  });

  it('agent runtime - a ninth SSE client is refused with 429, and the clients are counted in a metric', async (t) => {
    const controllers: AbortController[] = [];
    t.after(() => { for (const c of controllers) c.abort(); });
    for (let i = 0; i < 8; i += 1) {
      const controller = new AbortController();
      controllers.push(controller);
      const response = await fetch(`${agent.healthUrl}/api/realtime/logs`, { signal: controller.signal });
      assert.equal(response.status, 200);
    }
    const refused = await fetch(`${agent.healthUrl}/api/realtime/logs`);
    assert.equal(refused.status, 429);
    assert.equal(refused.headers.get('retry-after'), '5');
    await refused.body?.cancel();
    const other = await fetch(`${agent.healthUrl}/api/realtime/events`);
    assert.equal(other.status, 200, 'each stream has its own limit');
    await other.body?.cancel();
    const metrics = async (): Promise<string> => (await fetch(`${agent.healthUrl}/metrics`)).text();
    assert.equal(metricValue(await metrics(), 'uplink_agent_runtime_sse_clients', 'stream="logs"'), 8);
    assert.equal(metricValue(await metrics(), 'uplink_agent_runtime_sse_dropped_total', 'reason="refused"'), 1);
    for (const c of controllers) c.abort();
    await eventually('the closed clients uncounted', 15_000, async () => (metricValue(await metrics(), 'uplink_agent_runtime_sse_clients') === 0 || undefined));
  });

  it('agent runtime - no endpoint answers with the cluster token, the admin token or a key', async () => {
    const bodies: [string, string][] = [];
    for (const path of PLAIN_PATHS) bodies.push([path, await (await fetch(`${agent.healthUrl}${path}`)).text()]);
    bodies.push(['/api/realtime/events', await readSse(`${agent.healthUrl}/api/realtime/events`, (text) => text.includes('event: link'))]);
    bodies.push(['/api/realtime/logs', await readSse(`${agent.healthUrl}/api/realtime/logs`, (text) => text.includes('event: log'))]);
    const secret = token.split('_').at(-1) ?? token;
    for (const [path, body] of bodies) {
      assert.ok(body.length > 50, `${path} answered ${body.length} characters`);
      assert.ok(!body.includes(secret), `${path} holds the cluster token`);
      assert.ok(!body.includes(hub.adminToken), `${path} holds the admin token`);
      assert.ok(!/PRIVATE KEY|BEGIN CERTIFICATE|client-key-data|certificate-authority-data/.test(body), `${path} holds key or certificate material`);
    }
  });

  it('agent runtime - /dashboard loads in Chromium with its CSP, shows every part live, and logs no console error', async () => {
    const page = await (await launchBrowser(suite, hub)).newPage();
    const problems: string[] = [];
    page.on('console', (message) => { if (message.type() === 'error' || message.type() === 'warning') problems.push(`${message.type()}: ${message.text()}`); });
    page.on('pageerror', (error) => { problems.push(`pageerror: ${error.message}`); });
    const response = await page.goto(`${agent.healthUrl}/dashboard`);
    assert.equal(response?.status(), 200);
    assert.match((await response.allHeaders())['content-security-policy'] ?? '', /default-src 'self'; script-src 'sha256-/);
    await page.locator('#health th', { hasText: 'link.state' }).waitFor({ timeout: 30_000 });
    await page.locator('#runtime th', { hasText: 'memory.rssBytes' }).waitFor();
    await page.locator('#features th', { hasText: 'inventory.kinds' }).waitFor();
    await page.locator('#connectivity-summary.ok').waitFor({ timeout: 30_000 });
    await page.locator('#logs li').first().waitFor();
    await page.locator('#events li', { hasText: 'link' }).first().waitFor();
    await page.locator('#events-state', { hasText: 'live' }).waitFor();
    assert.equal(await page.locator('#connectivity tr').count(), 5);
    await screenshot(page, 'agent-runtime-dashboard');
    assert.deepEqual(problems, []);
  });
});
