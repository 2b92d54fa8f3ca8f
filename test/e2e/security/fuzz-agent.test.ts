// Fuzzing the agent from the hub's side: a hub-like peer holds a real agent's
// link (the agent on the real test cluster) and sends it mutated requests on
// every path it serves: kubectl passthrough (long heads in envelopes, whole
// and damaged, included), resources, logs, desired add-ons,
// operations, token rotation, self-upgrade. The agent must stay up and answer,
// and its credentials must go nowhere but its API server: a listener named in
// the requests must never be dialled.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:net';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { ADDON_PATHS } from '../../../src/link/addons.ts';
import { encodeKubeEnvelope } from '../../../src/link/kube-envelope.ts';
import { AGENT_PATHS, IMPERSONATION } from '../../../src/link/protocol.ts';
import { RESOURCE_PATHS } from '../../../src/link/resources.ts';
import { createTestNamespace, mintServiceAccountToken } from '../../helpers/cluster.ts';
import { startFakeHub, type FakeHub } from '../../helpers/fake-hub.ts';
import { fuzz, mutatedJson, mutatedText, NASTY_TEXT } from '../../helpers/fuzz.ts';
import { startAgent, suiteContext, type AgentHandle } from '../../helpers/uplink.ts';

/** A request the fuzz gives up on (a watch, a follow): cancelled after this long, which is no failure. */
const REQUEST_TIMEOUT_MS = 3000;

interface AgentRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string | Buffer;
}

/** What is done to an envelope's bytes before they are sent. */
type EnvelopeDamage = 'none' | 'truncate' | 'flip' | 'length';

