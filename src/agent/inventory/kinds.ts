// The kinds the inventory caches: their API coordinates, the names the CLI
// accepts for them, how each becomes a row, and how names resolve to a kind.
import type { KindInfo } from '../../link/resources.ts';
import { summarizeGeneric, type Summarize } from './summary.ts';
import * as cluster from './summary-cluster.ts';
import * as workloads from './summary-workloads.ts';

/** A kind the inventory caches. */
export interface KindSpec {
  info: KindInfo;
  summarize: Summarize;
  /**
   * List and watch as PartialObjectMetadata: the API server sends metadata
   * only, so the objects' content never enters the agent (Secrets).
   */
  metadataOnly: boolean;
  /** Found by discovery rather than built in; removed again when discovery no longer lists it. */
  discovered: boolean;
}

interface Builtin {
  resource: string;
  kind: string;
  group: string;
  version: string;
  namespaced: boolean;
  shortNames?: string[];
  summarize: Summarize;
  metadataOnly?: boolean;
}

const BUILTINS: Builtin[] = [
  { resource: 'deployments', kind: 'Deployment', group: 'apps', version: 'v1', namespaced: true, shortNames: ['deploy'], summarize: workloads.summarizeDeployment },
  { resource: 'statefulsets', kind: 'StatefulSet', group: 'apps', version: 'v1', namespaced: true, shortNames: ['sts'], summarize: workloads.summarizeStatefulSet },
  { resource: 'daemonsets', kind: 'DaemonSet', group: 'apps', version: 'v1', namespaced: true, shortNames: ['ds'], summarize: workloads.summarizeDaemonSet },
  { resource: 'replicasets', kind: 'ReplicaSet', group: 'apps', version: 'v1', namespaced: true, shortNames: ['rs'], summarize: workloads.summarizeReplicaSet },
  { resource: 'jobs', kind: 'Job', group: 'batch', version: 'v1', namespaced: true, summarize: workloads.summarizeJob },
  { resource: 'cronjobs', kind: 'CronJob', group: 'batch', version: 'v1', namespaced: true, shortNames: ['cj'], summarize: workloads.summarizeCronJob },
  { resource: 'pods', kind: 'Pod', group: '', version: 'v1', namespaced: true, shortNames: ['po'], summarize: workloads.summarizePod },
  { resource: 'services', kind: 'Service', group: '', version: 'v1', namespaced: true, shortNames: ['svc'], summarize: cluster.summarizeService },
  { resource: 'configmaps', kind: 'ConfigMap', group: '', version: 'v1', namespaced: true, shortNames: ['cm'], summarize: cluster.summarizeConfigMap },
  { resource: 'secrets', kind: 'Secret', group: '', version: 'v1', namespaced: true, summarize: cluster.summarizeSecret, metadataOnly: true },
  { resource: 'namespaces', kind: 'Namespace', group: '', version: 'v1', namespaced: false, shortNames: ['ns'], summarize: cluster.summarizeNamespace },
  { resource: 'nodes', kind: 'Node', group: '', version: 'v1', namespaced: false, shortNames: ['no'], summarize: cluster.summarizeNode },
  { resource: 'events', kind: 'Event', group: '', version: 'v1', namespaced: true, shortNames: ['ev'], summarize: cluster.summarizeEvent },
  { resource: 'persistentvolumeclaims', kind: 'PersistentVolumeClaim', group: '', version: 'v1', namespaced: true, shortNames: ['pvc'], summarize: cluster.summarizePersistentVolumeClaim },
  { resource: 'persistentvolumes', kind: 'PersistentVolume', group: '', version: 'v1', namespaced: false, shortNames: ['pv'], summarize: cluster.summarizePersistentVolume },
  { resource: 'serviceaccounts', kind: 'ServiceAccount', group: '', version: 'v1', namespaced: true, shortNames: ['sa'], summarize: cluster.summarizeServiceAccount },
  { resource: 'endpointslices', kind: 'EndpointSlice', group: 'discovery.k8s.io', version: 'v1', namespaced: true, summarize: cluster.summarizeEndpointSlice },
  { resource: 'ingresses', kind: 'Ingress', group: 'networking.k8s.io', version: 'v1', namespaced: true, shortNames: ['ing'], summarize: cluster.summarizeIngress },
  { resource: 'networkpolicies', kind: 'NetworkPolicy', group: 'networking.k8s.io', version: 'v1', namespaced: true, shortNames: ['netpol'], summarize: cluster.summarizeNetworkPolicy },
  { resource: 'storageclasses', kind: 'StorageClass', group: 'storage.k8s.io', version: 'v1', namespaced: false, shortNames: ['sc'], summarize: cluster.summarizeStorageClass },
  { resource: 'horizontalpodautoscalers', kind: 'HorizontalPodAutoscaler', group: 'autoscaling', version: 'v2', namespaced: true, shortNames: ['hpa'], summarize: workloads.summarizeHpa },
  { resource: 'roles', kind: 'Role', group: 'rbac.authorization.k8s.io', version: 'v1', namespaced: true, summarize: cluster.summarizeRole },
  { resource: 'rolebindings', kind: 'RoleBinding', group: 'rbac.authorization.k8s.io', version: 'v1', namespaced: true, summarize: cluster.summarizeRoleBinding },
  { resource: 'clusterroles', kind: 'ClusterRole', group: 'rbac.authorization.k8s.io', version: 'v1', namespaced: false, summarize: cluster.summarizeRole },
  { resource: 'clusterrolebindings', kind: 'ClusterRoleBinding', group: 'rbac.authorization.k8s.io', version: 'v1', namespaced: false, summarize: cluster.summarizeRoleBinding },
  { resource: 'customresourcedefinitions', kind: 'CustomResourceDefinition', group: 'apiextensions.k8s.io', version: 'v1', namespaced: false, shortNames: ['crd', 'crds'], summarize: cluster.summarizeCustomResourceDefinition },
];

