// How the hub connects to PostgreSQL: the URL parsed at the boundary into a
// node-postgres configuration, the password read from a file on every new
// connection, and the bounds every connection gets. URLs in messages have
// their password replaced.
import { closeSync, openSync, readSync } from 'node:fs';
import type pg from 'pg';
import { StoreError, StoreUnavailableError } from './store.ts';

/** Connections one hub replica holds at most: heartbeat batches, API reads, one cursor for a fleet list. */
export const POOL_MAX_CONNECTIONS = 10;
/** How long a call waits for a connection (new or from the pool) before it fails as unavailable. */
export const CONNECT_TIMEOUT_MS = 5_000;
/** Server side: a statement running longer is cancelled (a lock held too long, a runaway query). */
export const STATEMENT_TIMEOUT_MS = 15_000;
/** Client side, for a server or network that stopped answering (statement_timeout cannot fire then). */
export const QUERY_TIMEOUT_MS = STATEMENT_TIMEOUT_MS + 5_000;
/** An idle pooled connection is closed after this. */
const IDLE_TIMEOUT_MS = 30_000;
/** A password file larger than this is not a password file. */
const MAX_PASSWORD_BYTES = 4096;

export interface PostgresConnectionOptions {
  /** postgres://user[:password]@host[:port]/database[?sslmode=...&sslrootcert=...] */
  url: string;
  /** A file holding the password (a mounted Secret); it wins over a password in the URL. */
  passwordFile?: string;
}

/** The URL with its password, if any, replaced: for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(a database URL that does not parse)';
  }
}

const SSL_MODES = ['disable', 'require', 'verify-ca', 'verify-full'] as const;
const URL_PARAMETERS = new Set(['sslmode', 'sslrootcert']);

/**
 * The node-postgres configuration for a URL, checked: scheme, host, database
 * and the query parameters the hub understands (sslmode, sslrootcert).
 * Throws a StoreError naming what is wrong; the message never holds the password.
 */
export function postgresClientConfig(options: PostgresConnectionOptions): pg.ClientConfig {
  const shown = redactUrl(options.url);
  const fail = (why: string): never => { throw new StoreError(`database URL ${shown}: ${why}`); };
  let url: URL;
  try {
    url = new URL(options.url);
  } catch {
    return fail('not a URL');
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') fail('the scheme must be postgres:// or postgresql://');
  if (url.hostname === '') fail('no host');
  const user = decodeURIComponent(url.username);
  if (user === '') fail('no user (postgres://USER@host/database)');
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (database === '' || database.includes('/')) fail('no database (postgres://user@host/DATABASE)');
  for (const key of url.searchParams.keys()) {
    if (!URL_PARAMETERS.has(key)) fail(`unknown parameter "${key}" (known: ${[...URL_PARAMETERS].join(', ')})`);
  }
  return {
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port === '' ? 5432 : Number(url.port),
    user,
    database,
    password: passwordSource(options, decodeURIComponent(url.password)),
    ssl: sslConfig(url.searchParams, fail),
    application_name: 'uplink-hub',
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    statement_timeout: STATEMENT_TIMEOUT_MS,
    query_timeout: QUERY_TIMEOUT_MS,
    idle_in_transaction_session_timeout: STATEMENT_TIMEOUT_MS,
    keepAlive: true,
  };
}

/** The pool's configuration: the client's plus the pool's bounds. */
export function postgresPoolConfig(options: PostgresConnectionOptions): pg.PoolConfig {
  return { ...postgresClientConfig(options), max: POOL_MAX_CONNECTIONS, idleTimeoutMillis: IDLE_TIMEOUT_MS };
}

function sslConfig(params: URLSearchParams, fail: (why: string) => never): pg.ClientConfig['ssl'] {
  const mode = params.get('sslmode') ?? 'disable';
  const rootCert = params.get('sslrootcert');
  if (!(SSL_MODES as readonly string[]).includes(mode)) fail(`sslmode "${mode}" is not one of ${SSL_MODES.join(', ')}`);
  if (mode === 'disable') return false;
  // libpq's require encrypts without checking the server's certificate.
  if (mode === 'require') return { rejectUnauthorized: false };
  const ca = rootCert === null ? undefined : readSmallFile(rootCert, 'sslrootcert', 1024 * 1024);
  // verify-ca checks the chain but not the host name.
  return mode === 'verify-ca' ? { ca, checkServerIdentity: () => undefined } : { ca };
}

/**
 * The password for each new connection. From a file it is read every time, so
 * a rotated Secret is used by the next connection without a restart; read once
 * here too, so a missing file fails at start rather than at the first query.
 */
function passwordSource(options: PostgresConnectionOptions, fromUrl: string): pg.ClientConfig['password'] {
  const file = options.passwordFile;
  if (file === undefined) return fromUrl === '' ? undefined : fromUrl;
  parsePassword(readSmallFile(file, 'password file', MAX_PASSWORD_BYTES), file);
  // A few bytes read synchronously, once per new connection: simpler than a stream, and as fast.
  // Failing later (a Secret unmounted) makes the database unavailable, like a refused login.
  return () => Promise.resolve().then(() => parsePassword(readSmallFile(file, 'password file', MAX_PASSWORD_BYTES), file)).catch((error: unknown) => {
    throw new StoreUnavailableError('STORE_UNAVAILABLE', (error as Error).message, { cause: error });
  });
}

function parsePassword(text: string, file: string): string {
  if (Buffer.byteLength(text) > MAX_PASSWORD_BYTES) throw new StoreError(`the database password file ${file} is larger than ${MAX_PASSWORD_BYTES} bytes`);
  // A Secret written with `echo` ends in a newline that is no part of the password.
  const password = text.replace(/\r?\n$/, '');
  if (password === '') throw new StoreError(`the database password file ${file} is empty`);
  return password;
}

/** Reads at most maxBytes + 1 bytes, so a wrong path (a device, a huge file) fails fast instead of filling memory. */
function readSmallFile(path: string, what: string, maxBytes: number): string {
  let bytesRead: number;
  const buffer = Buffer.alloc(maxBytes + 1);
  try {
    const fd = openSync(path, 'r');
    try {
      bytesRead = readSync(fd, buffer, 0, buffer.length, 0);
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    throw new StoreError(`cannot read the database ${what} ${path}: ${(error as Error).message}`, { cause: error });
  }
  if (bytesRead > maxBytes) throw new StoreError(`the database ${what} ${path} is larger than ${maxBytes} bytes`);
  return buffer.toString('utf8', 0, bytesRead);
}
