// Pure functions that turn Kubernetes objects into heartbeat facts: which
// distribution and cloud a cluster runs on, where its nodes are, and how many
// nodes and pods it has. No I/O here; the watch loop feeds in what it listed.
//
// Detection is by markers that the distributions and cloud controllers put
// on the API server version and on Node objects. The rules are data tables,
// checked in order, so adding a platform means adding a row.

import type { PodCounts } from '../link/protocol.ts';

/** The subset of a Node object the detection reads. */
export interface NodeSample {
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: { providerID?: string; unschedulable?: boolean };
  status?: {
    conditions?: { type: string; status: string }[];
    nodeInfo?: { kubeletVersion?: string; osImage?: string; containerRuntimeVersion?: string; kernelVersion?: string };
  };
}

/** The subset of a Pod object the counter reads. */
export interface PodSample {
  status?: { phase?: string };
}

/** Where a cluster runs: the platform part of `ClusterFacts` in ../link/protocol.ts. */
export interface PlatformFacts {
  distribution: string;
  cloud: string | null;
  region: string | null;
  zones: string[];
}

/**
 * One test on one Node; every field given must hold. `label` and
 * `annotation` name a key, or every key under a prefix when they end in `/`.
 */
interface NodeMarker {
  label?: string;
  /** With `label`: the value the key must have. */
  labelValue?: string;
  annotation?: string;
  providerId?: RegExp;
  osImage?: RegExp;
  name?: RegExp;
}

interface DistributionRule {
  distribution: string;
  /** The cloud a managed service implies when no node names one. */
  cloud?: string;
  /** Tested against the API server's gitVersion and every kubelet's version. */
  version?: RegExp;
  /** Any marker on any node is enough. */
  nodes?: readonly NodeMarker[];
}

interface CloudRule {
  cloud: string;
  nodes: readonly NodeMarker[];
}

/** What a cluster is called when no rule matches. */
const FALLBACK_DISTRIBUTION = 'kubernetes';

/**
 * Managed services, checked first: their markers are set by the provider and
 * are unambiguous, and a managed cluster may also carry neutral markers
 * (kwok nodes for load tests, Bottlerocket nodes, ...).
 */
const MANAGED_DISTRIBUTION_RULES: readonly DistributionRule[] = [
  // EKS: gitVersion and kubelet `v1.30.4-eks-a737599`; managed node groups,
  // Fargate and Auto Mode label nodes under eks.amazonaws.com/.
  { distribution: 'eks', cloud: 'aws', version: /-eks-/, nodes: [{ label: 'eks.amazonaws.com/' }] },
  // GKE: `v1.30.5-gke.1014001`; every node pool labels cloud.google.com/gke-nodepool.
  { distribution: 'gke', cloud: 'gcp', version: /-gke\./, nodes: [{ label: 'cloud.google.com/gke-nodepool' }] },
  // AKS: plain upstream version; the AKS node bootstrap sets kubernetes.azure.com/cluster (the MC_ group).
  { distribution: 'aks', cloud: 'azure', nodes: [{ label: 'kubernetes.azure.com/cluster' }] },
  // DigitalOcean Kubernetes: doks.digitalocean.com/node-pool, node-pool-id, node-id, version.
  { distribution: 'doks', cloud: 'digitalocean', nodes: [{ label: 'doks.digitalocean.com/' }] },
  // Linode Kubernetes Engine: lke.linode.com/pool-id.
  { distribution: 'lke', cloud: 'linode', nodes: [{ label: 'lke.linode.com/' }] },
  // Oracle OKE: oke.oraclecloud.com/node.info.*, tenant_agent.version, pool.name. Not
  // oci.oraclecloud.com/, which the OCI cloud controller sets on self-managed clusters too.
  { distribution: 'oke', cloud: 'oracle', nodes: [{ label: 'oke.oraclecloud.com/' }] },
  // Alibaba ACK: `v1.30.1-aliyun.1`; nodes carry ack.aliyun.com (the cluster id) and a node pool id.
  {
    distribution: 'ack',
    cloud: 'alibaba',
    version: /-aliyun\./,
    nodes: [{ label: 'ack.aliyun.com' }, { label: 'alibabacloud.com/nodepool-id' }],
  },
];

