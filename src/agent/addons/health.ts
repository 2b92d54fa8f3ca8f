// Health of a Helm release's objects (docs/addons.md, "Status"), following
// Argo CD's per-kind rules (gitops-engine `pkg/health`) and its status set.
//
// Per object, `assessHealth` gives a status and one short sentence. Kinds with
// a rule: Deployment, StatefulSet, DaemonSet, Job, Pod, PersistentVolumeClaim,
// Service, Ingress, HorizontalPodAutoscaler, APIService, CustomResourceDefinition.
// An object the release rendered but the cluster lacks is Missing.
//
// The release: `aggregateHealth` reports the worst object status, in the order
// Degraded > Missing > Progressing > Suspended > Unknown > Healthy, the same
// in both modes, and a verdict `healthy` that depends on the mode:
// - non-strict (the default): Healthy, Suspended and Unknown all count as
//   healthy; only Progressing, Missing and Degraded count against the release.
//   Suspended is "not failed", as in Argo CD (a paused Deployment or a
//   suspended Job was paused on purpose), and Unknown means a rule had too
//   little to go on (a Pod whose node stopped reporting, a PVC phase we do
//   not know), which is not evidence of failure. Kinds without a rule
//   (ConfigMap, Secret, RBAC, custom resources) are Healthy by existing.
// - strict (`strictHealthCheck`): only Healthy counts; Suspended and Unknown
//   count against the release, and kinds without a rule are Unknown, so an
//   object we cannot judge never passes as healthy.
import { findCondition, observed, truncate, type Condition, type KubeObject } from '../inventory/summary.ts';

export type HealthStatus = 'Healthy' | 'Progressing' | 'Degraded' | 'Suspended' | 'Missing' | 'Unknown';

/** Worst first: the release takes the first status any of its objects has. */
export const HEALTH_SEVERITY: readonly HealthStatus[] = ['Degraded', 'Missing', 'Progressing', 'Suspended', 'Unknown', 'Healthy'];

/** Longest per-object message kept; condition messages can be long. */
export const MAX_HEALTH_MESSAGE_CHARS = 200;

export interface HealthOptions {
  /** The add-on's `strictHealthCheck`: only Healthy counts, kinds without a rule are Unknown. */
  strict?: boolean;
}

export interface Health {
  status: HealthStatus;
  /** One short sentence for an operator. */
  message: string;
}

/** An object the release rendered that the cluster does not have. */
export interface MissingObject {
  kind: string;
  metadata: { name: string; namespace?: string };
  missing: true;
}

export interface ObjectHealth extends Health {
  kind: string;
  name: string;
  namespace?: string;
}

export interface ReleaseHealth extends Health {
  /** Whether the release counts as healthy under the chosen mode (see the file header). */
  healthy: boolean;
  objects: ObjectHealth[];
}

type Rule = (object: KubeObject) => Health;

function health(status: HealthStatus, message: string): Health {
  return { status, message: truncate(message, MAX_HEALTH_MESSAGE_CHARS) };
}

/** `reason: message` of a condition, or `fallback` when it has neither. */
function describeCondition(condition: Condition | undefined, fallback: string): string {
  const parts = [condition?.reason, condition?.message].filter((part): part is string => typeof part === 'string' && part !== '');
  return parts.length > 0 ? parts.join(': ') : fallback;
}

/** Workloads whose controller has not yet seen the latest spec report a stale status. */
function staleGeneration(object: KubeObject, kind: string): Health | undefined {
  const status = object.status as { observedGeneration?: number } | undefined;
  if (observed(object.metadata, status)) return undefined;
  return health('Progressing', `waiting for the ${kind} controller to observe generation ${object.metadata?.generation ?? '?'}`);
}

interface LoadBalancerStatus {
  loadBalancer?: { ingress?: { ip?: string; hostname?: string }[] };
}

function loadBalancerAddress(object: KubeObject): string | undefined {
  const entries = (object.status as LoadBalancerStatus | undefined)?.loadBalancer?.ingress;
  if (!Array.isArray(entries)) return undefined;
  return entries.map((entry) => entry.ip ?? entry.hostname).find((address) => typeof address === 'string' && address !== '');
}

function serviceHealth(object: KubeObject): Health {
  const type = (object.spec as { type?: string } | undefined)?.type ?? 'ClusterIP';
  if (type !== 'LoadBalancer') return health('Healthy', `${type} service`);
  const address = loadBalancerAddress(object);
  return address === undefined
    ? health('Progressing', 'waiting for the load balancer to get an address')
    : health('Healthy', `load balancer at ${address}`);
}

