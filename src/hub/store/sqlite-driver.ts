// The SQLite store's contact with the file and the driver: the database
// file's mode, writes that must run to completion, and driver errors mapped to
// the store's typed errors (a conflict, a full disk, an unwritable file).
import { chmodSync, closeSync, existsSync, openSync } from 'node:fs';
import type { SQLInputValue, SQLOutputValue, StatementSync } from 'node:sqlite';
import { UplinkError } from '../../util/errors.ts';
import { StoreConflictError, StoreError, StoreUnavailableError } from './store.ts';

/** Extended result codes (https://sqlite.org/rescode.html) that mean "already exists". */
const SQLITE_CONSTRAINT_PRIMARYKEY = 1555;
const SQLITE_CONSTRAINT_UNIQUE = 2067;
/** Primary result codes (the low byte) that mean the database cannot take writes now. */
const SQLITE_FULL = 13;
const SQLITE_UNWRITABLE = new Set([8 /* READONLY */, 10 /* IOERR */, 14 /* CANTOPEN */, 26 /* NOTADB */, 11 /* CORRUPT */]);

/** The database holds token hashes and the audit log: owner only, whatever the directory's mode. */
const DATABASE_FILE_MODE = 0o600;

/**
 * Creates the database file 0600 before SQLite does (SQLite would use the
 * umask, typically 0644) and narrows an existing one. SQLite gives its -wal
 * and -shm files the main file's mode; existing ones are narrowed too.
 */
export function makePrivate(path: string): void {
  if (path === ':memory:') return;
  closeSync(openSync(path, 'a', DATABASE_FILE_MODE));
  for (const file of [path, `${path}-wal`, `${path}-shm`]) {
    if (existsSync(file)) chmodSync(file, DATABASE_FILE_MODE);
  }
}

/**
 * Runs a write that has RETURNING to completion and gives its first row. The
 * driver's get() stops at the first row and resets the statement, dropping
 * whatever error completing it raises: outside a transaction the commit that
 * fails (disk full) is lost and the row comes back though nothing is stored;
 * inside one the statement is undone while the transaction goes on.
 */
export function returning(statement: StatementSync, params: Record<string, SQLInputValue>): Record<string, SQLOutputValue> | undefined {
  return statement.all(params)[0];
}

/** Conflict messages for a write, by which constraint it broke. */
export interface ConflictMessages {
  primaryKey: string;
  unique?: string;
}

export function toStoreError(action: string, error: unknown, conflict: ConflictMessages | undefined): UplinkError {
  if (error instanceof UplinkError) return error;
  const errcode = sqliteErrcode(error);
  const conflictMessage =
    errcode === SQLITE_CONSTRAINT_PRIMARYKEY ? conflict?.primaryKey
    : errcode === SQLITE_CONSTRAINT_UNIQUE ? conflict?.unique
    : undefined;
  if (conflictMessage !== undefined) return new StoreConflictError(conflictMessage, { cause: error });
  const primary = errcode === undefined ? undefined : errcode & 0xff;
  if (primary === SQLITE_FULL) {
    return new StoreUnavailableError('STORE_FULL', `the hub's database is full (disk or filesystem): ${action} was not stored`, { cause: error });
  }
  if (primary !== undefined && SQLITE_UNWRITABLE.has(primary)) {
    return new StoreUnavailableError('STORE_UNAVAILABLE', `the hub's database cannot be written (${describe(error)}): ${action} was not stored`, { cause: error });
  }
  return new StoreError(`sqlite store: ${action} failed: ${describe(error)}`, { cause: error });
}

function sqliteErrcode(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null || !('errcode' in error)) return undefined;
  return typeof error.errcode === 'number' ? error.errcode : undefined;
}

export function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
