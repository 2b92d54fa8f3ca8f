// The one reading of a Kubernetes API path that both the hub and the agent
// apply before a request goes anywhere. The agent lends its credentials to
// whatever URL it builds, so a path must never be able to name another host
// (`//host:port/...`), climb out of the server's path prefix (`..`, also
// percent-encoded or with backslashes), or mean one thing to the hub's audit
// and another to the API server. Anything outside these bounds is refused
// rather than repaired: what is forwarded is exactly what was checked.
import { UplinkError } from '../util/errors.ts';

/**
 * Longest path (without the query) accepted: far above any real object's
 * path (names are at most 253 characters, namespaces and plurals 63).
 */
export const MAX_KUBE_PATH_CHARS = 4096;
/**
 * Longest query accepted. Exec commands, label and field selectors travel
 * here, and the API server takes up to 1 MiB of request line and headers
 * (Go's http.DefaultMaxHeaderBytes), so this is no tighter than it.
 */
export const MAX_KUBE_QUERY_CHARS = 1024 * 1024;

/**
 * First path segments the API server serves and kubectl uses: resources and
 * discovery (`api`, `apis`), `version`, OpenAPI, health, service-account
 * issuer discovery (`.well-known`, `openid`), and the API server's own
 * `logs` and `metrics`.
 */
export const KUBE_API_ROOTS: ReadonlySet<string> = new Set([
  'api', 'apis', 'version', 'openapi', 'healthz', 'livez', 'readyz', '.well-known', 'openid', 'logs', 'metrics',
]);

/** A path refused by {@link parseKubeApiPath}; `message` says why without echoing the path. */
export class KubeApiPathError extends UplinkError {
  constructor(message: string) {
    super('KUBE_PATH_INVALID', message);
  }
}

/** A checked API path: `path` starts with exactly one `/`; `query` is empty or starts with `?`. */
export interface KubeApiPath {
  path: string;
  query: string;
  /** `path` + `query`, the request target to forward. */
  target: string;
}

// Characters RFC 3986 allows in a path segment (pchar), `%` for escapes.
const SEGMENT_CHARS = /^[A-Za-z0-9\-._~!$&'()*+,=:@%]*$/;
// Printable ASCII without space, `#` (a fragment), `\` and `;` (Go's query
// parser drops pairs holding a raw `;`, so the hub would read a command the
// API server does not).
const QUERY_CHARS = /^[\x21-\x7e]*$/;
const QUERY_FORBIDDEN = /[#\\;]/;
// A decoded segment: no separators, no controls, no second round of escapes.
const DECODED_FORBIDDEN = /[/\\%\p{Cc}]/u;

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new KubeApiPathError('the path holds a malformed percent-escape');
  }
}

/**
 * Checks an API server request target (path and optional query, relative to
 * the server root) and returns it split. Throws KubeApiPathError unless: it
 * starts with exactly one `/`; its first segment is one of KUBE_API_ROOTS (or
 * the path is `/` itself); no segment is empty (except one trailing `/`),
 * `.` or `..`, raw or percent-encoded; no segment decodes to `/`, `\`, `%`
 * or a control character; every escape is well formed; the query has only
 * printable ASCII without `#`, `\` and `;`; and both parts are within
 * MAX_KUBE_PATH_CHARS and MAX_KUBE_QUERY_CHARS.
 */
export function parseKubeApiPath(target: string): KubeApiPath {
  const mark = target.indexOf('?');
  const path = mark === -1 ? target : target.slice(0, mark);
  const query = mark === -1 ? '' : target.slice(mark);
  if (path.length > MAX_KUBE_PATH_CHARS) throw new KubeApiPathError(`the path is longer than ${MAX_KUBE_PATH_CHARS} characters`);
  if (query.length > MAX_KUBE_QUERY_CHARS) throw new KubeApiPathError(`the query is longer than ${MAX_KUBE_QUERY_CHARS} characters`);
  if (!path.startsWith('/')) throw new KubeApiPathError('the path must start with /');
  if (!QUERY_CHARS.test(query) || QUERY_FORBIDDEN.test(query)) {
    throw new KubeApiPathError('the query may hold only printable ASCII without #, \\ and ;');
  }
  if (path === '/') return { path, query, target: path + query };
  const segments = path.slice(1).split('/');
  // One trailing slash (`/apis/`) is harmless; an empty segment anywhere else is `//`.
  if (segments.length > 1 && segments.at(-1) === '') segments.pop();
  for (const segment of segments) {
    if (segment === '') throw new KubeApiPathError('the path must not hold //');
    if (!SEGMENT_CHARS.test(segment)) throw new KubeApiPathError('the path holds a character that must be percent-encoded');
    const decoded = decodeSegment(segment);
    if (decoded === '.' || decoded === '..') throw new KubeApiPathError('the path must not hold . or .. segments');
    if (DECODED_FORBIDDEN.test(decoded)) throw new KubeApiPathError('the path must not encode /, \\, % or control characters');
  }
  if (!KUBE_API_ROOTS.has(decodeSegment(segments[0] ?? ''))) {
    throw new KubeApiPathError(`the path must start with one of /${[...KUBE_API_ROOTS].join(', /')}`);
  }
  return { path, query, target: path + query };
}
