// /api/v1/audit: what users did in clusters through the hub, newest first
// (fleet-wide admin only).
import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import { requireFleetAdmin } from '../auth.ts';
import { badRequest } from '../errors.ts';
import { AUDIT_MAX_LIMIT, type AuditQuery, type AuditRow, type Store } from '../store/index.ts';

/**
 * A row as the API answers it: `state` says whether a stream is still
 * `in_progress`, `complete`, or `interrupted` (its hub died with it open);
 * `replica` names the hub replica that served it (null on a hub alone).
 */
export type AuditView = AuditRow;

const AuditQueryString = Type.Object({
  cluster: Type.Optional(Type.String({ minLength: 1, maxLength: 63 })),
  user: Type.Optional(Type.String({ minLength: 1, maxLength: 63 })),
  since: Type.Optional(Type.String({ maxLength: 64 })),
  until: Type.Optional(Type.String({ maxLength: 64 })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: AUDIT_MAX_LIMIT })),
});

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
/** A relative duration: up to 6 digits and a unit, so `now - duration` stays a valid date. */
const DURATION = /^(\d{1,6})([smhd])$/;
/** ISO 8601 dates and times; Date.parse alone would also take "March 7" and the like. */
const ISO_8601 = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/i;

/**
 * A `since` or `until` value as an ISO 8601 UTC time: either an ISO 8601
 * time, or a duration such as `30m`, `2h` or `7d` meaning that long before
 * `now`. Throws a 400 naming `field` for anything else.
 */
export function parseTimeBound(value: string, field: string, now: number = Date.now()): string {
  const text = value.trim();
  const duration = DURATION.exec(text);
  const at = duration ? now - Number(duration[1]) * (UNIT_MS[duration[2] ?? ''] ?? 0)
    : ISO_8601.test(text) ? Date.parse(text)
    : Number.NaN;
  if (!Number.isFinite(at) || Math.abs(at) > 8.64e15) {
    throw badRequest(`${field} must be an ISO 8601 time (2026-01-02T15:04:05Z) or a duration like 30m, 2h or 7d, got '${value}'`);
  }
  return new Date(at).toISOString();
}

/**
 * The audit query for the request. `cluster` is a name or id: a current
 * cluster's name resolves to its id; anything else is taken as an id, so rows
 * of a deleted cluster stay reachable by the id they carry.
 */
async function toAuditQuery(store: Store, query: Type.Static<typeof AuditQueryString>): Promise<AuditQuery> {
  const now = Date.now();
  const result: AuditQuery = {};
  if (query.cluster !== undefined) result.clusterId = (await store.getClusterByName(query.cluster))?.id ?? query.cluster;
  if (query.user !== undefined) result.userName = query.user;
  if (query.since !== undefined) result.since = parseTimeBound(query.since, 'since', now);
  if (query.until !== undefined) result.until = parseTimeBound(query.until, 'until', now);
  if (query.limit !== undefined) result.limit = query.limit;
  return result;
}

export function registerAuditRoutes(app: FastifyInstance, options: { store: Store }): void {
  const { store } = options;
  app.get('/api/v1/audit', { schema: { querystring: AuditQueryString } }, async (req): Promise<{ items: AuditView[] }> => {
    requireFleetAdmin(req);
    const query = await toAuditQuery(store, req.query as Type.Static<typeof AuditQueryString>);
    return { items: await store.listAudit(query) };
  });
}
