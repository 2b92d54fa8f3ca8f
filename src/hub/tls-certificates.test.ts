import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
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
});