/**
 * Distributions that run anywhere. Where two could match one cluster the
 * more specific comes first: rke2 before k3s (rke2 embeds k3s), Docker
 * Desktop before kind (its newer clusters are kind underneath), kind before
 * kwok (kwok nodes are often added to a kind cluster).
 */
const NEUTRAL_DISTRIBUTION_RULES: readonly DistributionRule[] = [
  // OpenShift / OKD: the API server version is a bare commit suffix (`+f67aeb3`), so go by
  // the machine-config operator's os_id label (`rhcos`, `scos`) and its annotations.
  {
    distribution: 'openshift',
    nodes: [{ label: 'node.openshift.io/os_id' }, { annotation: 'machineconfiguration.openshift.io/' }],
  },
  // RKE2: `v1.30.5+rke2r1`; rke2.io/ annotations, its built-in cloud provider's
  // `rke2://` providerID and instance-type `rke2`.
  {
    distribution: 'rke2',
    version: /\+rke2/,
    nodes: [
      { annotation: 'rke2.io/' },
      { providerId: /^rke2:\/\// },
      { label: 'node.kubernetes.io/instance-type', labelValue: 'rke2' },
    ],
  },
  // k3s (and k3d): `v1.31.1+k3s1`; k3s.io/ annotations, `k3s://` providerID, instance-type `k3s`.
  {
    distribution: 'k3s',
    version: /\+k3s/,
    nodes: [
      { annotation: 'k3s.io/' },
      { label: 'k3s.io/' },
      { providerId: /^k3s:\/\// },
      { label: 'node.kubernetes.io/instance-type', labelValue: 'k3s' },
    ],
  },
  // k0s (and MKE 4, which is built on it): `v1.31.1+k0s`; controllers that also run
  // workloads carry node.k0sproject.io/role.
  { distribution: 'k0s', version: /\+k0s/, nodes: [{ label: 'node.k0sproject.io/' }] },
  // Mirantis Kubernetes Engine 3 ships its own builds: `-mirantis-` in the version.
  { distribution: 'mke', version: /-mirantis-/ },
  // MicroK8s: its kubelet args set microk8s.io/cluster=true on every node.
  { distribution: 'microk8s', nodes: [{ label: 'microk8s.io/cluster' }] },
  // minikube: `minikube start` labels nodes minikube.k8s.io/name, version, primary, ...
  { distribution: 'minikube', nodes: [{ label: 'minikube.k8s.io/' }] },
  // Docker Desktop: its single node is `docker-desktop` and reports osImage `Docker Desktop`.
  { distribution: 'docker-desktop', nodes: [{ name: /^docker-desktop$/ }, { osImage: /^Docker Desktop/ }] },
  // kind: nodes are `<cluster>-control-plane`, `<cluster>-worker...` with providerID
  // `kind://<provider>/<cluster>/<node>`; the providerID alone decides.
  { distribution: 'kind', nodes: [{ providerId: /^kind:\/\// }] },
  // kwok: simulated nodes are annotated kwok.x-k8s.io/node=fake; kwok's docs suggest a `kwok://` providerID.
  { distribution: 'kwok', nodes: [{ annotation: 'kwok.x-k8s.io/node' }, { providerId: /^kwok:\/\// }] },
  // Talos Linux: osImage `Talos (v1.8.1)`; the Kubernetes build itself is upstream.
  { distribution: 'talos', nodes: [{ osImage: /^Talos\b/ }] },
];

/** Managed first: an EKS cluster on aws is `eks`, not whatever else it also matches. */
const DISTRIBUTION_RULES: readonly DistributionRule[] = [...MANAGED_DISTRIBUTION_RULES, ...NEUTRAL_DISTRIBUTION_RULES];

/**
 * Clouds by node. Mostly the providerID scheme each cloud controller manager
 * (or in-tree provider) writes to spec.providerID; a few OS images only ship
 * on one cloud and name it when there is no providerID.
 */
const CLOUD_RULES: readonly CloudRule[] = [
  // aws://<zone>/<instance-id>; Bottlerocket's AWS variants say `(aws-k8s-1.30)` in the osImage.
  { cloud: 'aws', nodes: [{ providerId: /^aws:\/\// }, { osImage: /^Bottlerocket OS .*\(aws-/ }] },
  // gce://<project>/<zone>/<instance>; Container-Optimized OS only runs on Google Compute Engine.
  { cloud: 'gcp', nodes: [{ providerId: /^gce:\/\// }, { osImage: /^Container-Optimized OS/ }] },
  // azure:///subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.Compute/...
  { cloud: 'azure', nodes: [{ providerId: /^azure:\/\// }] },
  // digitalocean://<droplet-id>
  { cloud: 'digitalocean', nodes: [{ providerId: /^digitalocean:\/\// }] },
  // linode://<linode-id>
  { cloud: 'linode', nodes: [{ providerId: /^linode:\/\// }] },
  // hcloud://<server-id> for cloud servers, hrobot://<id> for dedicated (Robot) servers.
  { cloud: 'hetzner', nodes: [{ providerId: /^hcloud:\/\// }, { providerId: /^hrobot:\/\// }] },
  // OKE writes the bare instance OCID; Cluster API for OCI and the OCI CCM use oci://<ocid>.
  { cloud: 'oracle', nodes: [{ providerId: /^oci:\/\// }, { providerId: /^ocid1\.instance\./ }] },
  // The Alibaba cloud controller writes <region-id>.<instance-id>, e.g. cn-hangzhou.i-bp1...
  { cloud: 'alibaba', nodes: [{ providerId: /^[a-z]{2}-[a-z0-9-]+\.i-[a-z0-9]+$/ }] },
  // vultr://<instance-id>
  { cloud: 'vultr', nodes: [{ providerId: /^vultr:\/\// }] },
  // scaleway://instance/<zone>/<uuid> (older: scaleway://<uuid>)
  { cloud: 'scaleway', nodes: [{ providerId: /^scaleway:\/\// }] },
  // equinixmetal://<uuid>; packet://<uuid> from before the Packet rename.
  { cloud: 'equinix', nodes: [{ providerId: /^equinixmetal:\/\// }, { providerId: /^packet:\/\// }] },
  // openstack:///<uuid> or openstack://<region>/<uuid>
  { cloud: 'openstack', nodes: [{ providerId: /^openstack:\/\// }] },
  // vsphere://<vm-uuid>
  { cloud: 'vsphere', nodes: [{ providerId: /^vsphere:\/\// }] },
];

/** Well-known topology labels, current first, then the deprecated beta ones. */
const REGION_LABELS = ['topology.kubernetes.io/region', 'failure-domain.beta.kubernetes.io/region'] as const;
const ZONE_LABELS = ['topology.kubernetes.io/zone', 'failure-domain.beta.kubernetes.io/zone'] as const;

/**
 * Pod phases with a counter of their own; anything else (missing, `Unknown`,
 * a phase from a newer API) counts as unknown. A Map, not an object, so a
 * phase like `constructor` cannot hit Object.prototype.
 */
const POD_PHASE_COUNTERS: ReadonlyMap<string, 'running' | 'pending' | 'succeeded' | 'failed'> = new Map([
  ['Running', 'running'],
  ['Pending', 'pending'],
  ['Succeeded', 'succeeded'],
  ['Failed', 'failed'],
]);

/**
 * Detects the distribution, cloud, region and zones of a cluster from the API
 * server's gitVersion and its Node objects. Managed services win over
 * cloud-neutral distributions; the cloud comes from the nodes (the most common
 * one) and else from the managed service. The same input always gives the
 * same answer, an empty node list included.
 */
export function detectPlatform(input: { gitVersion: string; nodes: readonly NodeSample[] }): PlatformFacts {
  const rule = findDistributionRule(input.gitVersion, input.nodes);
  return {
    distribution: rule?.distribution ?? FALLBACK_DISTRIBUTION,
    cloud: mostCommon(input.nodes.map(detectNodeCloud)) ?? rule?.cloud ?? null,
    region: mostCommon(input.nodes.map((node) => firstLabel(node, REGION_LABELS))),
    zones: distinctSorted(input.nodes.map((node) => firstLabel(node, ZONE_LABELS))),
  };
}

/** Counts the nodes, and those whose `Ready` condition is `True`. */
export function countNodes(nodes: readonly NodeSample[]): { total: number; ready: number } {
  return { total: nodes.length, ready: nodes.filter(isNodeReady).length };
}

/**
 * Counts pods by phase. Running, Pending, Succeeded and Failed have their
 * own counters; a missing or any other phase counts as unknown.
 */
export function countPodsByPhase(pods: Iterable<PodSample>): PodCounts {
  const counts: PodCounts = { total: 0, running: 0, pending: 0, succeeded: 0, failed: 0, unknown: 0 };
  for (const pod of pods) {
    counts[POD_PHASE_COUNTERS.get(pod.status?.phase ?? '') ?? 'unknown'] += 1;
    counts.total += 1;
  }
  return counts;
}

function findDistributionRule(gitVersion: string, nodes: readonly NodeSample[]): DistributionRule | undefined {
  const versions = [gitVersion, ...nodes.map((node) => node.status?.nodeInfo?.kubeletVersion ?? '')];
  return DISTRIBUTION_RULES.find(
    (rule) =>
      (rule.version !== undefined && versions.some((version) => rule.version?.test(version))) ||
      (rule.nodes ?? []).some((marker) => nodes.some((node) => matchesMarker(node, marker))),
  );
}

function detectNodeCloud(node: NodeSample): string | null {
  return CLOUD_RULES.find((rule) => rule.nodes.some((marker) => matchesMarker(node, marker)))?.cloud ?? null;
}

function matchesMarker(node: NodeSample, marker: NodeMarker): boolean {
  const { metadata, spec, status } = node;
  return (
    (marker.label === undefined || hasEntry(metadata.labels, marker.label, marker.labelValue)) &&
    (marker.annotation === undefined || hasEntry(metadata.annotations, marker.annotation)) &&
    (marker.providerId === undefined || marker.providerId.test(spec?.providerID ?? '')) &&
    (marker.osImage === undefined || marker.osImage.test(status?.nodeInfo?.osImage ?? '')) &&
    (marker.name === undefined || marker.name.test(metadata.name))
  );
}

/** Whether `entries` has `key` (every key under it when it ends in `/`), with `value` if given. */
function hasEntry(entries: Record<string, string> | undefined, key: string, value?: string): boolean {
  const isPrefix = key.endsWith('/');
  return Object.entries(entries ?? {}).some(
    ([name, entry]) => (isPrefix ? name.startsWith(key) : name === key) && (value === undefined || entry === value),
  );
}

function isNodeReady(node: NodeSample): boolean {
  return (node.status?.conditions ?? []).some((condition) => condition.type === 'Ready' && condition.status === 'True');
}

/** The value of the first of `keys` the node has, ignoring empty values. */
function firstLabel(node: NodeSample, keys: readonly string[]): string | null {
  const labels = new Map(Object.entries(node.metadata.labels ?? {}));
  return keys.map((key) => labels.get(key)).find((value) => value !== undefined && value !== '') ?? null;
}

/** The most frequent non-null value; ties go to the one that sorts first, so the answer is stable. */
function mostCommon(values: readonly (string | null)[]): string | null {
  const counts = new Map<string, number>();
  for (const value of values) {
    if (value !== null) counts.set(value, (counts.get(value) ?? 0) + 1);
  }
  let best: [string, number] | null = null;
  for (const [value, count] of counts) {
    if (best === null || count > best[1] || (count === best[1] && value < best[0])) best = [value, count];
  }
  return best?.[0] ?? null;
}

function distinctSorted(values: readonly (string | null)[]): string[] {
  const distinct = new Set(values.filter((value) => value !== null));
  return [...distinct].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}
