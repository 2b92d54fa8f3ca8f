import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { isSealed, loadSecretsKey, openSecret, sealSecret, secretsKeyFrom } from './secret-box.ts';

const keyA = secretsKeyFrom(Buffer.from('a'.repeat(48)), 'test');
const keyB = secretsKeyFrom(Buffer.from('b'.repeat(48)), 'test');

describe('secret box', () => {
  it('secret box - a sealed secret opens with its key and name, and does not show its text', () => {
    const sealed = sealSecret('hub-ca', '{"keyPem":"-----BEGIN PRIVATE KEY-----"}', keyA);
    assert.ok(isSealed(sealed));
    assert.equal(sealed.includes('PRIVATE KEY'), false);
    assert.equal(openSecret('hub-ca', sealed, keyA), '{"keyPem":"-----BEGIN PRIVATE KEY-----"}');
    assert.notEqual(sealSecret('hub-ca', 'same', keyA), sealSecret('hub-ca', 'same', keyA), 'a fresh IV each time');
  });

  it('secret box - another key, another name, no key or damage are refused with what to do', () => {
    const sealed = sealSecret('hub-ca', 'text', keyA);
    assert.throws(() => openSecret('hub-ca', sealed, keyB), /not the key it was sealed with/);
    assert.throws(() => openSecret('other', sealed, keyA), /not the key it was sealed with/);
    assert.throws(() => openSecret('hub-ca', sealed, undefined), /sealed: start this replica with --secrets-key-file/);
    assert.throws(() => openSecret('hub-ca', 'uplink-sealed:v1:AAAA', keyA), /damaged/);
    const flipped = sealed.slice(0, -4) + (sealed.endsWith('AAAA') ? 'BBBB' : 'AAAA');
    assert.throws(() => openSecret('hub-ca', flipped, keyA), /not the key it was sealed with/);
  });

  it('secret box - a plain stored value comes back as it is', () => {
    assert.equal(openSecret('hub-ca', '{"certPem":"x"}', keyA), '{"certPem":"x"}');
    assert.equal(openSecret('hub-ca', '{"certPem":"x"}', undefined), '{"certPem":"x"}');
  });

  it('secret box - a key file must hold 32 to 4096 bytes and be readable', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'uplink-secrets-key-'));
    const file = (name: string, bytes: number): string => {
      writeFileSync(join(dir, name), Buffer.alloc(bytes, 0x41));
      return join(dir, name);
    };
    await assert.rejects(loadSecretsKey(file('short', 31)), /holds 31 bytes; it must hold 32 to 4096/);
    await assert.rejects(loadSecretsKey(file('long', 4097)), /holds 4097 bytes/);
    await assert.rejects(loadSecretsKey(join(dir, 'missing')), /cannot read the secrets key file/);
    const key = await loadSecretsKey(file('ok', 32));
    assert.equal(openSecret('n', sealSecret('n', 'v', key), secretsKeyFrom(Buffer.alloc(32, 0x41), 'same bytes')), 'v');
    // One trailing newline (LF or CRLF) is not part of the key: a file from `openssl ... > file` and a Secret from --from-literal agree.
    for (const ending of ['\n', '\r\n']) {
      assert.equal(openSecret('n', sealSecret('n', 'v', key), secretsKeyFrom(Buffer.from('A'.repeat(32) + ending), 'with a newline')), 'v');
    }
  });
});
