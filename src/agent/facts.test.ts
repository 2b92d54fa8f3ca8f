import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { countNodes, countPodsByPhase, detectPlatform, type NodeSample, type PlatformFacts } from './facts.ts';

interface NodeParts {
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  providerID?: string;
  kubeletVersion?: string;
  osImage?: string;
  ready?: string;
}

/** A Node as the API returns it: the labels every kubelet sets, plus `parts`. */
function node(name: string, parts: NodeParts = {}): NodeSample {
  const baseLabels = { 'kubernetes.io/arch': 'amd64', 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux' };
  return {
    metadata: {
      name,
      labels: { ...baseLabels, ...parts.labels },
      annotations: { 'node.alpha.kubernetes.io/ttl': '0', ...parts.annotations },
    },
    spec: parts.providerID === undefined ? {} : { providerID: parts.providerID },
    status: {
      conditions: [
        { type: 'MemoryPressure', status: 'False' },
        { type: 'Ready', status: parts.ready ?? 'True' },
      ],
      nodeInfo: {
        kubeletVersion: parts.kubeletVersion ?? 'v1.31.1',
        osImage: parts.osImage ?? 'Ubuntu 22.04.4 LTS',
        containerRuntimeVersion: 'containerd://1.7.22',
        kernelVersion: '6.8.0-1015-generic',
      },
    },
  };
}

function topology(region: string, zone?: string): Record<string, string> {
  const labels: Record<string, string> = { 'topology.kubernetes.io/region': region };
  if (zone !== undefined) labels['topology.kubernetes.io/zone'] = zone;
  return labels;
}

function platform(distribution: string, cloud: string | null, region: string | null, zones: string[]): PlatformFacts {
  return { distribution, cloud, region, zones };
}

interface PlatformCase {
  name: string;
  gitVersion: string;
  nodes: NodeSample[];
  want: PlatformFacts;
}

function scenario(name: string, gitVersion: string, want: PlatformFacts, ...nodes: NodeSample[]): PlatformCase {
  return { name, gitVersion, nodes, want };
}

const AZURE_PROVIDER_ID =
  'azure:///subscriptions/1f2e3d4c-0000-4000-8000-0123456789ab/resourceGroups/mc_prod_aks_westeurope' +
  '/providers/Microsoft.Compute/virtualMachineScaleSets/aks-nodepool1-32454763-vmss/virtualMachines/0';

const MANAGED_CASES: PlatformCase[] = [
  scenario('eks on aws from the -eks- version, nodegroup labels and aws providerID',
    'v1.30.5-eks-ce1d5eb', platform('eks', 'aws', 'us-east-1', ['us-east-1a']),
    node('ip-10-0-107-23.ec2.internal', {
      providerID: 'aws:///us-east-1a/i-0a1b2c3d4e5f67890',
      kubeletVersion: 'v1.30.4-eks-a737599',
      osImage: 'Amazon Linux 2023.5.20240916',
      labels: {
        'eks.amazonaws.com/nodegroup': 'cluster-mp-0', 'eks.amazonaws.com/capacityType': 'ON_DEMAND',
        'node.kubernetes.io/instance-type': 't3a.medium', ...topology('us-east-1', 'us-east-1a'),
      },
    }),
  ),
  scenario('gke on gcp from the -gke. version, node pool label and gce providerID',
    'v1.30.5-gke.1014001', platform('gke', 'gcp', 'us-central1', ['us-central1-c']),
    node('gke-prod-default-pool-7d29f8fc-wkg5', {
      providerID: 'gce://acme-prod/us-central1-c/gke-prod-default-pool-7d29f8fc-wkg5',
      kubeletVersion: 'v1.30.5-gke.1014001',
      osImage: 'Container-Optimized OS from Google',
      labels: {
        'cloud.google.com/gke-nodepool': 'default-pool', 'cloud.google.com/gke-os-distribution': 'cos',
        'node.kubernetes.io/instance-type': 'e2-standard-4', ...topology('us-central1', 'us-central1-c'),
      },
    }),
  ),
  scenario('aks on azure from kubernetes.azure.com/cluster with a plain version',
    'v1.30.4', platform('aks', 'azure', 'westeurope', ['westeurope-1']),
    node('aks-nodepool1-32454763-vmss000000', {
      providerID: AZURE_PROVIDER_ID,
      labels: {
        agentpool: 'nodepool1', 'kubernetes.azure.com/agentpool': 'nodepool1',
        'kubernetes.azure.com/cluster': 'MC_prod_aks_westeurope',
        'kubernetes.azure.com/node-image-version': 'AKSUbuntu-2204gen2containerd-202409.30.0',
        'node.kubernetes.io/instance-type': 'Standard_D4s_v5', ...topology('westeurope', 'westeurope-1'),
      },
    }),
  ),
  scenario('doks on digitalocean from doks.digitalocean.com labels',
    'v1.31.1', platform('doks', 'digitalocean', 'nyc3', []),
    node('pool-un5t2n2gp-e7xqz', {
      providerID: 'digitalocean://451234567',
      osImage: 'Debian GNU/Linux 12 (bookworm)',
      labels: {
        'doks.digitalocean.com/node-id': '2407f0b3-de84-4c26-b835-d979e1d5e873',
        'doks.digitalocean.com/node-pool': 'pool-un5t2n2gp',
        'doks.digitalocean.com/node-pool-id': '5a2ea5fb-f826-4df1-b405-8b6f8d594098',
        'doks.digitalocean.com/version': '1.31.1-do.3',
        'node.kubernetes.io/instance-type': 's-2vcpu-4gb', ...topology('nyc3'),
      },
    }),
  ),
  scenario('lke on linode from lke.linode.com/pool-id',
    'v1.30.3', platform('lke', 'linode', 'ap-south', []),
    node('lke212553-307295-339173d10000', {
      providerID: 'linode://62345678',
      labels: {
        'lke.linode.com/pool-id': '307295', 'node.kubernetes.io/instance-type': 'g6-dedicated-4',
        'topology.linode.com/region': 'ap-south', ...topology('ap-south'),
      },
    }),
  ),
  scenario('oke on oracle from oke.oraclecloud.com labels and a bare instance OCID',
    'v1.30.1', platform('oke', 'oracle', 'sa-vinhedo-1', ['SA-VINHEDO-1-AD-1']),
    node('10.0.10.130', {
      providerID: 'ocid1.instance.oc1.sa-vinhedo-1.anzxsljrak7sbdqcxl4bfy7dqbx4wvqvdq2e6kh4mvx4vo3dmcgl3tktywoa',
      osImage: 'Oracle Linux Server 8.10',
      labels: {
        displayName: 'oke-c7ayj7ifseq-nker2wfokza-sxq6xdxqcra-0', 'oci.oraclecloud.com/fault-domain': 'FAULT-DOMAIN-1',
        'oke.oraclecloud.com/node.info.private_subnet': 'true',
        'oke.oraclecloud.com/tenant_agent.version': '1.42.6-bae5d92f49-820',
        'node.kubernetes.io/instance-type': 'VM.Standard.E4.Flex', ...topology('sa-vinhedo-1', 'SA-VINHEDO-1-AD-1'),
      },
    }),
  ),
  scenario('ack on alibaba from the -aliyun. version and a <region>.<instance> providerID',
    'v1.30.1-aliyun.1', platform('ack', 'alibaba', 'cn-zhangjiakou', ['cn-zhangjiakou-c']),
    node('cn-zhangjiakou.192.168.0.81', {
      providerID: 'cn-zhangjiakou.i-8vb2y0cdlriptkfer0ir',
      kubeletVersion: 'v1.30.1-aliyun.1',
      osImage: 'Alibaba Cloud Linux 3.2104 U10 (OpenAnolis Edition)',
      labels: {
        'ack.aliyun.com': 'cfcf334401e6845e69400792e4fb9128c',
        'alibabacloud.com/nodepool-id': 'np66c94fbe4b4d46f18fefc95f51757df7',
        'node.kubernetes.io/instance-type': 'ecs.g7.xlarge', ...topology('cn-zhangjiakou', 'cn-zhangjiakou-c'),
      },
    }),
  ),
];

const NEUTRAL_CASES: PlatformCase[] = [
  scenario('k3s on hetzner as distribution k3s and cloud hetzner',
    'v1.31.1+k3s1', platform('k3s', 'hetzner', 'fsn1', ['fsn1-dc14', 'hel1-dc2']),
    node('k3s-server-fsn1-1', {
      providerID: 'hcloud://48151623',
      kubeletVersion: 'v1.31.1+k3s1',
      annotations: { 'k3s.io/hostname': 'k3s-server-fsn1-1', 'k3s.io/node-args': '["server"]' },
      labels: { 'node.kubernetes.io/instance-type': 'cpx31', ...topology('fsn1', 'fsn1-dc14') },
    }),
    node('k3s-agent-hel1-1', { providerID: 'hrobot://2215467', labels: topology('hel1', 'hel1-dc2') }),
  ),
  scenario('k3s on a Raspberry Pi from its own providerID and instance type',
    'v1.30.5+k3s1', platform('k3s', null, null, []),
    node('pi-1', {
      providerID: 'k3s://pi-1',
      osImage: 'Debian GNU/Linux 12 (bookworm)',
      labels: { 'node.kubernetes.io/instance-type': 'k3s', 'node-role.kubernetes.io/control-plane': 'true' },
    }),
  ),
  scenario('rke2 on vsphere from rke2.io annotations',
    'v1.30.5+rke2r1', platform('rke2', 'vsphere', null, []),
    node('rke2-cp-01', {
      providerID: 'vsphere://4237a5a5-6b1c-9d3e-0f24-8a1b2c3d4e5f',
      kubeletVersion: 'v1.30.5+rke2r1',
      annotations: { 'rke2.io/hostname': 'rke2-cp-01', 'rke2.io/node-args': '["server"]' },
    }),
  ),
  scenario('k0s from the +k0s version',
    'v1.31.1+k0s', platform('k0s', null, null, []),
    node('k0s-worker-1', { kubeletVersion: 'v1.31.1+k0s' }),
  ),
  scenario('mke from the -mirantis- version',
    'v1.27.7-mirantis-1', platform('mke', null, null, []),
    node('mke-manager-0', { kubeletVersion: 'v1.27.7-mirantis-1' }),
  ),
  scenario('microk8s from microk8s.io/cluster',
    'v1.31.1', platform('microk8s', null, null, []),
    node('ubuntu', {
      labels: { 'microk8s.io/cluster': 'true', 'node.kubernetes.io/microk8s-controlplane': 'microk8s-controlplane' },
    }),
  ),
  scenario('minikube from minikube.k8s.io labels',
    'v1.31.0', platform('minikube', null, null, []),
    node('minikube', { labels: { 'minikube.k8s.io/name': 'minikube', 'minikube.k8s.io/primary': 'true' } }),
  ),
  scenario('docker-desktop from its node name and osImage',
    'v1.30.2', platform('docker-desktop', null, null, []),
    node('docker-desktop', { osImage: 'Docker Desktop', labels: { 'node-role.kubernetes.io/control-plane': '' } }),
  ),
  scenario('kind from the kind:// providerID',
    'v1.31.0', platform('kind', null, null, []),
    node('kind-control-plane', {
      providerID: 'kind://docker/kind/kind-control-plane',
      osImage: 'Debian GNU/Linux 12 (bookworm)',
      labels: { 'node-role.kubernetes.io/control-plane': '' },
    }),
    node('kind-worker', { providerID: 'kind://docker/kind/kind-worker' }),
  ),
  scenario('kwok from the fake-node annotation',
    'v1.31.0', platform('kwok', null, null, []),
    node('kwok-node-0', {
      kubeletVersion: 'fake',
      osImage: '',
      annotations: { 'kwok.x-k8s.io/node': 'fake' },
      labels: { type: 'kwok', 'node-role.kubernetes.io/agent': '' },
    }),
  ),
  scenario('talos on equinix from the Talos osImage and an equinixmetal providerID',
    'v1.31.1', platform('talos', 'equinix', 'da', ['da11']),
    node('talos-cp-1', {
      providerID: 'equinixmetal://0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d',
      osImage: 'Talos (v1.8.1)',
      labels: topology('da', 'da11'),
    }),
  ),
  scenario('openshift on aws (ROSA) from the os_id label',
    'v1.30.4', platform('openshift', 'aws', 'us-east-2', ['us-east-2a']),
    node('ip-10-0-1-20.ec2.internal', {
      providerID: 'aws:///us-east-2a/i-0f1e2d3c4b5a69788',
      osImage: 'Red Hat Enterprise Linux CoreOS 417.94.202409121747-0',
      annotations: { 'machineconfiguration.openshift.io/state': 'Done' },
      labels: { 'node.openshift.io/os_id': 'rhcos', ...topology('us-east-2', 'us-east-2a') },
    }),
  ),
];

const CLOUD_ONLY_CASES: PlatformCase[] = [
  scenario('vultr from the vultr:// providerID (VKE has no distribution rule)',
    'v1.31.1', platform('kubernetes', 'vultr', 'ewr', []),
    node('pool-1-f3a9c2b1d4e5', {
      providerID: 'vultr://6a2b7c8d-1e2f-4a3b-9c4d-5e6f7a8b9c0d',
      labels: topology('ewr'),
    }),
  ),
  scenario('scaleway from the scaleway://instance providerID',
    'v1.31.2', platform('kubernetes', 'scaleway', 'fr-par', ['fr-par-1']),
    node('scw-kapsule-default-7f3c9a1e2b4d4', {
      providerID: 'scaleway://instance/fr-par-1/11111111-2222-4333-8444-555555555555',
      labels: { 'k8s.scaleway.com/pool-name': 'default', ...topology('fr-par', 'fr-par-1') },
    }),
  ),
  scenario('openstack from the openstack:/// providerID',
    'v1.30.6', platform('kubernetes', 'openstack', 'RegionOne', ['nova']),
    node('k8s-worker-0', {
      providerID: 'openstack:///3f5e8a1c-7b2d-4e6f-9a0b-1c2d3e4f5a6b',
      labels: topology('RegionOne', 'nova'),
    }),
  ),
  scenario('equinix from a legacy packet:// providerID',
    'v1.29.9', platform('kubernetes', 'equinix', null, []),
    node('worker-1', { providerID: 'packet://8f7e6d5c-4b3a-4291-8a7b-6c5d4e3f2a1b' }),
  ),
  scenario('oracle from a Cluster API oci:// providerID',
    'v1.30.2', platform('kubernetes', 'oracle', null, []),
    node('capi-worker-1', { providerID: 'oci://ocid1.instance.oc1.iad.anuwcljtexample' }),
  ),
  scenario('aws from a Bottlerocket aws variant when there is no providerID',
    'v1.30.5', platform('kubernetes', 'aws', null, []),
    node('br-1', { osImage: 'Bottlerocket OS 1.24.1 (aws-k8s-1.30)' }),
  ),
  scenario('the fallback for a kubeadm cluster on bare metal',
    'v1.31.1', platform('kubernetes', null, null, []),
    node('metal-cp-1', { labels: { 'node-role.kubernetes.io/control-plane': '' } }), node('metal-worker-1'),
  ),
];

describe('detectPlatform', () => {
  for (const { name, gitVersion, nodes, want } of [...MANAGED_CASES, ...NEUTRAL_CASES, ...CLOUD_ONLY_CASES]) {
    it(`facts - detects ${name}`, () => {
      assert.deepEqual(detectPlatform({ gitVersion, nodes }), want);
    });
  }

  it('facts - is deterministic for an empty node list', () => {
    assert.deepEqual(detectPlatform({ gitVersion: 'v1.31.1', nodes: [] }), platform('kubernetes', null, null, []));
    assert.deepEqual(detectPlatform({ gitVersion: 'v1.31.1', nodes: [] }), platform('kubernetes', null, null, []));
  });

  it('facts - detects from the version alone when there are no nodes', () => {
    assert.deepEqual(detectPlatform({ gitVersion: 'v1.31.1+k3s1', nodes: [] }), platform('k3s', null, null, []));
    const eks = detectPlatform({ gitVersion: 'v1.30.5-eks-ce1d5eb', nodes: [] });
    assert.deepEqual(eks, platform('eks', 'aws', null, []));
  });

  it('facts - detects from a kubelet version when the API server version is plain', () => {
    const nodes = [node('worker-1', { kubeletVersion: 'v1.31.1+k0s' })];
    assert.equal(detectPlatform({ gitVersion: 'v1.31.1', nodes }).distribution, 'k0s');
  });

  it('facts - lets a managed service win over kwok nodes added for a load test', () => {
    const nodes = [
      node('ip-10-0-1-5.us-west-2.compute.internal', {
        providerID: 'aws:///us-west-2b/i-0123456789abcdef0',
        labels: { 'eks.amazonaws.com/nodegroup': 'system' },
      }),
      node('kwok-node-0', { annotations: { 'kwok.x-k8s.io/node': 'fake' }, providerID: 'kwok://kwok-node-0' }),
    ];
    assert.deepEqual(detectPlatform({ gitVersion: 'v1.30.5-eks-ce1d5eb', nodes }), platform('eks', 'aws', null, []));
  });

  it('facts - prefers kind over kwok nodes running inside it', () => {
    const nodes = [
      node('kind-control-plane', { providerID: 'kind://docker/kind/kind-control-plane' }),
      node('kwok-node-0', { annotations: { 'kwok.x-k8s.io/node': 'fake' } }),
    ];
    assert.equal(detectPlatform({ gitVersion: 'v1.31.0', nodes }).distribution, 'kind');
  });

  it('facts - takes the managed service cloud when no node names one', () => {
    const labels = { 'kubernetes.azure.com/cluster': 'MC_rg_demo_eastus' };
    const nodes = [node('aks-system-12345678-vmss000000', { labels })];
    assert.deepEqual(detectPlatform({ gitVersion: 'v1.30.4', nodes }), platform('aks', 'azure', null, []));
  });

  it('facts - does not take the OCI cloud controller labels for OKE', () => {
    const labels = { 'oci.oraclecloud.com/fault-domain': 'FAULT-DOMAIN-2' };
    const nodes = [node('oci-worker-1', { providerID: 'oci://ocid1.instance.oc1.iad.example', labels })];
    assert.deepEqual(detectPlatform({ gitVersion: 'v1.31.1', nodes }), platform('kubernetes', 'oracle', null, []));
  });

  it('facts - lists distinct zones sorted across a mixed-zone cluster', () => {
    const nodes = ['us-east-1c', 'us-east-1a', 'us-east-1b', 'us-east-1a'].map((zone, index) =>
      node(`ip-10-0-${index}-10.ec2.internal`, {
        providerID: `aws:///${zone}/i-0000000000000000${index}`,
        labels: topology('us-east-1', zone),
      }),
    );
    const facts = detectPlatform({ gitVersion: 'v1.31.1', nodes });
    assert.deepEqual(facts, platform('kubernetes', 'aws', 'us-east-1', ['us-east-1a', 'us-east-1b', 'us-east-1c']));
  });

  it('facts - reads the deprecated failure-domain labels when the topology ones are missing', () => {
    const labels = {
      'failure-domain.beta.kubernetes.io/region': 'eu-west-1',
      'failure-domain.beta.kubernetes.io/zone': 'eu-west-1b',
    };
    const facts = detectPlatform({ gitVersion: 'v1.31.1', nodes: [node('old-node-1', { labels })] });
    assert.equal(facts.region, 'eu-west-1');
    assert.deepEqual(facts.zones, ['eu-west-1b']);
  });

  it('facts - picks the region most nodes are in', () => {
    const nodes = [
      node('a', { labels: topology('us-west-2', 'us-west-2a') }),
      node('b', { labels: topology('us-east-1', 'us-east-1a') }),
      node('c', { labels: { 'failure-domain.beta.kubernetes.io/region': 'us-east-1' } }),
      node('d', { labels: topology('us-east-1', 'us-east-1b') }),
      node('e'),
    ];
    const facts = detectPlatform({ gitVersion: 'v1.31.1', nodes });
    assert.equal(facts.region, 'us-east-1');
    assert.deepEqual(facts.zones, ['us-east-1a', 'us-east-1b', 'us-west-2a']);
  });

  it('facts - breaks a region tie by name, whatever the node order', () => {
    const nodes = [node('a', { labels: topology('us-west-2') }), node('b', { labels: topology('eu-central-1') })];
    assert.equal(detectPlatform({ gitVersion: 'v1.31.1', nodes }).region, 'eu-central-1');
    assert.equal(detectPlatform({ gitVersion: 'v1.31.1', nodes: nodes.toReversed() }).region, 'eu-central-1');
  });

  it('facts - takes the cloud most nodes are on', () => {
    const nodes = [
      node('a', { providerID: 'hcloud://1' }),
      node('b', { providerID: 'hcloud://2' }),
      node('c', { providerID: 'aws:///eu-central-1a/i-0abc' }),
    ];
    assert.equal(detectPlatform({ gitVersion: 'v1.31.1+k3s1', nodes }).cloud, 'hetzner');
  });
});

describe('countNodes', () => {
  it('facts - counts nodes whose Ready condition is True', () => {
    const nodes = [
      node('ready-1'),
      node('ready-2'),
      node('not-ready', { ready: 'False' }),
      node('unreachable', { ready: 'Unknown' }),
      { metadata: { name: 'registering' } },
    ];
    assert.deepEqual(countNodes(nodes), { total: 5, ready: 2 });
    assert.deepEqual(countNodes([]), { total: 0, ready: 0 });
  });
});

describe('countPodsByPhase', () => {
  it('facts - counts each phase and puts missing or other phases under unknown', () => {
    const phases = ['Running', 'Running', 'Pending', 'Succeeded', 'Failed', 'Unknown', 'constructor', undefined];
    const pods = phases.map((phase) => (phase === undefined ? {} : { status: { phase } }));
    const want = { total: 8, running: 2, pending: 1, succeeded: 1, failed: 1, unknown: 3 };
    assert.deepEqual(countPodsByPhase(pods), want);
    assert.deepEqual(countPodsByPhase([{ status: {} }]), { ...zeroPods(), total: 1, unknown: 1 });
  });

  it('facts - accepts any iterable, a generator included, and counts none as zero', () => {
    function* runningPods(count: number): Generator<{ status: { phase: string } }> {
      for (let index = 0; index < count; index += 1) yield { status: { phase: 'Running' } };
    }
    assert.deepEqual(countPodsByPhase(runningPods(3)), { ...zeroPods(), total: 3, running: 3 });
    assert.deepEqual(countPodsByPhase(runningPods(0)), zeroPods());
  });
});

function zeroPods(): ReturnType<typeof countPodsByPhase> {
  return { total: 0, running: 0, pending: 0, succeeded: 0, failed: 0, unknown: 0 };
}
