// Users and their API tokens: the first admin on a fresh hub, and issuing a
// token (shown once, stored as a hash).
import { StoreConflictError, type Store, type UserRecord } from './store/index.ts';
import { issueToken, newId } from './tokens.ts';

// server.ts imports the audit retention from here; it lives in audit-retention.ts.
export { startAuditRetention, type AuditRetentionOptions } from './audit-retention.ts';

/** The user a fresh hub creates, with a fleet-wide admin grant. */
export const BOOTSTRAP_ADMIN_NAME = 'admin';

/** A new API token: the secret appears only here, never again. */
export interface IssuedApiToken {
  id: string;
  name: string;
  token: string;
}

/** Creates an API token for the user and returns it with its secret. */
export async function issueApiToken(store: Store, options: { userId: string; name: string }): Promise<IssuedApiToken> {
  const id = newId('t');
  const { token, hash } = issueToken('api', id);
  await store.createApiToken({ id, userId: options.userId, name: options.name, tokenHash: hash, createdAt: new Date().toISOString() });
  return { id, name: options.name, token };
}

/**
 * On a hub without users, creates user 'admin' with a fleet-wide admin grant
 * and one API token named 'admin', and returns that token; undefined when
 * users exist. A hub upgraded from before users has them already: the
 * schema migration turned each old token's name into a user.
 */
export async function bootstrapAdminUser(store: Store): Promise<string | undefined> {
  if ((await store.listUsers()).length > 0) return undefined;
  let user: UserRecord;
  try {
    user = await store.createUser({ id: newId('u'), name: BOOTSTRAP_ADMIN_NAME, createdAt: new Date().toISOString() });
  } catch (error) {
    // Another replica starting on the same empty database made it first.
    if (error instanceof StoreConflictError) return undefined;
    throw error;
  }
  await store.addGrant({ userId: user.id, role: 'admin', clusterId: null });
  return (await issueApiToken(store, { userId: user.id, name: BOOTSTRAP_ADMIN_NAME })).token;
}
