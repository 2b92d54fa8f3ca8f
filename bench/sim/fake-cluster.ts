// A cluster that is not there: just enough of a Kubernetes API client and an
// inventory for the agent's real heartbeat code (src/agent/heartbeat.ts) to
// build its ClusterFacts, plus in-memory stores for what an agent keeps. The
// shapes vary by cluster (managed clouds, k3s, plain kubernetes; 3 to 40
// nodes; 30 to 1,200 pods) so the facts look like a mixed fleet's.
import type { DesiredAddonSet } from '../../src/link/addons.ts';
import type { ResourceRow } from '../../src/link/resources.ts';
import type { DesiredAddonsStore } from '../../src/agent/addons/index.ts';
import type { NodeSample } from '../../src/agent/facts.ts';
import type { Inventory } from '../../src/agent/inventory/index.ts';
import type { KubeClient } from '../../src/agent/kube.ts';
import type { AgentState, StateStore } from '../../src/agent/state.ts';

interface Platform {
  gitVersion: string;
  providerId: (node: number) => string;
  labels: Record<string, string>;
  region: string | null;
  zones: string[];
  osImage: string;
}

const PLATFORMS: readonly Platform[] = [
  {
    gitVersion: 'v1.33.4-eks-3025e55', providerId: (n) => `aws:///eu-west-1a/i-0${n}abc`, labels: { 'eks.amazonaws.com/nodegroup': 'main' },
    region: 'eu-west-1', zones: ['eu-west-1a', 'eu-west-1b', 'eu-west-1c'], osImage: 'Amazon Linux 2023',
  },
  {
    gitVersion: 'v1.34.1-gke.1200', providerId: (n) => `gce://proj/us-central1-a/node-${n}`, labels: { 'cloud.google.com/gke-nodepool': 'pool-1' },
    region: 'us-central1', zones: ['us-central1-a', 'us-central1-b'], osImage: 'Container-Optimized OS from Google',
  },
  {
    gitVersion: 'v1.33.2', providerId: (n) => `azure:///subscriptions/s/resourceGroups/rg/providers/vm-${n}`,
    labels: { 'kubernetes.azure.com/cluster': 'mc_rg' }, region: 'westeurope', zones: ['westeurope-1', 'westeurope-2'], osImage: 'Ubuntu 22.04.5 LTS',
  },
  {
    gitVersion: 'v1.34.2+k3s1', providerId: (n) => `k3s://edge-${n}`, labels: {}, region: null, zones: [], osImage: 'Ubuntu 24.04.1 LTS',
  },
  {
    gitVersion: 'v1.36.4', providerId: (n) => `hcloud://${1000 + n}`, labels: {}, region: 'fsn1', zones: ['fsn1-dc14'], osImage: 'Debian GNU/Linux 12 (bookworm)',
  },
];

const PHASES = ['Running', 'Running', 'Running', 'Running', 'Running', 'Running', 'Pending', 'Succeeded', 'Failed'] as const;

/** What one simulated cluster holds; built once per shape and shared by the agents of that shape. */
export interface FakeClusterShape {
  gitVersion: string;
  nodes: NodeSample[];
  pods: ResourceRow[];
}

function nodesOf(platform: Platform, count: number, notReady: number): NodeSample[] {
  return Array.from({ length: count }, (_, n) => {
    const zone = platform.zones[n % Math.max(1, platform.zones.length)];
    const topology: Record<string, string> = {};
    if (platform.region !== null) topology['topology.kubernetes.io/region'] = platform.region;
    if (zone !== undefined) topology['topology.kubernetes.io/zone'] = zone;
    return {
      metadata: { name: `node-${n}`, labels: { 'kubernetes.io/os': 'linux', ...platform.labels, ...topology } },
      spec: { providerID: platform.providerId(n) },
      status: {
        conditions: [{ type: 'Ready', status: n < notReady ? 'False' : 'True' }],
        nodeInfo: { kubeletVersion: platform.gitVersion, osImage: platform.osImage },
      },
    };
  });
}

function podsOf(count: number): ResourceRow[] {
  return Array.from({ length: count }, (_, n) => ({
    kind: 'Pod', namespace: `ns-${n % 12}`, name: `pod-${n}`, uid: `uid-${n}`, resourceVersion: String(1000 + n), createdAt: null,
    labels: {}, status: PHASES[n % PHASES.length] ?? 'Running', health: 'healthy', columns: { phase: PHASES[n % PHASES.length] ?? 'Running' },
  }));
}

/** A few dozen shapes; cluster `index` gets shape `index % count`. */
export function clusterShapes(count = 40): FakeClusterShape[] {
  return Array.from({ length: count }, (_, index) => {
    const platform = PLATFORMS[index % PLATFORMS.length] ?? PLATFORMS[0];
    if (!platform) throw new Error('no platforms');
    const nodes = 3 + ((index * 7) % 38);
    return { gitVersion: platform.gitVersion, nodes: nodesOf(platform, nodes, index % 9 === 0 ? 1 : 0), pods: podsOf(nodes * 30) };
  });
}

/** The API server as the heartbeat sees it: /version, /livez, /readyz. */
export function fakeKube(shape: FakeClusterShape): KubeClient {
  const kube = {
    server: new URL('https://kubernetes.default.svc'),
    inCluster: true,
    getJson: <T>(path: string): Promise<T> => (path === '/version'
      ? Promise.resolve({ gitVersion: shape.gitVersion, platform: 'linux/amd64' } as T)
      : Promise.reject(new Error(`the simulated API server serves only /version, not ${path}`))),
    probe: (): Promise<boolean> => Promise.resolve(true),
    close: (): void => undefined,
  };
  return kube as unknown as KubeClient;
}

/** A synced inventory holding the shape's nodes and pods, and nothing else. */
export function fakeInventory(shape: FakeClusterShape): Inventory {
  const startedAt = new Date().toISOString();
  const inventory = {
    start: (): void => undefined,
    stop: (): Promise<void> => Promise.resolve(),
    objects: (resource: string): Iterable<Record<string, unknown>> =>
      (resource === 'nodes' ? shape.nodes as unknown as Record<string, unknown>[] : []),
    rows: (resource: string): Iterable<ResourceRow> => (resource === 'pods' ? shape.pods : []),
    podsMatching: (): [] => [],
    freshness: () => ({
      synced: true, kinds: 26, syncedKinds: 26, objects: shape.nodes.length + shape.pods.length + 180,
      stalenessSeconds: 4, startedAt, syncedAt: startedAt,
    }),
  };
  return inventory as unknown as Inventory;
}

/** The agent's state (a rotated token, the pinned hub CA), kept in memory. */
export class MemoryStateStore implements StateStore {
  private state: AgentState;

  constructor(state: AgentState = {}) {
    this.state = { ...state };
  }

  describe(): string {
    return 'memory';
  }

  load(): Promise<AgentState> {
    return Promise.resolve({ ...this.state });
  }

  save(state: AgentState): Promise<void> {
    this.state = { ...state };
    return Promise.resolve();
  }
}

/** The desired add-ons the hub pushes, kept in memory. */
export class MemoryDesiredAddonsStore implements DesiredAddonsStore {
  private set: DesiredAddonSet | undefined;

  describe(): string {
    return 'memory';
  }

  load(): Promise<DesiredAddonSet | undefined> {
    return Promise.resolve(this.set);
  }

  save(set: DesiredAddonSet): Promise<void> {
    this.set = set;
    return Promise.resolve();
  }
}
