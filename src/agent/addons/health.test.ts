import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeObject } from '../inventory/summary.ts';
import { aggregateHealth, assessHealth, type HealthStatus, type MissingObject } from './health.ts';

// Snippets follow the Kubernetes API shapes as the API server returns them,
// trimmed to the fields the rules read plus a little realistic context.

function deployment(spec: object, status: object, generation = 2): KubeObject {
  return {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'shop', generation },
    spec: { replicas: 2, selector: { matchLabels: { app: 'web' } }, ...spec },
    status,
  };
}

const rolledOut = {
  observedGeneration: 2, replicas: 2, updatedReplicas: 2, readyReplicas: 2, availableReplicas: 2,
  conditions: [
    { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable' },
    { type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable', message: 'ReplicaSet "web-7d4b9c" has successfully progressed.' },
  ],
};

function statefulSet(spec: object, status: object): KubeObject {
  return {
    apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'db', namespace: 'shop', generation: 3 },
    spec: { replicas: 3, serviceName: 'db', updateStrategy: { type: 'RollingUpdate' }, ...spec },
    status: { observedGeneration: 3, replicas: 3, currentRevision: 'db-5f8c', updateRevision: 'db-5f8c', ...status },
  };
}

function daemonSet(spec: object, status: object): KubeObject {
  return {
    apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'agent', namespace: 'kube-system', generation: 1 },
    spec: { updateStrategy: { type: 'RollingUpdate' }, ...spec },
    status: { observedGeneration: 1, currentNumberScheduled: 3, desiredNumberScheduled: 3, ...status },
  };
}

function job(spec: object, status: object): KubeObject {
  return {
    apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'migrate', namespace: 'shop', generation: 1 },
    spec: { backoffLimit: 6, completions: 1, ...spec },
    status,
  };
}

function pod(status: object, spec: object = {}, metadata: object = {}): KubeObject {
  return {
    apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web-7d4b9c-x2x9q', namespace: 'shop', ...metadata },
    spec: { restartPolicy: 'Always', containers: [{ name: 'web', image: 'registry.invalid/web:1' }], ...spec },
    status,
  };
}

function waiting(reason: string, message: string): object {
  return { name: 'web', ready: false, restartCount: 4, state: { waiting: { reason, message } } };
}

function withStatus(apiVersion: string, kind: string, spec: object, status: object): KubeObject {
  return { apiVersion, kind, metadata: { name: 'x', namespace: 'shop' }, spec, status };
}

function conditions(...list: [string, string, string?][]): { conditions: object[] } {
  return { conditions: list.map(([type, status, reason]) => ({ type, status, ...(reason ? { reason } : {}) })) };
}

const crdConditions = (extra: [string, string, string?][] = []) => conditions(
  ['NamesAccepted', 'True', 'NoConflicts'], ['Established', 'True', 'InitialNamesAccepted'], ...extra,
);

interface Case { name: string; object: KubeObject; status: HealthStatus; message?: RegExp }

