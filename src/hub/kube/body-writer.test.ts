// How a streamed answer is written: the head with the body of its turn, or
// alone after it (a quiet watch); each turn's chunks in one write, the last
// with the end; the source paused while the client's connection is full.
import assert from 'node:assert/strict';
import http, { type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { countWrites } from '../../../test/helpers/count-writes.ts';
import { BodyWriter } from './body-writer.ts';

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

/** A 200 answer whose body `script` writes; its text, and the writes its socket made from before its head. */
async function answerWith(script: (body: BodyWriter) => void): Promise<{ text: string; writes: number }> {
  let writes = { count: 0 };
  handle = (res) => {
    writes = countWrites(res.socket);
    res.writeHead(200, { 'content-type': 'text/plain' });
    script(new BodyWriter(res));
  };
  const text = await (await get()).body;
  return { text, writes: writes.count };
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

const nextTurn = (): Promise<void> => new Promise((resolve) => { setImmediate(resolve); });

describe('body writer', () => {
  it('body writer - a head with no body in its turn goes out alone after it (a quiet watch is answered before its first event)', async () => {
    let body: BodyWriter | undefined;
    handle = (res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      body = new BodyWriter(res);
    };
    const answer = await get();
    assert.equal(answer.status, 200, 'the head came while the body had not begun');
    body?.write('{"type":"ADDED"}\n');
    body?.end();
    assert.equal(await answer.body, '{"type":"ADDED"}\n');
  });

  it('body writer - head, body and end of one turn go out in one write', async () => {
    const answer = await answerWith((body) => {
      body.write('{"kind":"List",');
      body.write(Buffer.from('"items":'));
      process.nextTick(() => { body.end('[]}'); });
    });
    assert.deepEqual(answer, { text: '{"kind":"List","items":[]}', writes: 1 });
  });

  it('body writer - the chunks of each turn go out together, in order', async () => {
    const answer = await answerWith((body) => {
      body.write('a');
      body.write('b');
      void nextTurn().then(async () => {
        body.write('c');
        body.write('d');
        await nextTurn();
        await nextTurn();
        body.end();
      });
    });
    // a+b with the head, c+d, and the chunked end alone (nothing was left to send with it).
    assert.deepEqual(answer, { text: 'abcd', writes: 3 });
  });

  it('body writer - pauses its source while the client\'s connection is full and resumes it on drain', async () => {
    const calls: string[] = [];
    const source = { pause: () => { calls.push('pause'); }, resume: () => { calls.push('resume'); } };
    let resumed: Promise<void> | undefined;
    handle = (res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      const body = new BodyWriter(res);
      // Far above any socket buffer: the write cannot be taken whole.
      body.write(Buffer.alloc(16 * 1024 * 1024, 1), source);
      resumed = new Promise((resolve) => { res.once('drain', () => { setImmediate(resolve); }); }).then(() => { body.end(); });
    };
    const answer = await get();
    assert.equal((await answer.body).length, 16 * 1024 * 1024);
    await resumed;
    assert.deepEqual(calls, ['pause', 'resume']);
  });

  it('body writer - writes nothing once the response is destroyed (the client left)', async () => {
    let done: Promise<void> | undefined;
    let errors = 0;
    handle = (res) => {
      res.on('error', () => { errors += 1; });
      res.writeHead(200, { 'content-type': 'text/plain' });
      const body = new BodyWriter(res);
      body.write('never sent');
      res.destroy();
      done = nextTurn().then(() => { body.end('nor this'); });
    };
    await assert.rejects(get());
    await done;
    await nextTurn();
    assert.equal(errors, 0);
  });
});
