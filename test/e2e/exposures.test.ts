// Exposures end to end: a hub (run in this process, so the test can open
// gateway streams over its real link with openGatewayStream, as the gateway
// proxy does), a real agent process linked to it, the real CLI, and the real
// test cluster, whose selector-less Services have hand-made EndpointSlices
// pointing at servers on this machine's own non-loopback address (the API
// server refuses loopback and link-local addresses in EndpointSlices). What
// the agent refused is read from the agent's own metrics.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { HubClient } from '../../src/cli/hub-client.ts';
import { CodedError } from '../../src/domain/error-codes.ts';
import { newExposureId } from '../../src/domain/exposure.ts';
import type { ExposureView } from '../../src/hub/api/exposures.ts';
import { HUB_SETTINGS } from '../../src/hub/config.ts';
import { openGatewayStream } from '../../src/hub/gateway/link-stream.ts';
import { startHub, type RunningHub } from '../../src/hub/server.ts';
import { EXPOSURE_HEADER, EXPOSURE_PATHS, type DesiredExposureSet } from '../../src/link/exposures.ts';
import type { HubSession } from '../../src/link/hub-session.ts';
import { FORWARD_HEADERS } from '../../src/link/forward.ts';
import { AGENT_PATHS } from '../../src/link/protocol.ts';
import { createLogger } from '../../src/util/logger.ts';
import { loadSettings } from '../../src/util/settings.ts';
import { createTestNamespace, kubectl, mintServiceAccountToken, testTempDir } from '../helpers/cluster.ts';
import { eventually, metricValue, startAgent, suiteContext, uplink, type AgentHandle } from '../helpers/uplink.ts';

/** This machine's first non-loopback IPv4 address: where the test servers listen and the slices point. */
function hostAddress(): string {
  const found = Object.values(networkInterfaces()).flat().find((i) => i?.family === 'IPv4' && !i.internal);
  assert.ok(found, 'the machine needs a non-loopback IPv4 address for this test');
  return found.address;
}

const HOST = hostAddress();

/** A real HTTP server on HOST answering with its name and the path; it counts its requests. */
async function webServer(name: string): Promise<{ server: http.Server; port: number; requests: () => number }> {
  let requests = 0;
  const server = http.createServer((req, res) => {
    requests++;
    res.end(`${name} ${req.url ?? ''}`);
  });
  server.listen(0, HOST);
  await once(server, 'listening');
  return { server, port: (server.address() as AddressInfo).port, requests: () => requests };
}

/** A selector-less Service with port 80 named http, and one EndpointSlice at `address`:`target`. */
async function applyService(namespace: string, name: string, address: string, target: number): Promise<void> {
  const service = { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace }, spec: { ports: [{ name: 'http', port: 80, protocol: 'TCP' }] } };
  const slice = {
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
    metadata: { name: `${name}-1`, namespace, labels: { 'kubernetes.io/service-name': name, 'endpointslice.kubernetes.io/managed-by': 'e2e.uplink.dev' } },
    addressType: 'IPv4', ports: [{ name: 'http', port: target, protocol: 'TCP' }],
    endpoints: [{ addresses: [address], conditions: { ready: true } }],
  };
  // Throws when the API server refuses the slice.
  await kubectl(['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [service, slice] }) });
}

/** GET `path` written on a gateway stream as HTTP/1.1; resolves with the whole answer once the server closes. */
async function getThrough(stream: Duplex, path: string): Promise<string> {
  let answer = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => { answer += chunk; });
  const ended = once(stream, 'end');
  stream.write(`GET ${path} HTTP/1.1\r\nHost: web\r\nConnection: close\r\n\r\n`);
  await ended;
  stream.end();
  return answer;
}

/** The code a gateway stream was refused with. */
async function refusal(opening: Promise<Duplex>): Promise<string> {
  try {
    const stream = await opening;
    stream.destroy();
  } catch (error) {
    assert.ok(error instanceof CodedError, String(error));
    return error.code;
  }
  assert.fail('the gateway stream opened');
}

