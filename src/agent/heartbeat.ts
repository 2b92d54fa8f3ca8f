// Gathers the facts a heartbeat carries. Node and pod counts come from the
// inventory once it has synced those kinds, so a heartbeat costs the API
// server two cheap probes and a version call, not a list of every pod. Each
// source is asked separately so one failing call (say, RBAC forbids listing
// pods) degrades one field, not the heartbeat.
import type { ClusterFacts } from '../link/protocol.ts';
import type { InventoryFreshness, KindStatus, ResourceRow } from '../link/resources.ts';
import { UPLINK_VERSION } from '../version.ts';
import { countNodes, countPodsByPhase, detectPlatform, type NodeSample, type PodSample } from './facts.ts';
import type { KubeClient } from './kube.ts';

interface VersionInfo {
  gitVersion?: string;
  platform?: string;
}

const EMPTY_PODS = { total: 0, running: 0, pending: 0, succeeded: 0, failed: 0, unknown: 0 };

/** What the heartbeat reads from the inventory. */
export interface InventoryFacts {
  kinds(): KindStatus[];
  freshness(): InventoryFreshness;
  rows(resource: string): Iterable<ResourceRow>;
  objects(resource: string): Iterable<Record<string, unknown>>;
}

export interface CollectFactsOptions {
  kube: KubeClient;
  inventory?: InventoryFacts;
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
  const { inventory } = options;
  const synced = new Set(inventory?.kinds().filter((kind) => kind.synced).map((kind) => kind.resource));
  const [version, nodes, pods, livez, readyz] = await Promise.allSettled([
    kube.getJson<VersionInfo>('/version'),
    inventory && synced.has('nodes') ? [...inventory.objects('nodes')] as unknown as NodeSample[] : kube.listAll<NodeSample>('/api/v1/nodes'),
    inventory && synced.has('pods') ? podSamples(inventory.rows('pods')) : kube.listAll<PodSample>('/api/v1/pods'),
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
  if (inventory) {
    const { synced: complete, objects, kinds, syncedKinds, stalenessSeconds } = inventory.freshness();
    facts.inventory = { synced: complete, objects, kinds, syncedKinds, stalenessSeconds };
  }
  return { facts, apiReachable: version.status === 'fulfilled' };
}

function podSamples(rows: Iterable<ResourceRow>): PodSample[] {
  const samples: PodSample[] = [];
  for (const row of rows) samples.push({ status: { phase: String(row.columns.phase ?? '') } });
  return samples;
}
