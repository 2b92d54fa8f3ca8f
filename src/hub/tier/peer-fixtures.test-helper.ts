// Real TLS material for the tier's tests: the hub's CA and serving
// certificate as the hub makes them (ensureHubCertificates), peer
// certificates issued from it, a second, unrelated CA, and a leaf of the
// hub's CA that may authenticate clients but is not marked as a peer's.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { webcrypto } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { createLogger } from '../../util/logger.ts';
import { ensureHubCertificates } from '../tls-certificates.ts';
import { x509 } from '../x509.ts';
import { issuePeerCertificate, type PeerCredentials } from './peer-certificates.ts';
import type { PeerTarget } from './peer-connections.ts';
import type { PeerRelay } from './peer-relay.ts';
import { startPeerServer, type RunningPeerServer } from './peer-server.ts';

export interface TierFixtures {
  caPem: string;
  caKeyPem: string;
  /** The hub's ordinary serving certificate (with the CA after it) and key. */
  serving: { certPem: string; keyPem: string };
  /** Peer certificates of replicas a, b and c, for 127.0.0.1. */
  peers: Record<'a' | 'b' | 'c', PeerCredentials>;
  /** A peer certificate of another CA, and that CA. */
  stranger: PeerCredentials;
  /** A clientAuth leaf of the hub's CA without the peer mark. */
  unmarked: { certPem: string; keyPem: string };
  cleanup(): void;
}

/** Builds the material once per test file (key generation takes a moment). */
export async function tierFixtures(): Promise<TierFixtures> {
  const dir = mkdtempSync(join(tmpdir(), 'uplink-tier-'));
  const hub = await ensureHubCertificates({ dir: join(dir, 'hub') });
  const other = await ensureHubCertificates({ dir: join(dir, 'other') });
  const caKeyPem = readFileSync(join(dir, 'hub', 'ca.key'), 'utf8');
  const otherKeyPem = readFileSync(join(dir, 'other', 'ca.key'), 'utf8');
  const peer = (caPem: string, key: string, replicaId: string): Promise<PeerCredentials> =>
    issuePeerCertificate({ caPem, caKeyPem: key, replicaId, peerUrl: 'https://127.0.0.1:1' });
  return {
    caPem: hub.caPem, caKeyPem,
    serving: { certPem: hub.certPem, keyPem: hub.keyPem },
    peers: { a: await peer(hub.caPem, caKeyPem, 'a'), b: await peer(hub.caPem, caKeyPem, 'b'), c: await peer(hub.caPem, caKeyPem, 'c') },
    stranger: await peer(other.caPem, otherKeyPem, 'a'),
    unmarked: await unmarkedLeaf(hub.caPem, caKeyPem),
    cleanup: () => { rmSync(dir, { recursive: true, force: true }); },
  };
}

async function unmarkedLeaf(caPem: string, caKeyPem: string): Promise<{ certPem: string; keyPem: string }> {
  const algorithm = { name: 'ECDSA', namedCurve: 'P-256' };
  const caKey = await webcrypto.subtle.importKey('pkcs8', x509.PemConverter.decodeFirst(caKeyPem), algorithm, false, ['sign']);
  const keys = await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.create({
    subject: 'CN=not a peer', issuer: new x509.X509Certificate(caPem).subjectName, publicKey: keys.publicKey, signingKey: caKey,
    notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + 86_400_000), signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    extensions: [
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
      new x509.SubjectAlternativeNameExtension([{ type: 'ip', value: '127.0.0.1' }, { type: 'url', value: 'spiffe://uplink/a' }]),
    ],
  });
  const der = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  return { certPem: cert.toString('pem'), keyPem: x509.PemConverter.encode(der, 'PRIVATE KEY') };
}

/** A plain HTTP server on loopback standing in for a replica's public port; resolves with its port. */
export async function listenLoopback(server: http.Server): Promise<number> {
  await new Promise<void>((resolve) => { server.listen(0, '127.0.0.1', resolve); });
  return (server.address() as AddressInfo).port;
}

export interface ClientAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One request to a loopback port, its whole answer read. */
export function fetchLoopback(port: number, options: http.RequestOptions & { body?: string | Buffer }): Promise<ClientAnswer> {
  return new Promise((resolve, reject) => {
    const request = http.request({ host: '127.0.0.1', port, agent: false, ...options }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }); });
      res.on('error', reject);
    });
    request.on('error', reject);
    request.end(options.body);
  });
}

/** Resolves on the next emission of `event`. */
export function nextEvent<T = unknown>(emitter: NodeJS.EventEmitter, event: string): Promise<T> {
  return new Promise((resolve) => { emitter.once(event, (value: T) => { resolve(value); }); });
}

/** Waits for a condition that follows from an event already under way (a deadline, not a speed). */
export async function waitFor(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met within 10 s');
    await new Promise<void>((resolve) => { setImmediate(resolve); });
  }
}

/** Replica A's public port relaying to replica B's peer port; what each does is set per test through the fields. */
export interface TwoReplicas {
  portA: number;
  peerB: RunningPeerServer;
  /** A's relay, replaced by tests that need other options. */
  relay: PeerRelay;
  /** Where A relays to (B unless a test says otherwise). */
  target: PeerTarget;
  /** B's hub: its plain requests and upgrades. */
  hubB: (req: http.IncomingMessage, res: http.ServerResponse) => void;
  upgradeB: (req: http.IncomingMessage, socket: Duplex, head: Buffer) => void;
  /** B as A reaches it. */
  targetB(): PeerTarget;
  close(): Promise<void>;
}

export async function startTwoReplicas(fixtures: TierFixtures, relay: PeerRelay): Promise<TwoReplicas> {
  const log = createLogger({ name: 'test', level: 'silent' });
  // The servers' handlers read `created` when requests come, after it is made.
  const peerB = await startPeerServer({
    host: '127.0.0.1', port: 0, credentials: fixtures.peers.b, log,
    onRequest: (req, res) => { created.hubB(req, res); },
    onUpgrade: (req, socket, head) => { created.upgradeB(req, socket, head); },
  });
  const publicA = http.createServer((req, res) => { created.relay.relayRequest(req, res, created.target); });
  publicA.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => { created.relay.relayUpgrade(req, socket, head, created.target); });
  const targetB = (): PeerTarget => ({ replicaId: 'b', peerUrl: `https://127.0.0.1:${peerB.port}` });
  const created: TwoReplicas = {
    portA: await listenLoopback(publicA), peerB, relay, target: targetB(), targetB,
    hubB: (_req, res) => { res.end(); },
    upgradeB: (_req, socket) => { socket.destroy(); },
    close: async () => {
      created.relay.close();
      publicA.closeAllConnections();
      publicA.close();
      await peerB.close();
    },
  };
  return created;
}
