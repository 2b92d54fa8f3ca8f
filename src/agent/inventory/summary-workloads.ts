// Row summaries of workloads: pods and their controllers, jobs and HPAs,
// following `kubectl get`'s columns and a rollout-status notion of health.
import type { Health } from '../../link/resources.ts';
import {
  conditionIs, findCondition, observed, ratio, type Condition, type KubeObject, type ObjectMeta, type RowSummary,
} from './summary.ts';

interface ContainerState {
  waiting?: { reason?: string };
  running?: { startedAt?: string };
  terminated?: { reason?: string; exitCode?: number; signal?: number };
}

interface ContainerStatus {
  name?: string;
  ready?: boolean;
  started?: boolean;
  restartCount?: number;
  state?: ContainerState;
}

interface PodObject extends KubeObject {
  spec?: { nodeName?: string; containers?: { name?: string }[]; initContainers?: { name?: string; restartPolicy?: string }[] };
  status?: {
    phase?: string;
    reason?: string;
    podIP?: string;
    conditions?: Condition[];
    containerStatuses?: ContainerStatus[];
    initContainerStatuses?: ContainerStatus[];
  };
}

/** Container reasons that mean the pod is broken rather than on its way. */
const FAILING_REASONS = new Set([
  'CrashLoopBackOff', 'ImagePullBackOff', 'ErrImagePull', 'ErrImageNeverPull', 'InvalidImageName',
  'CreateContainerConfigError', 'CreateContainerError', 'RunContainerError', 'ContainerCannotRun',
  'Error', 'OOMKilled', 'Evicted', 'DeadlineExceeded', 'Failed', 'NodeLost', 'UnexpectedAdmissionError',
]);

function terminatedReason(state: NonNullable<ContainerState['terminated']>): string {
  if (state.reason) return state.reason;
  return state.signal ? `Signal:${state.signal}` : `ExitCode:${state.exitCode ?? 0}`;
}

/** `Init:1/3`, `Init:CrashLoopBackOff`, or undefined once init containers are done. */
function initReason(pod: PodObject): string | undefined {
  const statuses = pod.status?.initContainerStatuses ?? [];
  const specs = pod.spec?.initContainers ?? [];
  for (const [index, status] of statuses.entries()) {
    const terminated = status.state?.terminated;
    if (terminated?.exitCode === 0) continue;
    // A sidecar (restartable init container) that has started no longer holds the pod back.
    if (specs[index]?.restartPolicy === 'Always' && status.started === true) continue;
    if (terminated) return `Init:${terminatedReason(terminated)}`;
    const waiting = status.state?.waiting?.reason;
    if (waiting && waiting !== 'PodInitializing') return `Init:${waiting}`;
    return `Init:${index}/${specs.length || statuses.length}`;
  }
  return undefined;
}

/** The STATUS column of `kubectl get pods`. */
export function podStatus(pod: PodObject): string {
  let reason = pod.status?.reason ?? pod.status?.phase ?? 'Unknown';
  const init = initReason(pod);
  if (init !== undefined) reason = init;
  else {
    let running = false;
    for (const status of [...(pod.status?.containerStatuses ?? [])].reverse()) {
      const waiting = status.state?.waiting?.reason;
      const terminated = status.state?.terminated;
      if (waiting) reason = waiting;
      else if (terminated) reason = terminatedReason(terminated);
      else if (status.ready && status.state?.running) running = true;
    }
    if (reason === 'Completed' && running) {
      reason = conditionIs(pod.status?.conditions, 'Ready', 'True') ? 'Running' : 'NotReady';
    }
  }
  if (pod.metadata?.deletionTimestamp) reason = pod.status?.reason === 'NodeLost' ? 'Unknown' : 'Terminating';
  return reason;
}

function podHealth(status: string, phase: string | undefined, allReady: boolean): Health {
  const bare = status.startsWith('Init:') ? status.slice('Init:'.length) : status;
  if (FAILING_REASONS.has(bare) || bare.startsWith('ExitCode:') || bare.startsWith('Signal:')) {
    return phase === 'Succeeded' ? 'healthy' : 'degraded';
  }
  if (status === 'Terminating') return 'progressing';
  switch (phase) {
    case 'Succeeded':
      return 'healthy';
    case 'Failed':
      return 'degraded';
    case 'Running':
      return allReady ? 'healthy' : 'progressing';
    case 'Pending':
      return 'progressing';
    default:
      return 'unknown';
  }
}

