// Row summaries of everything but workloads: nodes and namespaces, events,
// networking, storage, configuration, RBAC and CRDs.
import type { Health } from '../../link/resources.ts';
import {
  conditionIs, findCondition, joinList, plain, truncate, type Condition, type KubeObject, type RowSummary,
} from './summary.ts';

const NODE_ROLE_PREFIX = 'node-role.kubernetes.io/';
const NODE_PRESSURES = ['MemoryPressure', 'DiskPressure', 'PIDPressure', 'NetworkUnavailable'];

interface NodeObject extends KubeObject {
  spec?: { unschedulable?: boolean };
  status?: {
    conditions?: Condition[];
    addresses?: { type?: string; address?: string }[];
    nodeInfo?: { kubeletVersion?: string; architecture?: string; osImage?: string };
  };
}

export function summarizeNode(object: KubeObject): RowSummary {
  const node = object as NodeObject;
  const conditions = node.status?.conditions;
  const readyStatus = findCondition(conditions, 'Ready')?.status;
  let status = readyStatus === 'True' ? 'Ready' : readyStatus === 'False' ? 'NotReady' : 'Unknown';
  const unschedulable = node.spec?.unschedulable === true;
  if (unschedulable) status += ',SchedulingDisabled';
  let health: Health = readyStatus === 'True' ? 'healthy' : readyStatus === 'False' ? 'degraded' : 'unknown';
  if (health === 'healthy' && NODE_PRESSURES.some((type) => conditionIs(conditions, type, 'True'))) health = 'degraded';
  const roles = Object.keys(node.metadata?.labels ?? {})
    .filter((label) => label.startsWith(NODE_ROLE_PREFIX))
    .map((label) => label.slice(NODE_ROLE_PREFIX.length))
    .filter((role) => role !== '');
  return {
    status,
    health,
    columns: {
      ready: readyStatus === 'True',
      roles: roles.length > 0 ? joinList(roles.sort()) : '<none>',
      version: node.status?.nodeInfo?.kubeletVersion ?? null,
      internalIP: node.status?.addresses?.find((a) => a.type === 'InternalIP')?.address ?? null,
      architecture: node.status?.nodeInfo?.architecture ?? null,
      unschedulable,
    },
  };
}

export function summarizeNamespace(object: KubeObject): RowSummary {
  const phase = (object.status as { phase?: string } | undefined)?.phase ?? 'Active';
  return { status: phase, health: phase === 'Active' ? 'healthy' : 'progressing', columns: { phase } };
}

interface EventObject extends KubeObject {
  type?: string;
  reason?: string;
  message?: string;
  note?: string;
  count?: number;
  firstTimestamp?: string | null;
  lastTimestamp?: string | null;
  eventTime?: string | null;
  series?: { count?: number; lastObservedTime?: string };
  source?: { component?: string };
  reportingComponent?: string;
  involvedObject?: { kind?: string; name?: string; namespace?: string; uid?: string };
}

/** When an Event last happened: the first of the fields its various writers set. */
export function eventLastSeen(event: EventObject): string | null {
  return event.series?.lastObservedTime ?? event.lastTimestamp ?? event.eventTime ?? event.firstTimestamp ?? event.metadata?.creationTimestamp ?? null;
}

export function summarizeEvent(object: KubeObject): RowSummary {
  const event = object as EventObject;
  const involved = event.involvedObject ?? {};
  const type = event.type ?? 'Normal';
  return {
    status: event.reason ?? '',
    health: type === 'Warning' ? 'degraded' : 'healthy',
    columns: {
      type,
      reason: event.reason ?? null,
      message: truncate(event.message ?? event.note ?? ''),
      count: event.series?.count ?? event.count ?? 1,
      involvedKind: involved.kind ?? null,
      involvedName: involved.name ?? null,
      involvedNamespace: involved.namespace ?? null,
      involvedUid: involved.uid ?? null,
      source: event.source?.component ?? event.reportingComponent ?? null,
      lastSeen: eventLastSeen(event),
    },
  };
}

interface ServiceObject extends KubeObject {
  spec?: { type?: string; clusterIP?: string; externalIPs?: string[]; externalName?: string; ports?: { port?: number; protocol?: string }[] };
  status?: { loadBalancer?: { ingress?: { ip?: string; hostname?: string }[] } };
}