describe('fuzz - the agent over its link', () => {
  let hub: FakeHub;
  let agent: AgentHandle;
  let trap: Server;
  let trapPort = 0;
  let trapped = 0;
  const { t: setupContext, runCleanups } = suiteContext('fuzz-agent');

  before(async () => {
    trap = createServer((socket) => { trapped += 1; socket.destroy(); });
    trap.listen(0, '127.0.0.1');
    await once(trap, 'listening');
    const address = trap.address();
    trapPort = typeof address === 'object' && address ? address.port : 0;
    hub = await startFakeHub(setupContext);
    const namespace = await createTestNamespace(setupContext, 'fuzz-agent');
    // The view role: the agent can read, list and watch, and the fuzz cannot change the shared cluster.
    const { kubeconfig } = await mintServiceAccountToken(setupContext, { namespace, clusterRole: 'view' });
    agent = await startAgent(setupContext, { hubUrl: hub.url, token: `upc_cfuzz_${'A'.repeat(43)}`, kubeconfig });
  });

  after(async () => {
    trap.close();
    await runCleanups();
  });

  it('fuzz - mutated requests on every path the agent serves', async (t) => {
    const target = `127.0.0.1:${trapPort}`;
    const apiPaths = ['/api/v1/namespaces/default/pods?limit=1', '/apis/apps/v1/deployments', '/version', '/api/v1/namespaces/default/pods/p/log?tailLines=1',
      '/api/v1/namespaces/default/pods/p/exec?command=id&stdout=true', `/api/v1/namespaces/default/services/http:${target}:80/proxy/`,
      `/api/v1/nodes/${target}/proxy/pods`, `/${target}/api`, `/http://${target}/api`, '/api/v1/namespaces/%2e%2e/pods', '/api/%E0%A4%A'];
    const headers = fc.record({
      impersonate: fc.boolean(),
      group: fc.constantFrom(IMPERSONATION.groups.view, IMPERSONATION.groups.admin, 'system:masters', ''),
      extra: fc.dictionary(fc.constantFrom('x-forwarded-host', 'host', 'x-uplink-upgrade', 'impersonate-extra-scopes', 'x-remote-user', 'content-type', 'connection'),
        fc.oneof(fc.constantFrom(target, 'SPDY/3.1', 'websocket', 'application/json', 'uplink:admin'), fc.string({ maxLength: 20 })), { maxKeys: 3 }),
    }).map(({ impersonate, group, extra }) => ({
      ...(impersonate ? { 'impersonate-user': `${IMPERSONATION.userPrefix}fuzz`, 'impersonate-group': group } : {}), ...extra,
    }));
    const kube = fc.record({
      method: fc.constantFrom('GET', 'GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'),
      path: mutatedText(fc.constantFrom(...apiPaths), 4).filter((path) => path.startsWith('/')).map((path) => `${AGENT_PATHS.kube}${path}`),
      headers, body: fc.option(mutatedJson({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } }, 3).map((b) => JSON.stringify(b)), { nil: undefined }),
    });
    const query = mutatedText(fc.constantFrom('?kind=pods&namespace=default&limit=5', '?kind=deployments.apps&name=x', '?namespace=default&pod=p&container=c&tailLines=10&follow=false',
      '?kind=nodes&labelSelector=a%3Db', '?kind=secrets&namespace=kube-system'), 4);
    // Long heads in an envelope: whole, cut short, with a byte flipped or a false length, and a body after it.
    const envelopeHead = fc.record({
      method: fc.constantFrom('GET', 'GET', 'POST', 'DELETE', 'PATCH', 'G E T', ''),
      target: mutatedText(fc.constantFrom(...apiPaths), 4), headers,
    });
    const damage = fc.constantFrom<EnvelopeDamage>('none', 'none', 'truncate', 'flip', 'length');
    const envelope = fc.record({
      method: fc.constantFrom('POST', 'POST', 'POST', 'GET'), path: fc.constant(AGENT_PATHS.kubeEnvelope), headers: fc.constant({}),
      body: fc.tuple(envelopeHead, damage, fc.nat(), fc.string({ maxLength: 40 })).map(([head, how, at, rest]) => damaged(encodeKubeEnvelope(head), how, at, rest)),
    });
    const resources = fc.record({
      method: fc.constantFrom('GET', 'GET', 'POST'),
      path: fc.tuple(fc.constantFrom(...Object.values(RESOURCE_PATHS)), query).map(([path, q]) => `${path}${q}`),
      headers, body: fc.constant(undefined),
    });
    const json = (path: string, method: string, base: unknown): fc.Arbitrary<AgentRequest> => fc.record({
      method: fc.constantFrom(method, method, method, 'GET', 'DELETE'), path: fc.constant(path), headers,
      body: fc.oneof({ weight: 4, arbitrary: mutatedJson(base, 4).map((b) => JSON.stringify(b) as string | undefined ?? 'null') }, { weight: 1, arbitrary: mutatedText(fc.constant(JSON.stringify(base)), 4) }),
    });
    const other = fc.record({
      method: fc.constantFrom('GET', 'POST', 'PUT'), path: mutatedText(fc.constantFrom('/v1/info', '/v1/nope', '/', '/v1/kube', '/v1/token/../kube/api', ...NASTY_TEXT.slice(0, 10).map((x) => `/v1/${encodeURIComponent(x)}`)), 3).filter((path) => path.startsWith('/')),
      headers, body: fc.constant(undefined),
    });
    const request: fc.Arbitrary<AgentRequest> = fc.oneof(
      { weight: 4, arbitrary: kube },
      { weight: 2, arbitrary: envelope },
      { weight: 3, arbitrary: resources },
      { weight: 1, arbitrary: json(ADDON_PATHS.desired, 'PUT', { generation: 1, addons: [] }) },
      { weight: 1, arbitrary: json(ADDON_PATHS.desired, 'PUT', { generation: 2, addons: [{ name: 'web', generation: 2, deleted: true, spec: { source: { repo: { url: 'https://charts.invalid', chart: 'web' } }, version: '1.2.3', namespace: 'web' } }] }) },
      { weight: 1, arbitrary: json(AGENT_PATHS.token, 'POST', { token: `upc_cfuzz_${'B'.repeat(43)}` }) },
      { weight: 1, arbitrary: json(ADDON_PATHS.operations, 'POST', { addon: 'web', action: 'rollback', revision: 1, requestedBy: 'fuzz' }) },
      { weight: 1, arbitrary: json(AGENT_PATHS.agentUpgrade, 'POST', { version: '1.4.0', requestedBy: 'fuzz' }) },
      { weight: 1, arbitrary: other },
    );
    const statuses = new Map<number, number>();
    const envelopeStatuses = new Map<number, number>();
    const summary = await fuzz(t, 'agent link requests', request, async (input) => {
      const status = await send(await hub.session(), input);
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
      if (input.path === AGENT_PATHS.kubeEnvelope) envelopeStatuses.set(status, (envelopeStatuses.get(status) ?? 0) + 1);
      assert.equal(agent.process.child.exitCode, null, 'the agent is running');
      // 500 from the kubectl passthrough can be the API server's own answer; elsewhere it is the agent failing.
      const passthrough = input.path.startsWith(`${AGENT_PATHS.kube}/`) || input.path === AGENT_PATHS.kubeEnvelope;
      assert.ok(passthrough || status !== 500, `${input.method} ${input.path}: answered 500`);
      assert.equal(trapped, 0, `${input.method} ${input.path}: the agent dialled a host named in the request`);
    });
    const counts = (map: Map<number, number>): string => JSON.stringify(Object.fromEntries([...map].sort(([a], [b]) => a - b)));
    t.diagnostic(`fuzz agent statuses seen (0: cancelled or refused by HTTP/2): ${counts(statuses)}`);
    t.diagnostic(`of them, envelopes: ${counts(envelopeStatuses)}`);
    const health = await fetch(`${agent.healthUrl}/livez`);
    assert.equal(health.status, 200, 'the agent answers its health check');
    assert.equal(trapped, 0);
    assert.ok(summary.runs > 0);
  });
});

/** An envelope's bytes with `how` done to them at offset `at`, then `rest` as the request body. */
function damaged(envelope: Buffer, how: EnvelopeDamage, at: number, rest: string): Buffer {
  const bytes = Buffer.from(envelope);
  const offset = at % bytes.length;
  if (how === 'truncate') return bytes.subarray(0, offset);
  if (how === 'flip') bytes[offset] = (bytes[offset] ?? 0) ^ 0xff;
  if (how === 'length') bytes.writeUInt32BE(at % 0x1_0000_0000);
  return Buffer.concat([bytes, Buffer.from(rest)]);
}

/** Sends one request over the link; resolves with its status, or 0 when it was cancelled, refused or timed out. */
async function send(session: Awaited<ReturnType<FakeHub['session']>>, input: AgentRequest): Promise<number> {
  return new Promise((resolve) => {
    let stream;
    try {
      stream = session.request({ ':method': input.method, ':path': input.path, ...input.headers }, { endStream: input.body === undefined });
    } catch {
      resolve(0); // node:http2 refused the headers themselves (invalid characters): nothing reached the agent
      return;
    }
    let status = 0;
    const timer = setTimeout(() => { stream.close(); }, REQUEST_TIMEOUT_MS);
    stream.on('response', (headers) => { status = Number(headers[':status']); });
    stream.on('error', () => undefined);
    stream.on('close', () => { clearTimeout(timer); resolve(status); });
    stream.resume();
    if (input.body !== undefined) stream.end(input.body);
  });
}
