// Where a gateway request goes: the path form `/gw/<cluster>/<name>/…` on the
// hub's own host, or, with a gateway domain, the host form
// `https://<name>--<cluster>.<domain>/…`. Both give the cluster reference,
// the exposure name, the path the service sees and the prefix its answers
// are rewritten back under. `/gw/-/…` is the gateway's own pages (sign-in,
// sign-out) on either host. Parsing never throws: anything malformed is an
// `invalid` address, answered 400 before a token is looked at.
import { isDnsLabel } from '../../domain/kube-names.ts';

/** Every path-form URL starts with this. */
export const GATEWAY_PREFIX = '/gw/';
/** The gateway's own pages live under this (a `-` is no cluster name). */
export const GATEWAY_PAGES_PREFIX = '/gw/-/';
/** Between an exposure's name and its cluster's in a host-form label. */
export const HOST_SEPARATOR = '--';
/** Characters of a Host header read: a DNS name is at most 253, plus a port. */
const MAX_HOST_CHARS = 253 + ':65535'.length;
/** Characters of a request target accepted at all (the listener bounds the head too). */
export const MAX_TARGET_CHARS = 16 * 1024;

/** A request for an exposed service. */
export interface ServiceAddress {
  kind: 'service';
  form: 'path' | 'host';
  /** The cluster as named in the URL (name or id). */
  clusterRef: string;
  /** The exposure's name. */
  name: string;
  /** What the service is asked for: path and query, starting with `/`. */
  target: string;
  /** What the service's root is under for the browser: `/gw/<c>/<n>` (path form) or `` (host form). */
  prefix: string;
}

/** Where a request for the gateway goes, or why it cannot. */
export type GatewayAddress =
  | ServiceAddress
  /** One of the gateway's own pages: `login`, `logout`, … (the rest of the path). */
  | { kind: 'page'; page: string; form: 'path' | 'host' }
  /** `/gw/<c>/<n>` without its slash: sent to the slash form. */
  | { kind: 'redirect'; location: string }
  | { kind: 'invalid'; reason: string };

/** What the gateway needs to know of the hub's settings. */
export interface GatewayHosts {
  /** With `--gateway-domain`, `<name>--<cluster>.<domain>` hosts are exposures. */
  domain?: string | undefined;
}

/** The host name of a Host header, lowercased, without port or trailing dot; undefined when it is not a DNS name. */
function hostNameOf(host: string | undefined): string | undefined {
  if (host === undefined || host === '' || host.length > MAX_HOST_CHARS || host.startsWith('[')) return undefined;
  const colon = host.lastIndexOf(':');
  if (colon !== -1 && !/^[0-9]{1,5}$/.test(host.slice(colon + 1))) return undefined;
  return (colon === -1 ? host : host.slice(0, colon)).toLowerCase().replace(/\.$/, '');
}

/**
 * The exposure and cluster a host-form Host names: undefined when the host is
 * not inside the gateway domain (the hub's own host); `invalid` when it is,
 * but its first label is not `<name>--<cluster>` of two DNS labels. The name
 * is what comes before the first `--`.
 */
export function gatewayHostOf(host: string | undefined, domain: string): { name: string; clusterRef: string } | { invalid: string } | undefined {
  const name = hostNameOf(host);
  if (name === undefined || !name.endsWith(`.${domain}`)) return undefined;
  const label = name.slice(0, -(domain.length + 1));
  const cut = label.indexOf(HOST_SEPARATOR);
  const exposure = cut === -1 ? '' : label.slice(0, cut);
  const clusterRef = cut === -1 ? '' : label.slice(cut + HOST_SEPARATOR.length);
  if (!isDnsLabel(exposure) || !isDnsLabel(clusterRef)) {
    return { invalid: `the host name is not <exposure>${HOST_SEPARATOR}<cluster>.${domain}` };
  }
  return { name: exposure, clusterRef };
}

/** Whether a request is for the gateway at all (either form); cheap, never throws. */
export function isGatewayRequest(req: { url?: string | undefined; headers: { host?: string | undefined } }, hosts: GatewayHosts): boolean {
  if (hosts.domain !== undefined && gatewayHostOf(req.headers.host, hosts.domain) !== undefined) return true;
  const url = req.url ?? '';
  return url.startsWith(GATEWAY_PREFIX) || url === '/gw' || url.startsWith('/gw?');
}

/** One path segment, percent-decoded, when it is a DNS label; else undefined. */
function labelOf(segment: string): string | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(segment);
  } catch {
    return undefined;
  }
  return isDnsLabel(decoded) ? decoded : undefined;
}

/** Reads a request for the gateway (see isGatewayRequest). Never throws. */
export function gatewayAddressOf(req: { url?: string | undefined; headers: { host?: string | undefined } }, hosts: GatewayHosts): GatewayAddress {
  const url = req.url ?? '/';
  if (url.length > MAX_TARGET_CHARS) return { kind: 'invalid', reason: `the URL is longer than ${MAX_TARGET_CHARS} characters` };
  if (!url.startsWith('/')) return { kind: 'invalid', reason: 'the request target is not a path' };
  const byHost = hosts.domain === undefined ? undefined : gatewayHostOf(req.headers.host, hosts.domain);
  const path = url.split('?')[0] ?? '/';
  if (byHost !== undefined && 'invalid' in byHost) return { kind: 'invalid', reason: byHost.invalid };
  const form = byHost === undefined ? 'path' : 'host';
  if (path.startsWith(GATEWAY_PAGES_PREFIX)) return { kind: 'page', page: path.slice(GATEWAY_PAGES_PREFIX.length), form };
  if (byHost !== undefined) return { kind: 'service', form, clusterRef: byHost.clusterRef, name: byHost.name, target: url, prefix: '' };
  // The gateway's root names no exposure: its sign-in page (which says who is signed in) is the closest thing.
  if (path === '/gw' || path === GATEWAY_PREFIX) return { kind: 'redirect', location: `${GATEWAY_PAGES_PREFIX}login` };
  const match = /^\/gw\/([^/]*)\/([^/]*)(\/.*)?$/.exec(path);
  const cluster = match?.[1] === undefined ? undefined : labelOf(match[1]);
  const name = match?.[2] === undefined ? undefined : labelOf(match[2]);
  if (match === null || cluster === undefined || name === undefined) {
    return { kind: 'invalid', reason: 'a gateway URL is /gw/<cluster>/<name>/…: the cluster and the exposure are DNS labels' };
  }
  const prefix = `/gw/${match[1] ?? ''}/${match[2] ?? ''}`;
  const query = url.slice(path.length);
  if (match[3] === undefined) return { kind: 'redirect', location: `${prefix}/${query}` };
  return { kind: 'service', form, clusterRef: cluster, name, target: url.slice(prefix.length), prefix };
}