export function summarizeService(object: KubeObject): RowSummary {
  const svc = object as ServiceObject;
  const type = svc.spec?.type ?? 'ClusterIP';
  const lbAddresses = (svc.status?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? i.hostname);
  const external = type === 'ExternalName' ? [svc.spec?.externalName] : [...lbAddresses, ...(svc.spec?.externalIPs ?? [])];
  const pending = type === 'LoadBalancer' && lbAddresses.length === 0;
  return {
    status: type,
    health: pending ? 'progressing' : 'healthy',
    columns: {
      type,
      clusterIP: svc.spec?.clusterIP ?? null,
      externalIP: pending ? '<pending>' : joinList(external) || null,
      ports: joinList((svc.spec?.ports ?? []).map((p) => `${p.port ?? ''}/${p.protocol ?? 'TCP'}`)),
    },
  };
}

interface EndpointSliceObject extends KubeObject {
  addressType?: string;
  endpoints?: { conditions?: { ready?: boolean } }[];
  ports?: { port?: number; protocol?: string }[] | null;
}

export function summarizeEndpointSlice(object: KubeObject): RowSummary {
  const slice = object as EndpointSliceObject;
  const endpoints = slice.endpoints ?? [];
  // The API treats an absent `ready` as ready.
  const ready = endpoints.filter((e) => e.conditions?.ready !== false).length;
  const health: Health = endpoints.length === 0 ? 'unknown' : ready === endpoints.length ? 'healthy' : 'progressing';
  return {
    status: `${ready}/${endpoints.length}`,
    health,
    columns: {
      addressType: slice.addressType ?? null,
      endpoints: endpoints.length,
      ready,
      ports: joinList((slice.ports ?? []).map((p) => `${p.port ?? ''}/${p.protocol ?? 'TCP'}`)),
      service: slice.metadata?.labels?.['kubernetes.io/service-name'] ?? null,
    },
  };
}

interface IngressObject extends KubeObject {
  spec?: { ingressClassName?: string; rules?: { host?: string }[] };
  status?: { loadBalancer?: { ingress?: { ip?: string; hostname?: string }[] } };
}

export function summarizeIngress(object: KubeObject): RowSummary {
  const ing = object as IngressObject;
  const address = joinList((ing.status?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? i.hostname));
  return {
    status: address === '' ? 'Pending' : 'Ready',
    health: address === '' ? 'progressing' : 'healthy',
    columns: {
      class: ing.spec?.ingressClassName ?? null,
      hosts: joinList((ing.spec?.rules ?? []).map((r) => r.host ?? '*')) || '*',
      address: address || null,
    },
  };
}

