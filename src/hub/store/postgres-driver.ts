// The PostgreSQL store's contact with node-postgres: how values come out of
// the driver (so rows look as the SQLite store's do), the pool and its error
// events, and driver errors mapped to the store's typed errors.
import pg from 'pg';
import { UplinkError } from '../../util/errors.ts';
import type { Logger } from '../../util/logger.ts';
import { redactUrl } from './postgres-config.ts';
import { describe, type ConflictMessages } from './sqlite-driver.ts';
import { StoreConflictError, StoreError, StoreUnavailableError } from './store.ts';

const OID = { int8: 20, json: 114, timestamptz: 1184, jsonb: 3802 } as const;

type Parser = (text: string) => unknown;
/** node-postgres' own parser for a type (its typings want an enum member, not an OID read off the wire). */
const defaultParser = pg.types.getTypeParser as (oid: number, format?: 'text' | 'binary') => Parser;

function isoTimestamp(text: string): string {
  const parsed = defaultParser(OID.timestamptz)(text);
  return parsed instanceof Date && !Number.isNaN(parsed.getTime()) ? parsed.toISOString() : text;
}

/**
 * Values as the store's records hold them: timestamps as ISO 8601 text
 * (timestamptz keeps microseconds; the hub writes milliseconds), JSON as the
 * text stored (the fleet list passes facts on unparsed), and 64-bit integers
 * (counts, audit ids and byte counts) as numbers, all far below 2^53.
 */
export const STORE_TYPES: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary'): Parser => {
    if (format === 'binary') return defaultParser(oid, 'binary');
    if (oid === OID.json || oid === OID.jsonb) return (text: string) => text;
    if (oid === OID.timestamptz) return isoTimestamp;
    if (oid === OID.int8) return Number;
    return defaultParser(oid, 'text');
  }) as pg.CustomTypesConfig['getTypeParser'],
};

/**
 * A pool whose error events are logged, never thrown: node-postgres emits
 * `error` on the pool when an idle connection dies (the server restarted, the
 * network dropped), and an EventEmitter error without a listener would end
 * the process. The next call opens a new connection or fails as unavailable.
 */
export function createPool(config: pg.PoolConfig, log: Pick<Logger, 'warn'>, where: string): pg.Pool {
  const pool = new pg.Pool({ ...config, types: STORE_TYPES });
  pool.on('error', (error) => {
    log.warn({ err: { message: error.message, code: sqlState(error) } }, `an idle connection to the database at ${where} failed; the next call reconnects`);
  });
  return pool;
}

/**
 * Runs `work` with a connection of its own (a transaction, a cursor), released
 * after. While checked out, a connection's error event has no listener from
 * the pool, so one is added for the time it is held: the error also fails the
 * query in flight, which is where it is handled. A connection that failed is
 * destroyed rather than returned.
 */
export async function withClient<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let failed: Error | undefined;
  const onError = (error: Error): void => { failed = error; };
  client.on('error', onError);
  try {
    return await work(client);
  } catch (error) {
    failed ??= isConnectionLoss(error) ? (error as Error) : undefined;
    throw error;
  } finally {
    client.off('error', onError);
    client.release(failed);
  }
}

/** Runs `work` inside BEGIN/COMMIT on a connection of its own; ROLLBACK when it throws. */
export async function inTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  return withClient(pool, async (client) => {
    await client.query('BEGIN');
    try {
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  });
}

/**
 * PostgreSQL text cannot hold NUL, which a request's path or an older SQLite
 * row can: U+FFFD takes its place, so the row is kept rather than refused.
 */
export function withoutNul<T>(value: T): T {
  return (typeof value === 'string' && value.includes('\0') ? value.replaceAll('\0', '\uFFFD') : value) as T;
}

/** SQLSTATE classes and codes (https://www.postgresql.org/docs/current/errcodes-appendix.html). */
const UNIQUE_VIOLATION = '23505';
const DISK_FULL = '53100';
/**
 * The database cannot serve now: connection failures (08), resources
 * exhausted (53), the server shutting down or starting (57P0x), a read-only
 * server such as a standby after a failover (25006), a statement cancelled by
 * statement_timeout (57014), credentials refused (28).
 */
const UNAVAILABLE_CLASSES = ['08', '53', '28'];
const UNAVAILABLE_CODES = new Set(['57P01', '57P02', '57P03', '57014', '25006', '55P03']);
/** Node socket errors and node-postgres' own messages for a lost or unreachable server. */
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);
const LOST_CONNECTION = /Connection terminated|timeout exceeded when trying to connect|Query read timeout|not queryable|connection is closed/i;

function sqlState(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  return typeof error.code === 'string' ? error.code : undefined;
}

export function isForeignKeyViolation(error: unknown): boolean {
  return sqlState(error) === '23503';
}

/** Whether the error means the connection or the server is gone (not a failed statement). */
export function isConnectionLoss(error: unknown): boolean {
  const code = sqlState(error);
  if (code !== undefined && (SOCKET_CODES.has(code) || code.startsWith('08') || code === '57P01' || code === '57P02')) return true;
  return error instanceof Error && LOST_CONNECTION.test(error.message);
}

function isUnavailable(error: unknown): boolean {
  const code = sqlState(error);
  if (code !== undefined && (UNAVAILABLE_CODES.has(code) || UNAVAILABLE_CLASSES.includes(code.slice(0, 2)))) return true;
  return isConnectionLoss(error);
}

/** The constraint a unique violation names: `<table>_pkey` for a primary key. */
function constraintOf(error: unknown): string {
  if (typeof error !== 'object' || error === null || !('constraint' in error)) return '';
  return typeof error.constraint === 'string' ? error.constraint : '';
}

/** Driver errors as the store's errors; `where` is the database's URL, password redacted. */
export function toPostgresStoreError(action: string, error: unknown, conflict: ConflictMessages | undefined, where: string): UplinkError {
  if (error instanceof UplinkError) return error;
  const code = sqlState(error);
  if (code === UNIQUE_VIOLATION && conflict !== undefined) {
    const message = constraintOf(error).endsWith('_pkey') ? conflict.primaryKey : conflict.unique ?? conflict.primaryKey;
    return new StoreConflictError(message, { cause: error });
  }
  if (code === DISK_FULL) {
    return new StoreUnavailableError('STORE_FULL', `the hub's database is full (disk or filesystem): ${action} was not stored`, { cause: error });
  }
  if (isUnavailable(error)) {
    return new StoreUnavailableError('STORE_UNAVAILABLE', `the hub's database at ${redactUrl(where)} cannot be used (${describe(error)}): ${action} failed`, { cause: error });
  }
  return new StoreError(`postgres store: ${action} failed: ${describe(error)}`, { cause: error });
}
