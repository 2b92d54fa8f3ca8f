// The gateway's header rewrites, both ways. Towards the service: the hop-by-
// hop headers and the hub's credentials (its session cookie, the
// Authorization header) go, Host becomes the Service's in-cluster name and
// X-Forwarded-* say what the browser asked for. Towards the browser: the
// hop-by-hop headers go, and a `Location` or a cookie `Path` that points at
// the service's root gets the gateway prefix back, so redirects and cookies
// stay under `/gw/<cluster>/<name>/`. Pure functions over header objects.
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { GATEWAY_COOKIES } from './cookies.ts';

/** Headers that describe one connection, never forwarded (RFC 9110 §7.6.1), besides those Connection names. */
const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade',
]);
/**
 * Answer headers whose reach is the whole origin, dropped on the path form,
 * where the origin is the hub's: `Service-Worker-Allowed` would let an app's
 * service worker take a scope above its prefix (the dashboard's pages, for
 * every later visit), and `Clear-Site-Data` would wipe what the hub and the
 * other exposures keep in the browser.
 */
const ORIGIN_WIDE = new Set(['service-worker-allowed', 'clear-site-data']);
/** Request headers the gateway sets itself; what the client sent under these names is dropped. */
const SET_BY_GATEWAY = new Set(['host', 'authorization', 'forwarded', 'x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto', 'x-forwarded-prefix', 'x-forwarded-port']);

/** What the rewrites need to know of one request. */
export interface RewriteContext {
  /** The Service's in-cluster host the service is asked as: `<service>.<namespace>.svc[:port]`. */
  serviceHost: string;
  /** Service names the service may put in absolute redirects (`grafana`, `grafana.monitoring`, … `.svc.cluster.local`), lowercase, with and without port. */
  serviceHosts: ReadonlySet<string>;
  /** `/gw/<c>/<n>`, or `` on the host form. */
  prefix: string;
  /** The Host the browser used. */
  publicHost: string;
  /** `https`, or `http` on a hub serving plain HTTP behind nothing. */
  proto: string;
  /** The browser's address as the hub sees it. */
  clientAddress: string;
}

/** The in-cluster names a Service answers to, with and without a port. */
export function serviceHostsOf(service: string, namespace: string, port: number | string): { serviceHost: string; serviceHosts: Set<string> } {
  const names = [service, `${service}.${namespace}`, `${service}.${namespace}.svc`, `${service}.${namespace}.svc.cluster.local`];
  const portSuffix = typeof port === 'number' && port !== 80 ? `:${port}` : '';
  const hosts = new Set<string>();
  for (const name of names) {
    hosts.add(name);
    if (typeof port === 'number') hosts.add(`${name}:${port}`);
  }
  return { serviceHost: `${service}.${namespace}.svc${portSuffix}`, serviceHosts: hosts };
}

/** Header names the Connection header lists (they are hop-by-hop too). */
function connectionTokens(value: string | string[] | undefined): Set<string> {
  const text = Array.isArray(value) ? value.join(',') : (value ?? '');
  return new Set(text.split(',').map((token) => token.trim().toLowerCase()).filter((token) => token !== ''));
}

/** The Cookie header without the gateway's own cookies; undefined when nothing is left. */
export function stripGatewayCookies(cookie: string | undefined): string | undefined {
  if (cookie === undefined) return undefined;
  const kept = cookie.split(';').map((part) => part.trim()).filter((part) => {
    const name = part.split('=')[0]?.trim() ?? '';
    return part !== '' && !GATEWAY_COOKIES.has(name);
  });
  return kept.length === 0 ? undefined : kept.join('; ');
}

/**
 * The headers the service gets. `upgrade` keeps Connection/Upgrade for a
 * WebSocket handshake (they are hop-by-hop otherwise).
 */
export function serviceRequestHeaders(headers: IncomingHttpHeaders, context: RewriteContext, upgrade = false): OutgoingHttpHeaders {
  const named = connectionTokens(headers.connection);
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || named.has(name) || SET_BY_GATEWAY.has(name) || name === 'cookie') continue;
    out[name] = value;
  }
  const cookie = stripGatewayCookies(headers.cookie);
  if (cookie !== undefined) out.cookie = cookie;
  out.host = context.serviceHost;
  out['x-forwarded-host'] = context.publicHost;
  out['x-forwarded-proto'] = context.proto;
  out['x-forwarded-for'] = context.clientAddress;
  if (context.prefix !== '') out['x-forwarded-prefix'] = context.prefix;
  if (upgrade) {
    out.connection = 'Upgrade';
    if (headers.upgrade !== undefined) out.upgrade = headers.upgrade;
  }
  return out;
}

/** A root-relative path moved under the prefix, unless it is there already. */
function underPrefix(path: string, prefix: string): string {
  if (prefix === '' || path === prefix || path.startsWith(`${prefix}/`) || path.startsWith(`${prefix}?`)) return path;
  return `${prefix}${path}`;
}

/**
 * A Location the browser can follow: one absolute to the Service's own host
 * becomes a path under the prefix on the browser's host; a root-relative one
 * gets the prefix; relative ones and other hosts stay as they are.
 */
export function rewriteLocation(location: string, context: Pick<RewriteContext, 'prefix' | 'serviceHosts'>): string {
  if (location.startsWith('/') && !location.startsWith('//')) return underPrefix(location, context.prefix);
  let url: URL;
  try {
    url = new URL(location.startsWith('//') ? `http:${location}` : location);
  } catch {
    return location;
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || !context.serviceHosts.has(url.host.toLowerCase())) return location;
  return underPrefix(`${url.pathname}${url.search}${url.hash}`, context.prefix);
}

/**
 * A Set-Cookie the browser keeps under the gateway: a `Path` gets the prefix,
 * `Domain` goes (the Service's domain is not the browser's); undefined for a
 * cookie named like the gateway's own, which the service must not set.
 */
export function rewriteSetCookie(setCookie: string, prefix: string): string | undefined {
  const parts = setCookie.split(';');
  const name = (parts[0] ?? '').split('=')[0]?.trim() ?? '';
  if (GATEWAY_COOKIES.has(name)) return undefined;
  const out: string[] = [parts[0] ?? ''];
  for (const part of parts.slice(1)) {
    const [key = '', ...rest] = part.split('=');
    const attribute = key.trim().toLowerCase();
    if (attribute === 'domain') continue;
    if (attribute === 'path') {
      const value = rest.join('=').trim();
      out.push(` Path=${value.startsWith('/') ? underPrefix(value, prefix) : prefix || '/'}`);
      continue;
    }
    out.push(part);
  }
  return out.join(';');
}

/** The headers the browser gets from the service's answer. */
export function browserResponseHeaders(headers: IncomingHttpHeaders, context: Pick<RewriteContext, 'prefix' | 'serviceHosts'>): OutgoingHttpHeaders {
  const named = connectionTokens(headers.connection);
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || named.has(name)) continue;
    if (context.prefix !== '' && ORIGIN_WIDE.has(name)) continue;
    if (name === 'location' && typeof value === 'string') out.location = rewriteLocation(value, context);
    else if (name === 'content-location' && typeof value === 'string') out['content-location'] = rewriteLocation(value, context);
    else if (name === 'set-cookie' && Array.isArray(value)) {
      const cookies = value.map((cookie) => rewriteSetCookie(cookie, context.prefix)).filter((cookie) => cookie !== undefined);
      if (cookies.length > 0) out['set-cookie'] = cookies;
    } else out[name] = value;
  }
  return out;
}
