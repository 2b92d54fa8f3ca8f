// SOPS-encrypted add-on values, decrypted on the agent by the real `sops`
// binary with an age key. The key reaches sops only through its environment
// (`SOPS_AGE_KEY`), the ciphertext only through stdin, and the plaintext only
// through stdout into the caller's hands: nothing touches the disk, and no
// value or key reaches an error message (sops quotes ciphertext and, for a
// value that is not encrypted, the value itself; see redactSopsStderr).
//
// The age key lives in a Secret the add-on names. Expected layout: data key
// `age.agekey` (or `keys.txt`, the file `age-keygen -o` writes) holding one
// or more `AGE-SECRET-KEY-1…` lines; comment lines such as age-keygen's
// `# created:` and `# public key:` are allowed and ignored, e.g.
//
//   kubectl create secret generic sops-age --from-file=age.agekey=keys.txt
import { mkdir } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { UplinkError } from '../../util/errors.ts';
import { childEnv, KILL_GRACE_MS, ProcessStartError, runProcess, type ProcessResult } from '../../util/run-process.ts';

/** Default limit on one decryption; age and AES over values take milliseconds. */
export const DEFAULT_SOPS_TIMEOUT_MS = 30_000;
/** Output kept from sops; decrypted values beyond it are refused, never cut and used. */
export const DEFAULT_SOPS_MAX_OUTPUT_BYTES = 8 * 1024 * 1024;
/** Longest quote of sops's stderr kept in a message. */
export const MAX_SOPS_DETAIL_CHARS = 400;

