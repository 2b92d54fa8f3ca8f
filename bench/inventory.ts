// The agent's inventory, measured in one run: agent memory (RSS) with 1k and
// 10k pods cached, time to a complete initial sync next to a plain paged list
// of the same pods straight from the API server, and change-to-hub latency of
// the live feed next to a direct API server watch. Run with:
//   scripts/bench.sh inventory        (BENCH_PODS_SMALL, BENCH_PODS_LARGE, BENCH_CHANGES)
// See docs/benchmarks.md. Needs the test cluster; starts it if needed.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { TestContext } from 'node:test';
import { KubeClient } from '../src/agent/kube.ts';
import { NdjsonDecoder } from '../src/link/ndjson.ts';
import type { ResourceListResponse } from '../src/link/resources.ts';
import { waitForDefaultServiceAccount } from '../test/helpers/cluster.ts';
import { FeedReader, createPods, percentile } from '../test/helpers/resources.ts';
import { metricValue, startAgent, startHub, suiteContext, type AgentHandle, type HubHandle } from '../test/helpers/uplink.ts';

const CLUSTER_SCRIPT = new URL('../test/cluster/cluster', import.meta.url).pathname;
const SMALL = Number(process.env.BENCH_PODS_SMALL ?? 1000);
const LARGE = Number(process.env.BENCH_PODS_LARGE ?? 10_000);
const CHANGES = Number(process.env.BENCH_CHANGES ?? 200);
const NAMESPACE = `uplink-inv-${Date.now().toString(36)}`;
const NODES = ['kwok-node-0', 'kwok-node-1', 'kwok-node-2'];
const CLUSTER = 'bench';
/** Memory the agent may use with 10k objects cached (the target). */
const RSS_TARGET_MIB = 150;