export function summarizePod(object: KubeObject): RowSummary {
  const pod = object as PodObject;
  const statuses = pod.status?.containerStatuses ?? [];
  const total = pod.spec?.containers?.length ?? statuses.length;
  const ready = statuses.filter((s) => s.ready === true).length;
  const restarts = [...statuses, ...(pod.status?.initContainerStatuses ?? [])]
    .reduce((sum, s) => sum + (typeof s.restartCount === 'number' ? s.restartCount : 0), 0);
  const status = podStatus(pod);
  const phase = pod.status?.phase;
  return {
    status,
    health: podHealth(status, phase, total > 0 && ready === total),
    columns: {
      ready: ratio(ready, total), restarts, node: pod.spec?.nodeName ?? null, phase: phase ?? null, ip: pod.status?.podIP ?? null,
    },
  };
}

interface ReplicatedObject extends KubeObject {
  metadata?: ObjectMeta;
  spec?: { replicas?: number; paused?: boolean; updateStrategy?: { type?: string } };
  status?: {
    observedGeneration?: number;
    replicas?: number;
    readyReplicas?: number;
    updatedReplicas?: number;
    availableReplicas?: number;
    currentReplicas?: number;
    conditions?: Condition[];
  };
}

export function summarizeDeployment(object: KubeObject): RowSummary {
  const d = object as ReplicatedObject;
  const desired = d.spec?.replicas ?? 1;
  const status = d.status ?? {};
  const updated = status.updatedReplicas ?? 0;
  const available = status.availableReplicas ?? 0;
  const progressing = findCondition(status.conditions, 'Progressing');
  let health: Health = 'healthy';
  if (progressing?.reason === 'ProgressDeadlineExceeded' || conditionIs(status.conditions, 'ReplicaFailure', 'True')) health = 'degraded';
  else if (d.spec?.paused) health = 'unknown';
  else if (!observed(d.metadata, status) || updated < desired || (status.replicas ?? 0) > updated || available < desired) health = 'progressing';
  return {
    status: ratio(status.readyReplicas, desired),
    health,
    columns: { ready: ratio(status.readyReplicas, desired), upToDate: updated, available, replicas: desired },
  };
}

export function summarizeStatefulSet(object: KubeObject): RowSummary {
  const s = object as ReplicatedObject;
  const desired = s.spec?.replicas ?? 1;
  const status = s.status ?? {};
  const ready = status.readyReplicas ?? 0;
  const updated = s.spec?.updateStrategy?.type === 'OnDelete' ? desired : (status.updatedReplicas ?? 0);
  const done = observed(s.metadata, status) && ready === desired && updated >= desired;
  return {
    status: ratio(ready, desired),
    health: done ? 'healthy' : 'progressing',
    columns: { ready: ratio(ready, desired), upToDate: status.updatedReplicas ?? 0, replicas: desired },
  };
}

export function summarizeReplicaSet(object: KubeObject): RowSummary {
  const r = object as ReplicatedObject;
  const desired = r.spec?.replicas ?? 1;
  const status = r.status ?? {};
  const ready = status.readyReplicas ?? 0;
  let health: Health = ready >= desired && observed(r.metadata, status) ? 'healthy' : 'progressing';
  if (conditionIs(status.conditions, 'ReplicaFailure', 'True')) health = 'degraded';
  return {
    status: ratio(ready, desired),
    health,
    columns: { desired, current: status.replicas ?? 0, ready },
  };
}

interface DaemonSetObject extends KubeObject {
  status?: {
    observedGeneration?: number;
    desiredNumberScheduled?: number;
    currentNumberScheduled?: number;
    numberReady?: number;
    updatedNumberScheduled?: number;
    numberAvailable?: number;
  };
}

