import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { WebSocket, WebSocketServer } from 'ws';
import { MAX_WS_MESSAGE_BYTES } from './http2-settings.ts';
import { COALESCED_MESSAGE_BYTES, createLinkStream } from './ws-stream.ts';

describe('ws-stream', () => {
  const server = createServer();
  const wss = new WebSocketServer({ server, maxPayload: MAX_WS_MESSAGE_BYTES });
  const received: Buffer[] = [];
  let client: WebSocket;

  before(async () => {
    wss.on('connection', (ws) => { ws.on('message', (message: Buffer) => received.push(message)); });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    client = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}`);
    await once(client, 'open');
  });
  after(() => {
    client.terminate();
    wss.close();
    server.close();
  });

  async function sendBatch(parts: Buffer[]): Promise<void> {
    received.length = 0;
    const stream = createLinkStream(client);
    stream.cork();
    for (const part of parts.slice(0, -1)) stream.write(part);
    const written = new Promise((resolve) => stream.write(parts.at(-1), resolve));
    stream.uncork();
    await written;
    const total = parts.reduce((sum, part) => sum + part.length, 0);
    while (received.reduce((sum, message) => sum + message.length, 0) < total) await new Promise((r) => setTimeout(r, 5));
  }

  it('ws-stream - one write of several buffers is one message', async () => {
    const parts = [Buffer.from('header--9'), Buffer.alloc(16384, 1), Buffer.from('header--9'), Buffer.alloc(100, 2)];
    await sendBatch(parts);
    assert.equal(received.length, 1);
    assert.deepEqual(received[0], Buffer.concat(parts));
  });

  it('ws-stream - a batch over the cap is split, in order, under the peer limit', async () => {
    const parts = Array.from({ length: 400 }, (_, i) => Buffer.alloc(16384 + (i % 7), i % 251));
    await sendBatch(parts);
    assert.ok(received.length > 1);
    assert.ok(received.every((message) => message.length <= COALESCED_MESSAGE_BYTES));
    assert.deepEqual(Buffer.concat(received), Buffer.concat(parts));
  });
});
