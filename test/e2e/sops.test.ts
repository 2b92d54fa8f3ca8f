// The agent's SOPS decrypter against the real sops and age-keygen that
// test/cluster/cluster builds: values encrypted to a fresh age key come back
// as the plaintext mapping, and every failure is a SopsError whose message
// carries neither a value nor a key. No cluster is needed; this lives in e2e
// because it runs the built binaries.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse as parseYaml, stringify } from 'yaml';
import { isSopsEncrypted, SopsDecrypter, SopsError } from '../../src/agent/addons/sops.ts';
import { runChecked } from '../../src/util/run-process.ts';
import { clusterBinDir } from '../helpers/cluster.ts';

const PLAIN = {
  image: { repository: 'registry.invalid/webapp', tag: '1.2' },
  database: { password: 'hunter2-very-secret', port: 5432 },
  features: ['alpha', 'beta'],
  debug: true,
};
/** Values many enough that sops takes well over the timeouts below to decrypt them. */
const MANY_VALUES = 20_000;

let bin: string;
let dir: string;
let key: string;
let otherKey: string;
let recipient: string;
let encrypted: string;

async function tool(name: string, args: string[]): Promise<string> {
  // sops and age-keygen get a clean environment: no SOPS_* of the user's, no ~/.config.
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir };
  return (await runChecked(join(bin, name), args, { env, cwd: dir, timeoutMs: 60_000 })).stdout;
}

/** A new age key file (age-keygen's format, comments included) and its recipient. */
async function newKey(name: string): Promise<{ file: string; recipient: string }> {
  const file = join(dir, name);
  await tool('age-keygen', ['-o', file]);
  return { file, recipient: (await tool('age-keygen', ['-y', file])).trim() };
}

async function encrypt(values: unknown, recipient: string): Promise<string> {
  const file = join(dir, `plain-${String(Date.now())}.yaml`);
  await writeFile(file, stringify(values));
  try {
    return await tool('sops', ['encrypt', '--age', recipient, '--input-type', 'yaml', '--output-type', 'yaml', file]);
  } finally {
    await rm(file, { force: true });
  }
}

function decrypter(options: { timeoutMs?: number; maxOutputBytes?: number } = {}): SopsDecrypter {
  return new SopsDecrypter({ binary: join(bin, 'sops'), stateDir: join(dir, 'agent-sops'), ...options });
}

async function rejectsWith(promise: Promise<unknown>, reason: SopsError['reason'], message: RegExp): Promise<SopsError> {
  let caught: SopsError | undefined;
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof SopsError, String(error));
    assert.equal(error.code, 'SOPS_FAILED');
    assert.equal(error.reason, reason, error.message);
    assert.match(error.message, message);
    caught = error;
    return true;
  });
  assert.ok(caught);
  return caught;
}

