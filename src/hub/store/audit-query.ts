// The listAudit query, for both stores: only the filters present, so the
// database can use the (cluster_id, at) and (user_name, at) indexes; there
// are 16 variants at most.
import { AUDIT_DEFAULT_LIMIT, AUDIT_MAX_LIMIT, type AuditQuery } from './store.ts';

/** Columns of AuditQuery's filters; each one present adds its condition. */
const AUDIT_FILTERS = [
  ['clusterId', 'cluster_id', '='],
  ['userName', 'user_name', '='],
  ['since', 'at', '>='],
  ['until', 'at', '<'],
] as const;

type AuditParameter = (typeof AUDIT_FILTERS)[number][0] | 'limit';

/**
 * The SQL for the filters present; `bind` records each value and returns its
 * placeholder in the driver's style (`:name` for SQLite, `$n` for PostgreSQL).
 */
function auditListQuery(query: AuditQuery, bind: (name: AuditParameter, value: string | number) => string): string {
  const conditions: string[] = [];
  for (const [key, column, operator] of AUDIT_FILTERS) {
    const value = query[key];
    if (value !== undefined) conditions.push(`${column} ${operator} ${bind(key, value)}`);
  }
  const where = conditions.length === 0 ? '' : `WHERE ${conditions.join(' AND ')}`;
  // id breaks ties between rows of the same millisecond: later insert first.
  return `SELECT * FROM audit_log ${where} ORDER BY at DESC, id DESC LIMIT ${bind('limit', clampAuditLimit(query.limit))}`;
}

/** For SQLite: `:name` placeholders, and the parameters by name. */
export function auditListQueryNamed(query: AuditQuery): { sql: string; params: Record<string, string | number> } {
  const params: Record<string, string | number> = {};
  const sql = auditListQuery(query, (name, value) => {
    params[name] = value;
    return `:${name}`;
  });
  return { sql, params };
}

/** For PostgreSQL: `$1`, `$2`, ... placeholders, and the parameters in that order. */
export function auditListQueryPositional(query: AuditQuery): { sql: string; values: (string | number)[] } {
  const values: (string | number)[] = [];
  const sql = auditListQuery(query, (_name, value) => `$${values.push(value)}`);
  return { sql, values };
}

function clampAuditLimit(limit: number | undefined): number {
  if (limit === undefined || !Number.isFinite(limit)) return AUDIT_DEFAULT_LIMIT;
  return Math.min(AUDIT_MAX_LIMIT, Math.max(1, Math.floor(limit)));
}
