import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ageIdentities, buildSopsEnv, isSopsEncrypted, MAX_SOPS_DETAIL_CHARS, redactSopsStderr } from './sops.ts';

// Pure parts of the sops decrypter; test/e2e/sops.test.ts runs the real binary.

const RECIPIENT = 'age1x9hxs5ee7gh3gu7hug0klvy6wfhd34tqstdevq07rl73s9r9eans65nz8y';
const IDENTITY = 'AGE-SECRET-KEY-19WEGHM6Z7LR5LXRAV7GFDQK60AFS8E5PD2MQEJG8VG47DQFHYVZSH7CSV7';

const ENCRYPTED = `password: ENC[AES256_GCM,data:ChzbiahJbA==,iv:xKf53Ks1vlgwJj2JpXaV5IEyadh2T7NSV5u0slIiWDI=,tag:ze+bZ4gCIyEzlvTjhpno6w==,type:str]
sops:
    age:
        - enc: |
            -----BEGIN AGE ENCRYPTED FILE-----
            YWdlLWVuY3J5cHRpb24ub3JnL3YxCi0+IFgyNTUxOSByOGZlaGNXWXBOM3ZRRkhL
            -----END AGE ENCRYPTED FILE-----
          recipient: ${RECIPIENT}
    lastmodified: "2026-11-21T10:01:50Z"
    mac: ENC[AES256_GCM,data:tkE5q2nFp4GWu0Kghd0eywSCjX15,iv:nS5mH3Nktj5R91kKBzU+gRrDcUNjRHkXvBYlet+ItyI=,tag:D4OyMMlvkedQrCsvTVUWkw==,type:str]
    unencrypted_suffix: _unencrypted
    version: 3.13.3
`;

// sops 3.13.3's stderr for a key that is not a recipient, as printed.
const WRONG_KEY_STDERR = `Failed to get the data key required to decrypt the SOPS file.

Group 0: FAILED
  ${RECIPIENT}: FAILED
    - | failed to create reader for decrypting sops data key with
      | age: identity did not match any of the recipients: incorrect
      | identity for recipient block. Did not find keys in locations
      | 'SOPS_AGE_SSH_PRIVATE_KEY_FILE',
      | 'SOPS_AGE_SSH_PRIVATE_KEY_CMD',
      | '/var/lib/uplink/sops/.ssh/id_ed25519',
      | '/var/lib/uplink/sops/.ssh/id_rsa', 'SOPS_AGE_KEY_FILE', and
      | 'SOPS_AGE_KEY_CMD'.

Recovery failed because no master key was able to decrypt the file. In
order for SOPS to recover the file, at least one key has to be successful,
but none were.
`;

describe('isSopsEncrypted', () => {
  it('sops - recognises a file encrypted to an age recipient', () => {
    assert.equal(isSopsEncrypted(ENCRYPTED), true);
  });

  it('sops - recognises other recipients and key groups', () => {
    assert.equal(isSopsEncrypted('a: ENC[x]\nsops:\n  mac: ENC[y]\n  pgp:\n    - fp: ABC\n'), true);
    assert.equal(isSopsEncrypted('a: ENC[x]\nsops:\n  mac: ENC[y]\n  key_groups:\n    - age: [{recipient: r}]\n'), true);
  });

  it('sops - plain values are not encrypted', () => {
    assert.equal(isSopsEncrypted('replicaCount: 2\nimage:\n  tag: "1.2"\n'), false);
    assert.equal(isSopsEncrypted(''), false);
    assert.equal(isSopsEncrypted('- a\n- b\n'), false);
  });

  it('sops - a sops key without a mac or without recipients is not encrypted', () => {
    assert.equal(isSopsEncrypted('sops: true\n'), false);
    assert.equal(isSopsEncrypted('sops:\n  age:\n    - recipient: r\n'), false);
    assert.equal(isSopsEncrypted('sops:\n  mac: ENC[y]\n  age: []\n'), false);
    assert.equal(isSopsEncrypted('sops:\n  mac: ENC[y]\n  version: 3.13.3\n'), false);
    assert.equal(isSopsEncrypted('nested:\n  sops:\n    mac: ENC[y]\n    age: [{recipient: r}]\n'), false);
  });

  it('sops - bad YAML is not encrypted', () => {
    assert.equal(isSopsEncrypted('a: [\n'), false);
    assert.equal(isSopsEncrypted('sops: {mac: x, age: [r]}\n---\nb: 2\n'), false);
    assert.equal(isSopsEncrypted('sops: 1\nsops: 2\n'), false);
  });
});