export function summarizeNetworkPolicy(object: KubeObject): RowSummary {
  const spec = object.spec as { podSelector?: { matchLabels?: Record<string, string> }; policyTypes?: string[] } | undefined;
  const labels = Object.entries(spec?.podSelector?.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  return plain({ podSelector: labels.length > 0 ? joinList(labels) : '<all>', policyTypes: joinList(spec?.policyTypes) });
}

const ACCESS_MODES: Record<string, string> = {
  ReadWriteOnce: 'RWO', ReadOnlyMany: 'ROX', ReadWriteMany: 'RWX', ReadWriteOncePod: 'RWOP',
};

function accessModes(modes: string[] | undefined): string {
  return joinList((modes ?? []).map((m) => ACCESS_MODES[m] ?? m));
}

const VOLUME_PHASE_HEALTH: Record<string, Health> = {
  Bound: 'healthy', Available: 'healthy', Released: 'healthy', Pending: 'progressing', Lost: 'degraded', Failed: 'degraded',
};

interface VolumeObject extends KubeObject {
  spec?: {
    volumeName?: string;
    storageClassName?: string;
    accessModes?: string[];
    capacity?: { storage?: string };
    persistentVolumeReclaimPolicy?: string;
    claimRef?: { namespace?: string; name?: string };
  };
  status?: { phase?: string; capacity?: { storage?: string } };
}

export function summarizePersistentVolumeClaim(object: KubeObject): RowSummary {
  const pvc = object as VolumeObject;
  const phase = pvc.status?.phase ?? 'Pending';
  return {
    status: phase,
    health: VOLUME_PHASE_HEALTH[phase] ?? 'unknown',
    columns: {
      volume: pvc.spec?.volumeName ?? null, capacity: pvc.status?.capacity?.storage ?? null,
      accessModes: accessModes(pvc.spec?.accessModes), storageClass: pvc.spec?.storageClassName ?? null,
    },
  };
}

export function summarizePersistentVolume(object: KubeObject): RowSummary {
  const pv = object as VolumeObject;
  const phase = pv.status?.phase ?? 'Pending';
  const claim = pv.spec?.claimRef;
  return {
    status: phase,
    health: VOLUME_PHASE_HEALTH[phase] ?? 'unknown',
    columns: {
      capacity: pv.spec?.capacity?.storage ?? null, accessModes: accessModes(pv.spec?.accessModes),
      reclaimPolicy: pv.spec?.persistentVolumeReclaimPolicy ?? null,
      claim: claim ? `${claim.namespace ?? ''}/${claim.name ?? ''}` : null, storageClass: pv.spec?.storageClassName ?? null,
    },
  };
}

const DEFAULT_CLASS_ANNOTATIONS = ['storageclass.kubernetes.io/is-default-class', 'storageclass.beta.kubernetes.io/is-default-class'];

export function summarizeStorageClass(object: KubeObject): RowSummary {
  const sc = object as KubeObject & { provisioner?: string; reclaimPolicy?: string; volumeBindingMode?: string; allowVolumeExpansion?: boolean };
  const annotations = sc.metadata?.annotations ?? {};
  const isDefault = DEFAULT_CLASS_ANNOTATIONS.some((a) => annotations[a] === 'true');
  return plain({
    provisioner: sc.provisioner ?? null, reclaimPolicy: sc.reclaimPolicy ?? 'Delete',
    volumeBindingMode: sc.volumeBindingMode ?? 'Immediate', allowVolumeExpansion: sc.allowVolumeExpansion === true, default: isDefault,
  }, isDefault ? 'default' : '');
}

export function summarizeConfigMap(object: KubeObject): RowSummary {
  const keys = Object.keys((object.data as object | undefined) ?? {}).length + Object.keys((object.binaryData as object | undefined) ?? {}).length;
  return plain({ data: keys });
}

/** Secrets are cached as metadata only: there is nothing to count. */
export function summarizeSecret(): RowSummary {
  return plain();
}

export function summarizeServiceAccount(object: KubeObject): RowSummary {
  const secrets = object.secrets;
  return plain({ secrets: Array.isArray(secrets) ? secrets.length : 0 });
}

export function summarizeRole(object: KubeObject): RowSummary {
  const rules = object.rules;
  return plain({ rules: Array.isArray(rules) ? rules.length : 0, aggregated: object.aggregationRule !== undefined });
}

export function summarizeRoleBinding(object: KubeObject): RowSummary {
  const binding = object as KubeObject & { roleRef?: { kind?: string; name?: string }; subjects?: { kind?: string; name?: string }[] };
  const subjects = binding.subjects ?? [];
  return plain({
    role: `${binding.roleRef?.kind ?? ''}/${binding.roleRef?.name ?? ''}`,
    subjects: subjects.length,
    subjectNames: joinList(subjects.map((s) => `${s.kind ?? ''}/${s.name ?? ''}`)),
  });
}

export function summarizeCustomResourceDefinition(object: KubeObject): RowSummary {
  const crd = object as KubeObject & {
    spec?: { group?: string; scope?: string; names?: { kind?: string }; versions?: { name?: string; served?: boolean }[] };
    status?: { conditions?: Condition[] };
  };
  const conditions = crd.status?.conditions;
  const established = conditionIs(conditions, 'Established', 'True');
  let health: Health = established ? 'healthy' : 'progressing';
  if (conditionIs(conditions, 'NamesAccepted', 'False')) health = 'degraded';
  return {
    status: established ? 'Established' : 'NotEstablished',
    health,
    columns: {
      group: crd.spec?.group ?? null, kind: crd.spec?.names?.kind ?? null, scope: crd.spec?.scope ?? null,
      versions: joinList((crd.spec?.versions ?? []).filter((v) => v.served !== false).map((v) => v.name)),
    },
  };
}