/** The built-in kinds, in a stable order (workloads first). */
export function builtinKinds(): KindSpec[] {
  return BUILTINS.map((b) => ({
    info: { resource: b.resource, kind: b.kind, group: b.group, version: b.version, namespaced: b.namespaced, shortNames: b.shortNames ?? [] },
    summarize: b.summarize,
    metadataOnly: b.metadataOnly ?? false,
    discovered: false,
  }));
}

/** A kind found by discovery: generic rows, since its status conventions are unknown. */
export function discoveredKind(info: KindInfo): KindSpec {
  return { info, summarize: summarizeGeneric, metadataOnly: false, discovered: true };
}

/** `apps/v1`, or `v1` for the core group. */
export function apiVersionOf(info: KindInfo): string {
  return info.group === '' ? info.version : `${info.group}/${info.version}`;
}

/** The collection's path: `/api/v1/pods`, `/apis/apps/v1/deployments`. */
export function collectionPath(info: KindInfo): string {
  return info.group === '' ? `/api/${info.version}/${info.resource.split('.')[0] ?? ''}` : `/apis/${info.group}/${info.version}/${info.resource.split('.')[0] ?? ''}`;
}

/** Every name a kind answers to, lower-case: plural, singular, short names, each also qualified by group. */
function namesOf(info: KindInfo): string[] {
  const plural = info.resource.split('.')[0] ?? info.resource;
  const bare = [plural, info.kind.toLowerCase(), ...info.shortNames.map((s) => s.toLowerCase())];
  if (info.group === '') return bare;
  return [...bare, ...bare.flatMap((name) => [`${name}.${info.group}`, `${name}.${info.version}.${info.group}`])];
}

/**
 * Resolves the names users type to kinds. Built-in kinds claim their names
 * first, so a CRD with the short name `po` never shadows pods; qualified
 * names (`widgets.example.com`) always reach the kind they name.
 */
export class KindRegistry {
  private readonly specs = new Map<string, KindSpec>();
  private names = new Map<string, KindSpec>();

  constructor(specs: KindSpec[]) {
    for (const spec of specs) this.specs.set(spec.info.resource, spec);
    this.reindex();
  }

  get size(): number {
    return this.specs.size;
  }

  all(): KindSpec[] {
    return [...this.specs.values()];
  }

  byResource(resource: string): KindSpec | undefined {
    return this.specs.get(resource);
  }

  resolve(name: string): KindSpec | undefined {
    return this.names.get(name.trim().toLowerCase());
  }

  add(spec: KindSpec): void {
    this.specs.set(spec.info.resource, spec);
    this.reindex();
  }

  remove(resource: string): void {
    this.specs.delete(resource);
    this.reindex();
  }

  private reindex(): void {
    const names = new Map<string, KindSpec>();
    // Exact resource keys win over everything; then built-ins' aliases; then discovered ones'.
    const ordered = [...this.specs.values()].sort((a, b) => Number(a.discovered) - Number(b.discovered));
    for (const spec of ordered) names.set(spec.info.resource, spec);
    for (const spec of ordered) {
      for (const name of namesOf(spec.info)) if (!names.has(name)) names.set(name, spec);
    }
    this.names = names;
  }
}