export function summarizeDaemonSet(object: KubeObject): RowSummary {
  const d = object as DaemonSetObject;
  const status = d.status ?? {};
  const desired = status.desiredNumberScheduled ?? 0;
  const ready = status.numberReady ?? 0;
  const done = observed(d.metadata, status) && (status.updatedNumberScheduled ?? 0) >= desired && (status.numberAvailable ?? 0) >= desired;
  return {
    status: ratio(ready, desired),
    health: done ? 'healthy' : 'progressing',
    columns: {
      desired, current: status.currentNumberScheduled ?? 0, ready,
      upToDate: status.updatedNumberScheduled ?? 0, available: status.numberAvailable ?? 0,
    },
  };
}

interface JobObject extends KubeObject {
  spec?: { completions?: number; parallelism?: number; suspend?: boolean };
  status?: { active?: number; succeeded?: number; failed?: number; startTime?: string; completionTime?: string; conditions?: Condition[] };
}

export function summarizeJob(object: KubeObject): RowSummary {
  const job = object as JobObject;
  const status = job.status ?? {};
  const conditions = status.conditions;
  let word = 'Running';
  let health: Health = 'progressing';
  if (conditionIs(conditions, 'Complete', 'True')) [word, health] = ['Complete', 'healthy'];
  else if (conditionIs(conditions, 'Failed', 'True')) [word, health] = ['Failed', 'degraded'];
  else if (conditionIs(conditions, 'FailureTarget', 'True')) [word, health] = ['FailureTarget', 'degraded'];
  else if (job.spec?.suspend) [word, health] = ['Suspended', 'unknown'];
  else if (job.metadata?.deletionTimestamp) word = 'Terminating';
  return {
    status: word,
    health,
    columns: {
      completions: ratio(status.succeeded, job.spec?.completions ?? 1),
      active: status.active ?? 0, succeeded: status.succeeded ?? 0, failed: status.failed ?? 0,
      completedAt: status.completionTime ?? null,
    },
  };
}

interface CronJobObject extends KubeObject {
  spec?: { schedule?: string; suspend?: boolean; timeZone?: string };
  status?: { active?: unknown[]; lastScheduleTime?: string; lastSuccessfulTime?: string };
}

export function summarizeCronJob(object: KubeObject): RowSummary {
  const cron = object as CronJobObject;
  const suspended = cron.spec?.suspend === true;
  return {
    status: suspended ? 'Suspended' : 'Scheduled',
    health: 'healthy',
    columns: {
      schedule: cron.spec?.schedule ?? null, timeZone: cron.spec?.timeZone ?? null, suspend: suspended,
      active: Array.isArray(cron.status?.active) ? cron.status.active.length : 0,
      lastSchedule: cron.status?.lastScheduleTime ?? null, lastSuccess: cron.status?.lastSuccessfulTime ?? null,
    },
  };
}

interface HpaObject extends KubeObject {
  spec?: { scaleTargetRef?: { kind?: string; name?: string }; minReplicas?: number; maxReplicas?: number };
  status?: { currentReplicas?: number; desiredReplicas?: number; conditions?: Condition[] };
}

export function summarizeHpa(object: KubeObject): RowSummary {
  const hpa = object as HpaObject;
  const conditions = hpa.status?.conditions;
  const failing = [findCondition(conditions, 'AbleToScale'), findCondition(conditions, 'ScalingActive')]
    .find((c) => c?.status === 'False');
  let status = 'Active';
  let health: Health = 'healthy';
  if (failing) [status, health] = [failing.reason ?? `${failing.type ?? 'Condition'}False`, 'degraded'];
  else if (!Array.isArray(conditions) || conditions.length === 0) [status, health] = ['Pending', 'progressing'];
  const target = hpa.spec?.scaleTargetRef;
  return {
    status,
    health,
    columns: {
      reference: target ? `${target.kind ?? ''}/${target.name ?? ''}` : null,
      minReplicas: hpa.spec?.minReplicas ?? 1, maxReplicas: hpa.spec?.maxReplicas ?? null,
      replicas: hpa.status?.currentReplicas ?? 0, desiredReplicas: hpa.status?.desiredReplicas ?? 0,
    },
  };
}