// Argo CD's convention: an Ingress is Progressing until an ingress controller
// publishes an address in its status. Without a controller that does so it
// stays Progressing (field notes section 5, "Endless Progressing").
function ingressHealth(object: KubeObject): Health {
  const address = loadBalancerAddress(object);
  return address === undefined
    ? health('Progressing', 'waiting for an ingress controller to publish an address')
    : health('Healthy', `ingress at ${address}`);
}

function pvcHealth(object: KubeObject): Health {
  const phase = (object.status as { phase?: string } | undefined)?.phase;
  switch (phase) {
    case 'Bound':
      return health('Healthy', 'claim is bound');
    case 'Pending':
      return health('Progressing', 'claim is waiting for a volume');
    case 'Lost':
      return health('Degraded', 'claim lost its volume');
    default:
      return health('Unknown', phase ? `claim phase ${phase}` : 'claim has no phase yet');
  }
}

function conditionsOf(object: KubeObject): Condition[] | undefined {
  return (object.status as { conditions?: Condition[] } | undefined)?.conditions;
}

function hpaHealth(object: KubeObject): Health {
  const conditions = conditionsOf(object);
  const able = findCondition(conditions, 'AbleToScale');
  const active = findCondition(conditions, 'ScalingActive');
  if (able?.status === 'False') return health('Degraded', `cannot scale: ${describeCondition(able, 'AbleToScale is False')}`);
  // The target was scaled to zero by hand: autoscaling is off on purpose.
  if (active?.status === 'False' && active.reason === 'ScalingDisabled') {
    return health('Suspended', describeCondition(active, 'scaling is disabled'));
  }
  if (active?.status === 'False') return health('Degraded', `not scaling: ${describeCondition(active, 'ScalingActive is False')}`);
  if (able?.status !== 'True' || active?.status !== 'True') return health('Progressing', 'waiting for the autoscaler to read its metrics');
  // ScalingLimited=True only says the desired count hit min or max: still healthy.
  const limited = findCondition(conditions, 'ScalingLimited');
  return health('Healthy', limited?.status === 'True' ? `autoscaling, ${describeCondition(limited, 'limited')}` : 'autoscaling');
}

function apiServiceHealth(object: KubeObject): Health {
  const available = findCondition(conditionsOf(object), 'Available');
  if (available?.status === 'True') return health('Healthy', 'available');
  // Argo CD reports every other state as Progressing: the backing service may still be starting.
  return health('Progressing', `not available yet: ${describeCondition(available, 'no Available condition')}`);
}

function crdHealth(object: KubeObject): Health {
  const conditions = conditionsOf(object);
  const terminating = findCondition(conditions, 'Terminating');
  if (terminating?.status === 'True' || object.metadata?.deletionTimestamp) {
    return health('Degraded', `being deleted: ${describeCondition(terminating, 'deletionTimestamp is set')}`);
  }
  const nonStructural = findCondition(conditions, 'NonStructuralSchema');
  if (nonStructural?.status === 'True') return health('Degraded', `non-structural schema: ${describeCondition(nonStructural, 'fix the schema')}`);
  const names = findCondition(conditions, 'NamesAccepted');
  if (names?.status === 'False') return health('Degraded', `names not accepted: ${describeCondition(names, 'conflict')}`);
  const established = findCondition(conditions, 'Established');
  if (established?.status === 'True' && names?.status === 'True') return health('Healthy', 'established');
  return health('Progressing', 'waiting for the API server to establish the resource');
}


interface ReplicaStatus {
  observedGeneration?: number;
  replicas?: number;
  readyReplicas?: number;
  updatedReplicas?: number;
  availableReplicas?: number;
  currentRevision?: string;
  updateRevision?: string;
  conditions?: Condition[];
}

interface WorkloadSpec {
  replicas?: number;
  paused?: boolean;
  updateStrategy?: { type?: string; rollingUpdate?: { partition?: number } };
}

function deploymentHealth(object: KubeObject): Health {
  const spec = (object.spec ?? {}) as WorkloadSpec;
  const status = (object.status ?? {}) as ReplicaStatus;
  if (spec.paused === true) return health('Suspended', 'rollout is paused');
  const stale = staleGeneration(object, 'deployment');
  if (stale) return stale;
  const progressing = findCondition(status.conditions, 'Progressing');
  if (progressing?.reason === 'ProgressDeadlineExceeded') return health('Degraded', `rollout stalled: ${describeCondition(progressing, 'deadline exceeded')}`);
  const failure = findCondition(status.conditions, 'ReplicaFailure');
  if (failure?.status === 'True') return health('Degraded', `cannot create pods: ${describeCondition(failure, 'ReplicaFailure')}`);
  const desired = spec.replicas ?? 1;
  const updated = status.updatedReplicas ?? 0;
  const available = status.availableReplicas ?? 0;
  if (updated < desired) return health('Progressing', `${updated} of ${desired} replicas updated`);
  if ((status.replicas ?? 0) > updated) return health('Progressing', `${(status.replicas ?? 0) - updated} old replicas pending termination`);
  if (available < updated) return health('Progressing', `${available} of ${updated} updated replicas available`);
  return health('Healthy', `${available} of ${desired} replicas available`);
}

