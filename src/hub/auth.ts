// API authentication: `Authorization: Bearer <api token>`, looked up by the
// id inside the token and compared in constant time with the stored hash.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { HttpError } from './errors.ts';
import type { Store } from './store/index.ts';
import { parseToken, verifyToken } from './tokens.ts';

/** Who is calling the API. */
export interface Principal {
  tokenId: string;
  name: string;
  role: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
}

/** lastUsedAt is written at most this often per token, not on every request. */
const TOUCH_INTERVAL_MS = 60_000;

export const unauthorized = (): HttpError =>
  new HttpError(401, 'UNAUTHORIZED', 'an API token is required: Authorization: Bearer <token> (see uplink login)');

/** Resolves the request's principal, or null when the token is missing or invalid. */
export async function authenticateRequest(store: Store, req: FastifyRequest, touched: Map<string, number>): Promise<Principal | null> {
  const match = /^Bearer (\S{1,256})$/.exec(req.headers.authorization ?? '');
  const token = match?.[1];
  const parsed = token === undefined ? undefined : parseToken(token);
  if (token === undefined || parsed?.kind !== 'api') return null;
  const record = await store.getApiToken(parsed.id);
  if (!record || !verifyToken(token, record.tokenHash)) return null;
  const now = Date.now();
  if ((touched.get(record.id) ?? 0) + TOUCH_INTERVAL_MS < now) {
    touched.set(record.id, now);
    await store.touchApiToken(record.id, new Date(now).toISOString());
  }
  return { tokenId: record.id, name: record.name, role: record.role };
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

/** Refuses callers without one of the roles. */
export function requireRole(req: FastifyRequest, roles: readonly string[]): void {
  if (!req.principal || !roles.includes(req.principal.role)) {
    throw new HttpError(403, 'FORBIDDEN', `this needs the ${roles.join(' or ')} role`);
  }
}
