// API authentication: `Authorization: Bearer <api token>`, looked up by the
// id inside the token and compared in constant time with the stored hash. A
// token acts as its user, with the user's grants as they are at that request.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { storeReads, type AccessReads } from './access-cache.ts';
import { HttpError } from './errors.ts';
import { isFleetAdmin } from './rbac.ts';
import type { GrantRecord, Store } from './store/index.ts';
import { parseToken, verifyStoredToken } from './tokens.ts';

/** Who is calling the hub: the token, its user, and the user's grants. */
export interface Principal {
  tokenId: string;
  userId: string;
  userName: string;
  grants: GrantRecord[];
}

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
}

/** lastUsedAt is written at most this often per token, not on every request. */
const TOUCH_INTERVAL_MS = 60_000;

export const unauthorized = (): HttpError =>
  new HttpError('UNAUTHORIZED', 'an API token is required: Authorization: Bearer <token> (see uplink login)');

/**
 * The principal behind an API token, or null when the token is malformed,
 * unknown, does not match, or its user is gone. For callers outside fastify
 * (the kubectl endpoint); `touched` throttles lastUsedAt writes per token and
 * should live as long as the caller. `reads` are the store's unless given
 * (the kubectl endpoint's AccessCache).
 */
export async function authenticateToken(store: Store, token: string, touched: Map<string, number>, reads: AccessReads = storeReads(store)): Promise<Principal | null> {
  const parsed = parseToken(token);
  if (parsed?.kind !== 'api') return null;
  const record = await reads.token(parsed.id);
  // An unknown id is checked like a wrong secret: no answer tells them apart.
  if (!verifyStoredToken(token, record?.tokenHash) || !record) return null;
  const access = await reads.user(record.userId);
  if (!access) return null;
  const now = Date.now();
  if ((touched.get(record.id) ?? 0) + TOUCH_INTERVAL_MS < now) {
    touched.set(record.id, now);
    // Bookkeeping, not the caller's request: a full disk must not fail reads.
    // The store remembers the failure, and /readyz reports it.
    await store.touchApiToken(record.id, new Date(now).toISOString()).catch(() => undefined);
  }
  return { tokenId: record.id, userId: access.user.id, userName: access.user.name, grants: access.grants };
}

/** Resolves the request's principal, or null when the token is missing or invalid. */
export async function authenticateRequest(store: Store, req: FastifyRequest, touched: Map<string, number>): Promise<Principal | null> {
  const token = /^Bearer (\S{1,256})$/.exec(req.headers.authorization ?? '')?.[1];
  return token === undefined ? null : authenticateToken(store, token, touched);
}

/** Requires a valid API token on every route registered after this in `app`'s scope. */
export function requireApiToken(app: FastifyInstance, store: Store): void {
  const touched = new Map<string, number>();
  app.decorateRequest('principal', null);
  app.addHook('onRequest', async (req) => {
    req.principal = await authenticateRequest(store, req, touched);
    if (!req.principal) throw unauthorized();
  });
}

/** The request's principal; only for routes behind requireApiToken. */
export function principalOf(req: FastifyRequest): Principal {
  if (!req.principal) throw unauthorized();
  return req.principal;
}

/** Refuses callers without a fleet-wide admin grant. */
export function requireFleetAdmin(req: FastifyRequest): void {
  if (!req.principal || !isFleetAdmin(req.principal)) {
    throw new HttpError('FORBIDDEN', 'this needs a fleet-wide admin grant (uplink users grant NAME admin)');
  }
}
