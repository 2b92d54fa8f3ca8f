// Secrets the replicas share through the database (today the hub's CA and
// its private key, hub_secrets) are sealed with a key that lives outside the
// database: a dump or a read-only leak of the database then yields no CA key,
// so no one can mint server certificates agents would trust or peer
// certificates the replicas would accept. The key is a file (a Kubernetes
// Secret mounted into every replica); AES-256-GCM with a key derived from it
// by HKDF, the secret's name bound in as associated data so a sealed value
// cannot be moved under another name.
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { UplinkError } from '../../util/errors.ts';

/** Marks a sealed value; anything else in hub_secrets is plain (stored by a hub without a key). */
const SEALED_PREFIX = 'uplink-sealed:v1:';
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** A key file must hold at least this much (e.g. `openssl rand -base64 48`), and at most the second. */
export const MIN_SECRETS_KEY_BYTES = 32;
export const MAX_SECRETS_KEY_BYTES = 4096;
const HKDF_SALT = 'uplink hub secrets';

/** The key sealed secrets are read and written with. */
export interface SecretsKey {
  readonly key: Buffer;
}

/** Reads and checks a key file; its bytes are the key, less one trailing newline (`openssl rand -base64 48 > file` and a Secret made with --from-literal then agree). */
export async function loadSecretsKey(path: string): Promise<SecretsKey> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw new UplinkError('CONFIG_INVALID', `cannot read the secrets key file ${path}: ${(error as Error).message}`, { cause: error });
  }
  return secretsKeyFrom(bytes, path);
}

export function secretsKeyFrom(raw: Buffer, where: string): SecretsKey {
  let end = raw.length;
  if (end > 0 && raw[end - 1] === 0x0a) end -= 1;
  if (end > 0 && raw[end - 1] === 0x0d) end -= 1;
  const bytes = raw.subarray(0, end);
  if (bytes.length < MIN_SECRETS_KEY_BYTES || bytes.length > MAX_SECRETS_KEY_BYTES) {
    throw new UplinkError('CONFIG_INVALID', `the secrets key file ${where} holds ${bytes.length} bytes; it must hold ${MIN_SECRETS_KEY_BYTES} to ${MAX_SECRETS_KEY_BYTES} (e.g. openssl rand -base64 48)`);
  }
  return { key: Buffer.from(hkdfSync('sha256', bytes, HKDF_SALT, 'aes-256-gcm', 32)) };
}

export function isSealed(value: string): boolean {
  return value.startsWith(SEALED_PREFIX);
}

/** `plain` sealed under `key` for the secret `name`. */
export function sealSecret(name: string, plain: string, key: SecretsKey): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key.key, iv);
  cipher.setAAD(Buffer.from(name));
  const data = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
  return SEALED_PREFIX + Buffer.concat([iv, cipher.getAuthTag(), data]).toString('base64');
}

/**
 * The plain text of a stored secret. A sealed one needs the key it was
 * sealed with; a plain one is returned as it is (the caller decides whether
 * to seal it now).
 */
export function openSecret(name: string, stored: string, key: SecretsKey | undefined): string {
  if (!isSealed(stored)) return stored;
  if (key === undefined) {
    throw new UplinkError('CONFIG_INVALID', `the shared secret ${name} in the database is sealed: start this replica with --secrets-key-file holding the key the other replicas use`);
  }
  const raw = Buffer.from(stored.slice(SEALED_PREFIX.length), 'base64');
  if (raw.length < IV_BYTES + TAG_BYTES) throw new UplinkError('CONFIG_INVALID', `the shared secret ${name} in the database is damaged; restore it from a backup`);
  try {
    const decipher = createDecipheriv('aes-256-gcm', key.key, raw.subarray(0, IV_BYTES));
    decipher.setAAD(Buffer.from(name));
    decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    return Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
  } catch (error) {
    throw new UplinkError('CONFIG_INVALID', `cannot open the shared secret ${name}: --secrets-key-file is not the key it was sealed with`, { cause: error });
  }
}
