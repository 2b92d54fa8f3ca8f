// Long request heads on a real Node HTTP server with the hub's header limit:
// a few may arrive at once, one more is answered 429 and audited with its
// method and path while short requests pass, slots come back when heads
// complete or connections close, and an upgraded connection is left alone.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createClientErrorHandler } from './client-errors.ts';
import { MAX_REQUEST_HEAD_BYTES } from './connection-guard.ts';
import { HubMetrics } from './metrics.ts';
import { LONG_HEAD_BYTES, RequestHeads } from './request-heads.ts';
import type { AuditRecord } from './store/index.ts';

const MAX_LONG = 2;

describe('request heads', () => {
  let server: http.Server;
  let port = 0;
  let heads: RequestHeads;
  const audited: AuditRecord[] = [];
  const metrics = new HubMetrics();

  before(async () => {
    server = http.createServer({ maxHeaderSize: MAX_REQUEST_HEAD_BYTES }, (req, res) => { res.end(`ok ${req.url?.length ?? 0}`); });
    heads = new RequestHeads({ metrics, audit: (record) => { audited.push(record); }, maxLong: MAX_LONG });
    server.on('clientError', createClientErrorHandler({ metrics, audit: (record) => { audited.push(record); }, heads }));
    heads.attach(server);
    server.on('upgrade', (_req, socket: net.Socket, head: Buffer) => {
      socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n');
      if (head.length > 0) socket.write(head);
      socket.pipe(socket);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as net.AddressInfo).port;
  });

  after(() => {
    server.closeAllConnections();
    server.close();
  });

  /** A connection that has sent `bytes` of a long request line and waits. */
  async function holdLongHead(bytes: number): Promise<net.Socket> {
    const socket = net.connect(port, '127.0.0.1');
    socket.on('error', () => undefined);
    await once(socket, 'connect');
    socket.write(`GET /held?q=${'h'.repeat(bytes)}`);
    return socket;
  }

  async function exchange(bytes: string, socket = net.connect(port, '127.0.0.1')): Promise<string> {
    let answer = '';
    socket.on('data', (chunk: Buffer) => { answer += chunk.toString('latin1'); });
    socket.on('error', () => undefined);
    socket.end(bytes);
    await once(socket, 'close');
    return answer;
  }

  async function until(what: string, check: () => boolean): Promise<void> {
    for (const deadline = Date.now() + 10_000; !check();) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await sleep(10);
    }
  }

  it('request heads - a long head passes and gives its slot back', async () => {
    const answer = await exchange(`GET /${'a'.repeat(LONG_HEAD_BYTES * 4)} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    assert.match(answer, /^HTTP\/1\.1 200 /);
    assert.equal(heads.long, 0);
  });

  it('request heads - beyond the long heads at once, one more gets 429 and an audit row; short requests pass', async () => {
    audited.length = 0;
    const held = [await holdLongHead(LONG_HEAD_BYTES * 2), await holdLongHead(LONG_HEAD_BYTES * 2)];
    await until('both heads counted as long', () => heads.long === MAX_LONG);
    const refused = await exchange(`DELETE /k8s/clusters/c/api/v1/pods?labelSelector=${'x'.repeat(LONG_HEAD_BYTES * 2)} HTTP/1.1\r\nHost: x\r\n\r\n`);
    assert.match(refused, /^HTTP\/1\.1 429 Too Many Requests\r\n/);
    assert.match(refused, /\r\nRetry-After: 1\r\n/);
    const status = JSON.parse(refused.slice(refused.indexOf('\r\n\r\n') + 4)) as { reason: string; message: string };
    assert.equal(status.reason, 'TooManyRequests');
    assert.deepEqual(audited.map((r) => [r.status, r.verb, r.path, r.userName]), [[429, 'delete', '/k8s/clusters/c/api/v1/pods', '(unauthenticated)']]);
    assert.match(await exchange('GET /livez HTTP/1.1\r\nHost: x\r\n\r\n'), /^HTTP\/1\.1 200 /, 'a short request passes meanwhile');
    // One held head completes, the other connection goes away: both slots come back.
    held[0]?.end(' HTTP/1.1\r\nHost: x\r\n\r\n');
    held[1]?.destroy();
    await until('the slots back', () => heads.long === 0);
    assert.match(await exchange(`GET /${'b'.repeat(LONG_HEAD_BYTES * 2)} HTTP/1.1\r\nHost: x\r\n\r\n`), /^HTTP\/1\.1 200 /);
  });

  it('request heads - each head on a kept-alive connection is counted afresh', async () => {
    const socket = net.connect(port, '127.0.0.1');
    await once(socket, 'connect');
    let answer = '';
    socket.on('data', (chunk: Buffer) => { answer += chunk.toString('latin1'); });
    socket.write(`GET /${'c'.repeat(LONG_HEAD_BYTES * 2)} HTTP/1.1\r\nHost: x\r\n\r\n`);
    await until('the first answer', () => answer.includes('ok '));
    assert.equal(heads.long, 0);
    socket.write(`GET /next?q=${'d'.repeat(LONG_HEAD_BYTES * 2)}`);
    await until('the second head counted as long', () => heads.long === 1);
    socket.destroy();
    await until('its slot back', () => heads.long === 0);
  });

  it('request heads - a head refused for its size is audited with its method and path, which Node\'s error no longer holds', async () => {
    audited.length = 0;
    const answer = await exchange(`PATCH /k8s/clusters/prod/api/v1/nodes?fieldSelector=${'f'.repeat(MAX_REQUEST_HEAD_BYTES)} HTTP/1.1\r\nHost: x\r\n\r\n`);
    assert.match(answer, /^HTTP\/1\.1 431 /);
    assert.deepEqual(audited.map((r) => [r.status, r.verb, r.path]), [[431, 'patch', '/k8s/clusters/prod/api/v1/nodes']]);
    assert.equal(heads.long, 0);
  });

  it('request heads - an upgraded connection\'s bytes are its own', async () => {
    const socket = net.connect(port, '127.0.0.1');
    await once(socket, 'connect');
    let answer = '';
    socket.on('data', (chunk: Buffer) => { answer += chunk.toString('latin1'); });
    socket.write('GET /echo HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n');
    await until('the 101', () => answer.includes('\r\n\r\n'));
    const payload = 'z'.repeat(LONG_HEAD_BYTES * 8);
    socket.write(payload);
    await until('the echo', () => answer.length >= answer.indexOf('\r\n\r\n') + 4 + payload.length);
    assert.equal(heads.long, 0, 'bytes after an upgrade are no head');
    socket.destroy();
  });
});
