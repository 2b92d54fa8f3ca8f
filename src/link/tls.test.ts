import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createHash, X509Certificate } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { createServer as createHttpsServer, get as httpsGet } from 'node:https';
import type { Server } from 'node:https';
import { createServer as createTcpServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect } from 'node:tls';
import { HUB_CA_PATH } from './protocol.ts';
import { ensureHubCertificates, type HubCertificates } from '../hub/tls-certificates.ts';
import { fetchPinnedCa } from './ca-pin.ts';
import { caHashOf, parseCaHash, tlsOptionsForHub, trustingCa } from './tls.ts';

const DAY_MS = 24 * 60 * 60 * 1000;

const tempDirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'uplink-tls-'));
  tempDirs.push(dir);
  return join(dir, 'certs');
}

/** An https server on 127.0.0.1 that serves `caPem` at HUB_CA_PATH and 404 elsewhere. */
async function startHub(certs: { certPem: string; keyPem: string }, caPem: string): Promise<{ server: Server; url: string }> {
  const server = createHttpsServer({ key: certs.keyPem, cert: certs.certPem }, (req, res) => {
    if (req.url === HUB_CA_PATH) {
      res.writeHead(200, { 'content-type': 'application/x-pem-file' }).end(caPem);
    } else {
      res.writeHead(404).end('not found');
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, url: `https://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

async function stopServer(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
}

function expiryOf(certPem: string): number {
  return new X509Certificate(certPem).validToDate.getTime();
}

function serialOf(certPem: string): string {
  return new X509Certificate(certPem).serialNumber;
}

async function rejectsWithCode(promise: Promise<unknown>, code: string, message?: RegExp): Promise<Error> {
  let caught: unknown;
  await assert.rejects(promise, (error: unknown) => {
    caught = error;
    return true;
  });
  assert.ok(caught instanceof Error);
  assert.equal((caught as Error & { code?: string }).code, code, caught.message);
  if (message) assert.match(caught.message, message);
  return caught;
}

describe('tls - behaviour', () => {
  let dir: string;
  let hub: HubCertificates;

  before(async () => {
    dir = await tempDir();
    hub = await ensureHubCertificates({ dir });
  });

  after(async () => {
    await Promise.all(tempDirs.map((path) => rm(path, { recursive: true, force: true })));
  });

  it('tls - generates a CA and server certificate, keys 0600 in a 0700 dir', async () => {
    assert.equal(hub.created, true);
    assert.deepEqual((await readdir(dir)).sort(), ['ca.crt', 'ca.key', 'server.crt', 'server.key']);
    assert.equal((await stat(dir)).mode & 0o777, 0o700);
    assert.equal((await stat(join(dir, 'ca.key'))).mode & 0o777, 0o600);
    assert.equal((await stat(join(dir, 'server.key'))).mode & 0o777, 0o600);
    assert.equal(await readFile(join(dir, 'ca.crt'), 'utf8'), hub.caPem);

    const ca = new X509Certificate(hub.caPem);
    assert.equal(ca.subject, 'CN=Uplink hub CA');
    assert.equal(ca.ca, true);
    assert.ok(ca.validToDate.getTime() - Date.now() > 9 * 365 * DAY_MS);
    const [serverPem, chainedCaPem] = hub.certPem.split(/(?<=-----END CERTIFICATE-----\n)/);
    assert.equal(chainedCaPem, hub.caPem, 'certPem is the server certificate followed by the CA');
    const server = new X509Certificate(serverPem ?? '');
    assert.equal(server.ca, false);
    assert.ok(server.verify(ca.publicKey));
    assert.ok(server.checkHost('localhost'));
    assert.ok(server.checkIP('127.0.0.1'));
    assert.ok(server.checkIP('::1'));
    assert.match(server.keyUsage.join(','), /1\.3\.6\.1\.5\.5\.7\.3\.1/);
  });

  it('tls - a second call reuses the files', async () => {
    const again = await ensureHubCertificates({ dir });
    assert.equal(again.created, false);
    assert.equal(again.caHash, hub.caHash);
    assert.equal(again.certPem, hub.certPem);
    assert.equal(again.keyPem, hub.keyPem);
  });

  it('tls - a new SAN re-issues the server certificate with the same CA', async () => {
    const other = await tempDir();
    const first = await ensureHubCertificates({ dir: other });
    const withSan = await ensureHubCertificates({ dir: other, dnsNames: ['hub.example.com'], ipAddresses: ['10.0.0.7'] });
    assert.equal(withSan.created, true);
    assert.equal(withSan.caPem, first.caPem);
    assert.equal(withSan.caHash, first.caHash);
    assert.notEqual(serialOf(withSan.certPem), serialOf(first.certPem));
    const server = new X509Certificate(withSan.certPem);
    assert.ok(server.checkHost('hub.example.com'));
    assert.ok(server.checkIP('10.0.0.7'));
    const same = await ensureHubCertificates({ dir: other, dnsNames: ['HUB.example.com.'], ipAddresses: ['10.0.0.7'] });
    assert.equal(same.created, false, 'names already present are not a reason to re-issue');
  });

  it('tls - an expiring server certificate is re-issued, the CA kept', async () => {
    const other = await tempDir();
    const old = await ensureHubCertificates({ dir: other, now: new Date(Date.now() - 340 * DAY_MS) });
    assert.ok(expiryOf(old.certPem) - Date.now() < 30 * DAY_MS);
    const renewed = await ensureHubCertificates({ dir: other });
    assert.equal(renewed.created, true);
    assert.equal(renewed.caPem, old.caPem);
    assert.ok(expiryOf(renewed.certPem) - Date.now() > 300 * DAY_MS);
  });

  it('tls - rejects a malformed SAN with a message naming the field', async () => {
    await rejectsWithCode(ensureHubCertificates({ dir, ipAddresses: ['10.0.0'] }), 'INVALID_SAN', /ipAddresses/);
    await rejectsWithCode(ensureHubCertificates({ dir, dnsNames: ['bad name'] }), 'INVALID_SAN', /dnsNames/);
  });

  it('tls - the server certificate verifies against the CA in a real handshake', async () => {
    const { server, url } = await startHub(hub, hub.caPem);
    try {
      const socket = connect({ host: '127.0.0.1', port: Number(new URL(url).port), servername: 'localhost', ca: hub.caPem });
      await once(socket, 'secureConnect');
      assert.equal(socket.authorized, true);
      socket.destroy();
    } finally {
      await stopServer(server);
    }
  });

  it('tls - caHashOf is stable and hashes the DER SubjectPublicKeyInfo', () => {
    const spki = new X509Certificate(hub.caPem).publicKey.export({ type: 'spki', format: 'der' });
    const expected = `sha256:${createHash('sha256').update(spki).digest('hex')}`;
    assert.equal(caHashOf(hub.caPem), expected);
    assert.equal(hub.caHash, expected);
    assert.equal(caHashOf(hub.caPem + hub.caPem), expected);
    assert.notEqual(caHashOf(hub.certPem), expected, 'the first certificate of certPem is the server one');
  });

  it('tls - parseCaHash accepts sha256:<64 hex> in any case and rejects the rest', () => {
    const hex = 'aB'.repeat(32);
    assert.equal(parseCaHash(`sha256:${hex}`), `sha256:${hex.toLowerCase()}`);
    assert.equal(parseCaHash(`SHA256:${hex}`), `sha256:${hex.toLowerCase()}`);
    for (const bad of ['', hex, `sha256:${hex.slice(1)}`, `sha256:${hex}0`, `sha1:${hex}`, `sha256:${'g'.repeat(64)}`]) {
      assert.throws(
        () => parseCaHash(bad),
        (error: Error & { code?: string }) => error.code === 'INVALID_CA_HASH' && /sha256:' followed by 64 hex/.test(error.message),
        bad,
      );
    }
  });

  it('tls - tlsOptionsForHub verifies unless the operator opts out', () => {
    assert.deepEqual(tlsOptionsForHub({ caPem: hub.caPem }), { ca: hub.caPem, rejectUnauthorized: true });
    assert.deepEqual(tlsOptionsForHub({}), { rejectUnauthorized: true });
    assert.deepEqual(tlsOptionsForHub({ insecureSkipVerify: true }), { rejectUnauthorized: false });
  });

  describe('fetchPinnedCa', () => {
    let server: Server;
    let url: string;

    before(async () => {
      ({ server, url } = await startHub(hub, hub.caPem));
    });
    after(async () => {
      await stopServer(server);
    });

    it('tls - returns the CA for the right pin, usable as ca afterwards', async () => {
      const caPem = await fetchPinnedCa({ url, caHash: hub.caHash.toUpperCase().replace('SHA256', 'sha256') });
      assert.equal(caPem, hub.caPem);
      const res = await new Promise<{ statusCode?: number }>((resolve, reject) => {
        httpsGet(`${url}${HUB_CA_PATH}`, { ...tlsOptionsForHub({ caPem }), servername: 'localhost' }, (response) => {
          response.resume();
          resolve(response);
        }).on('error', reject);
      });
      assert.equal(res.statusCode, 200);
    });

    it('tls - trustingCa reuses one context per CA, verifies with it, and refuses a hub another CA signed', async () => {
      const caPem = await fetchPinnedCa({ url, caHash: hub.caHash });
      const first = trustingCa(caPem);
      assert.equal(trustingCa(caPem).secureContext, first.secureContext, 'the same context for the same CA');
      assert.deepEqual(trustingCa(undefined), {});
      const get = (options: object): Promise<number | undefined> => new Promise((resolve, reject) => {
        httpsGet(`${url}${HUB_CA_PATH}`, { ...options, agent: false, servername: 'localhost' }, (response) => {
          response.resume();
          resolve(response.statusCode);
        }).on('error', reject);
      });
      assert.equal(await get(trustingCa(caPem)), 200);
      const other = await ensureHubCertificates({ dir: await tempDir() });
      assert.notEqual(trustingCa(other.caPem).secureContext, first.secureContext, 'a new context for another CA');
      await assert.rejects(get(trustingCa(other.caPem)), /self-signed|unable to verify|certificate/i);
    });

    it('tls - fails CA_HASH_MISMATCH naming the served hash for a wrong pin', async () => {
      const wrong = `sha256:${'0'.repeat(64)}`;
      const error = await rejectsWithCode(fetchPinnedCa({ url, caHash: wrong }), 'CA_HASH_MISMATCH');
      assert.ok(error.message.includes(hub.caHash), error.message);
      assert.ok(error.message.includes(url), error.message);
    });

    it('tls - fails CA_NOT_ISSUER when the TLS certificate comes from another CA', async () => {
      const impostor = await ensureHubCertificates({ dir: await tempDir() });
      const relay = await startHub(impostor, hub.caPem);
      try {
        await rejectsWithCode(fetchPinnedCa({ url: relay.url, caHash: hub.caHash }), 'CA_NOT_ISSUER', /not signed by the pinned CA/);
      } finally {
        await stopServer(relay.server);
      }
    });

    it('tls - fails CA_FETCH_FAILED on a 404', async () => {
      const { server: bare, url: bareUrl } = await startHub(hub, hub.caPem);
      bare.removeAllListeners('request');
      bare.on('request', (_req, res) => res.writeHead(404).end());
      try {
        await rejectsWithCode(fetchPinnedCa({ url: bareUrl, caHash: hub.caHash }), 'CA_FETCH_FAILED', /HTTP status 404/);
      } finally {
        await stopServer(bare);
      }
    });

    it('tls - fails CA_FETCH_FAILED fast on a closed port, with the cause attached', async () => {
      const probe = createTcpServer().listen(0, '127.0.0.1');
      await once(probe, 'listening');
      const { port } = probe.address() as AddressInfo;
      await new Promise((resolve) => probe.close(resolve));
      // The refusal itself is the cause: the fetch failed on it, not on a timeout.
      const error = await rejectsWithCode(fetchPinnedCa({ url: `https://127.0.0.1:${port}`, caHash: hub.caHash }), 'CA_FETCH_FAILED');
      assert.ok(error.message.includes(`127.0.0.1:${port}`), error.message);
      assert.equal((error.cause as { code?: string }).code, 'ECONNREFUSED');
    });

    it('tls - fails CA_FETCH_FAILED when the hub never answers within the timeout', async () => {
      // Accepts and reads, never answers: the TLS handshake stalls.
      const silent = createTcpServer((socket) => socket.resume()).listen(0, '127.0.0.1');
      await once(silent, 'listening');
      const { port } = silent.address() as AddressInfo;
      try {
        const error = await rejectsWithCode(
          fetchPinnedCa({ url: `https://127.0.0.1:${port}`, caHash: hub.caHash, timeoutMs: 200 }),
          'CA_FETCH_FAILED',
          /within 200 ms/,
        );
        assert.ok(error.cause);
      } finally {
        await new Promise((resolve) => silent.close(resolve));
      }
    });
  });
});
