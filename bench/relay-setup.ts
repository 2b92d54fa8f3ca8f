// The rig of bench/relay.ts: a real PostgreSQL and two hub replicas on it
// (test/helpers/hub-tier.ts), one real agent linked to replica B against the
// test cluster, and the objects read through them: a small ConfigMap, a
// namespace of big ConfigMaps (one big list) and a pod to exec in. Every
// path is a keep-alive HTTPS client of its own, so each measures its own
// connection.
import { readFileSync } from 'node:fs';
import https from 'node:https';
import type { TestContext } from 'node:test';
import { runChecked } from '../src/util/run-process.ts';
import { waitForDefaultServiceAccount } from '../test/helpers/cluster.ts';
import { startHubTier, type HubTier, type Replica } from '../test/helpers/hub-tier.ts';
import { kubeconfigThroughHub } from '../test/helpers/kubectl-hub.ts';
import { eventually, startAgent, type AgentHandle } from '../test/helpers/uplink.ts';
import { adminAgent } from './kubectl-admin.ts';
import { timedRequest, type Answer } from './relay-http.ts';

/** The cluster's name in the hub. */
export const CLUSTER = 'bench-relay';
/** ConfigMap data is capped at 1 MiB; this leaves room for the object around it. */
const BIG_OBJECT_BYTES = 1_000_000;

/** One way to the API server: straight, through the replica holding the link, or relayed by the other. */
export interface KubePath {
  label: string;
  agent: https.Agent;
  /** Prefix of API paths: the API server's URL, or a replica's `/k8s/clusters/<name>`. */
  base: string;
  headers: Record<string, string>;
  /** A kubeconfig for the real kubectl along the same path. */
  kubeconfig: string;
}

export interface RelayRig {
  tier: HubTier;
  agent: AgentHandle;
  direct: KubePath;
  /** Through replica B, which holds the agent's link. */
  owning: KubePath;
  /** Through replica A, which relays to B. */
  relayed: KubePath;
  namespace: string;
  /** The small object of the latency samples. */
  smallPath: string;
  /** The list of big objects of the throughput samples, and its size. */
  bigListPath: string;
  bigListBytes: number;
  /** A Running pod to exec in. */
  pod: string;
}

export interface RelayRigOptions {
  /** The test cluster's admin kubeconfig; the agent uses it too (the bench measures the path, not RBAC). */
  kubeconfig: string;
  kubectl: string;
  namespace: string;
  bigObjects: number;
}


/** Sends one request along a path and reads the whole answer, counting its bytes. */
export function send(path: KubePath, method: string, apiPath: string, body?: unknown): Promise<Answer> {
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  return timedRequest(`${path.base}${apiPath}`, {
    method, agent: path.agent,
    headers: { accept: 'application/json', ...(payload ? { 'content-type': 'application/json' } : {}), ...path.headers },
  }, payload);
}

/** GET that must answer 200. */
export async function get(path: KubePath, apiPath: string): Promise<Answer> {
  const answer = await send(path, 'GET', apiPath);
  if (answer.status !== 200) throw new Error(`${path.label}: GET ${apiPath}: HTTP ${answer.status}`);
  return answer;
}

function directPath(kubeconfig: string): KubePath {
  const { server, agent } = adminAgent(kubeconfig, 1);
  return { label: 'direct', base: server, headers: {}, agent, kubeconfig };
}

async function hubPath(tier: HubTier, replica: Replica, label: string): Promise<KubePath> {
  const cliConfig = await tier.cliConfigOf(replica);
  const caPem = (JSON.parse(readFileSync(cliConfig, 'utf8')) as { caPem: string }).caPem;
  return {
    label, base: `${replica.url}/k8s/clusters/${CLUSTER}`, headers: { authorization: `Bearer ${tier.adminToken}` },
    agent: new https.Agent({ keepAlive: true, maxSockets: 1, ca: caPem }), kubeconfig: await kubeconfigThroughHub(cliConfig, CLUSTER),
  };
}

