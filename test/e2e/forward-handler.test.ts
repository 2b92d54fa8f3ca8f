// The agent's forward handler by itself, on an HTTP/2 server of the test's
// own, against the real test cluster's API server: a selector-less Service
// `web` (port 80 named http) whose hand-made EndpointSlice lists
// 10.0.0.7:8080. The handler's dial is replaced by one that notes the address
// it was asked for and reaches an echo server, so what is checked is which
// endpoint the handler resolved and what it refused before dialing; access
// reviews come from a stand-in reviewer. Refused addresses (link-local,
// loopback, the API server) are covered end to end in forward.test.ts.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http2 from 'node:http2';
import { connect, createServer, type AddressInfo, type Server } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { createForwardHandler, createForwardMetrics, type ForwardMetrics } from '../../src/agent/forward/index.ts';
import { KubeClient } from '../../src/agent/kube.ts';
import { FORWARD_HEADERS } from '../../src/link/forward.ts';
import { createLogger } from '../../src/util/logger.ts';
import { createTestNamespace, kubeconfigPath, kubectl } from '../helpers/cluster.ts';
import { suiteContext } from '../helpers/uplink.ts';

const { t: suite, runCleanups } = suiteContext('forward-handler');

/** Service `web` with port 80 named http, and one EndpointSlice at 10.0.0.7:8080. */
async function applyService(namespace: string): Promise<void> {
  const service = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace }, spec: { ports: [{ name: 'http', port: 80, protocol: 'TCP' }] } };
  const slice = {
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
    metadata: { name: 'web-1', namespace, labels: { 'kubernetes.io/service-name': 'web', 'endpointslice.kubernetes.io/managed-by': 'e2e.uplink.dev' } },
    addressType: 'IPv4', ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    endpoints: [{ addresses: ['10.0.0.7'], conditions: { ready: true } }],
  };
  await kubectl(['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [service, slice] }) });
}

describe('agent forward handler on the real API server', () => {
  let namespace: string;
  let echo: Server;
  let server: http2.Http2Server;
  let session: http2.ClientHttp2Session;
  let metrics: ForwardMetrics;
  const allowedUsers = new Set(['uplink:alice']);
  const dialed: string[] = [];

  before(async () => {
    namespace = await createTestNamespace(suite, 'forward-handler');
    await applyService(namespace);
    // The Service's endpoint is 10.0.0.7:8080; the handler's connect notes what it was asked and reaches the echo server.
    echo = createServer((socket) => { socket.pipe(socket); });
    echo.listen(0, '127.0.0.1');
    await once(echo, 'listening');
    const echoPort = (echo.address() as AddressInfo).port;
    metrics = createForwardMetrics(new Registry());
    const handler = createForwardHandler({
      kube: new KubeClient({ kubeconfig: await kubeconfigPath() }), metrics, log: createLogger({ name: 'test', level: 'silent' }), maxOpen: 2,
      connect: (endpoint) => {
        dialed.push(`${endpoint.address}:${endpoint.port}`);
        return connect(echoPort, '127.0.0.1');
      },
      reviewer: { allowed: (identity) => Promise.resolve(allowedUsers.has(identity.user)) },
    });
    server = http2.createServer((req, res) => { handler(req, res); });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    session = http2.connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  });

  after(async () => {
    session.close();
    server.close();
    echo.close();
    await runCleanups();
  });

  /** Opens a forward; resolves with the status and, for a refusal, the error code. */
  function open(headers: Record<string, string>): { stream: http2.ClientHttp2Stream; answer: Promise<{ status: number; code?: string }> } {
    const stream = session.request({ ':method': 'POST', ':path': '/v1/forward', ...headers }, { endStream: false });
    const answer = new Promise<{ status: number; code?: string }>((resolve) => {
      stream.once('response', (head) => {
        const status = Number(head[':status']);
        if (status === 200) {
          resolve({ status });
          return;
        }
        let body = '';
        stream.on('data', (chunk: Buffer) => { body += chunk.toString(); });
        stream.on('end', () => { resolve({ status, code: (JSON.parse(body) as { error: { code: string } }).error.code }); });
        stream.end();
      });
    });
    return { stream, answer };
  }

  const as = (user: string, target: Partial<Record<keyof typeof FORWARD_HEADERS, string>> = {}): Record<string, string> => ({
    'impersonate-user': user, 'impersonate-group': 'uplink:edit',
    [FORWARD_HEADERS.kind]: target.kind ?? 'service', [FORWARD_HEADERS.namespace]: target.namespace ?? namespace,
    [FORWARD_HEADERS.name]: target.name ?? 'web', [FORWARD_HEADERS.port]: target.port ?? '80',
  });

  it('forward handler - carries bytes both ways to the endpoint the Service resolves to', async () => {
    const { stream, answer } = open(as('uplink:alice'));
    assert.deepEqual(await answer, { status: 200 });
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.end('ping');
    await once(stream, 'close');
    assert.equal(Buffer.concat(chunks).toString(), 'ping');
    assert.deepEqual(dialed, ['10.0.0.7:8080']);
    assert.equal((await metrics.total.get()).values.find((v) => v.labels.result === 'opened')?.value, 1);
  });

  it('forward handler - refuses a missing impersonation, bad headers, a denied user, an unknown port and a refused address', async () => {
    const cases: [Record<string, string>, number, string][] = [
      [{ ...as('uplink:alice'), 'impersonate-user': 'alice' }, 403, 'FORBIDDEN'],
      [{ ...as('uplink:alice'), 'impersonate-uid': 'x' }, 403, 'FORBIDDEN'],
      [as('uplink:alice', { name: '10.0.0.1' }), 400, 'BAD_FORWARD'],
      [as('uplink:alice', { port: '99999' }), 400, 'BAD_FORWARD'],
      [as('uplink:bob'), 403, 'FORBIDDEN'],
      [as('uplink:alice', { port: '81' }), 404, 'NO_FORWARD_ENDPOINT'],
      [as('uplink:alice', { name: 'gone' }), 404, 'NO_FORWARD_ENDPOINT'],
    ];
    for (const [headers, status, code] of cases) assert.deepEqual(await open(headers).answer, { status, code }, JSON.stringify(headers));
    assert.deepEqual(dialed, ['10.0.0.7:8080'], 'nothing refused was dialed');
  });

  it('forward handler - refuses beyond its limit of open forwards, and frees a slot when one ends', async () => {
    const first = open(as('uplink:alice'));
    const second = open(as('uplink:alice'));
    assert.equal((await first.answer).status, 200);
    assert.equal((await second.answer).status, 200);
    assert.deepEqual(await open(as('uplink:alice')).answer, { status: 429, code: 'TOO_MANY_FORWARDS' });
    first.stream.end();
    first.stream.resume();
    await once(first.stream, 'close');
    // The agent frees the slot when its side of the connection has closed too.
    while ((await metrics.open.get()).values[0]?.value !== 1) await new Promise((resolve) => setImmediate(resolve));
    const third = open(as('uplink:alice'));
    assert.equal((await third.answer).status, 200);
    for (const { stream } of [second, third]) {
      stream.resume();
      stream.end();
      await once(stream, 'close');
    }
  });
});
