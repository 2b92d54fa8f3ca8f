// The gateway's browser credentials and the checks around them. A session
// cookie (`uplink_gw`: 32 random bytes, only its hash stored) is what a
// signed-in browser sends; the sign-in and sign-out forms are guarded by a
// double-submitted CSRF value (`uplink_gw_csrf`, SameSite=Strict, echoed in
// the form) and by the Origin (or Referer) naming the host the form was
// posted to, so a page of another site can neither sign a browser in (into
// its own account) nor out. Pure functions; the clock is passed in.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { GATEWAY_PAGES_PREFIX, GATEWAY_PREFIX } from './address.ts';

/** The session cookie on the hub's own host (path form). */
export const SESSION_COOKIE = 'uplink_gw';
/**
 * The session cookie on a host-form host: the `__Host-` prefix makes the
 * browser refuse one set with a Domain, so the app of one exposure host
 * cannot plant a session (its own) on another's.
 */
export const HOST_SESSION_COOKIE = '__Host-uplink_gw';
/** The sign-in form's double-submit value. */
export const CSRF_COOKIE = 'uplink_gw_csrf';
/** Cookies the service behind the gateway never sees nor sets. */
export const GATEWAY_COOKIES: ReadonlySet<string> = new Set([SESSION_COOKIE, HOST_SESSION_COOKIE, CSRF_COOKIE]);
/** Random bytes in a session id and a CSRF value. */
export const SECRET_BYTES = 32;
/** A session lasts this long from its sign-in, whatever is done with it. */
export const SESSION_TTL_MS = 12 * 3600_000;
/** A sign-in form is good for this long. */
export const CSRF_TTL_MS = 3600_000;
/** 32 bytes in unpadded base64url. */
const SECRET_PATTERN = /^[A-Za-z0-9_-]{43}$/;
/** Longest Cookie header read. */
const MAX_COOKIE_CHARS = 16 * 1024;

/** A new random secret (session id or CSRF value), base64url. */
export function newSecret(): string {
  return randomBytes(SECRET_BYTES).toString('base64url');
}

/** What a session id is stored as: `sha256:<hex>`; the id itself is only ever in the browser. */
export function hashSessionId(id: string): string {
  return `sha256:${createHash('sha256').update(id, 'utf8').digest('hex')}`;
}

/** Whether text has the form of a secret this module issued. */
export function isSecret(text: string | undefined): text is string {
  return text !== undefined && SECRET_PATTERN.test(text);
}

/** The value of one cookie in a Cookie header (the first one of that name), or undefined. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined || header.length > MAX_COOKIE_CHARS) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq !== -1 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** The session cookie's name on a form's hosts. */
export function sessionCookieName(form: 'path' | 'host'): string {
  return form === 'path' ? SESSION_COOKIE : HOST_SESSION_COOKIE;
}

/**
 * The session id a Cookie header carries for the form, or undefined. Two
 * cookies of that name mean one was set from another host of a shared parent
 * domain (a page of the host form tossing its own session at the hub's
 * host): neither is used, rather than risk acting as someone else.
 */
export function sessionIdOf(header: string | undefined, form: 'path' | 'host'): string | undefined {
  if (header === undefined || header.length > MAX_COOKIE_CHARS) return undefined;
  const name = sessionCookieName(form);
  const values = header.split(';').map((part) => part.trim()).filter((part) => part.startsWith(`${name}=`));
  return values.length === 1 ? values[0]?.slice(name.length + 1) : undefined;
}

/** Where a cookie of the gateway applies: `/gw/` on the hub's host, the whole host on the host form. */
export function cookiePath(form: 'path' | 'host'): string {
  return form === 'path' ? GATEWAY_PREFIX : '/';
}

/** The Set-Cookie of a new session (host-only: no Domain). */
export function sessionCookie(id: string, form: 'path' | 'host', ttlMs = SESSION_TTL_MS): string {
  return `${sessionCookieName(form)}=${id}; Path=${cookiePath(form)}; Max-Age=${Math.floor(ttlMs / 1000)}; HttpOnly; Secure; SameSite=Lax`;
}

/** The Set-Cookie that removes the session cookie. */
export function clearedSessionCookie(form: 'path' | 'host'): string {
  return `${sessionCookieName(form)}=; Path=${cookiePath(form)}; Max-Age=0; HttpOnly; Secure; SameSite=Lax`;
}

/** The Set-Cookie of a sign-in form's CSRF value: sent back only to the gateway's pages, and never from another site. */
export function csrfCookie(value: string): string {
  return `${CSRF_COOKIE}=${value}; Path=${GATEWAY_PAGES_PREFIX}; Max-Age=${CSRF_TTL_MS / 1000}; HttpOnly; Secure; SameSite=Strict`;
}

/** Whether the form's CSRF value is the cookie's, compared in constant time. */
export function csrfMatches(cookie: string | undefined, field: string | undefined): boolean {
  if (!isSecret(cookie) || !isSecret(field)) return false;
  return timingSafeEqual(Buffer.from(cookie), Buffer.from(field));
}

/**
 * Whether a form post comes from a page of the host it was posted to: its
 * Origin (or, without one, its Referer) must be that host. A post with
 * neither is refused (every browser sends Origin on a form POST).
 */
export function sameOriginPost(headers: { origin?: string | undefined; referer?: string | undefined; host?: string | undefined }): boolean {
  const source = headers.origin ?? headers.referer;
  if (source === undefined || source === 'null' || headers.host === undefined) return false;
  try {
    const url = new URL(source);
    return (url.protocol === 'https:' || url.protocol === 'http:') && url.host.toLowerCase() === headers.host.toLowerCase();
  } catch {
    return false;
  }
}

/**
 * Where to send a browser after signing in: `next` when it is a path on this
 * host under the gateway (path form: `/gw/…`, not the gateway's own pages;
 * host form: any path), else the fallback. Never another host, never a
 * scheme-relative `//host` or a backslash trick.
 */
export function safeNext(next: string | undefined, form: 'path' | 'host'): string {
  const fallback = form === 'path' ? `${GATEWAY_PAGES_PREFIX}login` : '/';
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  if (next === undefined || next.length > 4096 || !next.startsWith('/') || /[\\\u0000-\u001f\u007f]/.test(next)) return fallback;
  let url: URL;
  try {
    url = new URL(next, 'https://gateway.invalid');
  } catch {
    return fallback;
  }
  if (url.origin !== 'https://gateway.invalid') return fallback;
  const path = `${url.pathname}${url.search}${url.hash}`;
  if (form === 'path' && (!url.pathname.startsWith(GATEWAY_PREFIX) || url.pathname.startsWith(GATEWAY_PAGES_PREFIX))) return fallback;
  return path;
}
