// The API server's own endpoints, which a forward never dials (see
// address-guard.ts): the address the agent reaches it at, and the
// `default/kubernetes` Service's cluster IPs and endpoints, read again at
// most once a minute.
import { isIP } from 'node:net';
import type { KubeClient } from '../kube.ts';
import { sliceEndpoints, type Endpoint, type EndpointSliceObject } from './endpoints.ts';

/** How long the `default/kubernetes` endpoints are reused. */
const API_ENDPOINTS_TTL_MS = 60_000;
const KUBERNETES_SERVICE = '/api/v1/namespaces/default/services/kubernetes';
const KUBERNETES_SLICES = `/apis/discovery.k8s.io/v1/namespaces/default/endpointslices?labelSelector=${encodeURIComponent('kubernetes.io/service-name=kubernetes')}&limit=10`;

/** The address in the agent's kubeconfig, when it is an IP address. */
export function configuredApiServer(server: URL): Endpoint[] {
  const address = server.hostname.replace(/^\[|\]$/g, '');
  if (isIP(address) === 0) return [];
  const port = server.port === '' ? (server.protocol === 'http:' ? 80 : 443) : Number(server.port);
  return [{ address, port }];
}

interface KubernetesService {
  spec?: { clusterIP?: string; clusterIPs?: string[]; ports?: { port?: number }[] };
}

/** The `default/kubernetes` Service's cluster IPs on each of its ports, and its endpoints. */
async function readKubernetesService(kube: Pick<KubeClient, 'request'>): Promise<Endpoint[]> {
  const out: Endpoint[] = [];
  const service = await kube.request<KubernetesService>('GET', KUBERNETES_SERVICE, undefined, 5_000);
  if (service.status === 200) {
    const spec = service.body.spec ?? {};
    const ips = (spec.clusterIPs ?? [spec.clusterIP ?? '']).filter((ip) => isIP(ip) !== 0);
    for (const address of ips) for (const { port } of spec.ports ?? []) if (port !== undefined) out.push({ address, port });
  }
  const slices = await kube.request<{ items?: EndpointSliceObject[] }>('GET', KUBERNETES_SLICES, undefined, 5_000);
  if (slices.status === 200) out.push(...sliceEndpoints(slices.body.items ?? [], 'https'));
  return out;
}

/** A reader of the API server's endpoints; a failed read keeps the last known ones (and the configured address always counts). */
export function apiServerEndpoints(kube: Pick<KubeClient, 'request' | 'server'>, now: () => number = Date.now): () => Promise<Endpoint[]> {
  const configured = configuredApiServer(kube.server);
  let known: Endpoint[] = [];
  let readAt = -Infinity;
  return async () => {
    if (now() - readAt >= API_ENDPOINTS_TTL_MS) {
      readAt = now();
      try {
        known = await readKubernetesService(kube);
      } catch {
        // Kept: the configured address still counts, and the next forward after the interval reads again.
      }
    }
    return [...configured, ...known];
  };
}
