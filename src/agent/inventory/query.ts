// The filters of list and watch queries, page sizes and continue tokens,
// checked once per query with errors that name the bad field.
import { DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT, type ResourceRow } from '../../link/resources.ts';
import { UplinkError } from '../../util/errors.ts';
import { parseLabelSelector, type LabelSelector } from '../../domain/label-selector.ts';

export type InventoryErrorCode = 'UNKNOWN_KIND' | 'BAD_CONTINUE' | 'BAD_LIMIT' | 'TOO_MANY_WATCHES';

/** A query the inventory cannot answer as asked (BAD_SELECTOR comes from the selector parser). */
export class InventoryError extends UplinkError {
  // eslint-disable-next-line @typescript-eslint/no-useless-constructor -- narrows `code` to the inventory's codes
  constructor(code: InventoryErrorCode, message: string) {
    super(code, message);
  }
}

export interface RowQuery {
  namespace?: string | undefined;
  labelSelector?: string | undefined;
  /** Case-insensitive substring of the name. */
  name?: string | undefined;
  /** Only rows of these namespaces (the ones the reader may see); undefined: no such limit. */
  namespaces?: ReadonlySet<string> | undefined;
}

export interface RowFilter {
  /** Undefined: all namespaces (and always for cluster-scoped kinds). */
  namespace: string | undefined;
  selector: LabelSelector | undefined;
  nameNeedle: string | undefined;
  /** Undefined: any namespace; else only rows of these (cluster-scoped rows never match). */
  namespaces: ReadonlySet<string> | undefined;
}

function present(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

/** Parses a query's filters; throws BAD_SELECTOR. A namespace filter on a cluster-scoped kind is ignored, as kubectl does. */
export function compileFilter(query: RowQuery, namespaced: boolean): RowFilter {
  const selector = present(query.labelSelector);
  const parsed = selector === undefined ? undefined : parseLabelSelector(selector);
  return {
    namespace: namespaced ? present(query.namespace) : undefined,
    selector: parsed?.empty ? undefined : parsed,
    nameNeedle: present(query.name)?.toLowerCase(),
    namespaces: namespaced ? query.namespaces : undefined,
  };
}

export function rowMatches(filter: RowFilter, row: ResourceRow): boolean {
  if (filter.namespace !== undefined && row.namespace !== filter.namespace) return false;
  if (filter.namespaces !== undefined && (row.namespace === null || !filter.namespaces.has(row.namespace))) return false;
  if (filter.nameNeedle !== undefined && !row.name.toLowerCase().includes(filter.nameNeedle)) return false;
  return filter.selector === undefined || filter.selector.matches(row.labels);
}

/** The page size asked for, or the default; throws BAD_LIMIT outside 1..MAX_LIST_LIMIT. */
export function checkLimit(limit: number | undefined): number {
  if (limit === undefined) return DEFAULT_LIST_LIMIT;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT) {
    throw new InventoryError('BAD_LIMIT', `limit must be an integer from 1 to ${MAX_LIST_LIMIT}, got ${String(limit)}`);
  }
  return limit;
}

/**
 * A continue token names the last key of the page before (not an offset), so
 * the next page starts right after it however many objects came or went in
 * between. It carries the kind so a token is not replayed on another kind.
 */
export function encodeContinue(resource: string, lastKey: string): string {
  return Buffer.from(JSON.stringify([resource, lastKey])).toString('base64url');
}

/** The key a continue token resumes after; throws BAD_CONTINUE. */
export function decodeContinue(resource: string, token: string): string {
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    decoded = undefined;
  }
  if (!Array.isArray(decoded) || decoded.length !== 2 || typeof decoded[0] !== 'string' || typeof decoded[1] !== 'string') {
    throw new InventoryError('BAD_CONTINUE', 'continue is not a token from a previous page of this list');
  }
  if (decoded[0] !== resource) {
    throw new InventoryError('BAD_CONTINUE', `continue is a token of a list of ${decoded[0]}, not of ${resource}`);
  }
  return decoded[1];
}