const cases: Case[] = [
  // Deployment
  { name: 'deployment rolled out', object: deployment({}, rolledOut), status: 'Healthy', message: /2 of 2 replicas available/ },
  { name: 'deployment paused', object: deployment({ paused: true }, rolledOut), status: 'Suspended' },
  { name: 'deployment stale generation', object: deployment({}, rolledOut, 3), status: 'Progressing', message: /observe generation 3/ },
  { name: 'deployment with no status yet', object: deployment({}, {}, 1), status: 'Progressing' },
  {
    name: 'deployment progress deadline exceeded',
    object: deployment({}, { ...rolledOut, updatedReplicas: 1, conditions: [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: 'ReplicaSet "web-8f" has timed out progressing.' }] }),
    status: 'Degraded', message: /ProgressDeadlineExceeded: ReplicaSet "web-8f" has timed out/,
  },
  {
    name: 'deployment replica failure',
    object: deployment({}, { ...rolledOut, conditions: [{ type: 'ReplicaFailure', status: 'True', reason: 'FailedCreate', message: 'pods "web-8f-" is forbidden: exceeded quota' }] }),
    status: 'Degraded', message: /FailedCreate/,
  },
  { name: 'deployment partly updated', object: deployment({}, { ...rolledOut, updatedReplicas: 1 }), status: 'Progressing', message: /1 of 2 replicas updated/ },
  { name: 'deployment old replicas terminating', object: deployment({}, { ...rolledOut, replicas: 3 }), status: 'Progressing', message: /1 old replicas/ },
  { name: 'deployment updated not available', object: deployment({}, { ...rolledOut, availableReplicas: 1 }), status: 'Progressing', message: /1 of 2 updated/ },
  { name: 'deployment scaled to zero', object: deployment({ replicas: 0 }, { observedGeneration: 2 }), status: 'Healthy' },
  // StatefulSet
  { name: 'statefulset ready', object: statefulSet({}, { readyReplicas: 3, updatedReplicas: 3, availableReplicas: 3 }), status: 'Healthy' },
  { name: 'statefulset pods not ready', object: statefulSet({}, { readyReplicas: 1 }), status: 'Progressing', message: /1 of 3 pods ready/ },
  {
    name: 'statefulset rolling to a new revision',
    object: statefulSet({}, { readyReplicas: 3, updatedReplicas: 1, updateRevision: 'db-6a9d' }),
    status: 'Progressing', message: /rolling update to db-6a9d/,
  },
  {
    name: 'statefulset partition reached',
    object: statefulSet({ updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 2 } } }, { readyReplicas: 3, updatedReplicas: 1, updateRevision: 'db-6a9d' }),
    status: 'Healthy', message: /partitioned rollout complete/,
  },
  {
    name: 'statefulset partition not reached',
    object: statefulSet({ updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 1 } } }, { readyReplicas: 3, updatedReplicas: 1, updateRevision: 'db-6a9d' }),
    status: 'Progressing',
  },
  {
    name: 'statefulset OnDelete ignores revisions',
    object: statefulSet({ updateStrategy: { type: 'OnDelete' } }, { readyReplicas: 3, updateRevision: 'db-6a9d' }),
    status: 'Healthy',
  },
  { name: 'statefulset stale generation', object: statefulSet({}, { readyReplicas: 3, observedGeneration: 2 }), status: 'Progressing' },
  // DaemonSet
  { name: 'daemonset available', object: daemonSet({}, { numberReady: 3, updatedNumberScheduled: 3, numberAvailable: 3 }), status: 'Healthy' },
  { name: 'daemonset updating', object: daemonSet({}, { updatedNumberScheduled: 1, numberAvailable: 3 }), status: 'Progressing', message: /1 of 3 nodes updated/ },
  { name: 'daemonset unavailable', object: daemonSet({}, { updatedNumberScheduled: 3, numberAvailable: 2 }), status: 'Progressing', message: /2 of 3 nodes available/ },
  { name: 'daemonset OnDelete', object: daemonSet({ updateStrategy: { type: 'OnDelete' } }, { updatedNumberScheduled: 0, numberAvailable: 3 }), status: 'Healthy' },
  // Job
  { name: 'job complete', object: job({}, { succeeded: 1, ...conditions(['SuccessCriteriaMet', 'True'], ['Complete', 'True']) }), status: 'Healthy' },
  {
    name: 'job failed',
    object: job({}, { failed: 7, conditions: [{ type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit' }] }),
    status: 'Degraded', message: /BackoffLimitExceeded/,
  },
  { name: 'job failure target', object: job({}, conditions(['FailureTarget', 'True', 'DeadlineExceeded'])), status: 'Degraded' },
  { name: 'job suspended', object: job({ suspend: true }, conditions(['Suspended', 'True', 'JobSuspended'])), status: 'Suspended' },
  { name: 'job running', object: job({}, { active: 1, startTime: '2025-01-01T00:00:00Z' }), status: 'Progressing', message: /1 active/ },
  // Pod
  { name: 'pod ready', object: pod({ phase: 'Running', ...conditions(['Initialized', 'True'], ['Ready', 'True'], ['ContainersReady', 'True']) }), status: 'Healthy' },
  { name: 'pod running not ready', object: pod({ phase: 'Running', ...conditions(['Ready', 'False', 'ContainersNotReady']) }), status: 'Progressing' },
  {
    name: 'pod crash looping',
    object: pod({ phase: 'Running', containerStatuses: [waiting('CrashLoopBackOff', 'back-off 40s restarting failed container=web pod=web-7d4b9c-x2x9q_shop')] }),
    status: 'Degraded', message: /container web: CrashLoopBackOff/,
  },
  {
    name: 'pod image pull back-off',
    object: pod({ phase: 'Pending', containerStatuses: [waiting('ImagePullBackOff', 'Back-off pulling image "registry.invalid/web:1"')] }),
    status: 'Degraded', message: /ImagePullBackOff/,
  },
  {
    name: 'pod image pull error in an init container',
    object: pod({ phase: 'Pending', initContainerStatuses: [waiting('ErrImagePull', 'failed to pull and unpack image')] }),
    status: 'Degraded', message: /ErrImagePull/,
  },
  {
    name: 'pod container creating',
    object: pod({ phase: 'Pending', containerStatuses: [waiting('ContainerCreating', '')] }),
    status: 'Progressing',
  },
  { name: 'pod unschedulable is pending', object: pod({ phase: 'Pending', ...conditions(['PodScheduled', 'False', 'Unschedulable']) }), status: 'Progressing' },
  { name: 'pod succeeded', object: pod({ phase: 'Succeeded' }, { restartPolicy: 'Never' }), status: 'Healthy' },
  { name: 'pod failed', object: pod({ phase: 'Failed', reason: 'Evicted', message: 'The node was low on resource: memory.' }), status: 'Degraded', message: /Evicted/ },
  { name: 'pod run to completion still running', object: pod({ phase: 'Running', ...conditions(['Ready', 'True']) }, { restartPolicy: 'OnFailure' }), status: 'Progressing' },
  { name: 'pod being deleted', object: pod({ phase: 'Running' }, {}, { deletionTimestamp: '2025-01-01T00:00:00Z' }), status: 'Progressing' },
  { name: 'pod phase unknown', object: pod({ phase: 'Unknown' }), status: 'Unknown' },
  // PersistentVolumeClaim
  { name: 'pvc bound', object: withStatus('v1', 'PersistentVolumeClaim', { accessModes: ['ReadWriteOnce'] }, { phase: 'Bound', capacity: { storage: '1Gi' } }), status: 'Healthy' },
  { name: 'pvc pending', object: withStatus('v1', 'PersistentVolumeClaim', {}, { phase: 'Pending' }), status: 'Progressing' },
  { name: 'pvc lost', object: withStatus('v1', 'PersistentVolumeClaim', {}, { phase: 'Lost' }), status: 'Degraded' },
  // Service
  { name: 'service ClusterIP', object: withStatus('v1', 'Service', { type: 'ClusterIP', clusterIP: '10.96.0.12' }, { loadBalancer: {} }), status: 'Healthy' },
  { name: 'service without type', object: withStatus('v1', 'Service', { clusterIP: 'None' }, {}), status: 'Healthy' },
  { name: 'service LoadBalancer pending', object: withStatus('v1', 'Service', { type: 'LoadBalancer' }, { loadBalancer: {} }), status: 'Progressing' },
  {
    name: 'service LoadBalancer with an IP',
    object: withStatus('v1', 'Service', { type: 'LoadBalancer' }, { loadBalancer: { ingress: [{ ip: '203.0.113.7', ipMode: 'VIP' }] } }),
    status: 'Healthy', message: /203\.0\.113\.7/,
  },
  {
    name: 'service LoadBalancer with a hostname',
    object: withStatus('v1', 'Service', { type: 'LoadBalancer' }, { loadBalancer: { ingress: [{ hostname: 'a1b2.elb.example.com' }] } }),
    status: 'Healthy',
  },
  { name: 'a Knative Service is not a core Service', object: withStatus('serving.knative.dev/v1', 'Service', {}, {}), status: 'Healthy', message: /^exists$/ },
  // Ingress
  { name: 'ingress without address', object: withStatus('networking.k8s.io/v1', 'Ingress', { ingressClassName: 'nginx' }, { loadBalancer: {} }), status: 'Progressing', message: /ingress controller/ },
  { name: 'ingress with address', object: withStatus('networking.k8s.io/v1', 'Ingress', {}, { loadBalancer: { ingress: [{ ip: '198.51.100.4' }] } }), status: 'Healthy' },
  // HorizontalPodAutoscaler
  {
    name: 'hpa scaling',
    object: withStatus('autoscaling/v2', 'HorizontalPodAutoscaler', {}, conditions(['AbleToScale', 'True', 'ReadyForNewScale'], ['ScalingActive', 'True', 'ValidMetricFound'], ['ScalingLimited', 'False', 'DesiredWithinRange'])),
    status: 'Healthy', message: /^autoscaling$/,
  },
  {
    name: 'hpa at its maximum is fine',
    object: withStatus('autoscaling/v2', 'HorizontalPodAutoscaler', {}, conditions(['AbleToScale', 'True', 'ReadyForNewScale'], ['ScalingActive', 'True', 'ValidMetricFound'], ['ScalingLimited', 'True', 'TooManyReplicas'])),
    status: 'Healthy', message: /TooManyReplicas/,
  },
  {
    name: 'hpa without metrics',
    object: withStatus('autoscaling/v2', 'HorizontalPodAutoscaler', {}, conditions(['AbleToScale', 'True', 'SucceededGetScale'], ['ScalingActive', 'False', 'FailedGetResourceMetric'])),
    status: 'Degraded', message: /FailedGetResourceMetric/,
  },
  { name: 'hpa cannot get scale', object: withStatus('autoscaling/v2', 'HorizontalPodAutoscaler', {}, conditions(['AbleToScale', 'False', 'FailedGetScale'])), status: 'Degraded' },
  { name: 'hpa with target at zero', object: withStatus('autoscaling/v2', 'HorizontalPodAutoscaler', {}, conditions(['AbleToScale', 'True'], ['ScalingActive', 'False', 'ScalingDisabled'])), status: 'Suspended' },
  { name: 'hpa just created', object: withStatus('autoscaling/v2', 'HorizontalPodAutoscaler', {}, {}), status: 'Progressing' },
  // APIService
  { name: 'apiservice available', object: withStatus('apiregistration.k8s.io/v1', 'APIService', {}, conditions(['Available', 'True', 'Passed'])), status: 'Healthy' },
  {
    name: 'apiservice failing discovery',
    object: withStatus('apiregistration.k8s.io/v1', 'APIService', {}, conditions(['Available', 'False', 'FailedDiscoveryCheck'])),
    status: 'Progressing', message: /FailedDiscoveryCheck/,
  },
  // CustomResourceDefinition
  { name: 'crd established', object: withStatus('apiextensions.k8s.io/v1', 'CustomResourceDefinition', {}, crdConditions()), status: 'Healthy' },
  { name: 'crd not yet established', object: withStatus('apiextensions.k8s.io/v1', 'CustomResourceDefinition', {}, conditions(['NamesAccepted', 'True'])), status: 'Progressing' },
  {
    name: 'crd names conflict',
    object: withStatus('apiextensions.k8s.io/v1', 'CustomResourceDefinition', {}, conditions(['NamesAccepted', 'False', 'ListKindConflict'], ['Established', 'False', 'NotAccepted'])),
    status: 'Degraded', message: /ListKindConflict/,
  },
  {
    name: 'crd with a non-structural schema',
    object: withStatus('apiextensions.k8s.io/v1', 'CustomResourceDefinition', {}, crdConditions([['NonStructuralSchema', 'True', 'Violations']])),
    status: 'Degraded', message: /non-structural/,
  },
  {
    name: 'crd terminating',
    object: withStatus('apiextensions.k8s.io/v1', 'CustomResourceDefinition', {}, crdConditions([['Terminating', 'True', 'InstanceDeletionInProgress']])),
    status: 'Degraded', message: /being deleted/,
  },
  // Everything else
  { name: 'configmap exists', object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'web' }, data: { A: '1' } }, status: 'Healthy' },
  { name: 'object without a kind', object: { metadata: { name: 'x' } }, status: 'Unknown' },
];

describe('assessHealth', () => {
  for (const testCase of cases) {
    it(`health - ${testCase.name}`, () => {
      const result = assessHealth(testCase.object);
      assert.equal(result.status, testCase.status, result.message);
      if (testCase.message) assert.match(result.message, testCase.message);
    });
  }

  it('health - a kind without a rule is Unknown in strict mode', () => {
    const result = assessHealth({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'web' } }, { strict: true });
    assert.deepEqual(result, { status: 'Unknown', message: 'no health rule for ConfigMap' });
  });

  it('health - long condition messages are cut', () => {
    const message = 'x'.repeat(5_000);
    const result = assessHealth(job({}, { conditions: [{ type: 'Failed', status: 'True', reason: 'PodFailurePolicy', message }] }));
    assert.ok(result.message.length <= 200, `${result.message.length} chars`);
  });
});