/** Creates the namespace, the small ConfigMap, the big ones and the exec pod, straight at the API server. */
async function createObjects(direct: KubePath, options: RelayRigOptions): Promise<{ pod: string; bigListBytes: number }> {
  const { kubectl, kubeconfig, namespace } = options;
  await runChecked(kubectl, ['--kubeconfig', kubeconfig, 'create', 'namespace', namespace]);
  await waitForDefaultServiceAccount(namespace);
  const create = async (resource: string, object: Record<string, unknown>): Promise<void> => {
    const answer = await send(direct, 'POST', `/api/v1/namespaces/${namespace}/${resource}`, object);
    if (answer.status !== 201) throw new Error(`creating ${resource}: HTTP ${answer.status}`);
  };
  await create('configmaps', { metadata: { name: 'small' }, data: { greeting: 'hello', note: 'one small object' } });
  // Base64 text: JSON carries it as is, so the list's size is the data's.
  const filler = Buffer.alloc((BIG_OBJECT_BYTES / 4) * 3, 7).toString('base64');
  for (let i = 0; i < options.bigObjects; i++) await create('configmaps', { metadata: { name: `big-${i}`, labels: { size: 'big' } }, data: { blob: filler } });
  const pod = 'exec-target';
  await create('pods', {
    metadata: { name: pod },
    spec: { nodeName: 'kwok-node-0', containers: [{ name: 'main', image: 'registry.invalid/bench:1' }] },
  });
  await runChecked(kubectl, ['--kubeconfig', kubeconfig, '-n', namespace, 'wait', '--for=condition=Ready', `pod/${pod}`, '--timeout=60s'], { timeoutMs: 70_000 });
  const list = await get(direct, `/api/v1/namespaces/${namespace}/configmaps?labelSelector=size%3Dbig`);
  return { pod, bigListBytes: list.bytes };
}

/** Starts PostgreSQL, replicas A and B, the agent on B, and the objects; cleanups go to `t`. */
export async function startRelayRig(t: TestContext, options: RelayRigOptions): Promise<RelayRig> {
  const tier = await startHubTier(t, 2);
  const [a, b] = tier.replicas as [Replica, Replica];
  const direct = directPath(options.kubeconfig);
  const objects = await createObjects(direct, options);
  const created = await tier.client.request<{ token: string }>('POST', '/api/v1/clusters', { name: CLUSTER });
  // Quiet and with the usual heartbeat: the agent's own work should not weigh on either path.
  const agent = await startAgent(t, {
    hubUrl: b.url, caHash: tier.caHash, token: created.token, kubeconfig: options.kubeconfig,
    args: ['--log-level', 'info', '--heartbeat-interval', '15'],
  });
  for (const replica of [a, b]) {
    await eventually(`${replica.id} to know ${b.id} holds the link`, 30_000, async () => {
      const view = await tier.clientOf(replica).request<{ status: string; replica: string | null }>('GET', `/api/v1/clusters/${CLUSTER}`);
      return view.status === 'online' && view.replica === b.id ? true : undefined;
    });
  }
  const owning = await hubPath(tier, b, `owning (${b.id})`);
  const relayed = await hubPath(tier, a, `relayed (${a.id})`);
  const smallPath = `/api/v1/namespaces/${options.namespace}/configmaps/small`;
  for (const path of [owning, relayed]) await eventually(`${path.label} to answer`, 30_000, () => get(path, smallPath).then(() => true, () => undefined));
  t.after(() => { for (const path of [direct, owning, relayed]) path.agent.destroy(); });
  return {
    tier, agent, direct, owning, relayed, namespace: options.namespace, smallPath, pod: objects.pod,
    bigListPath: `/api/v1/namespaces/${options.namespace}/configmaps?labelSelector=size%3Dbig`, bigListBytes: objects.bigListBytes,
  };
}
