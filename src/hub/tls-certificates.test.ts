import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { checkServerIdentity } from 'node:tls';
import { certificateCoversKubeDomain } from './kube/cluster-host.ts';
import { ensureHubCertificates } from './tls-certificates.ts';

const dir = mkdtempSync(join(tmpdir(), 'uplink-tls-'));
after(() => { rmSync(dir, { recursive: true, force: true }); });

describe('hub TLS files', () => {
  it('tls files - the keys are 0600 in a 0755 directory, and keys found readable by others are narrowed', async () => {
    const tlsDir = join(dir, 'tls');
    await ensureHubCertificates({ dir: tlsDir });
    chmodSync(tlsDir, 0o755);
    for (const key of ['ca.key', 'server.key']) assert.equal(statSync(join(tlsDir, key)).mode & 0o777, 0o600, key);
    chmodSync(join(tlsDir, 'ca.key'), 0o644);
    chmodSync(join(tlsDir, 'server.key'), 0o640);
    const again = await ensureHubCertificates({ dir: tlsDir });
    assert.equal(again.created, false, 'the same CA and certificate, kept');
    for (const key of ['ca.key', 'server.key']) assert.equal(statSync(join(tlsDir, key)).mode & 0o777, 0o600, key);
  });

  it('tls files - a kube domain\'s wildcard name re-issues a certificate issued without it, from the same CA', async () => {
    const tlsDir = join(dir, 'wildcard');
    const before = await ensureHubCertificates({ dir: tlsDir, dnsNames: ['hub.example.com'] });
    const cert = (pem: string): X509Certificate => new X509Certificate(pem);
    assert.equal(certificateCoversKubeDomain(before.certPem, 'kube.example.com'), false);
    const after = await ensureHubCertificates({ dir: tlsDir, dnsNames: ['hub.example.com', '*.kube.example.com'] });
    assert.equal(after.created, true);
    assert.equal(after.caHash, before.caHash, 'agents keep their pin');
    assert.equal(certificateCoversKubeDomain(after.certPem, 'kube.example.com'), true);
    assert.equal(certificateCoversKubeDomain(after.certPem, 'example.com'), false);
    assert.equal(certificateCoversKubeDomain('not a certificate', 'kube.example.com'), undefined);
    // What a TLS client checks for https://prod.kube.example.com: the wildcard covers one label, not the bare domain or two labels.
    const served = { subject: {}, subjectaltname: cert(after.certPem).subjectAltName ?? '' } as unknown as Parameters<typeof checkServerIdentity>[1];
    assert.equal(checkServerIdentity('prod.kube.example.com', served), undefined);
    assert.equal(checkServerIdentity('hub.example.com', served), undefined);
    assert.ok(checkServerIdentity('a.b.kube.example.com', served) instanceof Error);
    assert.equal((await ensureHubCertificates({ dir: tlsDir, dnsNames: ['hub.example.com', '*.kube.example.com'] })).created, false, 'kept once it has the name');
  });
});
