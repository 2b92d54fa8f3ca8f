// Resolves a forward's target to endpoints with the agent's own credentials
// (the user's right was checked before), the way an in-cluster client
// reaches a Service but without kube-proxy or cluster DNS: from its
// EndpointSlices. Then drops every endpoint the agent never dials (see
// address-guard.ts).
import type { ForwardTarget } from '../../link/forward.ts';
import type { KubeClient } from '../kube.ts';
import {
  NoEndpointError, deploymentEndpoints, labelSelectorQuery, podEndpoint, servicePortName, sliceEndpoints,
  type Endpoint, type EndpointSliceObject, type LabelSelectorObject, type PodObject, type ServiceObject,
} from './endpoints.ts';

/** EndpointSlices read for one Service; a Service has one per 100 endpoints by default. */
const MAX_SLICES = 50;
/** Pods of a Deployment read to pick one from. */
const MAX_DEPLOYMENT_PODS = 500;
/** Time allowed for each read of the API server. */
const RESOLVE_TIMEOUT_MS = 5_000;

type Reads = Pick<KubeClient, 'request'>;

/** GET returning the body, or NoEndpointError on 404; other failures throw. */
async function read<T>(kube: Reads, path: string, what: string): Promise<T> {
  const response = await kube.request<T>('GET', path, undefined, RESOLVE_TIMEOUT_MS);
  if (response.status === 404) throw new NoEndpointError(`${what} not found`);
  if (response.status < 200 || response.status > 299) throw new Error(`the API server answered ${response.status} reading ${what}`);
  return response.body;
}

async function serviceEndpoints(kube: Reads, target: ForwardTarget): Promise<Endpoint[]> {
  const ns = target.namespace;
  const service = await read<ServiceObject>(kube, `/api/v1/namespaces/${ns}/services/${target.name}`, `service ${ns}/${target.name}`);
  const portName = servicePortName(service, target.port);
  const selector = encodeURIComponent(`kubernetes.io/service-name=${target.name}`);
  const slices = await read<{ items?: EndpointSliceObject[] }>(
    kube, `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices?labelSelector=${selector}&limit=${MAX_SLICES}`, `endpoint slices of service ${ns}/${target.name}`,
  );
  return sliceEndpoints(slices.items ?? [], portName);
}

async function deploymentPods(kube: Reads, target: ForwardTarget): Promise<Endpoint[]> {
  const ns = target.namespace;
  const deployment = await read<{ spec?: { selector?: LabelSelectorObject } }>(
    kube, `/apis/apps/v1/namespaces/${ns}/deployments/${target.name}`, `deployment ${ns}/${target.name}`,
  );
  const selector = encodeURIComponent(labelSelectorQuery(deployment.spec?.selector ?? {}));
  const pods = await read<{ items?: PodObject[] }>(kube, `/api/v1/namespaces/${ns}/pods?labelSelector=${selector}&limit=${MAX_DEPLOYMENT_PODS}`, `pods of deployment ${ns}/${target.name}`);
  return deploymentEndpoints(pods.items ?? [], target.port);
}

/** The target's endpoints, at least one; throws NoEndpointError when it has none. */
export async function resolveForwardTarget(kube: Reads, target: ForwardTarget): Promise<Endpoint[]> {
  let endpoints: Endpoint[];
  if (target.kind === 'service') endpoints = await serviceEndpoints(kube, target);
  else if (target.kind === 'deployment') endpoints = await deploymentPods(kube, target);
  else endpoints = [podEndpoint(await read<PodObject>(kube, `/api/v1/namespaces/${target.namespace}/pods/${target.name}`, `pod ${target.namespace}/${target.name}`), target.port)];
  if (endpoints.length === 0) throw new NoEndpointError(`${target.kind} ${target.namespace}/${target.name} has no ready endpoint for port ${target.port}`);
  return endpoints;
}
