import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildRow, summarizeGeneric, type KubeObject } from './summary.ts';
import * as cluster from './summary-cluster.ts';
import * as workloads from './summary-workloads.ts';

function pod(status: object, extra: { metadata?: object; spec?: object } = {}): KubeObject {
  return {
    metadata: { name: 'p', namespace: 'n', ...extra.metadata },
    spec: { nodeName: 'node-1', containers: [{ name: 'app' }, { name: 'side' }], ...extra.spec },
    status,
  };
}

const running = { running: { startedAt: '2026-01-01T00:00:00Z' } };

describe('inventory row summaries', () => {
  it('summary - a running, ready pod is healthy with kubectl columns', () => {
    const row = workloads.summarizePod(pod({
      phase: 'Running', podIP: '10.0.0.1',
      containerStatuses: [{ name: 'app', ready: true, restartCount: 2, state: running }, { name: 'side', ready: true, restartCount: 1, state: running }],
    }));
    assert.deepEqual(row, { status: 'Running', health: 'healthy', columns: { ready: '2/2', restarts: 3, node: 'node-1', phase: 'Running', ip: '10.0.0.1' } });
  });

  it('summary - pod status words and health follow kubectl', () => {
    const cases: [object, object | undefined, string, string][] = [
      [{ phase: 'Running', containerStatuses: [{ ready: false, state: running }, { ready: true, state: running }] }, undefined, 'Running', 'progressing'],
      [{ phase: 'Running', containerStatuses: [{ ready: false, state: { waiting: { reason: 'CrashLoopBackOff' } } }] }, undefined, 'CrashLoopBackOff', 'degraded'],
      [{ phase: 'Pending', containerStatuses: [{ state: { waiting: { reason: 'ContainerCreating' } } }] }, undefined, 'ContainerCreating', 'progressing'],
      [{ phase: 'Pending', containerStatuses: [{ state: { waiting: { reason: 'ImagePullBackOff' } } }] }, undefined, 'ImagePullBackOff', 'degraded'],
      [{ phase: 'Pending', initContainerStatuses: [{ state: { running: {} } }, { state: { waiting: {} } }] }, { spec: { initContainers: [{}, {}] } }, 'Init:0/2', 'progressing'],
      [{ phase: 'Pending', initContainerStatuses: [{ state: { waiting: { reason: 'CrashLoopBackOff' } } }] }, { spec: { initContainers: [{}] } }, 'Init:CrashLoopBackOff', 'degraded'],
      [{ phase: 'Succeeded', containerStatuses: [{ state: { terminated: { reason: 'Completed', exitCode: 0 } } }] }, undefined, 'Completed', 'healthy'],
      [{ phase: 'Failed', containerStatuses: [{ state: { terminated: { exitCode: 137, signal: 9 } } }] }, undefined, 'Signal:9', 'degraded'],
      [{ phase: 'Failed', reason: 'Evicted' }, undefined, 'Evicted', 'degraded'],
      [{ phase: 'Running', containerStatuses: [{ ready: true, state: running }] }, { metadata: { deletionTimestamp: '2026-01-01T00:00:00Z' } }, 'Terminating', 'progressing'],
      [{ phase: 'Pending' }, undefined, 'Pending', 'progressing'],
      [{}, undefined, 'Unknown', 'unknown'],
    ];
    for (const [status, extra, word, health] of cases) {
      const row = workloads.summarizePod(pod(status, extra));
      assert.equal(row.status, word, JSON.stringify(status));
      assert.equal(row.health, health, JSON.stringify(status));
    }
  });

  it('summary - deployment health follows the rollout', () => {
    const dep = (spec: object, status: object, generation = 1): KubeObject => ({ metadata: { name: 'd', generation }, spec, status });
    const done = { observedGeneration: 1, replicas: 3, readyReplicas: 3, updatedReplicas: 3, availableReplicas: 3 };
    assert.deepEqual(workloads.summarizeDeployment(dep({ replicas: 3 }, done)), {
      status: '3/3', health: 'healthy', columns: { ready: '3/3', upToDate: 3, available: 3, replicas: 3 },
    });
    assert.equal(workloads.summarizeDeployment(dep({ replicas: 3 }, { ...done, availableReplicas: 2, readyReplicas: 2 })).health, 'progressing');
    assert.equal(workloads.summarizeDeployment(dep({ replicas: 3 }, done, 2)).health, 'progressing', 'a new generation not yet observed');
    assert.equal(workloads.summarizeDeployment(dep({ replicas: 3 }, { ...done, conditions: [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded' }] })).health, 'degraded');
    assert.equal(workloads.summarizeDeployment(dep({ replicas: 0 }, { observedGeneration: 1 })).health, 'healthy');
  });

  it('summary - statefulsets, daemonsets, replicasets, jobs, cronjobs and HPAs', () => {
    assert.equal(workloads.summarizeStatefulSet({ spec: { replicas: 2 }, status: { readyReplicas: 2, updatedReplicas: 2 } }).health, 'healthy');
    assert.equal(workloads.summarizeStatefulSet({ spec: { replicas: 2 }, status: { readyReplicas: 1 } }).status, '1/2');
    assert.equal(workloads.summarizeDaemonSet({ status: { desiredNumberScheduled: 3, numberReady: 3, updatedNumberScheduled: 3, numberAvailable: 3 } }).health, 'healthy');
    assert.equal(workloads.summarizeReplicaSet({ spec: { replicas: 2 }, status: { replicas: 2, readyReplicas: 1 } }).health, 'progressing');
    const job = workloads.summarizeJob({ spec: { completions: 3 }, status: { succeeded: 3, conditions: [{ type: 'Complete', status: 'True' }] } });
    assert.deepEqual([job.status, job.health, job.columns.completions], ['Complete', 'healthy', '3/3']);
    assert.equal(workloads.summarizeJob({ status: { failed: 1, conditions: [{ type: 'Failed', status: 'True' }] } }).health, 'degraded');
    assert.equal(workloads.summarizeJob({ status: { active: 1 } }).status, 'Running');
    assert.equal(workloads.summarizeCronJob({ spec: { schedule: '*/5 * * * *', suspend: true } }).status, 'Suspended');
    const hpa = workloads.summarizeHpa({
      spec: { scaleTargetRef: { kind: 'Deployment', name: 'web' }, maxReplicas: 5 },
      status: { currentReplicas: 2, conditions: [{ type: 'ScalingActive', status: 'False', reason: 'FailedGetResourceMetric' }] },
    });
    assert.deepEqual([hpa.status, hpa.health, hpa.columns.reference], ['FailedGetResourceMetric', 'degraded', 'Deployment/web']);
  });

  it('summary - nodes: Ready/NotReady, a ready boolean, roles and version', () => {
    const node = cluster.summarizeNode({
      metadata: { name: 'n', labels: { 'node-role.kubernetes.io/control-plane': '', 'node-role.kubernetes.io/worker': '' } },
      spec: { unschedulable: true },
      status: { conditions: [{ type: 'Ready', status: 'True' }], nodeInfo: { kubeletVersion: 'v1.36.4' }, addresses: [{ type: 'InternalIP', address: '10.1.1.1' }] },
    });
    assert.equal(node.status, 'Ready,SchedulingDisabled');
    assert.equal(node.health, 'healthy');
    assert.deepEqual(node.columns, { ready: true, roles: 'control-plane,worker', version: 'v1.36.4', internalIP: '10.1.1.1', architecture: null, unschedulable: true });
    const down = cluster.summarizeNode({ status: { conditions: [{ type: 'Ready', status: 'False' }] } });
    assert.deepEqual([down.status, down.health, down.columns.ready, down.columns.roles], ['NotReady', 'degraded', false, '<none>']);
    assert.equal(cluster.summarizeNode({ status: { conditions: [{ type: 'Ready', status: 'True' }, { type: 'DiskPressure', status: 'True' }] } }).health, 'degraded');
  });

  it('summary - events carry type, reason, a truncated message, count and the involved object', () => {
    const event = cluster.summarizeEvent({
      metadata: { name: 'e', namespace: 'n', creationTimestamp: '2026-01-01T00:00:00Z' },
      type: 'Warning', reason: 'BackOff', message: 'x'.repeat(1000), count: 7, lastTimestamp: '2026-01-02T00:00:00Z',
      involvedObject: { kind: 'Pod', name: 'p', namespace: 'n', uid: 'u1' }, source: { component: 'kubelet' },
    });
    assert.equal(event.status, 'BackOff');
    assert.equal(event.health, 'degraded');
    assert.equal((event.columns.message as string).length, 256);
    assert.deepEqual({ ...event.columns, message: undefined }, {
      type: 'Warning', reason: 'BackOff', message: undefined, count: 7, involvedKind: 'Pod', involvedName: 'p', involvedNamespace: 'n',
      involvedUid: 'u1', source: 'kubelet', lastSeen: '2026-01-02T00:00:00Z',
    });
  });

  it('summary - services, endpoint slices, ingresses, volumes, storage classes, CRDs and config kinds', () => {
    const lb = cluster.summarizeService({ spec: { type: 'LoadBalancer', clusterIP: '10.96.0.10', ports: [{ port: 80, protocol: 'TCP' }, { port: 53, protocol: 'UDP' }] } });
    assert.deepEqual([lb.status, lb.health, lb.columns.externalIP, lb.columns.ports], ['LoadBalancer', 'progressing', '<pending>', '80/TCP,53/UDP']);
    assert.deepEqual(cluster.summarizeService({ spec: { clusterIP: '10.96.0.1' } }).columns, { type: 'ClusterIP', clusterIP: '10.96.0.1', externalIP: null, ports: '' });
    const slice = cluster.summarizeEndpointSlice({ addressType: 'IPv4', endpoints: [{ conditions: { ready: true } }, { conditions: { ready: false } }, {}] });
    assert.deepEqual([slice.status, slice.health], ['2/3', 'progressing']);
    assert.equal(cluster.summarizeIngress({ spec: { rules: [{ host: 'a.example' }] } }).columns.hosts, 'a.example');
    const pvc = cluster.summarizePersistentVolumeClaim({ spec: { accessModes: ['ReadWriteOnce'], volumeName: 'pv1' }, status: { phase: 'Bound', capacity: { storage: '1Gi' } } });
    assert.deepEqual([pvc.status, pvc.health, pvc.columns.accessModes, pvc.columns.capacity], ['Bound', 'healthy', 'RWO', '1Gi']);
    assert.equal(cluster.summarizePersistentVolumeClaim({}).health, 'progressing');
    assert.equal(cluster.summarizePersistentVolume({ spec: { claimRef: { namespace: 'n', name: 'c' } }, status: { phase: 'Failed' } }).health, 'degraded');
    assert.equal(cluster.summarizeStorageClass({ metadata: { annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } }, provisioner: 'x' }).columns.default, true);
    assert.deepEqual(cluster.summarizeConfigMap({ data: { a: '1', b: '2' }, binaryData: { c: '' } }).columns, { data: 3 });
    assert.deepEqual(cluster.summarizeSecret(), { status: '', health: 'healthy', columns: {} });
    const crd = cluster.summarizeCustomResourceDefinition({ spec: { group: 'example.com', versions: [{ name: 'v1' }, { name: 'v0', served: false }] }, status: { conditions: [{ type: 'Established', status: 'True' }] } });
    assert.deepEqual([crd.status, crd.health, crd.columns.versions], ['Established', 'healthy', 'v1']);
    assert.equal(cluster.summarizeRoleBinding({ roleRef: { kind: 'ClusterRole', name: 'view' }, subjects: [{ kind: 'User', name: 'a' }] }).columns.role, 'ClusterRole/view');
  });

  it('summary - rows carry identity; a summary that throws gives an unknown row, not a crash', () => {
    const row = buildRow({ kind: 'Pod', namespaced: true }, () => { throw new Error('bad'); }, {
      metadata: { name: 'p', namespace: 'n', uid: 'u', resourceVersion: '5', creationTimestamp: '2026-01-01T00:00:00Z', labels: { a: 'b' } },
    });
    assert.deepEqual(row, {
      kind: 'Pod', namespace: 'n', name: 'p', uid: 'u', resourceVersion: '5', createdAt: '2026-01-01T00:00:00Z', labels: { a: 'b' },
      status: '', health: 'unknown', columns: {},
    });
    assert.equal(buildRow({ kind: 'Node', namespaced: false }, summarizeGeneric, { metadata: { name: 'x', namespace: 'ignored' } }).namespace, null);
  });
});