describe('ageIdentities', () => {
  it('sops - keeps the key lines of an age-keygen file and drops comments', () => {
    const file = `# created: 2026-11-21T10:01:50Z\n# public key: ${RECIPIENT}\n${IDENTITY}\r\n\n  ${IDENTITY.replace('19W', '18W')}  \n`;
    assert.deepEqual(ageIdentities(file), [IDENTITY, IDENTITY.replace('19W', '18W')]);
  });

  it('sops - finds nothing in text without a key', () => {
    assert.deepEqual(ageIdentities(''), []);
    assert.deepEqual(ageIdentities(`# public key: ${RECIPIENT}\nage-secret-key-1abc\n`), []);
  });
});

describe('redactSopsStderr', () => {
  it('sops - turns the wrong-key error into one line without boilerplate, keeping the recipient', () => {
    assert.equal(
      redactSopsStderr(WRONG_KEY_STDERR),
      `Failed to get the data key required to decrypt the SOPS file. Group 0: FAILED ${RECIPIENT}: FAILED `
        + 'failed to create reader for decrypting sops data key with age: identity did not match any of the recipients: '
        + 'incorrect identity for recipient block.',
    );
  });

  it('sops - removes ENC values, armored blocks and base64', () => {
    const text = redactSopsStderr(`Error unmarshaling input YAML: near ${ENCRYPTED}`);
    assert.doesNotMatch(text, /ChzbiahJbA|xKf53Ks1|YWdlLWVu|tkE5q2nF|AGE ENCRYPTED/);
    assert.match(text, /password: ENC\[<redacted>\]/);
    assert.match(text, /<redacted>/);
    assert.ok(text.includes(RECIPIENT));
  });

  it('sops - removes a value sops quotes because it is not encrypted', () => {
    const stderr = "Error decrypting tree: Error walking tree: Could not decrypt value: Input string hunter2 and more does not match sops' data format";
    assert.equal(
      redactSopsStderr(stderr),
      "Error decrypting tree: Error walking tree: Could not decrypt value: Input string <redacted> does not match sops' data format",
    );
    assert.doesNotMatch(redactSopsStderr('Could not convert hunter2 to bytes: bad'), /hunter2/);
  });

  it('sops - removes MACs', () => {
    const text = redactSopsStderr('MAC mismatch. File has 9F86D081884C7D65, computed abcdef0123456789');
    assert.equal(text, 'MAC mismatch. File has <redacted>, computed <redacted>');
  });

  it('sops - never shows an age identity or a given secret', () => {
    const text = redactSopsStderr(`failed to parse ${IDENTITY} and AGE-SECRET-KEY-PQ-1QQQ, also topsecretvalue`, ['topsecretvalue']);
    assert.equal(text, 'failed to parse <redacted> and <redacted>, also <redacted>');
  });

  it('sops - keeps words and paths', () => {
    const text = 'Error reading from stdin: read /var/lib/uplink/sops/input: permission denied';
    assert.equal(redactSopsStderr(text), text);
  });

  it('sops - cuts long output', () => {
    const text = redactSopsStderr('word '.repeat(500));
    assert.equal(text.length, MAX_SOPS_DETAIL_CHARS);
    assert.ok(text.endsWith('…'));
  });
});

describe('buildSopsEnv', () => {
  it('sops - passes PATH, TMPDIR and proxies, sets HOME, and drops SOPS_* and everything else', () => {
    const env = buildSopsEnv('/state/sops', {
      PATH: '/bin', TMPDIR: '/tmp/x', HTTPS_PROXY: 'http://proxy:3128', HOME: '/root',
      SOPS_AGE_KEY_FILE: '/root/keys.txt', SOPS_AGE_KEY: 'AGE-SECRET-KEY-1X', UPLINK_TOKEN: 'secret',
    });
    assert.deepEqual(env, { PATH: '/bin', TMPDIR: '/tmp/x', HTTPS_PROXY: 'http://proxy:3128', HOME: '/state/sops' });
  });
});