function statefulSetHealth(object: KubeObject): Health {
  const spec = (object.spec ?? {}) as WorkloadSpec;
  const status = (object.status ?? {}) as ReplicaStatus;
  const stale = staleGeneration(object, 'statefulset');
  if (stale) return stale;
  const desired = spec.replicas ?? 1;
  const ready = status.readyReplicas ?? 0;
  if (ready < desired) return health('Progressing', `${ready} of ${desired} pods ready`);
  if (spec.updateStrategy?.type === 'OnDelete') return health('Healthy', `${ready} of ${desired} pods ready (OnDelete updates)`);
  const partition = spec.updateStrategy?.rollingUpdate?.partition ?? 0;
  if (partition > 0) {
    const target = desired - partition;
    const updated = status.updatedReplicas ?? 0;
    return updated < target
      ? health('Progressing', `${updated} of ${target} pods above partition ${partition} updated`)
      : health('Healthy', `partitioned rollout complete (${updated} pods updated)`);
  }
  if (status.updateRevision !== undefined && status.updateRevision !== status.currentRevision) {
    return health('Progressing', `rolling update to ${status.updateRevision}: ${status.updatedReplicas ?? 0} of ${desired} pods updated`);
  }
  return health('Healthy', `${ready} of ${desired} pods ready`);
}

function daemonSetHealth(object: KubeObject): Health {
  const spec = (object.spec ?? {}) as WorkloadSpec;
  const status = (object.status ?? {}) as {
    desiredNumberScheduled?: number; updatedNumberScheduled?: number; numberAvailable?: number;
  };
  const stale = staleGeneration(object, 'daemonset');
  if (stale) return stale;
  const desired = status.desiredNumberScheduled ?? 0;
  const available = status.numberAvailable ?? 0;
  const updated = status.updatedNumberScheduled ?? 0;
  if (spec.updateStrategy?.type !== 'OnDelete' && updated < desired) return health('Progressing', `${updated} of ${desired} nodes updated`);
  if (available < desired) return health('Progressing', `${available} of ${desired} nodes available`);
  return health('Healthy', `${available} of ${desired} nodes available`);
}

function jobHealth(object: KubeObject): Health {
  const conditions = conditionsOf(object);
  const failed = findCondition(conditions, 'Failed');
  if (failed?.status === 'True') return health('Degraded', `failed: ${describeCondition(failed, 'job failed')}`);
  const complete = findCondition(conditions, 'Complete');
  if (complete?.status === 'True') return health('Healthy', 'complete');
  // FailureTarget precedes Failed while the job's pods are being terminated.
  const failing = findCondition(conditions, 'FailureTarget');
  if (failing?.status === 'True') return health('Degraded', `failing: ${describeCondition(failing, 'job is failing')}`);
  const suspended = (object.spec as { suspend?: boolean } | undefined)?.suspend === true
    || findCondition(conditions, 'Suspended')?.status === 'True';
  if (suspended) return health('Suspended', 'job is suspended');
  const active = (object.status as { active?: number } | undefined)?.active ?? 0;
  return health('Progressing', `running (${active} active pods)`);
}

interface ContainerStatus {
  name?: string;
  state?: { waiting?: { reason?: string; message?: string } };
}

interface PodStatus {
  phase?: string;
  reason?: string;
  message?: string;
  conditions?: Condition[];
  containerStatuses?: ContainerStatus[];
  initContainerStatuses?: ContainerStatus[];
}

/**
 * Waiting reasons that mean the container will not start without a change:
 * CrashLoopBackOff, ImagePullBackOff, ErrImagePull, CreateContainerConfigError
 * and their kin (Argo CD's test: prefix `Err`, suffix `Error` or `BackOff`).
 */
function isFailingReason(reason: string): boolean {
  return reason.startsWith('Err') || reason.endsWith('Error') || reason.endsWith('BackOff');
}

