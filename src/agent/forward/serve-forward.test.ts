import assert from 'node:assert/strict';
import { once } from 'node:events';
import http2 from 'node:http2';
import { connect, createServer, type AddressInfo, type Server } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { FORWARD_HEADERS } from '../../link/forward.ts';
import { createLogger } from '../../util/logger.ts';
import { createForwardHandler, createForwardMetrics, type ForwardMetrics } from './index.ts';

/** A fake API server: Service `web` (port 80 named http) whose slice lists `address`:`port`; `meta` pointing at the metadata service. */
function fakeKube(): Parameters<typeof createForwardHandler>[0]['kube'] {
  const slices: Record<string, { address: string; port: number }> = { web: { address: '10.0.0.7', port: 8080 }, meta: { address: '169.254.169.254', port: 80 } };
  const answer = (status: number, body: unknown): Promise<{ status: number; body: unknown; headers: Record<string, string> }> => Promise.resolve({ status, body, headers: {} });
  const fake = {
    server: new URL('https://192.0.2.10:6443'),
    request: (_method: string, path: string) => {
      if (/services\/(web|meta)$/.test(path)) return answer(200, { spec: { ports: [{ name: 'http', port: 80 }] } });
      const sliceOf = /service-name%3D(web|meta)&/.exec(path)?.[1];
      const slice = sliceOf === undefined ? undefined : slices[sliceOf];
      if (slice === undefined) return answer(404, {});
      return answer(200, { items: [{ addressType: 'IPv4', ports: [{ name: 'http', port: slice.port }], endpoints: [{ addresses: [slice.address] }] }] });
    },
  };
  return fake as unknown as Parameters<typeof createForwardHandler>[0]['kube'];
}

describe('agent forward handler', () => {
  let echo: Server;
  let server: http2.Http2Server;
  let session: http2.ClientHttp2Session;
  let metrics: ForwardMetrics;
  const allowedUsers = new Set(['uplink:alice']);
  const dialed: string[] = [];

  before(async () => {
    // The Service's endpoint is 10.0.0.7:8080; the handler's connect notes what it was asked and reaches the echo server.
    echo = createServer((socket) => { socket.pipe(socket); });
    echo.listen(0, '127.0.0.1');
    await once(echo, 'listening');
    const echoPort = (echo.address() as AddressInfo).port;
    metrics = createForwardMetrics(new Registry());
    const handler = createForwardHandler({
      kube: fakeKube(), metrics, log: createLogger({ name: 'test', level: 'silent' }), maxOpen: 2,
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

  after(() => {
    session.close();
    server.close();
    echo.close();
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
    [FORWARD_HEADERS.kind]: target.kind ?? 'service', [FORWARD_HEADERS.namespace]: target.namespace ?? 'shop',
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
      [as('uplink:alice', { name: 'meta' }), 502, 'FORWARD_UNREACHABLE'],
    ];
    for (const [headers, status, code] of cases) assert.deepEqual(await open(headers).answer, { status, code }, JSON.stringify(headers));
    assert.equal((await metrics.refusedAddresses.get()).values.find((v) => v.labels.reason === 'link-local')?.value, 1);
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
