// Gathers the facts a heartbeat carries. Node and pod counts come from the
// inventory (partial until it has synced, which the facts say), so a
// heartbeat costs the API server a version call and two probes, never a list
// of every pod: at 10,000 pods such a list alone took the agent's heap past
// 150 MiB. Each source is asked separately so one failing call degrades one
// field, not the heartbeat.
import type { ClusterFacts } from '../link/protocol.ts';
import type { InventoryFreshness, ResourceRow } from '../link/resources.ts';
import { UPLINK_VERSION } from '../version.ts';
import { countNodes, countPodsByPhase, detectPlatform, type NodeSample, type PodSample } from './facts.ts';
import type { KubeClient } from './kube.ts';

interface VersionInfo {
  gitVersion?: string;
  platform?: string;
}

/** What the heartbeat reads from the inventory. */
export interface InventoryFacts {
  freshness(): InventoryFreshness;
  rows(resource: string): Iterable<ResourceRow>;
  objects(resource: string): Iterable<Record<string, unknown>>;
}

export interface CollectFactsOptions {
  kube: KubeClient;
  inventory: InventoryFacts;
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
  const [version, livez, readyz] = await Promise.allSettled([
    kube.getJson<VersionInfo>('/version'),
    kube.probe('/livez'),
    kube.probe('/readyz'),
  ]);
  const gitVersion = version.status === 'fulfilled' ? version.value.gitVersion ?? 'unknown' : 'unknown';
  const nodeList = [...inventory.objects('nodes')] as unknown as NodeSample[];
  const memoryRssBytes = process.memoryUsage.rss();
  const facts: ClusterFacts = {
    kubernetesVersion: gitVersion,
    platform: version.status === 'fulfilled' ? version.value.platform ?? 'unknown' : 'unknown',
    ...detectPlatform({ gitVersion, nodes: nodeList }),
    nodes: countNodes(nodeList),
    pods: countPodsByPhase(podSamples(inventory.rows('pods'))),
    apiServer: {
      livez: livez.status === 'fulfilled' && livez.value,
      readyz: readyz.status === 'fulfilled' && readyz.value,
    },
    agent: {
      version: UPLINK_VERSION,
      nodeVersion: process.versions.node,
      uptimeSeconds: Math.round((now() - options.startedAt) / 1000),
      memoryRssBytes,
    },
    collectedAt: new Date(now()).toISOString(),
  };
  const { synced, objects, kinds, syncedKinds, stalenessSeconds } = inventory.freshness();
  facts.inventory = { synced, objects, kinds, syncedKinds, stalenessSeconds };
  return { facts, apiReachable: version.status === 'fulfilled' };
}

function podSamples(rows: Iterable<ResourceRow>): PodSample[] {
  const samples: PodSample[] = [];
  for (const row of rows) samples.push({ status: { phase: String(row.columns.phase ?? '') } });
  return samples;
}
