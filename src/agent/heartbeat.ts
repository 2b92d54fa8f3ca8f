// Gathers the facts a heartbeat carries. Each source is asked separately so
// one failing call (say, RBAC forbids listing pods) degrades one field, not
// the heartbeat.
import type { ClusterFacts } from '../link/protocol.ts';
import { UPLINK_VERSION } from '../version.ts';
import { countNodes, countPodsByPhase, detectPlatform, type NodeSample, type PodSample } from './facts.ts';
import type { KubeClient } from './kube.ts';

interface VersionInfo {
  gitVersion?: string;
  platform?: string;
}

const EMPTY_PODS = { total: 0, running: 0, pending: 0, succeeded: 0, failed: 0, unknown: 0 };

export interface CollectFactsOptions {
  kube: KubeClient;
  /** When the agent process started, for its uptime. */
  startedAt: number;
  now?: () => number;
}

/** Facts plus whether the API server could be reached at all. */
export interface CollectedFacts {
  facts: ClusterFacts;
  apiReachable: boolean;
}

export async function collectFacts(options: CollectFactsOptions): Promise<CollectedFacts> {
  const { kube } = options;
  const now = options.now ?? Date.now;
  const [version, nodes, pods, livez, readyz] = await Promise.allSettled([
    kube.getJson<VersionInfo>('/version'),
    kube.listAll<NodeSample>('/api/v1/nodes'),
    kube.listAll<PodSample>('/api/v1/pods'),
    kube.probe('/livez'),
    kube.probe('/readyz'),
  ]);
  const gitVersion = version.status === 'fulfilled' ? version.value.gitVersion ?? 'unknown' : 'unknown';
  const nodeList = nodes.status === 'fulfilled' ? nodes.value : [];
  const memory = process.memoryUsage();
  const facts: ClusterFacts = {
    kubernetesVersion: gitVersion,
    platform: version.status === 'fulfilled' ? version.value.platform ?? 'unknown' : 'unknown',
    ...detectPlatform({ gitVersion, nodes: nodeList }),
    nodes: countNodes(nodeList),
    pods: pods.status === 'fulfilled' ? countPodsByPhase(pods.value) : EMPTY_PODS,
    apiServer: {
      livez: livez.status === 'fulfilled' && livez.value,
      readyz: readyz.status === 'fulfilled' && readyz.value,
    },
    agent: {
      version: UPLINK_VERSION,
      nodeVersion: process.versions.node,
      uptimeSeconds: Math.round((now() - options.startedAt) / 1000),
      memoryRssBytes: memory.rss,
    },
    collectedAt: new Date(now()).toISOString(),
  };
  return { facts, apiReachable: version.status === 'fulfilled' };
}
