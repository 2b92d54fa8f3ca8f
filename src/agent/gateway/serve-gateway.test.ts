// The gateway handler by itself on an HTTP/2 server of the test's own, with
// the API server's answers given as data (the guard, the spread and the
// bounds are the handler's own logic; the e2e test runs it against the real
// API server, which refuses link-local and loopback addresses in
// EndpointSlices, so only here can a slice name them). Connections go to
// real sockets on loopback: `connect` maps each endpoint to one.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http2 from 'node:http2';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { newExposureId } from '../../domain/exposure.ts';
import { EXPOSURE_HEADER } from '../../link/exposures.ts';
import { createLogger } from '../../util/logger.ts';
import type { Endpoint } from '../forward/endpoints.ts';
import { createGatewayMetrics, type GatewayMetrics } from './gateway-metrics.ts';
import { HeldExposures } from './held-exposures.ts';
import { createGatewayHandler } from './serve-gateway.ts';

/** Each Service's slice addresses (all on port 8080), as the fake API server answers them. */
const SLICES: Record<string, string[]> = {
  web: ['10.0.0.1', '10.0.0.2'],
  metadata: ['169.254.169.254', 'fe80::1'],
  loopback: ['127.0.0.1', '::ffff:127.0.0.1'],
  apiserver: ['10.96.0.1'],
  empty: [],
};

function answer(path: string): { status: number; body: unknown } {
  if (path === '/api/v1/namespaces/default/services/kubernetes') return { status: 200, body: { spec: { clusterIP: '10.96.0.1', ports: [{ port: 8080 }] } } };
  if (path.startsWith('/apis/discovery.k8s.io/v1/namespaces/default/')) return { status: 200, body: { items: [] } };
  const service = /^\/api\/v1\/namespaces\/ns\/services\/([a-z]+)$/.exec(path)?.[1];
  if (service !== undefined) return SLICES[service] ? { status: 200, body: { spec: { ports: [{ name: 'http', port: 80 }] } } } : { status: 404, body: {} };
  const sliced = /labelSelector=kubernetes\.io%2Fservice-name%3D([a-z]+)/.exec(path)?.[1] ?? '';
  const addresses = SLICES[sliced] ?? [];
  return {
    status: 200,
    body: { items: [4, 6].map((family) => ({
      addressType: `IPv${family}`, ports: [{ name: 'http', port: 8080 }],
      endpoints: addresses.filter((a) => a.includes(':') === (family === 6)).map((a) => ({ addresses: [a] })),
    })) },
  };
}

