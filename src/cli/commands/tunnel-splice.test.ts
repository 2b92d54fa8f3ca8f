import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { ensureHubCertificates, type HubCertificates } from '../../hub/tls-certificates.ts';
import { spliceTunnel } from './tunnel-splice.ts';

/** A local connection whose client has already sent everything (half-closed): the server side, paused, its end seen. */
async function halfClosedLocal(): Promise<{ local: Socket; client: Socket; close: () => void }> {
  const server = createServer({ allowHalfOpen: true });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const accepted = once(server, 'connection') as Promise<[Socket]>;
  const client = connect((server.address() as { port: number }).port, '127.0.0.1');
  client.end();
  const [local] = await accepted;
  local.resume();
  await once(local, 'end');
  local.pause();
  return { local, client, close: () => { local.destroy(); client.destroy(); server.close(); } };
}

function readAll(socket: Socket): Promise<string> {
  let text = '';
  socket.on('data', (chunk: Buffer) => { text += chunk.toString(); });
  return new Promise((resolve, reject) => {
    socket.on('close', () => { resolve(text); });
    socket.on('error', reject);
  });
}

describe('uplink forward tunnel', () => {
  const dir = mkdtempSync(join(tmpdir(), 'uplink-tunnel-'));
  let certs: HubCertificates;
  before(async () => { certs = await ensureHubCertificates({ dir }); });
  after(() => { rmSync(dir, { recursive: true, force: true }); });

  it('tunnel - the hub\'s last bytes reach a client that half-closed first, when they come in the read of the 101', async (t) => {
    // The hub's side: its answer, the service's last bytes and its end, written at once, so the
    // tunnel's TLS socket reads them in one read: the 101's record, then the bytes' record.
    const hub = tls.createServer({ key: certs.keyPem, cert: certs.certPem }, (socket) => {
      socket.on('error', () => undefined);
      socket.write('HTTP/1.1 101 Switching Protocols\r\n\r\n');
      socket.write('BYE\n');
      socket.end();
    });
    hub.listen(0, '127.0.0.1');
    await once(hub, 'listening');
    t.after(() => { hub.close(); });
    const { local, client, close } = await halfClosedLocal();
    t.after(close);
    const received = readAll(client);
    const remote = tls.connect({ port: (hub.address() as { port: number }).port, host: '127.0.0.1', ca: certs.caPem, servername: 'localhost' });
    remote.on('error', () => undefined);
    t.after(() => { remote.destroy(); });
    // As the CLI does: the 101 is read (here, the first record), then the splice starts a microtask later.
    remote.once('data', () => {
      remote.pause();
      queueMicrotask(() => { spliceTunnel({ local, remote, head: Buffer.alloc(0) }); });
    });
    assert.equal(await received, 'BYE\n');
  });
});
