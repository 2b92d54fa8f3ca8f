// What a Kubernetes API request does, from its method and path, the way the
// API server's own RequestInfo resolver reads it: for audit records, for
// choosing the unary or streaming limit, and for logs.

export interface KubeRequestInfo {
  /** get, list, watch, create, update, patch, delete, deletecollection, or the HTTP method for non-resource paths. */
  verb: string;
  /** e.g. `pods`, `deployments.apps`; for non-resource paths the path itself. */
  resource: string;
  subresource: string | null;
  namespace: string | null;
  name: string | null;
  /** exec/attach command, space-joined, from the `command` query parameters. */
  command: string | null;
  /** Long-lived: watches, follows, and exec/attach/port-forward/proxy. */
  streaming: boolean;
}

const STREAMING_SUBRESOURCES = new Set(['exec', 'attach', 'portforward', 'proxy']);
const TRUE_VALUES = new Set(['true', '1']);

function verbFor(method: string, hasName: boolean, watch: boolean): string {
  switch (method) {
    case 'GET':
    case 'HEAD':
      if (watch) return 'watch';
      return hasName ? 'get' : 'list';
    case 'POST':
      return 'create';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return hasName ? 'delete' : 'deletecollection';
    default:
      return method.toLowerCase();
  }
}

/** Splits `/api/v1/...` or `/apis/group/version/...` into its parts; null for non-resource paths. */
function resourceParts(segments: string[]): { group: string; rest: string[] } | null {
  if (segments[0] === 'api' && segments.length >= 3) return { group: '', rest: segments.slice(2) };
  if (segments[0] === 'apis' && segments.length >= 4) return { group: segments[1] ?? '', rest: segments.slice(3) };
  return null;
}

/** Reads a request path (with query) relative to the API server root. */
export function parseKubeRequest(method: string, pathWithQuery: string): KubeRequestInfo {
  const url = new URL(pathWithQuery, 'http://kube.invalid');
  const segments = url.pathname.split('/').filter((s) => s !== '').map(decodeURIComponent);
  const query = url.searchParams;
  const watch = TRUE_VALUES.has(query.get('watch') ?? '');
  const follow = TRUE_VALUES.has(query.get('follow') ?? '');
  const parts = resourceParts(segments);
  if (!parts) {
    return { verb: method.toLowerCase(), resource: url.pathname, subresource: null, namespace: null, name: null, command: null, streaming: watch };
  }
  let rest = parts.rest;
  // Legacy `/watch/` paths mean watch; the prefix comes before any namespace.
  const legacyWatch = rest[0] === 'watch';
  if (legacyWatch) rest = rest.slice(1);
  let namespace: string | null = null;
  // `/namespaces/NAME` alone is the namespace object itself, not a scope.
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    namespace = rest[1] ?? null;
    rest = rest.slice(2);
  }
  const [resourceName = '', name = null, subresource = null] = rest;
  const resource = parts.group === '' ? resourceName : `${resourceName}.${parts.group}`;
  const commands = query.getAll('command');
  const streaming = watch || legacyWatch || follow || (subresource !== null && STREAMING_SUBRESOURCES.has(subresource));
  return {
    verb: verbFor(method, name !== null, watch || legacyWatch),
    resource,
    subresource,
    namespace,
    name,
    command: commands.length > 0 ? commands.join(' ') : null,
    streaming,
  };
}
