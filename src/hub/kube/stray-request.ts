// A Kubernetes client pointed at the hub's own host instead of a cluster's
// endpoint (kubectl proxy without --append-server-path, a tool that drops the
// server's path) asks for `/api`, `/apis`, `/openapi/v3` or `/api/v1/pods`.
// Those paths are no hub route: they get a Kubernetes NotFound Status that
// says where the cluster is, and the same text in a `Warning` header, which is
// what kubectl prints: its discovery reads a 404 as "no such API" and shows
// only a generic message, but it prints every server warning ("Warning: ...").
// The answer is the same with or without a token and names nothing of the
// caller's.
import type { ErrorBody } from '../errors.ts';
import { http1Head } from './forward-upgrade.ts';
import { KUBE_PATH_PREFIX } from './proxy.ts';

/** Paths only the Kubernetes API serves; the hub's own API is under /api/v1/ and never matches one it routes. */
const KUBE_API_PATH = /^\/(api|apis|openapi)(\/|$)/;

/** Whether an unrouted request on the hub's host is a Kubernetes API request that came to the hub by mistake. */
export function isStrayKubeRequest(url: string): boolean {
  return KUBE_API_PATH.test(url.split('?')[0] ?? '');
}

export interface StrayHintOptions {
  /** The hub's public URL, for the path form. */
  publicUrl: string;
  /** The kube domain, when the hub routes by host too. */
  kubeDomain: string | undefined;
}

/** What to tell the client: that this is the hub, and the two ways to reach a cluster through it. */
export function strayKubeRequestMessage(options: StrayHintOptions): string {
  const pathForm = `${options.publicUrl.replace(/\/+$/, '')}${KUBE_PATH_PREFIX}CLUSTER`;
  const hostForm = options.kubeDomain === undefined
    ? ''
    : `, or use a kubeconfig from \`uplink kubeconfig CLUSTER --host-routing\` (server https://CLUSTER.${options.kubeDomain}, no path)`;
  return `this is the Uplink hub, not a Kubernetes API server: a cluster's API is at ${pathForm} `
    + `(\`uplink kubeconfig CLUSTER\` writes it; kubectl proxy keeps that path only with --append-server-path)${hostForm}`;
}

/**
 * The message as an HTTP `Warning` header value (RFC 7234: code 299, no
 * agent, a quoted text), as the API server sends its warnings. Printable
 * ASCII only: a header value Node would refuse must not fail the answer.
 */
export function strayKubeRequestWarning(options: StrayHintOptions): string {
  return `299 - "${strayKubeRequestMessage(options).replace(/[^\x20-\x7e]/g, '?').replace(/[\\"]/g, '\\$&')}"`;
}

/**
 * The 404 body: a Kubernetes `Status` that kubectl and client-go read, with
 * the hub's own `error` member beside it for clients of the hub's API, which
 * read `error.code`.
 */
export function strayKubeRequestBody(options: StrayHintOptions, method: string, url: string): string {
  const error: ErrorBody['error'] = { code: 'NOT_FOUND', message: `no route for ${method} ${url.split('?')[0] ?? ''}` };
  return JSON.stringify({
    kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure',
    message: strayKubeRequestMessage(options), reason: 'NotFound', code: 404, error,
  });
}

/** The same 404 as raw HTTP/1.1, for an upgrade (a stray `kubectl exec`) that never reaches fastify. */
export function strayKubeUpgradeAnswer(options: StrayHintOptions, method: string, url: string): string {
  const body = strayKubeRequestBody(options, method, url);
  return http1Head(404, {
    'content-type': 'application/json', warning: strayKubeRequestWarning(options), 'content-length': Buffer.byteLength(body), connection: 'close',
  }) + body;
}