describe('agent gateway handler', () => {
  const held = new HeldExposures();
  const ids: Record<string, string> = {};
  let metrics: GatewayMetrics;
  let echo: Server;
  let closedPort: number;
  let server: http2.Http2Server;
  let session: http2.ClientHttp2Session;
  const dialed: string[] = [];

  before(async () => {
    echo = createServer((socket) => { socket.on('error', () => undefined); socket.pipe(socket); });
    echo.listen(0, '127.0.0.1');
    await once(echo, 'listening');
    const echoPort = (echo.address() as AddressInfo).port;
    // A port nobody listens on: connecting there is refused.
    const probe = createServer().listen(0, '127.0.0.1');
    await once(probe, 'listening');
    closedPort = (probe.address() as AddressInfo).port;
    probe.close();
    for (const name of Object.keys(SLICES)) ids[name] = newExposureId();
    held.replace({ generation: 1, exposures: Object.keys(SLICES).map((name) => ({ id: ids[name] ?? '', namespace: 'ns', service: name, port: 80 })) });
    metrics = createGatewayMetrics(new Registry());
    const handler = createGatewayHandler({
      kube: { server: new URL('https://10.96.0.2:6443'), request: (_method: string, path: string) => Promise.resolve(answer(path) as never) },
      held, metrics, log: createLogger({ name: 'test', level: 'silent' }), maxOpen: 2,
      // 10.0.0.1 refuses; every other endpoint reaches the echo server.
      connect: (endpoint: Endpoint): Socket => {
        dialed.push(endpoint.address);
        return connect({ host: '127.0.0.1', port: endpoint.address === '10.0.0.1' ? closedPort : echoPort, allowHalfOpen: true });
      },
    });
    server = http2.createServer((req, res) => { handler(req, res); });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    session = http2.connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  });

  after(() => {
    session.close();
    server.close();
    echo.close();
  });

  /** Opens a gateway stream with `headers`; the status and, for a refusal, the code. */
  async function open(headers: Record<string, string>): Promise<{ stream: http2.ClientHttp2Stream; status: number; code?: string }> {
    const stream = session.request({ ':method': 'POST', ':path': '/v1/gateway', ...headers }, { endStream: false });
    const [head] = await once(stream, 'response') as [http2.IncomingHttpHeaders];
    const status = Number(head[':status']);
    if (status === 200) return { stream, status };
    let body = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => { body += chunk; });
    stream.end();
    await once(stream, 'end');
    return { stream, status, code: (JSON.parse(body) as { error: { code: string } }).error.code };
  }

  const count = async (reason: string): Promise<number> => (await metrics.refused.get()).values.find((v) => v.labels.reason === reason)?.value ?? 0;

  it('gateway handler - dials the exposure\'s Service, trying another endpoint when one refuses, and carries bytes', async () => {
    // Each stream starts at a random endpoint: open streams until both were tried (a refused first try among them), at most 200.
    for (let round = 0; round < 200 && !(dialed.includes('10.0.0.1') && dialed.includes('10.0.0.2')); round++) {
      const { stream, status } = await open({ [EXPOSURE_HEADER]: ids.web ?? '' });
      assert.equal(status, 200);
      stream.end('ping');
      let echoed = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => { echoed += chunk; });
      await once(stream, 'end');
      assert.equal(echoed, 'ping');
    }
    // The refusing endpoint was always followed by the other, and every stream carried its bytes.
    assert.ok(dialed.includes('10.0.0.1') && dialed.includes('10.0.0.2'), dialed.join());
    dialed.forEach((address, i) => { if (address === '10.0.0.1') assert.equal(dialed[i + 1], '10.0.0.2'); });
    assert.equal((await metrics.open.get()).values[0]?.value, 0);
  });

  it('gateway handler - refuses link-local, loopback and API server endpoints before dialing, counted by reason', async () => {
    dialed.length = 0;
    const before = { linkLocal: await count('link-local'), loopback: await count('loopback'), api: await count('api-server'), unreachable: await count('unreachable') };
    for (const name of ['metadata', 'loopback', 'apiserver']) {
      const refused = await open({ [EXPOSURE_HEADER]: ids[name] ?? '' });
      assert.deepEqual([refused.status, refused.code], [502, 'GATEWAY_UNREACHABLE'], name);
    }
    assert.deepEqual(dialed, []);
    assert.equal(await count('link-local'), before.linkLocal + 2);
    assert.equal(await count('loopback'), before.loopback + 2);
    assert.equal(await count('api-server'), before.api + 1);
    assert.equal(await count('unreachable'), before.unreachable + 3);
    const none = await open({ [EXPOSURE_HEADER]: ids.empty ?? '' });
    assert.deepEqual([none.status, none.code], [503, 'GATEWAY_NO_ENDPOINT']);
  });

  it('gateway handler - only the id counts: unknown and malformed ids are 403, other headers pick nothing', async () => {
    const before = { unknown: await count('unknown'), malformed: await count('malformed') };
    assert.deepEqual((await open({ [EXPOSURE_HEADER]: newExposureId() })).code, 'EXPOSURE_UNKNOWN');
    assert.deepEqual((await open({ 'x-uplink-forward-name': 'web', 'x-uplink-forward-namespace': 'ns' })).code, 'EXPOSURE_UNKNOWN');
    assert.deepEqual((await open({ [EXPOSURE_HEADER]: '10.0.0.2:8080' })).code, 'EXPOSURE_UNKNOWN');
    assert.equal(await count('unknown'), before.unknown + 1);
    assert.equal(await count('malformed'), before.malformed + 2);
  });

  it('gateway handler - holds at most maxOpen streams; a closed one frees its place', async () => {
    const first = await open({ [EXPOSURE_HEADER]: ids.web ?? '' });
    const second = await open({ [EXPOSURE_HEADER]: ids.web ?? '' });
    assert.equal((await open({ [EXPOSURE_HEADER]: ids.web ?? '' })).code, 'TOO_MANY_GATEWAY_STREAMS');
    assert.equal((await metrics.open.get()).values[0]?.value, 2);
    first.stream.close();
    second.stream.close();
    for (;;) {
      if ((await metrics.open.get()).values[0]?.value === 0) break;
      await new Promise((resolve) => setImmediate(resolve));
    }
    const third = await open({ [EXPOSURE_HEADER]: ids.web ?? '' });
    assert.equal(third.status, 200);
    third.stream.close();
  });
});
