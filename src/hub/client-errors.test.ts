// The hub's answers to requests Node's parser refuses, on a real Node HTTP
// server with the hub's header limit: 431 with a Status body and one audit
// row however much the client goes on sending, 400 for bytes that are not
// HTTP, and the request line read for the audit row only when it is there.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createClientErrorHandler, readableRequestLine, refusedHeadRecord } from './client-errors.ts';
import { MAX_REQUEST_HEAD_BYTES } from './connection-guard.ts';
import { HubMetrics } from './metrics.ts';
import type { AuditRecord } from './store/index.ts';

describe('client errors', () => {
  let server: http.Server;
  let port = 0;
  const audited: AuditRecord[] = [];
  const metrics = new HubMetrics();

  before(async () => {
    server = http.createServer({ maxHeaderSize: MAX_REQUEST_HEAD_BYTES }, (req, res) => {
      req.resume();
      res.end(`ok ${req.url?.length ?? 0}`);
    });
    server.on('clientError', createClientErrorHandler({ metrics, audit: (record) => { audited.push(record); } }));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as net.AddressInfo).port;
  });

  after(() => { server.close(); });

  /** Writes `bytes` on a fresh connection and collects the whole answer until the hub closes it. */
  async function exchange(bytes: string): Promise<string> {
    const socket = net.connect(port, '127.0.0.1');
    let answer = '';
    socket.on('data', (chunk: Buffer) => { answer += chunk.toString('latin1'); });
    socket.on('error', () => undefined);
    socket.write(bytes);
    socket.end();
    await once(socket, 'close');
    return answer;
  }

  function statusBody(answer: string): { kind: string; code: number; reason: string; message: string } {
    return JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as { kind: string; code: number; reason: string; message: string };
  }

  it('client errors - a head just within the limit passes, one byte more gets 431 with a Status body and one audit row', async () => {
    // Node counts the target, header names and values (here `Host` and `x`), and takes less than the limit.
    const target = (length: number): string => `/${'a'.repeat(length - 1)}`;
    const within = MAX_REQUEST_HEAD_BYTES - 'Hostx'.length - 1;
    const ok = await exchange(`GET ${target(within)} HTTP/1.1\r\nHost: x\r\n\r\n`);
    assert.match(ok, /^HTTP\/1\.1 200 /, ok.slice(0, 60));
    assert.match(ok, new RegExp(`ok ${within}$`));
    audited.length = 0;
    const refused = async (): Promise<number> => (await metrics.requestHeadsRefused.get()).values.find((v) => v.labels.reason === 'too_large')?.value ?? 0;
    const before = await refused();
    const answer = await exchange(`GET ${target(within + 1)} HTTP/1.1\r\nHost: x\r\n\r\n`);
    assert.match(answer, /^HTTP\/1\.1 431 Request Header Fields Too Large\r\n/);
    assert.match(answer, /\r\nContent-Type: application\/json\r\n/);
    assert.match(answer, /\r\nConnection: close\r\n/);
    const status = statusBody(answer);
    assert.deepEqual([status.kind, status.code, status.reason], ['Status', 431, 'RequestHeaderFieldsTooLarge']);
    assert.match(status.message, /longer than 1052672 bytes/);
    assert.equal(audited.length, 1, 'one row, although the parser failed on every chunk after the limit');
    assert.deepEqual([audited[0]?.status, audited[0]?.userName], [431, '(unauthenticated)']);
    assert.equal(await refused(), before + 1);
  });

  it('client errors - huge headers after a short request line are refused the same way', async () => {
    audited.length = 0;
    const answer = await exchange(`GET /k8s/clusters/c/api/v1/pods HTTP/1.1\r\nHost: x\r\nUser-Agent: ${'u'.repeat(2 * MAX_REQUEST_HEAD_BYTES)}\r\n\r\n`);
    assert.match(answer, /^HTTP\/1\.1 431 /);
    assert.equal(audited.length, 1);
  });

  it('client errors - bytes that are not HTTP get 400 with a Status body', async () => {
    const answer = await exchange('\u0000\u0001 not http\r\n\r\n');
    assert.match(answer, /^HTTP\/1\.1 400 Bad Request\r\n/);
    assert.equal(statusBody(answer).reason, 'BadRequest');
  });

  it('client errors - the audit row holds the method and path (never the query) only when the bytes start with them', () => {
    assert.deepEqual(readableRequestLine(Buffer.from('DELETE /k8s/clusters/prod/api/v1/pods?labelSelector=aaaa')), { method: 'DELETE', path: '/k8s/clusters/prod/api/v1/pods' });
    assert.equal(readableRequestLine(Buffer.from('aaaaaaaa&labelSelector=x HTTP/1.1\r\n')), undefined);
    assert.equal(readableRequestLine(Buffer.from('GET \u001b[2J HTTP/1.1')), undefined);
    assert.equal(readableRequestLine(undefined), undefined);
    const at = new Date('2026-01-01T00:00:00Z');
    const row = refusedHeadRecord(Buffer.from('aaaa'), 431, at);
    assert.deepEqual([row.verb, row.path, row.status, row.at], ['', '(not readable)', 431, '2026-01-01T00:00:00.000Z']);
    assert.equal(refusedHeadRecord(Buffer.from('PATCH /api/v1/x?y'), 429, at).verb, 'patch');
  });
});