describe('aggregateHealth', () => {
  const healthyDeployment = deployment({}, rolledOut);
  const configMap: KubeObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'web', namespace: 'shop' } };
  const suspendedJob = job({ suspend: true }, {});
  const unknownPod = pod({ phase: 'Unknown' });
  const missing: MissingObject = { kind: 'Service', metadata: { name: 'web', namespace: 'shop' }, missing: true };
  const crashing = pod({ phase: 'Running', containerStatuses: [waiting('CrashLoopBackOff', 'back-off 5m0s')] });

  it('aggregate - every object healthy', () => {
    const result = aggregateHealth([healthyDeployment, configMap]);
    assert.equal(result.status, 'Healthy');
    assert.equal(result.healthy, true);
    assert.equal(result.message, '2 of 2 objects healthy');
    assert.deepEqual(result.objects.map((o) => `${o.kind}/${o.name}:${o.status}`), ['Deployment/web:Healthy', 'ConfigMap/web:Healthy']);
  });

  it('aggregate - an empty release is healthy', () => {
    assert.equal(aggregateHealth([]).healthy, true);
  });

  const table: { name: string; objects: (KubeObject | MissingObject)[]; status: HealthStatus; healthy: boolean; strictHealthy: boolean }[] = [
    { name: 'degraded beats missing', objects: [missing, crashing, healthyDeployment], status: 'Degraded', healthy: false, strictHealthy: false },
    { name: 'missing beats progressing', objects: [deployment({}, {}, 1), missing], status: 'Missing', healthy: false, strictHealthy: false },
    { name: 'progressing beats suspended', objects: [suspendedJob, deployment({}, {}, 1)], status: 'Progressing', healthy: false, strictHealthy: false },
    { name: 'suspended beats unknown', objects: [unknownPod, suspendedJob], status: 'Suspended', healthy: true, strictHealthy: false },
    { name: 'unknown beats healthy', objects: [healthyDeployment, unknownPod], status: 'Unknown', healthy: true, strictHealthy: false },
  ];
  for (const row of table) {
    it(`aggregate - ${row.name}`, () => {
      const loose = aggregateHealth(row.objects);
      assert.equal(loose.status, row.status);
      assert.equal(loose.healthy, row.healthy, 'non-strict');
      assert.equal(aggregateHealth(row.objects, { strict: true }).healthy, row.strictHealthy, 'strict');
    });
  }

  it('aggregate - names the worst object and counts the others alike', () => {
    const result = aggregateHealth([healthyDeployment, missing, { ...missing, metadata: { name: 'db' } }]);
    assert.equal(result.message, 'Service shop/web: not found in the cluster (and 1 more Missing)');
  });

  it('aggregate - strict mode turns kinds without a rule into Unknown', () => {
    const result = aggregateHealth([healthyDeployment, configMap], { strict: true });
    assert.equal(result.status, 'Unknown');
    assert.equal(result.healthy, false);
    assert.match(result.message, /ConfigMap shop\/web: no health rule for ConfigMap/);
  });
});
