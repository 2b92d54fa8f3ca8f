// Replicas of one hub must present one CA: agents pin its hash, and replicas
// authenticate each other with certificates it issues. The first replica to
// start offers its CA to the database; every replica then adopts what the
// database holds, replacing a CA it generated locally (its server
// certificate is re-issued by ensureHubCertificates, which sees it no longer
// belongs to the CA).
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ReplicaTier } from './replica-tier.ts';
import { StoreError } from '../store/index.ts';
import { isSealed, openSecret, sealSecret, type SecretsKey } from './secret-box.ts';

const SECRET_NAME = 'hub-ca';
const CA_FILES = { cert: 'ca.crt', key: 'ca.key' } as const;
const KEY_FILE_MODE = 0o600;

interface CaPair {
  certPem: string;
  keyPem: string;
}

/** What adoptSharedCa did. */
export interface SharedCaOutcome {
  /** The local CA was replaced by the one the tier shares. */
  replaced: boolean;
  /** How the CA sits in the database now: sealed with the secrets key, or plain (no key given). */
  stored: 'sealed' | 'plain';
  /** This replica sealed a CA that was stored plain. */
  sealedNow: boolean;
}

/**
 * Makes `dir`'s CA the tier's: offers the local one (which must exist, and
 * is sealed with `key` when there is one), then writes the stored one over
 * it when they differ. A CA stored plain is sealed once a replica has a key.
 */
export async function adoptSharedCa(dir: string, tier: Pick<ReplicaTier, 'shareSecret' | 'replaceSecret'>, key?: SecretsKey): Promise<SharedCaOutcome> {
  const local: CaPair = {
    certPem: await readFile(join(dir, CA_FILES.cert), 'utf8'),
    keyPem: await readFile(join(dir, CA_FILES.key), 'utf8'),
  };
  const offer = JSON.stringify(local);
  const stored = await tier.shareSecret(SECRET_NAME, key === undefined ? offer : sealSecret(SECRET_NAME, offer, key));
  const plain = openSecret(SECRET_NAME, stored, key);
  let sealedNow = false;
  if (key !== undefined && !isSealed(stored)) sealedNow = await tier.replaceSecret(SECRET_NAME, stored, sealSecret(SECRET_NAME, plain, key));
  const outcome = { stored: key !== undefined || isSealed(stored) ? 'sealed' as const : 'plain' as const, sealedNow };
  const shared = parsePair(plain);
  if (shared.certPem === local.certPem && shared.keyPem === local.keyPem) return { replaced: false, ...outcome };
  await writeFile(join(dir, CA_FILES.key), shared.keyPem, { mode: KEY_FILE_MODE });
  await chmod(join(dir, CA_FILES.key), KEY_FILE_MODE);
  await writeFile(join(dir, CA_FILES.cert), shared.certPem);
  return { replaced: true, ...outcome };
}

function parsePair(value: string): CaPair {
  const fail = (): never => { throw new StoreError('the hub CA stored in the database is unreadable; restore it from a backup'); };
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return fail();
  }
  const { certPem, keyPem } = (parsed ?? {}) as Record<string, unknown>;
  if (typeof certPem !== 'string' || typeof keyPem !== 'string' || !certPem.includes('BEGIN CERTIFICATE') || !keyPem.includes('PRIVATE KEY')) return fail();
  return { certPem, keyPem };
}
