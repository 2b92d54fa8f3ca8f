// Which requests need a cluster's agent link, and so must be served by the
// replica that holds it: the kubectl endpoint (path and host form), the live
// resource and log routes, the add-on operations the agent carries out,
// agent upgrades, and the Service gateway (path form here, host form in
// relayRouteFor). Everything else (clusters, users, stored add-on specs and
// statuses, audit, the fleet feed) is read from the shared database by
// whichever replica the request reaches. The API paths are read the way fastify's router reads them (split
// at `?` or `#`, each segment percent-decoded), so a request is relayed
// exactly when the route it would reach locally is one of these. Never
// throws: anything unreadable is left to the local routes, which refuse it.
import type { IncomingMessage } from 'node:http';
import { oncePerRequest } from '../kube/once-per-request.ts';
import { isKubeRequest, kubeAddressOf } from '../kube/proxy.ts';
import { gatewayAddressOf, gatewayHostOf, GATEWAY_PREFIX } from '../gateway/address.ts';

/** A cluster reference (name or id) longer than this is no cluster's; the local routes answer it. */
const MAX_CLUSTER_REF_CHARS = 253;
/** API paths longer than this match no agent-bound route (fastify refuses such params anyway). */
const MAX_API_PATH_CHARS = 4096;
const CLUSTERS_PREFIX = '/api/v1/clusters/';

/** How a request that needs a cluster's link names the cluster, and how its refusals are answered. */
export interface RelayRoute {
  /** The cluster reference as the request gives it (a name or an id), percent-decoded. */
  cluster: string;
  /** `kube`: the kubectl endpoint (Kubernetes Status answers); `api`: the hub's JSON API (`{ error: { code, message } }`). */
  form: 'kube' | 'api';
}

type RequestHead = Pick<IncomingMessage, 'method' | 'url' | 'headers'>;

/**
 * The cluster a request needs the agent link of: its reference (name or id)
 * when the request is one of the agent-bound routes, else undefined (served
 * locally by any replica). See relayRouteOf for the form.
 */
export function agentBoundCluster(req: RequestHead, kubeDomain: string | undefined): string | undefined {
  return relayRouteOf(req, kubeDomain)?.cluster;
}

/**
 * The agent-bound route a request takes, with its cluster reference and
 * answer form; undefined for any other request. Read once per request
 * (once-per-request.ts): the router and the relay both ask.
 */
export const relayRouteOf: (req: RequestHead, kubeDomain: string | undefined) => RelayRoute | undefined = oncePerRequest(
  (req: RequestHead, kubeDomain: string | undefined): RelayRoute | undefined => {
    if (isKubeRequest(req, kubeDomain)) {
      let ref: string;
      try {
        ({ ref } = kubeAddressOf(req, kubeDomain));
      } catch {
        return undefined; // a URL the kubectl endpoint answers 400 itself
      }
      return validRef(ref) ? { cluster: ref, form: 'kube' } : undefined;
    }
    // The Service gateway's path form (its host form: relayRouteFor).
    if ((req.url ?? '').startsWith(GATEWAY_PREFIX)) {
      const address = gatewayAddressOf(req, {});
      return address.kind === 'service' ? { cluster: address.clusterRef, form: 'api' } : undefined;
    }
    const cluster = apiRouteCluster(req.method ?? 'GET', req.url ?? '/');
    return cluster === undefined ? undefined : { cluster, form: 'api' };
  },
);

/** The hub's host-routing domains: `--kube-domain` and `--gateway-domain`. */
export interface RouteDomains {
  kube: string | undefined;
  gateway: string | undefined;
}

/**
 * relayRouteOf, and also the Service gateway's host form
 * (`<name>--<cluster>.<gateway domain>`), whichever path it asks for: a host
 * inside the gateway domain is the gateway's, as the hub routes it.
 */
export function relayRouteFor(req: RequestHead, domains: RouteDomains): RelayRoute | undefined {
  if (domains.gateway !== undefined && gatewayHostOf(req.headers.host, domains.gateway) !== undefined) {
    const address = gatewayAddressOf(req, { domain: domains.gateway });
    return address.kind === 'service' && validRef(address.clusterRef) ? { cluster: address.clusterRef, form: 'api' } : undefined;
  }
  return relayRouteOf(req, domains.kube);
}

/** Whether the request takes the JSON API's answer form rather than the kubectl endpoint's (Kubernetes Status). */
export function answersAsApi(req: RequestHead, kubeDomain: string | undefined): boolean {
  return !isKubeRequest(req, kubeDomain);
}

function validRef(ref: string): boolean {
  return ref !== '' && ref.length <= MAX_CLUSTER_REF_CHARS;
}

/** The cluster of an agent-bound JSON API route, by method and URL; undefined for any other. */
function apiRouteCluster(method: string, url: string): string | undefined {
  if (!url.startsWith(CLUSTERS_PREFIX)) return undefined;
  const end = url.search(/[?#]/);
  const path = end === -1 ? url : url.slice(0, end);
  if (path.length > MAX_API_PATH_CHARS) return undefined;
  const segments = decodedSegments(path.slice(CLUSTERS_PREFIX.length));
  if (segments === undefined) return undefined;
  const [ref, ...rest] = segments;
  if (ref === undefined || !validRef(ref) || !agentBoundShape(method === 'HEAD' ? 'GET' : method, rest)) return undefined;
  return ref;
}

/** Each `/`-separated segment percent-decoded; undefined when one does not decode (fastify answers that 400). */
function decodedSegments(path: string): string[] | undefined {
  try {
    return path.split('/').map((segment) => decodeURIComponent(segment));
  } catch {
    return undefined;
  }
}

/** Whether `method` and the segments after the cluster are one of the agent-bound routes (api/resources.ts, addons.ts, agent-upgrade.ts, forward/forward-route.ts). */
function agentBoundShape(method: string, rest: string[]): boolean {
  const [first, second, third, fourth, ...more] = rest;
  if (more.length > 0 || rest.some((segment) => segment === '')) return false;
  const count = rest.length;
  switch (first) {
    case 'resources':
      return method === 'GET' && (count <= 3 || fourth === 'events');
    case 'watch':
      return method === 'GET' && count === 2;
    case 'logs':
      return method === 'GET' && count === 1;
    case 'addons':
      if (count !== 3) return false;
      return third === 'history' ? method === 'GET' : method === 'POST' && (third === 'rollback' || third === 'sync');
    case 'agent':
      return method === 'POST' && count === 2 && second === 'upgrade';
    case 'forward':
      return method === 'GET' && count === 1;
    default:
      return false;
  }
}
