import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  issuePeerCertificate, peerCertificateDue, peerIdOf, renewPeerCredentials, verifiedPeerId, PeerCertificateError, PEER_CERT_VALIDITY_MS, type PeerCredentials,
} from './peer-certificates.ts';
import { tierFixtures, type TierFixtures } from './peer-fixtures.test-helper.ts';

let fixtures: TierFixtures;
before(async () => { fixtures = await tierFixtures(); });
after(() => { fixtures.cleanup(); });

const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

describe('peer certificates', () => {
  it('peer certificates - a leaf of the hub CA for server and client auth, named after the peer host and marked with the replica', async () => {
    const now = new Date('2026-03-01T00:00:00Z');
    const issued = await issuePeerCertificate({ caPem: fixtures.caPem, caKeyPem: fixtures.caKeyPem, replicaId: 'hub-1', peerUrl: 'https://Hub-1.peers.example.com:8444', now });
    const cert = new X509Certificate(issued.certPem);
    const ca = new X509Certificate(fixtures.caPem);
    assert.ok(cert.checkIssued(ca) && cert.verify(ca.publicKey), 'signed by the hub CA');
    assert.equal(cert.ca, false);
    assert.deepEqual(new Set(cert.keyUsage), new Set([SERVER_AUTH, CLIENT_AUTH]));
    assert.equal(cert.subjectAltName, 'DNS:hub-1.peers.example.com, URI:uplink-peer://hub-1');
    assert.equal(cert.validToDate.getTime(), now.getTime() + PEER_CERT_VALIDITY_MS);
    assert.ok(cert.validFromDate < now, 'back-dated for clock skew');
    assert.equal(cert.checkHost('hub-1.peers.example.com'), 'hub-1.peers.example.com');
    assert.equal(peerIdOf(cert), 'hub-1');
    assert.equal(issued.caPem, fixtures.caPem);
    assert.ok(cert.checkPrivateKey((await import('node:crypto')).createPrivateKey(issued.keyPem)));
  });

  it('peer certificates - an IP peer URL (v4 or v6) is an IP name', async () => {
    for (const [url, ip] of [['https://10.1.2.3:8444', '10.1.2.3'], ['https://[fd00::1]:8444', 'fd00::1']] as const) {
      const issued = await issuePeerCertificate({ caPem: fixtures.caPem, caKeyPem: fixtures.caKeyPem, replicaId: 'r', peerUrl: url });
      const cert = new X509Certificate(issued.certPem);
      assert.equal(cert.checkIP(ip), ip, url);
      assert.equal(peerIdOf(cert), 'r');
    }
  });

  it('peer certificates - refuses a bad replica id, a URL that is not https, and a CA key that is not the CA\'s', async () => {
    const base = { caPem: fixtures.caPem, caKeyPem: fixtures.caKeyPem, replicaId: 'a', peerUrl: 'https://a:8444' };
    const refused = async (override: Partial<typeof base>, pattern: RegExp): Promise<void> => {
      await assert.rejects(issuePeerCertificate({ ...base, ...override }), (error: unknown) => error instanceof PeerCertificateError && pattern.test(error.message));
    };
    await refused({ replicaId: 'A/../b' }, /replicaId/);
    await refused({ replicaId: '' }, /replicaId/);
    await refused({ peerUrl: 'http://a:8444' }, /https/);
    await refused({ peerUrl: 'not a url' }, /not a URL/);
    await refused({ caKeyPem: fixtures.peers.a.keyPem }, /does not belong/);
    await refused({ caPem: fixtures.peers.a.certPem, caKeyPem: fixtures.peers.a.keyPem }, /not a CA/);
    await refused({ caKeyPem: 'garbage' }, /does not parse/);
  });

  it('peer certificates - only a certificate with exactly one peer mark names a replica; never throws', () => {
    assert.equal(peerIdOf(new X509Certificate(fixtures.serving.certPem)), undefined, 'the hub\'s serving certificate is not a peer\'s');
    assert.equal(peerIdOf(new X509Certificate(fixtures.unmarked.certPem)), undefined);
    assert.equal(peerIdOf(new X509Certificate(fixtures.caPem)), undefined);
    const san = (subjectaltname: unknown): string | undefined => peerIdOf({ subjectaltname } as { subjectaltname: string });
    assert.equal(san('IP Address:127.0.0.1, URI:uplink-peer://b'), 'b');
    assert.equal(san('URI:uplink-peer://b, URI:uplink-peer://c'), undefined, 'two marks: ambiguous');
    assert.equal(san('URI:uplink-peer://B'), undefined);
    assert.equal(san('URI:uplink-peer://b/x'), undefined);
    assert.equal(san('URI:"uplink-peer://b, DNS:x"'), undefined, 'a quoted value is one name, not a mark');
    assert.equal(san('DNS:uplink-peer://b'), undefined);
    assert.equal(san('URI:xuplink-peer://b'), undefined);
    assert.equal(san(undefined), undefined);
    assert.equal(san(42), undefined);
    assert.equal(peerIdOf(undefined), undefined);
  });

  it('peer certificates - a connection is a peer only when its certificate was verified and is marked', () => {
    const cert = { subjectaltname: 'URI:uplink-peer://b' };
    assert.equal(verifiedPeerId({ authorized: true, getPeerCertificate: () => cert as never }), 'b');
    assert.equal(verifiedPeerId({ authorized: false, getPeerCertificate: () => cert as never }), undefined);
    assert.equal(verifiedPeerId({ authorized: true, getPeerCertificate: () => ({}) }), undefined);
    assert.equal(verifiedPeerId({ authorized: true, getPeerCertificate: () => null }), undefined);
  });

  it('peer certificates - due past half its validity, or when it does not parse', () => {
    const cert = new X509Certificate(fixtures.peers.a.certPem);
    const valid = cert.validToDate.getTime() - cert.validFromDate.getTime();
    assert.equal(peerCertificateDue(fixtures.peers.a.certPem, new Date(cert.validFromDate.getTime() + valid / 2 - 1000)), false);
    assert.equal(peerCertificateDue(fixtures.peers.a.certPem, new Date(cert.validFromDate.getTime() + valid / 2 + 1000)), true);
    assert.equal(peerCertificateDue('garbage'), true);
  });

  it('peer certificates - renewal issues and applies a fresh certificate once due, one at a time, and retries after a failure', async (t) => {
    t.mock.timers.enable({ apis: ['setInterval'] });
    const cert = new X509Certificate(fixtures.peers.a.certPem);
    let now = cert.validFromDate.getTime() + 60_000;
    const applied: PeerCredentials[] = [];
    const errors: unknown[] = [];
    let issues = 0;
    let fail = true;
    const stop = renewPeerCredentials({
      current: fixtures.peers.a,
      issue: () => {
        issues += 1;
        return fail ? Promise.reject(new Error('CA unavailable')) : Promise.resolve(fixtures.peers.b);
      },
      apply: (credentials) => { applied.push(credentials); },
      onError: (error) => { errors.push(error); },
      checkEveryMs: 1000,
      now: () => new Date(now),
    });
    t.mock.timers.tick(1000);
    assert.equal(issues, 0, 'not due yet');
    now = cert.validToDate.getTime() - 1000;
    t.mock.timers.tick(1000);
    await new Promise<void>((resolve) => { setImmediate(resolve); });
    assert.deepEqual([issues, errors.length, applied.length], [1, 1, 0]);
    fail = false;
    t.mock.timers.tick(1000);
    await new Promise<void>((resolve) => { setImmediate(resolve); });
    assert.deepEqual([issues, applied], [2, [fixtures.peers.b]]);
    // b's certificate is fresh: with the clock at a's expiry, it is past half too; but the check now reads b's.
    now = new X509Certificate(fixtures.peers.b.certPem).validFromDate.getTime() + 60_000;
    t.mock.timers.tick(1000);
    assert.equal(issues, 2);
    stop();
  });
});