/** Nothing secret in a message: no plaintext value, no key, no ciphertext. */
function assertClean(message: string): void {
  for (const secret of ['hunter2', 'registry.invalid', 'AGE-SECRET-KEY', key.trim(), otherKey.trim()]) {
    assert.ok(!message.includes(secret), `message leaks ${secret.slice(0, 20)}: ${message}`);
  }
  assert.doesNotMatch(message, /ENC\[AES256_GCM,data:/);
}

before(async () => {
  bin = await clusterBinDir();
  dir = await mkdtemp(join(tmpdir(), 'uplink-sops-'));
  const main = await newKey('keys.txt');
  const other = await newKey('other.txt');
  key = await readFile(main.file, 'utf8');
  otherKey = await readFile(other.file, 'utf8');
  recipient = main.recipient;
  encrypted = await encrypt(PLAIN, recipient);
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('SopsDecrypter with the real sops', () => {
  it('sops - the built binaries are the pinned versions', async () => {
    assert.match(await tool('sops', ['--version', '--disable-version-check']), /^sops 3\.13\.3/);
    assert.match(await tool('age-keygen', ['--version']), /^v1\.3\.1/);
  });

  it('sops - values encrypted to an age key decrypt to the plaintext mapping', async () => {
    assert.equal(isSopsEncrypted(encrypted), true);
    assert.ok(!encrypted.includes('hunter2'));
    const plain = await decrypter().decrypt(encrypted, key);
    assert.deepEqual(parseYaml(plain), PLAIN);
    assert.equal(isSopsEncrypted(plain), false);
  });

  it('sops - a key file with several keys decrypts with the one that matches', async () => {
    const plain = await decrypter().decrypt(encrypted, `${otherKey}\n${key}`);
    assert.deepEqual(parseYaml(plain), PLAIN);
  });

  it('sops - a wrong key fails with DECRYPT_FAILED and a message without values or keys', async () => {
    const error = await rejectsWith(decrypter().decrypt(encrypted, otherKey), 'DECRYPT_FAILED', /^sops could not decrypt the values \(exit code 128\): .*did not match any of the recipients/);
    assertClean(error.message);
  });

  it("sops - the agent's own SOPS_* variables are not passed to sops", async (t) => {
    const saved = process.env.SOPS_AGE_KEY_FILE;
    process.env.SOPS_AGE_KEY_FILE = join(dir, 'keys.txt');
    t.after(() => {
      if (saved === undefined) delete process.env.SOPS_AGE_KEY_FILE;
      else process.env.SOPS_AGE_KEY_FILE = saved;
    });
    await rejectsWith(decrypter().decrypt(encrypted, otherKey), 'DECRYPT_FAILED', /did not match any of the recipients/);
  });

  it('sops - a value that is not encrypted is not quoted in the message', async () => {
    const tampered = encrypted.replace(/^( {4}password: )ENC\[[^\]]*\]$/m, '$1hunter2-very-secret');
    assert.notEqual(tampered, encrypted);
    const error = await rejectsWith(decrypter().decrypt(tampered, key), 'DECRYPT_FAILED', /Input string <redacted> does not match/);
    assertClean(error.message);
  });

  it('sops - a Secret without a key line, or with a malformed key, fails with NO_KEY', async () => {
    const comments = key.split('\n').filter((line) => line.startsWith('#')).join('\n');
    await rejectsWith(decrypter().decrypt(encrypted, comments), 'NO_KEY', /holds no AGE-SECRET-KEY- line/);
    const error = await rejectsWith(decrypter().decrypt(encrypted, 'AGE-SECRET-KEY-1NOTAKEY'), 'NO_KEY', /not a valid age identity/);
    assertClean(error.message);
  });

  it('sops - a decryption that overruns its timeout is killed with TIMEOUT', async () => {
    const values = Object.fromEntries(Array.from({ length: MANY_VALUES }, (_, i) => [`key${String(i)}`, `value-${String(i)}`]));
    const many = await encrypt(values, recipient);
    const started = performance.now();
    await rejectsWith(decrypter({ timeoutMs: 50 }).decrypt(many, key), 'TIMEOUT', /within 50 ms/);
    assert.ok(performance.now() - started < 5_000, 'sops was not stopped soon after its timeout');
    await rejectsWith(decrypter({ maxOutputBytes: 1024 }).decrypt(many, key), 'OUTPUT_TOO_LARGE', /more than 1024 bytes/);
    const abort = new AbortController();
    setTimeout(() => { abort.abort(); }, 20);
    await rejectsWith(decrypter().decrypt(many, key, abort.signal), 'CANCELLED', /cancelled/);
  });

  it('sops - a missing binary fails with START_FAILED', async () => {
    const missing = new SopsDecrypter({ binary: join(dir, 'no-such-sops'), stateDir: join(dir, 'agent-sops') });
    await rejectsWith(missing.decrypt(encrypted, key), 'START_FAILED', /could not start sops at .*no-such-sops/);
  });
});