function cluster(...args: string[]): string {
  const result = spawnSync(CLUSTER_SCRIPT, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (result.status !== 0) throw new Error(`cluster ${args.join(' ')} failed`);
  return result.stdout.trim();
}

function rssMiB(pid: number | undefined): number {
  const status = readFileSync(`/proc/${pid ?? 0}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function listPods(hub: HubHandle): Promise<ResourceListResponse> {
  return hub.client.request<ResourceListResponse>('GET', `/api/v1/clusters/${CLUSTER}/resources/pods?namespace=${NAMESPACE}&limit=1`);
}

interface TimedSync {
  agent: AgentHandle;
  /** Process spawn to a synced inventory seen through the hub. */
  ms: number;
  /** The agent's own figure: inventory start to every kind listed. */
  syncMs: number;
}

/** Starts an agent and times it to a synced inventory holding `pods` pods of the namespace. */
async function timedAgentSync(t: TestContext, hub: HubHandle, token: string, kubeconfig: string, pods: number): Promise<TimedSync> {
  const started = performance.now();
  const agent = await startAgent(t, {
    hubUrl: hub.url, caHash: hub.caHash, token, kubeconfig, args: ['--log-level', 'info', '--heartbeat-interval', '15'],
  });
  for (;;) {
    const page = await listPods(hub).catch(() => undefined);
    if (page && page.inventory.synced && page.total >= pods) break;
    await sleep(20);
  }
  const ms = performance.now() - started;
  const metrics = await (await fetch(`${agent.healthUrl}/metrics`)).text();
  return { agent, ms, syncMs: metricValue(metrics, 'uplink_agent_inventory_initial_sync_seconds') * 1000 };
}

/** RSS once it settles: the lowest of a few samples a second apart (GC runs in between). */
async function settledRss(agent: AgentHandle): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < 5; i += 1) {
    await sleep(1000);
    samples.push(rssMiB(agent.process.child.pid));
  }
  return Math.min(...samples);
}

/** A plain paged list of the namespace's pods straight from the API server, in ms. */
async function directListMs(kube: KubeClient): Promise<number> {
  const started = performance.now();
  await kube.listAll(`/api/v1/namespaces/${NAMESPACE}/pods`);
  return performance.now() - started;
}

/** A direct watch of the namespace's ConfigMaps: arrival time per object name. */
async function directWatch(kube: KubeClient, arrivals: Map<string, number>): Promise<() => void> {
  const res = await kube.open(`/api/v1/namespaces/${NAMESPACE}/configmaps?watch=1`, { headers: { accept: 'application/json' } });
  const decoder = new NdjsonDecoder(16 * 1024 * 1024);
  res.on('data', (chunk: Buffer) => {
    for (const event of decoder.push(chunk) as { type: string; object: { metadata: { name: string } } }[]) {
      if (event.type === 'ADDED') arrivals.set(event.object.metadata.name, performance.now());
    }
  });
  await sleep(500);
  return () => { res.destroy(); };
}

/** Creates ConfigMaps one by one; per change, ms from the API's answer to its arrival via the hub and via a direct watch. */
async function changeLatency(t: TestContext, hub: HubHandle, kube: KubeClient): Promise<{ hub: number[]; direct: number[] }> {
  const feed = FeedReader.open(t, hub, `/api/v1/clusters/${CLUSTER}/watch/configmaps?namespace=${NAMESPACE}`);
  await feed.waitFor('the feed to sync', 30_000, (change) => change.type === 'SYNCED');
  const direct = new Map<string, number>();
  const stopDirect = await directWatch(kube, direct);
  const result = { hub: [] as number[], direct: [] as number[] };
  for (let i = 0; i < CHANGES; i += 1) {
    const name = `change-${i}`;
    const from = feed.events.length;
    const response = await kube.request('POST', `/api/v1/namespaces/${NAMESPACE}/configmaps`, { metadata: { name }, data: { i: String(i) } });
    if (response.status !== 201) throw new Error(`creating ${name}: HTTP ${response.status}`);
    const answeredAt = performance.now();
    const event = await feed.waitFor(name, 10_000, (change) => change.type === 'ADDED' && change.row.name === name, from);
    while (!direct.has(name)) await sleep(1);
    result.hub.push(Math.max(0, event.arrivedAt - answeredAt));
    result.direct.push(Math.max(0, (direct.get(name) ?? answeredAt) - answeredAt));
  }
  stopDirect();
  feed.close();
  return result;
}

function row(name: string, direct: string, ours: string, ratio: string): string {
  return `${name.padEnd(46)} ${direct.padStart(12)}  ${ours.padStart(12)}  ${ratio.padStart(8)}`;
}

async function main(): Promise<void> {
  const kubeconfig = cluster('start').split('\n').pop() ?? '';
  const kube = new KubeClient({ kubeconfig });
  const { t, runCleanups } = suiteContext('bench');
  const kubectl = `${cluster('bin')}/kubectl`;
  spawnSync(kubectl, ['--kubeconfig', kubeconfig, 'create', 'namespace', NAMESPACE], { stdio: 'ignore' });
  try {
    await waitForDefaultServiceAccount(NAMESPACE);
    let created = performance.now();
    await createPods(kube, { namespace: NAMESPACE, prefix: 'small', count: SMALL, nodes: NODES });
    console.log(`created ${SMALL} pods in ${((performance.now() - created) / 1000).toFixed(1)} s`);
    const hub = await startHub(t);
    const { token } = await hub.client.request<{ token: string }>('POST', '/api/v1/clusters', { name: CLUSTER });

    const small = await timedAgentSync(t, hub, token, kubeconfig, SMALL);
    const smallDirect = await directListMs(kube);
    const smallRss = await settledRss(small.agent);
    const objectsSmall = (await listPods(hub)).inventory.objects;
    const latency = await changeLatency(t, hub, kube);
    await small.agent.process.stop();

    created = performance.now();
    await createPods(kube, { namespace: NAMESPACE, prefix: 'large', count: LARGE - SMALL, nodes: NODES });
    console.log(`created ${LARGE - SMALL} more pods in ${((performance.now() - created) / 1000).toFixed(1)} s`);
    const large = await timedAgentSync(t, hub, token, kubeconfig, LARGE);
    const largeDirect = await directListMs(kube);
    const largeRss = await settledRss(large.agent);
    const objectsLarge = (await listPods(hub)).inventory.objects;

    console.log(`\nagent inventory (node ${process.versions.node}; all kinds cached, pods in one namespace)`);
    console.log(row('measure', 'direct', 'agent', 'ratio'));
    for (const [objects, count, sync, direct] of [[objectsSmall, SMALL, small, smallDirect], [objectsLarge, LARGE, large, largeDirect]] as const) {
      console.log(row(`initial sync, ${objects} objects (${count} pods)`, `${direct.toFixed(0)} ms`, `${sync.syncMs.toFixed(0)} ms`, `${(sync.syncMs / direct).toFixed(2)}x`));
      console.log(row(`  agent spawn to synced, seen via the hub`, '', `${sync.ms.toFixed(0)} ms`, ''));
    }
    const p = (values: number[], q: number): number => percentile(values, q);
    console.log(row(`change to reader, p50 (${CHANGES} changes)`, `${p(latency.direct, 50).toFixed(1)} ms`, `${p(latency.hub, 50).toFixed(1)} ms`, `+${(p(latency.hub, 50) - p(latency.direct, 50)).toFixed(1)} ms`));
    console.log(row('change to reader, p99', `${p(latency.direct, 99).toFixed(1)} ms`, `${p(latency.hub, 99).toFixed(1)} ms`, `+${(p(latency.hub, 99) - p(latency.direct, 99)).toFixed(1)} ms`));
    console.log(row(`agent RSS, ${objectsSmall} objects`, '', `${smallRss.toFixed(1)} MiB`, ''));
    console.log(row(`agent RSS, ${objectsLarge} objects`, '', `${largeRss.toFixed(1)} MiB`, ''));
    console.log('\n(direct = one paged list of the pods alone, 500 per page; agent = all 26 kinds listed, stripped, summarised and watching)');
    console.log(`target: agent RSS under ${RSS_TARGET_MIB} MiB at ${objectsLarge} objects: ${largeRss < RSS_TARGET_MIB ? 'met' : 'MISSED'} (${largeRss.toFixed(1)} MiB)`);
  } finally {
    await runCleanups();
    spawnSync(kubectl, ['--kubeconfig', kubeconfig, 'delete', 'namespace', NAMESPACE, '--wait=false'], { stdio: 'ignore' });
    kube.close();
  }
}

await main();
