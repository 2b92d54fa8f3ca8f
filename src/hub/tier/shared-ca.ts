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

const SECRET_NAME = 'hub-ca';
const CA_FILES = { cert: 'ca.crt', key: 'ca.key' } as const;
const KEY_FILE_MODE = 0o600;

interface CaPair {
  certPem: string;
  keyPem: string;
}

/**
 * Makes `dir`'s CA the tier's: offers the local one (which must exist), then
 * writes the stored one over it when they differ. Returns whether the local
 * CA was replaced.
 */
export async function adoptSharedCa(dir: string, tier: Pick<ReplicaTier, 'shareSecret'>): Promise<boolean> {
  const local: CaPair = {
    certPem: await readFile(join(dir, CA_FILES.cert), 'utf8'),
    keyPem: await readFile(join(dir, CA_FILES.key), 'utf8'),
  };
  const shared = parsePair(await tier.shareSecret(SECRET_NAME, JSON.stringify(local)));
  if (shared.certPem === local.certPem && shared.keyPem === local.keyPem) return false;
  await writeFile(join(dir, CA_FILES.key), shared.keyPem, { mode: KEY_FILE_MODE });
  await chmod(join(dir, CA_FILES.key), KEY_FILE_MODE);
  await writeFile(join(dir, CA_FILES.cert), shared.certPem);
  return true;
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
