// Bearer tokens for clusters and API clients: random, shown once, stored only
// as a hash, compared in constant time.
import { createHash, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import { UplinkError } from '../util/errors.ts';

/** `cluster` tokens authenticate agents; `api` tokens authenticate API clients. */
export type TokenKind = 'cluster' | 'api';

const PREFIX_BY_KIND: Record<TokenKind, string> = { cluster: 'upc', api: 'upk' };
const KIND_BY_PREFIX = new Map<string, TokenKind>([
  ['upc', 'cluster'],
  ['upk', 'api'],
]);

/** Random bytes in a token's secret part: 256 bits. */
const SECRET_BYTES = 32;
/** Longest string parseToken looks at, so junk headers cost nothing to reject. */
const MAX_TOKEN_LENGTH = 200;
/** Ids are DNS-label friendly: lowercase letters and digits, at most 63 chars. */
const ID_PATTERN = /^[a-z0-9]{1,63}$/;
/** 32 bytes in unpadded base64url are 43 chars; `_` and `-` may occur in them. */
const TOKEN_PATTERN = /^(up[ck])_([a-z0-9]{1,63})_([A-Za-z0-9_-]{43})$/;
const HASH_PREFIX = 'sha256:';
const HASH_PATTERN = /^sha256:[0-9a-f]{64}$/;
const ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
const ID_RANDOM_CHARS = 12;

/** Thrown when a token would be issued for an id that parseToken would reject. */
export class TokenIdError extends UplinkError {
  constructor(id: string) {
    super('TOKEN_ID_INVALID', `token id ${JSON.stringify(id)} must be 1-63 characters of [a-z0-9]`);
  }
}

/**
 * Issues a new token for the record `id`. Format: `upc_<id>_<secret>` (cluster)
 * or `upk_<id>_<secret>` (API), secret = 32 random bytes in base64url. The id
 * lets the hub find the record without scanning; only `hash` is to be stored.
 */
export function issueToken(kind: TokenKind, id: string): { token: string; hash: string } {
  if (!ID_PATTERN.test(id)) throw new TokenIdError(id);
  const secret = randomBytes(SECRET_BYTES).toString('base64url');
  const token = `${PREFIX_BY_KIND[kind]}_${id}_${secret}`;
  return { token, hash: hashToken(token) };
}

/** The kind and record id of a well-formed token, or undefined for anything else. */
export function parseToken(token: string): { kind: TokenKind; id: string } | undefined {
  if (token.length > MAX_TOKEN_LENGTH) return undefined;
  const match = TOKEN_PATTERN.exec(token);
  const kind = match?.[1] === undefined ? undefined : KIND_BY_PREFIX.get(match[1]);
  const id = match?.[2];
  if (kind === undefined || id === undefined) return undefined;
  return { kind, id };
}

/**
 * `sha256:<hex>` of the whole token. A plain SHA-256 is enough: the secret has
 * 256 bits of entropy, so unlike a password it cannot be guessed or brute-forced
 * from the hash, and a slow KDF (bcrypt, scrypt) would only cost CPU per request.
 */
export function hashToken(token: string): string {
  return HASH_PREFIX + createHash('sha256').update(token, 'utf8').digest('hex');
}

/**
 * Whether `token` matches `storedHash`, compared in constant time. False for a
 * malformed token or stored hash (the format is public, so rejecting those
 * early leaks nothing).
 */
export function verifyToken(token: string, storedHash: string): boolean {
  if (!HASH_PATTERN.test(storedHash) || parseToken(token) === undefined) return false;
  const expected = Buffer.from(storedHash.slice(HASH_PREFIX.length), 'hex');
  const actual = Buffer.from(hashToken(token).slice(HASH_PREFIX.length), 'hex');
  return timingSafeEqual(actual, expected);
}

/** What a record id starts with: `c` cluster, `t` API token, `u` user. */
export type IdPrefix = 'c' | 't' | 'u';

const ID_FORMAT = new RegExp(`^[ctu][${ID_ALPHABET}]{${ID_RANDOM_CHARS}}$`);

/**
 * Whether the text has the form of a record id. Names of that form are
 * refused: lookups take a name or an id, and a cluster named like another
 * cluster's id (or a user like another user's) would make a lookup by that
 * text find the other record.
 */
export function looksLikeId(text: string): boolean {
  return ID_FORMAT.test(text);
}

/**
 * A well-formed stored hash that no token has (the hash of an empty
 * string): what a token whose id is unknown is compared with, so an unknown
 * id and a wrong secret take the same path, a hash and a constant-time
 * comparison, and answer alike.
 */
const UNKNOWN_RECORD_HASH = hashToken('');

/**
 * verifyToken against the hash stored for the token's id, or, when no record
 * has that id (`undefined`), against a hash no token matches, doing the same
 * work either way.
 */
export function verifyStoredToken(token: string, storedHash: string | undefined): boolean {
  const matches = verifyToken(token, storedHash ?? UNKNOWN_RECORD_HASH);
  return storedHash !== undefined && matches;
}

/**
 * A new record id: the prefix (`c` cluster, `t` API token, `u` user) and 12
 * random chars of [a-z0-9]. randomInt draws without modulo bias. Starting with
 * a letter keeps ids valid DNS labels.
 */
export function newId(prefix: IdPrefix): string {
  let id = prefix;
  for (let i = 0; i < ID_RANDOM_CHARS; i++) id += ID_ALPHABET.charAt(randomInt(ID_ALPHABET.length));
  return id;
}