function podHealth(object: KubeObject): Health {
  const status = (object.status ?? {}) as PodStatus;
  // Argo CD applies this only to restartPolicy Always, to spare hook pods;
  // hooks are not in `helm get manifest`, so every pod here gets it.
  for (const container of [...(status.initContainerStatuses ?? []), ...(status.containerStatuses ?? [])]) {
    const waiting = container.state?.waiting;
    if (waiting?.reason && isFailingReason(waiting.reason)) {
      return health('Degraded', `container ${container.name ?? '?'}: ${describeCondition(waiting, waiting.reason)}`);
    }
  }
  if (object.metadata?.deletionTimestamp) return health('Progressing', 'pod is being deleted');
  const restartPolicy = (object.spec as { restartPolicy?: string } | undefined)?.restartPolicy ?? 'Always';
  switch (status.phase) {
    case 'Succeeded':
      return health('Healthy', 'pod completed');
    case 'Failed':
      return health('Degraded', `pod failed: ${describeCondition(status, 'Failed')}`);
    case 'Pending':
      return health('Progressing', `pod pending: ${describeCondition(status, 'waiting to be scheduled or started')}`);
    case 'Running':
      // A run-to-completion pod is Progressing until it Succeeds.
      if (restartPolicy !== 'Always') return health('Progressing', 'pod running to completion');
      return findCondition(status.conditions, 'Ready')?.status === 'True'
        ? health('Healthy', 'pod running and ready')
        : health('Progressing', 'pod running, not ready');
    default:
      return health('Unknown', status.phase ? `pod phase ${status.phase}` : 'pod has no phase yet');
  }
}

/** Rules by API group and kind: a Knative `Service` is not a core Service. */
const RULES: Readonly<Record<string, Rule>> = {
  'apps/Deployment': deploymentHealth,
  'apps/StatefulSet': statefulSetHealth,
  'apps/DaemonSet': daemonSetHealth,
  'batch/Job': jobHealth,
  '/Pod': podHealth,
  '/PersistentVolumeClaim': pvcHealth,
  '/Service': serviceHealth,
  'networking.k8s.io/Ingress': ingressHealth,
  'autoscaling/HorizontalPodAutoscaler': hpaHealth,
  'apiregistration.k8s.io/APIService': apiServiceHealth,
  'apiextensions.k8s.io/CustomResourceDefinition': crdHealth,
};

function ruleFor(object: KubeObject, kind: string): Rule | undefined {
  const apiVersion = object.apiVersion ?? '';
  const group = apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.indexOf('/')) : '';
  return RULES[`${group}/${kind}`];
}

export function isMissing(object: KubeObject | MissingObject): object is MissingObject {
  return (object as Partial<MissingObject>).missing === true;
}

/** Health of one live object by its kind's rule. */
export function assessHealth(object: KubeObject, options: HealthOptions = {}): Health {
  const kind = object.kind;
  if (typeof kind !== 'string' || kind === '') return health('Unknown', 'object has no kind');
  const rule = ruleFor(object, kind);
  if (rule) return rule(object);
  return options.strict === true
    ? health('Unknown', `no health rule for ${kind}`)
    : health('Healthy', 'exists');
}

function objectHealth(object: KubeObject | MissingObject, options: HealthOptions): ObjectHealth {
  const kind = object.kind ?? '';
  const { name = '', namespace } = object.metadata ?? {};
  const verdict = isMissing(object) ? health('Missing', 'not found in the cluster') : assessHealth(object, options);
  return { kind, name, ...(namespace === undefined ? {} : { namespace }), ...verdict };
}

function severity(status: HealthStatus): number {
  return HEALTH_SEVERITY.indexOf(status);
}

function countsAsHealthy(status: HealthStatus, strict: boolean): boolean {
  return strict ? status === 'Healthy' : status === 'Healthy' || status === 'Suspended' || status === 'Unknown';
}

/**
 * Health of a release: the worst status of its objects, with the first worst
 * object's message, and whether that counts as healthy in the chosen mode.
 * A release with no objects is Healthy.
 */
export function aggregateHealth(objects: readonly (KubeObject | MissingObject)[], options: HealthOptions = {}): ReleaseHealth {
  const strict = options.strict === true;
  const assessed = objects.map((object) => objectHealth(object, options));
  const worst = assessed.reduce<ObjectHealth | undefined>(
    (current, next) => (current === undefined || severity(next.status) < severity(current.status) ? next : current),
    undefined,
  );
  if (worst === undefined || worst.status === 'Healthy') {
    return { status: 'Healthy', message: `${assessed.length} of ${assessed.length} objects healthy`, healthy: true, objects: assessed };
  }
  const same = assessed.filter((object) => object.status === worst.status).length;
  const more = same > 1 ? ` (and ${same - 1} more ${worst.status})` : '';
  return {
    status: worst.status,
    message: `${worst.kind} ${worst.namespace ? `${worst.namespace}/` : ''}${worst.name}: ${worst.message}${more}`,
    // Every status that counts against the release is worse than every one that does not.
    healthy: countsAsHealthy(worst.status, strict),
    objects: assessed,
  };
}