describe('exposures', () => {
  const suite = suiteContext('exposures');
  let hub: RunningHub;
  let admin: HubClient;
  let adminCli: string;
  let agent: AgentHandle;
  let clusterId: string;
  const clusterName = 'exp-e2e';
  let namespace: string;
  let web: Awaited<ReturnType<typeof webServer>>;
  let other: Awaited<ReturnType<typeof webServer>>;

  before(async () => {
    const dataDir = testTempDir(suite.t, 'uplink-exposures-hub-');
    const settings = loadSettings({ table: HUB_SETTINGS, flags: { listen: '127.0.0.1:0', dataDir }, env: {} });
    hub = await startHub({ settings, log: createLogger({ name: 'hub', level: 'warn' }) });
    suite.t.after(() => hub.close());
    adminCli = join(dataDir, 'cli.json');
    const login = await uplink(['login', hub.publicUrl, '--token-file', join(dataDir, 'admin-token'), '--ca-hash', hub.caHash ?? ''], adminCli);
    assert.equal(login.code, 0, login.stderr);
    admin = clientOf(readFileSync(join(dataDir, 'admin-token'), 'utf8').trim());
    const created = await admin.request<{ token: string; cluster: { id: string } }>('POST', '/api/v1/clusters', { name: clusterName });
    clusterId = created.cluster.id;
    const agentNamespace = await createTestNamespace(suite.t, 'exp-agent');
    const { kubeconfig } = await mintServiceAccountToken(suite.t, { namespace: agentNamespace, clusterRole: 'cluster-admin' });
    agent = await startAgent(suite.t, { hubUrl: hub.publicUrl, caHash: hub.caHash, token: created.token, kubeconfig });
    namespace = await createTestNamespace(suite.t, 'exp');
    web = await webServer('web');
    other = await webServer('other');
    suite.t.after(() => { web.server.close(); other.server.close(); web.server.closeAllConnections(); other.server.closeAllConnections(); });
    for (const [name, server] of [['web', web], ['other', other]] as const) await applyService(namespace, name, HOST, server.port);
  });

  after(async () => { await suite.runCleanups(); });

  const clientOf = (token: string): HubClient => new HubClient({ hubUrl: hub.publicUrl, token, ...(hub.caPem === undefined ? {} : { caPem: hub.caPem }) });
  const session = (): HubSession => {
    const held = hub.session(clusterId);
    assert.ok(held, 'the agent is linked to the hub');
    return held;
  };
  const agentMetric = async (name: string, labels = ''): Promise<number> => metricValue(await (await fetch(`${agent.healthUrl}/metrics`)).text(), name, labels);
  const heldByAgent = async (): Promise<DesiredExposureSet> => (await session().requestJson<DesiredExposureSet>('GET', EXPOSURE_PATHS.desired)).body;
  const path = (name?: string): string => `/api/v1/clusters/${clusterName}/exposures${name === undefined ? '' : `/${name}`}`;

  it('publishes through the CLI and the API: admins create and delete, view gets 403, no role 404', async () => {
    const exposed = await uplink(['expose', clusterName, 'svc/web', '-n', namespace, '--port', '80'], adminCli);
    assert.equal(exposed.code, 0, exposed.stderr);
    assert.ok(exposed.stdout.includes(`${hub.publicUrl}/gw/${clusterName}/web/`), exposed.stdout);
    const listed = await uplink(['exposures', 'list', clusterName, '-o', 'json'], adminCli);
    const items = (JSON.parse(listed.stdout) as { items: ExposureView[] }).items;
    assert.deepEqual(items.map((e) => [e.name, e.namespace, e.service, e.port, e.minRole, e.createdBy, e.url]),
      [['web', namespace, 'web', 80, 'view', 'admin', `/gw/${clusterName}/web/`]]);

    const viewerToken = await userToken('exp-viewer', 'view');
    const strangerToken = await userToken('exp-stranger', null);
    const body = { namespace, service: 'other', port: 'http', name: 'other' };
    const asUser = clientOf;
    await assert.rejects(asUser(viewerToken).request('POST', path(), body), /403/);
    const viewerCli = join(testTempDir(suite.t, 'uplink-exposures-viewer-'), 'cli.json');
    writeFileSync(viewerCli, JSON.stringify({ ...(JSON.parse(readFileSync(adminCli, 'utf8')) as object), token: viewerToken }), { mode: 0o600 });
    const refused = await uplink(['expose', clusterName, 'svc/other', '-n', namespace, '--port', 'http'], viewerCli);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /403.*needs the admin role on cluster 'exp-e2e' \(yours is view\)/);
    assert.equal((await uplink(['exposures', 'list', clusterName], viewerCli)).code, 0);
    await assert.rejects(asUser(strangerToken).request('POST', path(), body), /404/);
    await assert.rejects(asUser(strangerToken).request('GET', path()), /404/);
    assert.equal((await asUser(viewerToken).request<{ items: ExposureView[] }>('GET', path())).items.length, 1);
    const viaApi = await admin.request<ExposureView>('POST', path(), body);
    assert.equal(viaApi.url, `/gw/${clusterName}/other/`);
    await assert.rejects(admin.request('POST', path(), body), /409/);
    const deleted = await uplink(['exposures', 'delete', clusterName, 'other'], adminCli);
    assert.equal(deleted.code, 0, deleted.stderr);
    await assert.rejects(admin.request('GET', path('other')), /404/);
    const rows = await eventually('the writes in the audit log', 30_000, async () => {
      const { items } = await admin.request<{ items: { resource: string; verb: string; name: string | null; status: number; userName: string }[] }>('GET', `/api/v1/audit?cluster=${clusterName}`);
      const found = items.filter((row) => row.resource === 'exposures').map((row) => [row.verb, row.name, row.status, row.userName]);
      return found.length === 3 ? found : undefined;
    });
    assert.deepEqual(rows.sort(), [['create', 'other', 201, 'admin'], ['create', 'web', 201, 'admin'], ['delete', 'other', 204, 'admin']]);
  });

  it('pushes the set to the agent, and carries bytes to the exposed Service and to it alone', async () => {
    const exposure = await admin.request<ExposureView>('GET', path('web'));
    await eventually('the agent holding the exposure', 30_000, async () => ((await heldByAgent()).exposures.some((e) => e.id === exposure.id) ? true : undefined));
    const answer = await getThrough(await openGatewayStream({ session: session(), exposureId: exposure.id }), '/hello');
    assert.match(answer, /^HTTP\/1\.1 200 OK\r\n/);
    assert.ok(answer.endsWith('\r\n\r\nweb /hello'), answer);

    // Nothing beside the id picks the target: headers naming another Service, port or address, and a query, are ignored.
    const before = other.requests();
    const stream = session().request({
      ':method': 'POST', ':path': `${AGENT_PATHS.gateway}?namespace=kube-system&service=other&port=443&address=169.254.169.254`,
      [EXPOSURE_HEADER]: exposure.id, [FORWARD_HEADERS.kind]: 'service', [FORWARD_HEADERS.namespace]: namespace,
      [FORWARD_HEADERS.name]: 'other', [FORWARD_HEADERS.port]: String(other.port), 'x-uplink-exposure-address': `${HOST}:${other.port}`,
    }, { endStream: false });
    const [head] = await once(stream, 'response') as [Record<string, unknown>];
    assert.equal(head[':status'], 200);
    assert.ok((await getThrough(stream, '/picked')).endsWith('web /picked'));
    assert.equal(other.requests(), before, 'the other Service was never reached');
    assert.ok(await agentMetric('uplink_agent_gateway_streams_total') >= 2);
  });

  it('refuses, on the agent, unknown, malformed and deleted ids, and Services that resolve to the API server', async () => {
    const refused = async (reason: string): Promise<number> => agentMetric('uplink_agent_gateway_refused_total', `reason="${reason}"`);
    const unknownBefore = await refused('unknown');
    assert.equal(await refusal(openGatewayStream({ session: session(), exposureId: newExposureId() })), 'EXPOSURE_UNKNOWN');
    // Refused, then once more after the hub pushed its set again (link-stream.ts): both on the agent.
    assert.equal(await refused('unknown'), unknownBefore + 2);

    const malformedBefore = await refused('malformed');
    for (const id of [`${HOST}:${web.port}`, `svc/${namespace}/web:80`, 'ex_' + 'a'.repeat(200)]) {
      assert.equal(await refusal(openGatewayStream({ session: session(), exposureId: id })), 'EXPOSURE_UNKNOWN', id);
    }
    assert.equal(await refused('malformed'), malformedBefore + 6);

    // The API server's Service address in a slice is accepted by the API server; the agent's guard refuses to dial it.
    const kubernetes = JSON.parse((await kubectl(['-n', 'default', 'get', 'service', 'kubernetes', '-o', 'json'])).stdout) as { spec: { clusterIP: string } };
    await applyService(namespace, 'apiserver', kubernetes.spec.clusterIP, 443);
    const toApi = await admin.request<ExposureView>('POST', path(), { namespace, service: 'apiserver', port: 80 });
    const apiBefore = await refused('api-server');
    assert.equal(await refusal(openGatewayStream({ session: session(), exposureId: toApi.id })), 'GATEWAY_UNREACHABLE');
    assert.equal(await refused('api-server'), apiBefore + 1);
    // Cloud metadata cannot even be named: the API server refuses link-local addresses in a slice.
    await assert.rejects(applyService(namespace, 'metadata', '169.254.169.254', 80), /may not be in the link-local range/);

    // A deleted exposure stops working at once: the delete pushes the set without it.
    const exposure = await admin.request<ExposureView>('GET', path('web'));
    const served = web.requests();
    await admin.request('DELETE', path('web'));
    await eventually('the agent dropping the exposure', 30_000, async () => ((await heldByAgent()).exposures.some((e) => e.id === exposure.id) ? undefined : true));
    const deletedBefore = await refused('unknown');
    assert.equal(await refusal(openGatewayStream({ session: session(), exposureId: exposure.id })), 'EXPOSURE_UNKNOWN');
    assert.equal(await refused('unknown'), deletedBefore + 2);
    assert.equal(web.requests(), served, 'the deleted exposure reached nothing');

    // Published again and opened at once: if the push has not arrived yet, the hub pushes and tries once more.
    const again = await admin.request<ExposureView>('POST', path(), { namespace, service: 'web', port: 'http' });
    assert.notEqual(again.id, exposure.id);
    assert.ok((await getThrough(await openGatewayStream({ session: session(), exposureId: again.id }), '/again')).endsWith('web /again'));
  });

  it('ends an open gateway stream when the link drops', async () => {
    const { id } = await admin.request<ExposureView>('GET', path('web'));
    const stream = await openGatewayStream({ session: session(), exposureId: id });
    let answer = '';
    stream.on('data', (chunk: Buffer) => { answer += chunk.toString(); });
    // Kept alive: the server leaves the connection open after its answer.
    stream.write('GET /kept HTTP/1.1\r\nHost: web\r\n\r\n');
    await eventually('the answer on the open stream', 30_000, () => (answer.endsWith('web /kept') ? true : undefined));
    const closed = once(stream, 'close');
    await agent.process.stop('SIGKILL');
    await eventually('the stream closed with the link', 30_000, () => (stream.destroyed ? true : undefined));
    await closed;
  });

  /** A user with `role` on the cluster (none when null) and an API token of theirs. */
  async function userToken(name: string, role: string | null): Promise<string> {
    await admin.request('POST', '/api/v1/users', { name });
    if (role !== null) await admin.request('POST', `/api/v1/users/${name}/grants`, { role, cluster: clusterName });
    return (await admin.request<{ token: string }>('POST', `/api/v1/users/${name}/tokens`, { name: 'e2e' })).token;
  }
});
