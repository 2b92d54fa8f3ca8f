// Raw splicing of upgraded streams: each turn's chunks in one write to the
// sink, the end passed on (or not, when the caller judges it), the source
// paused only once much is queued and resumed on drain.
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import http from 'node:http';
import net, { type AddressInfo, type Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { countWrites } from '../../test/helpers/count-writes.ts';
import { MAX_QUEUED_BYTES, spliceRaw } from './splice-raw.ts';

const nextTurn = (): Promise<void> => new Promise((resolve) => { setImmediate(resolve); });

/** A real socket to a sink server, and everything the sink received once the socket ended. */
async function sinkSocket(): Promise<{ socket: Socket; received: Promise<string>; close: () => void }> {
  let received: Promise<string> = Promise.resolve('');
  const sink = net.createServer((connection) => {
    received = new Promise((resolve) => {
      let text = '';
      connection.on('data', (chunk: Buffer) => { text += chunk.toString(); });
      connection.on('end', () => { resolve(text); });
    });
  });
  await new Promise<void>((resolve) => { sink.listen(0, '127.0.0.1', resolve); });
  const socket = net.connect({ host: '127.0.0.1', port: (sink.address() as AddressInfo).port });
  await new Promise((resolve) => { socket.once('connect', resolve); });
  return { socket, get received() { return received; }, close: () => { socket.destroy(); sink.close(); } };
}

/** A sink that only counts what is queued in it. */
function fakeSink(): EventEmitter & { writableLength: number; ended: boolean; write(chunk: Buffer): boolean; end(): void; cork(): void; uncork(): void } {
  return Object.assign(new EventEmitter(), {
    writableLength: 0,
    ended: false,
    write(this: { writableLength: number }, chunk: Buffer): boolean {
      this.writableLength += chunk.length;
      return this.writableLength < 64 * 1024;
    },
    end(this: { ended: boolean }) { this.ended = true; },
    cork: () => undefined,
    uncork: () => undefined,
  });
}

describe('splice raw', () => {
  it('splice raw - chunks of one turn go out in one write, each counted, and the end follows', async () => {
    const sink = await sinkSocket();
    try {
      const writes = countWrites(sink.socket);
      const from = new PassThrough();
      let counted = 0;
      spliceRaw({ from, to: sink.socket, onChunk: (chunk) => { counted += chunk.length; } });
      for (const chunk of ['one ', 'two ', 'three']) from.write(chunk);
      await nextTurn();
      await nextTurn();
      assert.deepEqual([writes.count, counted], [1, 13]);
      from.end();
      assert.equal(await sink.received, 'one two three');
    } finally {
      sink.close();
    }
  });

  it('splice raw - into a chunked HTTP answer, the chunks of the last turn go out before its end', async () => {
    const server = http.createServer((_req, res) => {
      const from = new PassThrough();
      spliceRaw({ from, to: res });
      // One turn: written while the answer is corked, then the end (Node's end() would send the last chunk first).
      from.write('one ');
      from.end('two');
    });
    await new Promise<void>((resolve) => { server.listen(0, '127.0.0.1', resolve); });
    try {
      const response = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
      assert.deepEqual([response.headers.get('transfer-encoding'), await response.text()], ['chunked', 'one two']);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it('splice raw - with end false, the source ending leaves the sink open for the caller to judge', async () => {
    const from = new PassThrough();
    const to = fakeSink();
    spliceRaw({ from, to, end: false });
    from.end('last');
    await nextTurn();
    await nextTurn();
    assert.deepEqual([to.writableLength, to.ended], [4, false]);
  });

  it('splice raw - pauses its source only once much is queued, and resumes it on drain', async () => {
    const calls: string[] = [];
    const from = Object.assign(new EventEmitter(), { pause: () => { calls.push('pause'); }, resume: () => { calls.push('resume'); } });
    const to = fakeSink();
    spliceRaw({ from, to });
    from.emit('data', Buffer.alloc(MAX_QUEUED_BYTES / 2));
    assert.deepEqual(calls, [], 'above the socket\'s high-water mark, not yet paused');
    from.emit('data', Buffer.alloc(MAX_QUEUED_BYTES));
    assert.deepEqual(calls, ['pause']);
    from.emit('data', Buffer.alloc(1));
    assert.deepEqual(calls, ['pause'], 'paused once, one drain awaited');
    to.writableLength = 0;
    to.emit('drain');
    assert.deepEqual(calls, ['pause', 'resume']);
    await nextTurn();
  });
});
