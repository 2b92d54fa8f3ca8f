// The gateway's browser sessions (hub/gateway/sessions.ts) in both stores:
// the schema of each and the statements, kept apart from the other tables'
// so the stores only delegate. A session row goes with its API token and
// its user (foreign keys), so revoking either ends it.
import type { SQLOutputValue } from 'node:sqlite';
import type { GatewaySessionRecord } from './store.ts';

/** Sessions one API token may hold; signing in once more drops its oldest beyond this. */
export const MAX_SESSIONS_PER_TOKEN = 20;

/** SQLite schema (a migration of migrations.ts). */
export const SQLITE_GATEWAY_SESSIONS_SCHEMA = `
  CREATE TABLE gateway_sessions (
    id_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_id TEXT NOT NULL REFERENCES api_tokens (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
  ) STRICT;
  CREATE INDEX gateway_sessions_token ON gateway_sessions (token_id, created_at);
  CREATE INDEX gateway_sessions_user ON gateway_sessions (user_id);
  CREATE INDEX gateway_sessions_expires ON gateway_sessions (expires_at);
`;

/** PostgreSQL schema (a migration of postgres-migrations.ts). */
export const POSTGRES_GATEWAY_SESSIONS_SCHEMA = `
  CREATE TABLE gateway_sessions (
    id_hash text COLLATE "C" PRIMARY KEY,
    user_id text COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_id text COLLATE "C" NOT NULL REFERENCES api_tokens (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
  );
  CREATE INDEX gateway_sessions_token ON gateway_sessions (token_id, created_at);
  CREATE INDEX gateway_sessions_user ON gateway_sessions (user_id);
  CREATE INDEX gateway_sessions_expires ON gateway_sessions (expires_at);
`;

/** SQLite statements, named parameters. */
export const SQLITE_SESSION_SQL = {
  insert: 'INSERT INTO gateway_sessions (id_hash, user_id, token_id, created_at, expires_at) VALUES (:idHash, :userId, :tokenId, :createdAt, :expiresAt)',
  trim: `DELETE FROM gateway_sessions WHERE token_id = :tokenId AND id_hash NOT IN (
    SELECT id_hash FROM gateway_sessions WHERE token_id = :tokenId ORDER BY created_at DESC, id_hash LIMIT ${MAX_SESSIONS_PER_TOKEN})`,
  select: 'SELECT * FROM gateway_sessions WHERE id_hash = :idHash',
  delete: 'DELETE FROM gateway_sessions WHERE id_hash = :idHash',
  prune: 'DELETE FROM gateway_sessions WHERE expires_at <= :now',
} as const;

/** PostgreSQL statements, positional parameters. */
export const POSTGRES_SESSION_SQL = {
  insert: 'INSERT INTO gateway_sessions (id_hash, user_id, token_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)',
  trim: `DELETE FROM gateway_sessions WHERE token_id = $1 AND id_hash NOT IN (
    SELECT id_hash FROM gateway_sessions WHERE token_id = $1 ORDER BY created_at DESC, id_hash LIMIT ${MAX_SESSIONS_PER_TOKEN})`,
  select: 'SELECT * FROM gateway_sessions WHERE id_hash = $1',
  delete: 'DELETE FROM gateway_sessions WHERE id_hash = $1',
  prune: 'DELETE FROM gateway_sessions WHERE expires_at <= $1',
} as const;

function text(row: Record<string, SQLOutputValue>, column: string): string {
  const value = row[column];
  if (typeof value === 'string') return value;
  throw new TypeError(`gateway_sessions.${column} is not text`);
}

/** A stored row as a record. */
export function toGatewaySessionRecord(row: Record<string, SQLOutputValue>): GatewaySessionRecord {
  return {
    idHash: text(row, 'id_hash'), userId: text(row, 'user_id'), tokenId: text(row, 'token_id'),
    createdAt: text(row, 'created_at'), expiresAt: text(row, 'expires_at'),
  };
}
