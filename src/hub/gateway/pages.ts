// The gateway's own pages: `/gw/-/login` (GET: a form asking for an API
// token; POST: checks it and starts a session) and `/gw/-/logout` (POST).
// The token only ever travels in a POST body, never in a URL. Each form
// carries a fresh CSRF value that must match its SameSite=Strict cookie, and
// a post must come from a page of this host (Origin, else Referer), so
// another site can neither sign a browser in nor out. The pages run no
// script and load nothing (a strict CSP), and cannot be framed.
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  clearedSessionCookie, cookieValue, CSRF_COOKIE, csrfCookie, csrfMatches, newSecret, safeNext, sameOriginPost, sessionCookie, sessionIdOf,
} from './cookies.ts';
import { GATEWAY_PAGES_PREFIX } from './address.ts';

/** Largest sign-in form body read. */
export const MAX_FORM_BYTES = 8 * 1024;

/** Security headers of every gateway page. */
export const PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'content-security-policy': "default-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
} as const;

/** Who a page acted for. */
export interface PageUser {
  userId: string;
  userName: string;
}

/** What became of one form posted to a page. */
export interface PageOutcome {
  outcome: 'signed_in' | 'sign_in_refused' | 'signed_out' | 'bad_request';
  page: string;
  status: number;
  user?: PageUser | undefined;
}

/** What the pages need from the gateway. */
export interface PageActions {
  /** The principal of an API token, or null. */
  signIn: (token: string) => Promise<{ userId: string; userName: string; tokenId: string } | null>;
  /** Stores a session for the principal; resolves with its id. */
  createSession: (principal: { userId: string; tokenId: string }) => Promise<string>;
  /** The signed-in user's name of a session id, or undefined. */
  sessionUser: (id: string | undefined) => Promise<string | undefined>;
  /** Ends a session; resolves with whose it was, when it was one. */
  endSession: (id: string | undefined) => Promise<PageUser | undefined>;
  /** One outcome per form posted (metrics, audit). */
  onOutcome: (event: PageOutcome) => void;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The sign-in page's HTML. */
export function loginPage(options: { csrf: string; next: string; error?: string; signedInAs?: string }): string {
  const { csrf, next } = options;
  const hidden = `<input type="hidden" name="csrf" value="${escapeHtml(csrf)}">`;
  const body = options.signedInAs === undefined
    ? `<form method="post" action="${GATEWAY_PAGES_PREFIX}login">${hidden}<input type="hidden" name="next" value="${escapeHtml(next)}">
<label>API token <input type="password" name="token" autocomplete="current-password" required autofocus></label>
<button type="submit">Sign in</button></form>
<p>Make a token with <code>uplink tokens create</code>, or use the one from <code>uplink login</code>.</p>`
    : `<p>Signed in as <strong>${escapeHtml(options.signedInAs)}</strong>.</p>
<form method="post" action="${GATEWAY_PAGES_PREFIX}logout">${hidden}<button type="submit">Sign out</button></form>`;
  const error = options.error === undefined ? '' : `<p role="alert">${escapeHtml(options.error)}</p>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>Uplink gateway: sign in</title></head>
<body><h1>Uplink service gateway</h1>${error}${body}</body></html>
`;
}

/** Reads an urlencoded form body, at most MAX_FORM_BYTES; rejects beyond. */
export async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') throw new Error('the form is not application/x-www-form-urlencoded');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_FORM_BYTES) throw new Error(`the form is larger than ${MAX_FORM_BYTES} bytes`);
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function sendPage(res: ServerResponse, status: number, html: string, cookies: string[] = []): void {
  res.writeHead(status, { ...PAGE_HEADERS, ...(cookies.length > 0 ? { 'set-cookie': cookies } : {}) }).end(html);
}

/** A form with a fresh CSRF value and its cookie. */
function sendForm(res: ServerResponse, status: number, page: { next: string; error?: string; signedInAs?: string | undefined }): void {
  const csrf = newSecret();
  sendPage(res, status, loginPage({ csrf, next: page.next, ...(page.error === undefined ? {} : { error: page.error }), ...(page.signedInAs === undefined ? {} : { signedInAs: page.signedInAs }) }), [csrfCookie(csrf)]);
}

/** Serves `/gw/-/<page>`; rejects only on a store failure (the caller answers 503). */
export async function servePage(req: IncomingMessage, res: ServerResponse, page: string, form: 'path' | 'host', actions: PageActions): Promise<void> {
  const method = req.method ?? 'GET';
  const cookies = req.headers.cookie;
  if (page === 'login' && (method === 'GET' || method === 'HEAD')) {
    const next = safeNext(new URL(req.url ?? '/', 'https://gateway.invalid').searchParams.get('next') ?? undefined, form);
    sendForm(res, 200, { next, signedInAs: await actions.sessionUser(sessionIdOf(cookies, form)) });
    return;
  }
  if ((page !== 'login' && page !== 'logout') || method !== 'POST') {
    res.writeHead(page === 'login' || page === 'logout' ? 405 : 404, { ...PAGE_HEADERS, 'content-type': 'text/plain; charset=utf-8' }).end('not found\n');
    return;
  }
  let fields: URLSearchParams;
  try {
    fields = await readForm(req);
  } catch (error) {
    actions.onOutcome({ outcome: 'bad_request', page, status: 400 });
    res.writeHead(400, { ...PAGE_HEADERS, 'content-type': 'text/plain; charset=utf-8', connection: 'close' }).end(`${(error as Error).message}\n`);
    return;
  }
  const next = safeNext(fields.get('next') ?? undefined, form);
  // Another site's form: refused whatever it carries, and no new form to retry with.
  if (!sameOriginPost(req.headers) || !csrfMatches(cookieValue(cookies, CSRF_COOKIE), fields.get('csrf') ?? undefined)) {
    actions.onOutcome({ outcome: 'sign_in_refused', page, status: 403 });
    sendPage(res, 403, loginPage({ csrf: '', next, error: 'This form was not sent from this site, or it expired. Open the sign-in page again.' }).replace(/<form[\s\S]*<\/form>/, ''));
    return;
  }
  if (page === 'logout') {
    const user = await actions.endSession(sessionIdOf(cookies, form));
    actions.onOutcome({ outcome: 'signed_out', page, status: 303, user });
    res.writeHead(303, { ...PAGE_HEADERS, location: `${GATEWAY_PAGES_PREFIX}login`, 'set-cookie': [clearedSessionCookie(form)] }).end();
    return;
  }
  const principal = await actions.signIn((fields.get('token') ?? '').trim());
  if (principal === null) {
    actions.onOutcome({ outcome: 'sign_in_refused', page, status: 401 });
    sendForm(res, 401, { next, error: 'That token was not accepted: it is unknown, revoked, or mistyped.' });
    return;
  }
  const id = await actions.createSession(principal);
  actions.onOutcome({ outcome: 'signed_in', page, status: 303, user: principal });
  // The CSRF value has done its job: it goes, the session comes.
  res.writeHead(303, { ...PAGE_HEADERS, location: next, 'set-cookie': [sessionCookie(id, form), `${CSRF_COOKIE}=; Path=${GATEWAY_PAGES_PREFIX}; Max-Age=0; HttpOnly; Secure; SameSite=Strict`] }).end();
}
