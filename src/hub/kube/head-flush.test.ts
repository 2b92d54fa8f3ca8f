// When a streamed answer's head goes out: alone when no body follows in the
// same turn of the event loop (a watch), else in one write with the body.
import assert from 'node:assert/strict';
import http, { type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { flushHeadSoon } from './head-flush.ts';

let server: http.Server;
let port: number;
let handle: (res: ServerResponse) => void = () => undefined;

before(async () => {
  server = http.createServer((req, res) => {
    req.resume();
    handle(res);
  });
  await new Promise<void>((resolve) => { server.listen(0, '127.0.0.1', resolve); });
  port = (server.address() as AddressInfo).port;
});
after(() => {
  server.closeAllConnections();
  server.close();
});

/** Counts the writes that reach the response's socket from now on (each is a syscall, and on TLS a record). */
function countWrites(res: ServerResponse): { count: number } {
  const socket = res.socket as Socket & { _write: (...args: unknown[]) => void; _writev: (...args: unknown[]) => void };
  const counter = { count: 0 };
  const write = socket._write.bind(socket);
  const writev = socket._writev.bind(socket);
  socket._write = (...args) => { counter.count += 1; write(...args); };
  socket._writev = (...args) => { counter.count += 1; writev(...args); };
  return counter;
}

/** GETs from the server; resolves with the response once its head is in, and the whole body later. */
function get(): Promise<{ status: number; body: Promise<string> }> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
      const body = new Promise<string>((done, fail) => {
        let text = '';
        res.on('data', (chunk: Buffer) => { text += chunk.toString(); });
        res.on('end', () => { done(text); });
        res.on('error', fail);
      });
      resolve({ status: res.statusCode ?? 0, body });
    }).on('error', reject);
  });
}

describe('head flush', () => {
  it('head flush - a head with no body in the same turn is sent alone after it (a watch is answered before its first event)', async () => {
    let end: (() => void) | undefined;
    handle = (res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      flushHeadSoon(res, () => false);
      end = () => { res.end('{"type":"ADDED"}\n'); };
    };
    const answer = await get();
    assert.equal(answer.status, 200, 'the head came while the body had not begun');
    assert.ok(end !== undefined);
    end();
    assert.equal(await answer.body, '{"type":"ADDED"}\n');
  });

  it('head flush - a head whose body begins in the same turn goes out in one write with it', async () => {
    let writes: { count: number } | undefined;
    handle = (res) => {
      writes = countWrites(res);
      res.writeHead(200, { 'content-type': 'application/json' });
      let wrote = false;
      flushHeadSoon(res, () => wrote);
      process.nextTick(() => {
        wrote = true;
        res.write('{"kind":"List",');
        res.end('"items":[]}');
      });
    };
    const answer = await get();
    assert.equal(await answer.body, '{"kind":"List","items":[]}');
    assert.equal(writes?.count, 1);
  });

  it('head flush - an answer ended in the same turn is left alone', async () => {
    let writes: { count: number } | undefined;
    let flushed: Promise<void> | undefined;
    handle = (res) => {
      writes = countWrites(res);
      res.writeHead(204);
      flushHeadSoon(res, () => false);
      res.end();
      flushed = new Promise((resolve) => { setImmediate(resolve); });
    };
    const answer = await get();
    assert.equal(answer.status, 204);
    await answer.body;
    await flushed;
    assert.equal(writes?.count, 1);
  });
});
