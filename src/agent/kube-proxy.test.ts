// The agent's kubectl passthrough between a real HTTP/2 link stream and an
// upstream standing in for the API server (it can answer with headers the
// test cluster's API server never sends): a head in an envelope goes
// upstream exactly like an ordinary request and under the same checks, a bad
// envelope is refused without harm, and an answer is taken up to the API
// server's header size but sent back over the link only while its head fits.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { KUBE_MAX_HEAD_BYTES } from '../kube/limits.ts';
import { encodeKubeEnvelope, MAX_LINK_RESPONSE_HEAD_BYTES, type KubeEnvelopeHead } from '../link/kube-envelope.ts';
import { AGENT_PATHS } from '../link/protocol.ts';
import { createLogger } from '../util/logger.ts';
import { KubeClient } from './kube.ts';
import { createKubeProxy } from './kube-proxy.ts';

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

interface Answer {
  status: number;
  headers: http2.IncomingHttpHeaders;
  body: string;
}

const IMPERSONATION = { 'impersonate-user': 'uplink:alice', 'impersonate-group': 'uplink:edit' };

describe('agent kube proxy', () => {
  let upstream: http.Server;
  let link: http2.Http2Server;
  let client: http2.ClientHttp2Session;
  let kube: KubeClient;
  let dir: string;
  const seen: Seen[] = [];

  before(async () => {
    upstream = http.createServer({ maxHeaderSize: KUBE_MAX_HEAD_BYTES }, (req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => { body += chunk.toString(); });
      req.on('end', () => {
        seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
        const pad = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('padHeaderBytes') ?? 0);
        res.writeHead(200, { 'content-type': 'application/json', ...(pad > 0 ? { 'x-pad': 'p'.repeat(pad) } : {}) }).end('{"kind":"Status"}');
      });
    });
    upstream.listen(0, '127.0.0.1');
    await once(upstream, 'listening');
    dir = mkdtempSync(join(tmpdir(), 'uplink-kube-proxy-'));
    const file = join(dir, 'config');
    writeFileSync(file, stringify({
      apiVersion: 'v1', kind: 'Config', 'current-context': 'c',
      clusters: [{ name: 'c', cluster: { server: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}` } }],
      users: [{ name: 'u', user: { token: 'agent-token' } }],
      contexts: [{ name: 'c', context: { cluster: 'c', user: 'u' } }],
    }));
    kube = new KubeClient({ kubeconfig: file });
    link = http2.createServer(createKubeProxy({ kube, log: createLogger({ name: 'kube-proxy-test', level: 'silent' }) }));
    link.listen(0, '127.0.0.1');
    await once(link, 'listening');
    client = http2.connect(`http://127.0.0.1:${(link.address() as AddressInfo).port}`);
  });

  after(() => {
    client.close();
    link.close();
    upstream.close();
    kube.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function send(headers: http2.OutgoingHttpHeaders, body?: Buffer): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const stream = client.request(headers, { endStream: body === undefined });
      let answer: Answer = { status: 0, headers: {}, body: '' };
      stream.on('response', (h) => { answer = { status: Number(h[':status']), headers: h, body: '' }; });
      stream.on('data', (chunk: Buffer) => { answer.body += chunk.toString(); });
      stream.on('end', () => { resolve(answer); });
      stream.on('error', reject);
      if (body !== undefined) stream.end(body);
    });
  }

  const viaEnvelope = (head: KubeEnvelopeHead, body = ''): Promise<Answer> =>
    send({ ':method': 'POST', ':path': AGENT_PATHS.kubeEnvelope }, Buffer.concat([encodeKubeEnvelope(head), Buffer.from(body)]));

  it('kube proxy - a head in an envelope reaches the API server as the request it describes, body after it', async () => {
    seen.length = 0;
    const target = `/api/v1/namespaces/a/configmaps/x?fieldManager=kubectl&labelSelector=${'k'.repeat(40_000)}`;
    const answer = await viaEnvelope({
      method: 'PUT', target,
      headers: { ...IMPERSONATION, 'content-type': 'application/json', 'x-remote-user': 'admin', authorization: 'Bearer stolen', 'user-agent': 'kubectl/v1.36' },
    }, '{"data":{"a":"1"}}');
    assert.equal(answer.status, 200, answer.body);
    assert.equal(seen.length, 1);
    const request = seen[0];
    assert.ok(request);
    assert.equal(request.method, 'PUT');
    assert.equal(request.url, target);
    assert.equal(request.body, '{"data":{"a":"1"}}');
    assert.equal(request.headers['impersonate-user'], 'uplink:alice');
    assert.equal(request.headers['user-agent'], 'kubectl/v1.36');
    assert.equal(request.headers.authorization, 'Bearer agent-token', 'the agent\'s own credentials, never the envelope\'s');
    assert.equal(request.headers['x-remote-user'], undefined, 'the header allow-list applies to envelopes too');
  });

  it('kube proxy - an envelope gets the checks of an ordinary request: impersonation and path', async () => {
    seen.length = 0;
    const noImpersonation = await viaEnvelope({ method: 'GET', target: '/api/v1/pods', headers: {} });
    assert.equal(noImpersonation.status, 403);
    const masters = await viaEnvelope({ method: 'GET', target: '/api/v1/pods', headers: { ...IMPERSONATION, 'impersonate-group': 'system:masters' } });
    assert.equal(masters.status, 403);
    const otherHost = await viaEnvelope({ method: 'GET', target: '//10.0.0.1:10250/pods', headers: IMPERSONATION });
    assert.equal(otherHost.status, 400);
    assert.equal((JSON.parse(otherHost.body) as { kind: string }).kind, 'Status');
    assert.equal(seen.length, 0, 'nothing went upstream');
  });

  it('kube proxy - a cut, oversized or malformed envelope is answered 400 and the next request still works', async () => {
    seen.length = 0;
    const envelope = encodeKubeEnvelope({ method: 'GET', target: '/api/v1/pods', headers: IMPERSONATION });
    const bodies = [envelope.subarray(0, 10), Buffer.from([0xff, 0xff, 0xff, 0xff, 1, 2]), Buffer.concat([Buffer.from([0, 0, 0, 2]), Buffer.from('{]')]), Buffer.alloc(0)];
    for (const body of bodies) {
      const answer = await send({ ':method': 'POST', ':path': AGENT_PATHS.kubeEnvelope }, body);
      assert.equal(answer.status, 400, answer.body);
      assert.equal((JSON.parse(answer.body) as { reason: string }).reason, 'BadRequest');
    }
    assert.equal(seen.length, 0);
    assert.equal((await send({ ':method': 'GET', ':path': `${AGENT_PATHS.kube}/api/v1/pods`, ...IMPERSONATION })).status, 200);
  });

  it('kube proxy - answers with headers over Node\'s 16 KiB pass, over what the link carries get 502', async () => {
    const ok = await send({ ':method': 'GET', ':path': `${AGENT_PATHS.kube}/api/v1/pods?padHeaderBytes=30000`, ...IMPERSONATION });
    assert.equal(ok.status, 200, ok.body);
    assert.equal(ok.headers['x-pad']?.length, 30_000);
    const tooLarge = await send({ ':method': 'GET', ':path': `${AGENT_PATHS.kube}/api/v1/pods?padHeaderBytes=${MAX_LINK_RESPONSE_HEAD_BYTES}`, ...IMPERSONATION });
    assert.equal(tooLarge.status, 502);
    assert.match((JSON.parse(tooLarge.body) as { message: string }).message, /the API server answered with \d+ bytes of headers; the link carries at most 49152/);
    assert.equal((await send({ ':method': 'GET', ':path': `${AGENT_PATHS.kube}/api/v1/pods`, ...IMPERSONATION })).status, 200, 'the link is fine');
  });
});
