// Proves the agent's cluster credential never crosses the link. The hub
// serves plain HTTP behind a relay that records every byte; the test undoes
// the WebSocket masking (on a WebSocket link), walks the HTTP/2 frames the agent sent, and looks
// for the ServiceAccount token in every form it could take.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createConnection, createServer, type Server } from 'node:net';
import { describe, it } from 'node:test';
import type { ClusterView } from '../../src/hub/fleet.ts';
import { createTestNamespace, mintServiceAccountToken } from '../helpers/cluster.ts';
import { eventually, startAgent, startHub } from '../helpers/uplink.ts';

interface Capture {
  /** Bytes from agent to hub, one buffer per TCP connection. */
  fromAgent: Buffer[];
  server: Server;
  port: number;
}

/** A TCP relay that records what the agent sends on each connection. */
async function recordingRelay(targetPort: number): Promise<Capture> {
  const capture: Capture = { fromAgent: [], server: createServer(), port: 0 };
  capture.server.on('connection', (client) => {
    const index = capture.fromAgent.push(Buffer.alloc(0)) - 1;
    const upstream = createConnection(targetPort, '127.0.0.1');
    client.on('data', (chunk: Buffer) => { capture.fromAgent[index] = Buffer.concat([capture.fromAgent[index] ?? Buffer.alloc(0), chunk]); });
    client.pipe(upstream).pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  capture.server.listen(0, '127.0.0.1');
  await once(capture.server, 'listening');
  const address = capture.server.address();
  capture.port = typeof address === 'object' && address ? address.port : 0;
  return capture;
}

/**
 * Splits a client-to-server byte stream into the HTTP upgrade request and the
 * HTTP/2 bytes after it: as they are on a link upgraded to h2, unmasked out of
 * the WebSocket frames on a WebSocket link.
 */
function splitLinkStream(bytes: Buffer): { request: string; payload: Buffer } {
  const end = bytes.indexOf('\r\n\r\n');
  const request = bytes.subarray(0, end + 4).toString('latin1');
  if (/^upgrade: uplink-h2/im.test(request)) return { request, payload: bytes.subarray(end + 4) };
  const parts: Buffer[] = [];
  let offset = end + 4;
  while (offset + 2 <= bytes.length) {
    const second = bytes[offset + 1] ?? 0;
    let length = second & 0x7f;
    let cursor = offset + 2;
    if (length === 126) { length = bytes.readUInt16BE(cursor); cursor += 2; }
    else if (length === 127) { length = Number(bytes.readBigUInt64BE(cursor)); cursor += 8; }
    const masked = (second & 0x80) !== 0;
    const mask = masked ? bytes.subarray(cursor, cursor + 4) : Buffer.alloc(4);
    if (masked) cursor += 4;
    if (cursor + length > bytes.length) break; // a frame cut off by the end of the capture
    const data = Buffer.from(bytes.subarray(cursor, cursor + length));
    for (let i = 0; i < data.length; i++) data[i] = (data[i] ?? 0) ^ (mask[i % 4] ?? 0);
    if (((bytes[offset] ?? 0) & 0x0f) === 0x2 || ((bytes[offset] ?? 0) & 0x0f) === 0x0) parts.push(data);
    offset = cursor + length;
  }
  return { request, payload: Buffer.concat(parts) };
}

interface Http2Frame {
  type: number;
  length: number;
  payload: Buffer;
}

/** Walks HTTP/2 frames (an HTTP/2 server sends no connection preface magic). */
function http2Frames(stream: Buffer): Http2Frame[] {
  const frames: Http2Frame[] = [];
  let offset = 0;
  while (offset + 9 <= stream.length) {
    const length = stream.readUIntBE(offset, 3);
    const type = stream[offset + 3] ?? 0;
    frames.push({ type, length, payload: stream.subarray(offset + 9, offset + 9 + length) });
    offset += 9 + length;
  }
  return frames;
}

const HEADERS = 0x1;
const CONTINUATION = 0x9;
const DATA = 0x0;

describe('credentials on the link', () => {
  it('credentials - the ServiceAccount token never crosses the link', async (t) => {
    const namespace = await createTestNamespace(t, 'creds');
    const minted = await mintServiceAccountToken(t, { namespace, clusterRole: 'cluster-admin' });
    const hub = await startHub(t, { insecureHttp: true });
    const relay = await recordingRelay(hub.port);
    t.after(() => { relay.server.close(); });
    const created = await hub.client.request<{ token: string }>('POST', '/api/v1/clusters', { name: 'creds' });
    const agent = await startAgent(t, { hubUrl: `http://127.0.0.1:${relay.port}`, token: created.token, kubeconfig: minted.kubeconfig });
    // Heartbeats, an info request and a token rotation: everything the link carries today.
    await eventually('three heartbeats', 10_000, async () => {
      const text = await (await fetch(`${agent.healthUrl}/metrics`)).text();
      return /uplink_agent_heartbeats_total [3-9]/.test(text) ? true : undefined;
    });
    await hub.client.request('POST', '/api/v1/clusters/creds/rotate-token');
    await eventually('the relink after rotation', 10_000, async () =>
      ((await hub.client.request<ClusterView>('GET', '/api/v1/clusters/creds')).status === 'online' && relay.fromAgent.length >= 2 ? true : undefined));
    await agent.process.stop();

    const secret = minted.token;
    const [, , signature = ''] = secret.split('.');
    const forms = [secret, signature, Buffer.from(secret).toString('base64'), Buffer.from(secret).toString('base64url')];
    let framesSeen = 0;
    let dataBytes = 0;
    let heartbeatsDecoded = 0;
    for (const connection of relay.fromAgent) {
      const { request, payload } = splitLinkStream(connection);
      assert.match(request, /^GET \/api\/v1\/agent\/connect HTTP\/1\.1/);
      assert.match(request, /authorization: Bearer upc_/i, 'the agent authenticates with its cluster token');
      for (const form of forms) {
        assert.equal(request.includes(form), false, 'no ServiceAccount token in the upgrade request');
        assert.equal(payload.includes(form), false, 'no ServiceAccount token in what the agent sent');
      }
      for (const frame of http2Frames(payload)) {
        framesSeen += 1;
        if (frame.type === DATA) dataBytes += frame.length;
        // A JWT of ~1 KB cannot hide in a header block this small, even Huffman-coded.
        if (frame.type === HEADERS || frame.type === CONTINUATION) assert.ok(frame.length < 256, `header block of ${frame.length} bytes`);
      }
      assert.equal(payload.includes('BEGIN CERTIFICATE'), false, 'no certificate material');
      heartbeatsDecoded += payload.toString('latin1').split('"type":"heartbeat"').length - 1;
    }
    assert.ok(relay.fromAgent.length >= 2, 'captured the first link and the one after rotation');
    assert.ok(framesSeen > 10 && dataBytes > 1000, `inspected ${framesSeen} frames and ${dataBytes} data bytes`);
    // Readable heartbeats prove the unmasking and framing above decoded the real stream.
    assert.ok(heartbeatsDecoded >= 3, `decoded ${heartbeatsDecoded} heartbeats`);
  });
});