/** What sops may take from the agent's environment besides PATH; no SOPS_* setting of the agent's own. */
const INHERITED_ENV = ['TMPDIR', 'HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'http_proxy', 'https_proxy', 'no_proxy'] as const;

/** Fields of the `sops` metadata that list the keys a file is encrypted to. */
const RECIPIENT_FIELDS = ['age', 'pgp', 'kms', 'gcp_kms', 'azure_kv', 'hc_vault', 'hckms', 'key_groups'] as const;

const AGE_IDENTITY = /^AGE-SECRET-KEY-[0-9A-Z-]+$/;

export interface SopsDecrypterOptions {
  /** Path of the sops binary. */
  binary: string;
  /**
   * The agent's sops directory: sops's HOME and working directory, so no
   * `~/.config/sops/age/keys.txt`, `~/.ssh/id_ed25519` or `.sops.yaml` of the
   * agent's user is read. Created on first use.
   */
  stateDir: string;
  /** Limit per decryption. */
  timeoutMs?: number;
  maxOutputBytes?: number;
}

export type SopsFailureReason = 'NO_KEY' | 'DECRYPT_FAILED' | 'TIMEOUT' | 'START_FAILED' | 'CANCELLED' | 'OUTPUT_TOO_LARGE';

/** A decryption failed; `reason` is the stable code, `message` safe to log, store and send to the hub. */
export class SopsError extends UplinkError {
  readonly reason: SopsFailureReason;

  constructor(reason: SopsFailureReason, message: string, options?: ErrorOptions) {
    super('SOPS_FAILED', message, options);
    this.reason = reason;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Whether values YAML is a SOPS-encrypted document: a mapping with a
 * top-level `sops` mapping that has a `mac` and at least one recipient (age,
 * PGP, a KMS, Vault or key groups). Bad YAML is not encrypted YAML.
 */
export function isSopsEncrypted(valuesYaml: string): boolean {
  let parsed: unknown;
  try {
    parsed = parseYaml(valuesYaml);
  } catch {
    return false;
  }
  if (!isRecord(parsed) || !isRecord(parsed.sops)) return false;
  const metadata = parsed.sops;
  if (typeof metadata.mac !== 'string' || metadata.mac === '') return false;
  return RECIPIENT_FIELDS.some((field) => {
    const recipients = metadata[field];
    return Array.isArray(recipients) && recipients.length > 0;
  });
}

/** The `AGE-SECRET-KEY-` lines of a key file or Secret value, without comments and blank lines. */
export function ageIdentities(keyText: string): string[] {
  return keyText.split(/\r?\n/).map((line) => line.trim()).filter((line) => AGE_IDENTITY.test(line));
}

// Base64 (ciphertext, keys, data keys) mixes at least two of lower case, upper
// case and digits; words and most paths do not. Age recipients are public keys
// and name the key that was expected, so they stay.
const TOKEN = /[A-Za-z0-9+/=]{16,}/g;
const AGE_RECIPIENT = /^age1[02-9ac-hj-np-z]{58}$/;

function looksEncoded(token: string): boolean {
  if (AGE_RECIPIENT.test(token)) return false;
  const classes = [/[a-z]/, /[A-Z]/, /\d/].filter((pattern) => pattern.test(token)).length;
  return classes >= 2;
}

/**
 * sops's stderr as one line that is safe to show: the given secrets, age
 * identities, `ENC[…]` values, armored blocks, values quoted by sops's value
 * errors, MACs and anything base64-looking are replaced by `<redacted>`;
 * sops's boilerplate about key locations and recovery is dropped; the result
 * is cut to {@link MAX_SOPS_DETAIL_CHARS}.
 */
export function redactSopsStderr(stderr: string, secrets: readonly string[] = []): string {
  let text = stderr;
  for (const secret of secrets) if (secret.length >= 8) text = text.replaceAll(secret, '<redacted>');
  text = text
    .replace(/AGE-SECRET-KEY-[0-9A-Za-z-]*/g, '<redacted>')
    .replace(/-----BEGIN [A-Z ]+-----[\s\S]*?(?:-----END [A-Z ]+-----|$)/g, '<redacted>')
    .replace(/ENC\[[^\]\s]*\]?/g, 'ENC[<redacted>]')
    // aes/cipher.go quotes a value that is not in sops's format: often a plaintext value.
    .replace(/Input string [\s\S]*?(?: does not match sops' data format|$)/g, "Input string <redacted> does not match sops' data format")
    .replace(/Could not convert [\s\S]*?(?: to bytes|$)/g, 'Could not convert <redacted> to bytes')
    .replace(/MAC mismatch\. File has \S+, computed \S+/g, 'MAC mismatch. File has <redacted>, computed <redacted>')
    // sops wraps key-group errors in `- | ` and `| ` continuation lines.
    .replace(/^\s*(?:- )?\| ?/gm, '')
    .replace(/\s+/g, ' ')
    .replace(/ ?Did not find keys in locations (?:(?:and )?'[^']*',? ?)+\.?/g, '')
    .replace(/ ?Recovery failed because no master key was able to decrypt the file\.[^.]*\bnone were\./g, '')
    .replace(TOKEN, (token) => (looksEncoded(token) ? '<redacted>' : token))
    .trim();
  return text.length > MAX_SOPS_DETAIL_CHARS ? `${text.slice(0, MAX_SOPS_DETAIL_CHARS - 1)}…` : text;
}

/** The environment sops runs with (see {@link SopsDecrypterOptions}); the key is added per call. */
export function buildSopsEnv(stateDir: string, parent: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const env = childEnv(INHERITED_ENV, parent);
  env.HOME = stateDir;
  return env;
}

function failure(result: ProcessResult, identities: readonly string[]): SopsError {
  const detail = redactSopsStderr(result.stderr, identities);
  const quote = detail === '' ? '' : `: ${detail}`;
  // sops could not parse a line of the key at all: the Secret holds no usable key.
  if (/failed to parse 'SOPS_AGE_KEY' age identities/.test(result.stderr)) {
    return new SopsError('NO_KEY', `sops could not use the age key, which is not a valid age identity${quote}`);
  }
  const how = result.code === null ? `killed by ${result.signal ?? 'a signal'}` : `exit code ${result.code}`;
  return new SopsError('DECRYPT_FAILED', `sops could not decrypt the values (${how})${quote}`);
}

/**
 * Decrypts SOPS-encrypted values YAML with the real sops binary. One instance
 * serves every add-on; calls are independent.
 */
export class SopsDecrypter {
  readonly binary: string;
  private readonly stateDir: string;
  private readonly env: Record<string, string>;
  private readonly timeoutMs: number;
  private readonly maxOutputBytes: number;

  constructor(options: SopsDecrypterOptions) {
    this.binary = options.binary;
    this.stateDir = options.stateDir;
    this.env = buildSopsEnv(options.stateDir);
    this.timeoutMs = options.timeoutMs ?? DEFAULT_SOPS_TIMEOUT_MS;
    this.maxOutputBytes = options.maxOutputBytes ?? DEFAULT_SOPS_MAX_OUTPUT_BYTES;
  }

  /**
   * The plaintext YAML of `encryptedYaml`, decrypted with the age identities
   * in `ageKey` (the Secret's text; see the file header). Throws
   * {@link SopsError}. The result holds secrets: the caller passes it on to
   * helm's stdin and never logs, stores or reports it.
   */
  async decrypt(encryptedYaml: string, ageKey: string, signal?: AbortSignal): Promise<string> {
    const identities = ageIdentities(ageKey);
    if (identities.length === 0) {
      throw new SopsError('NO_KEY', 'the age key holds no AGE-SECRET-KEY- line, so there is nothing to decrypt the values with');
    }
    await mkdir(this.stateDir, { recursive: true, mode: 0o700 });
    let result: ProcessResult;
    try {
      result = await runProcess(this.binary, ['decrypt', '--input-type', 'yaml', '--output-type', 'yaml'], {
        env: { ...this.env, SOPS_AGE_KEY: identities.join('\n') },
        cwd: this.stateDir,
        input: encryptedYaml,
        signal,
        timeoutMs: this.timeoutMs,
        maxOutputBytes: this.maxOutputBytes,
        processGroup: true, dieWithParent: true,
      });
    } catch (error) {
      if (error instanceof ProcessStartError) {
        const why = error.cause instanceof Error ? error.cause.message : 'unknown error';
        throw new SopsError('START_FAILED', `could not start sops at ${this.binary}: ${why}`);
      }
      throw error;
    }
    if (result.timedOut) {
      throw new SopsError('TIMEOUT', `sops did not decrypt the values within ${this.timeoutMs} ms and was killed with its process group (SIGTERM, then SIGKILL after ${KILL_GRACE_MS / 1000} s)`);
    }
    if (result.code !== 0) {
      // sops may exit by the signal or handle it and exit with a code of its own.
      if (signal?.aborted === true) throw new SopsError('CANCELLED', 'sops was cancelled before it decrypted the values');
      throw failure(result, identities);
    }
    if (result.truncated) {
      throw new SopsError('OUTPUT_TOO_LARGE', `sops printed more than ${this.maxOutputBytes} bytes of decrypted values; they were not used`);
    }
    return result.stdout;
  }
}
