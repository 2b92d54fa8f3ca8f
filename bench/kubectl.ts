// kubectl through the hub vs straight to the API server, in one run:
// p50/p99 of a single-pod GET and the time to list 5,000 pods, plus the same
// through the real kubectl binary. Run with: scripts/bench.sh kubectl
// (see docs/benchmarks.md). Needs the test cluster; starts it if needed.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runChecked } from '../src/util/run-process.ts';
import { percentile } from '../test/helpers/resources.ts';
import { UplinkProcess, freePort } from '../test/helpers/uplink.ts';
import { adminAgent } from './kubectl-admin.ts';

const REPO = join(import.meta.dirname, '..');
const CLUSTER = join(REPO, 'test/cluster/cluster');
// A namespace per run: the previous run's may still be terminating.
const NAMESPACE = `uplink-bench-${Date.now().toString(36)}`;
const POD_COUNT = Number(process.env.BENCH_PODS ?? 5000);
const GET_SAMPLES = Number(process.env.BENCH_GET_SAMPLES ?? 1000);
const LIST_SAMPLES = Number(process.env.BENCH_LIST_SAMPLES ?? 10);
const KUBECTL_SAMPLES = Number(process.env.BENCH_KUBECTL_SAMPLES ?? 10);

interface Target {
  label: string;
  agent: https.Agent;
  base: string;
  headers: Record<string, string>;
}

function cluster(...args: string[]): string {
  const result = spawnSync(CLUSTER, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (result.status !== 0) throw new Error(`cluster ${args.join(' ')} failed`);
  return result.stdout.trim();
}

function directTarget(kubeconfig: string): Target {
  const { server, agent } = adminAgent(kubeconfig, 4);
  return { label: 'direct', base: server, headers: {}, agent };
}

/** GETs a path and reads the whole body; resolves with the milliseconds it took. */
function timedGet(target: Target, path: string, gzip = false): Promise<number> {
  const started = performance.now();
  // client-go (so kubectl) asks for gzip; the API server then compresses large lists.
  const encoding = gzip ? { 'accept-encoding': 'gzip' } : {};
  return new Promise((resolve, reject) => {
    https.get(`${target.base}${path}`, { agent: target.agent, headers: { accept: 'application/json', ...encoding, ...target.headers } }, (res) => {
      res.on('data', () => undefined);
      res.on('end', () => {
        if (res.statusCode !== 200) reject(new Error(`${target.label} GET ${path}: HTTP ${res.statusCode ?? 0}`));
        else resolve(performance.now() - started);
      });
    }).on('error', reject);
  });
}

/** Samples both targets alternately, so drift on the machine hits both alike. */
async function sampleBoth(targets: Target[], path: string, samples: number, gzip = false): Promise<number[][]> {
  const results = targets.map(() => [] as number[]);
  for (let i = 0; i < samples; i++) {
    for (const [index, target] of targets.entries()) results[index]?.push(await timedGet(target, path, gzip));
  }
  return results;
}

async function ensurePods(direct: Target, kubectl: string, kubeconfig: string): Promise<void> {
  const nodes = ['kwok-node-0', 'kwok-node-1', 'kwok-node-2'];
  await runChecked(kubectl, ['--kubeconfig', kubeconfig, 'create', 'namespace', NAMESPACE]).catch(() => undefined);
  const existing = await runChecked(kubectl, ['--kubeconfig', kubeconfig, '-n', NAMESPACE, 'get', 'pods', '-o', 'name']);
  const have = existing.stdout.split('\n').filter((l) => l !== '').length;
  const started = performance.now();
  const post = (i: number): Promise<void> => new Promise((resolve, reject) => {
    const body = JSON.stringify({
      apiVersion: 'v1', kind: 'Pod',
      metadata: { name: `bench-${i}`, labels: { app: 'bench' } },
      spec: { nodeName: nodes[i % nodes.length], containers: [{ name: 'main', image: 'registry.invalid/bench:1' }] },
    });
    const req = https.request(`${direct.base}/api/v1/namespaces/${NAMESPACE}/pods`, {
      method: 'POST', agent: direct.agent, headers: { 'content-type': 'application/json' },
    }, (res) => { res.resume(); res.on('end', () => { resolve(); }); });
    req.on('error', reject);
    req.end(body);
  });
  let next = have;
  await Promise.all(Array.from({ length: 8 }, async () => {
    while (next < POD_COUNT) await post(next++);
  }));
  if (POD_COUNT > have) console.log(`created ${POD_COUNT - have} pods in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

async function startHubAndAgent(kubeconfig: string): Promise<{ target: Target; stop: () => Promise<void>; clusterId: string; kubeconfigViaHub: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'uplink-bench-'));
  const port = await freePort();
  const hub = new UplinkProcess(['hub', '--listen', `127.0.0.1:${port}`, '--data-dir', join(dir, 'hub')]);
  const listening = await hub.waitForLog((l) => l.msg === 'hub listening');
  const caPem = readFileSync(join(dir, 'hub/tls/ca.crt'), 'utf8');
  const token = readFileSync(join(dir, 'hub/admin-token'), 'utf8').trim();
  const url = String(listening.publicUrl);
  const cli = join(dir, 'cli.json');
  const env = { ...process.env, UPLINK_CLI_CONFIG: cli };
  await runChecked(join(REPO, 'bin/uplink'), ['login', url, '--token', token, '--ca-hash', String(listening.caHash)], { env });
  const created = JSON.parse((await runChecked(join(REPO, 'bin/uplink'), ['clusters', 'create', 'bench', '-o', 'json'], { env })).stdout) as
    { token: string; cluster: { id: string } };
  // The agent uses the admin kubeconfig here: the bench measures the path, not RBAC.
  const agent = new UplinkProcess(['agent', '--hub-url', url, '--hub-ca-hash', String(listening.caHash), '--token', created.token,
    '--kubeconfig', kubeconfig, '--state-file', join(dir, 'agent.json'), '--health-listen', '127.0.0.1:0',
    '--heartbeat-interval', '300']);
  await agent.waitForLog((l) => l.msg === 'linked to the hub', 30_000);
  const kubeconfigViaHub = join(dir, 'kubeconfig');
  await runChecked(join(REPO, 'bin/uplink'), ['kubeconfig', 'bench', '--file', kubeconfigViaHub], { env });
  const target: Target = {
    label: 'via hub',
    base: `${url}/k8s/clusters/${created.cluster.id}`,
    headers: { authorization: `Bearer ${token}` },
    agent: new https.Agent({ keepAlive: true, maxSockets: 4, ca: caPem }),
  };
  // Wait until the agent answers through the hub.
  for (let i = 0; ; i++) {
    try {
      await timedGet(target, '/version');
      break;
    } catch (error) {
      if (i > 100) throw error;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    target, clusterId: created.cluster.id, kubeconfigViaHub,
    stop: async () => { await agent.stop(); await hub.stop(); },
  };
}

async function kubectlTimes(kubectl: string, kubeconfig: string, args: string[]): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < KUBECTL_SAMPLES; i++) {
    const started = performance.now();
    await runChecked(kubectl, ['--kubeconfig', kubeconfig, ...args], { maxOutputBytes: 64 * 1024 * 1024 });
    times.push(performance.now() - started);
  }
  return times;
}

function row(name: string, direct: number, viaHub: number, unit = 'ms'): string {
  const ratio = viaHub / direct;
  return `${name.padEnd(44)} ${direct.toFixed(2).padStart(9)} ${unit}  ${viaHub.toFixed(2).padStart(9)} ${unit}  ${ratio.toFixed(2).padStart(6)}x  ${(viaHub - direct).toFixed(2).padStart(8)} ${unit}`;
}

async function main(): Promise<void> {
  const kubeconfig = cluster('start').split('\n').pop() ?? '';
  const kubectl = join(cluster('bin'), 'kubectl');
  const direct = directTarget(kubeconfig);
  await ensurePods(direct, kubectl, kubeconfig);
  const hub = await startHubAndAgent(kubeconfig);
  try {
    const targets = [direct, hub.target];
    const podPath = `/api/v1/namespaces/${NAMESPACE}/pods/bench-1`;
    const listPath = `/api/v1/namespaces/${NAMESPACE}/pods`;
    await sampleBoth(targets, podPath, 100); // warm-up: connections, JIT, caches
    const [getDirect = [], getHub = []] = await sampleBoth(targets, podPath, GET_SAMPLES);
    await sampleBoth(targets, listPath, 2);
    const [listDirect = [], listHub = []] = await sampleBoth(targets, listPath, LIST_SAMPLES, true);
    const [rawDirect = [], rawHub = []] = await sampleBoth(targets, listPath, LIST_SAMPLES);
    const kGetDirect = await kubectlTimes(kubectl, kubeconfig, ['-n', NAMESPACE, 'get', 'pod', 'bench-1']);
    const kGetHub = await kubectlTimes(kubectl, hub.kubeconfigViaHub, ['-n', NAMESPACE, 'get', 'pod', 'bench-1']);
    const kListDirect = await kubectlTimes(kubectl, kubeconfig, ['-n', NAMESPACE, 'get', 'pods', '-o', 'name']);
    const kListHub = await kubectlTimes(kubectl, hub.kubeconfigViaHub, ['-n', NAMESPACE, 'get', 'pods', '-o', 'name']);
    const listP50 = [percentile(listDirect, 50), percentile(listHub, 50)] as const;
    const getP50 = [percentile(getDirect, 50), percentile(getHub, 50)] as const;
    console.log(`\nkubectl through the hub vs direct (${POD_COUNT} pods, ${GET_SAMPLES} gets, ${LIST_SAMPLES} lists, node ${process.versions.node})`);
    console.log(`${'measure'.padEnd(44)} ${'direct'.padStart(12)}  ${'via hub'.padStart(12)}  ${'ratio'.padStart(7)}  ${'delta'.padStart(11)}`);
    console.log(row('GET one pod, p50 (keep-alive client)', getP50[0], getP50[1]));
    console.log(row('GET one pod, p99 (keep-alive client)', percentile(getDirect, 99), percentile(getHub, 99)));
    console.log(row(`LIST ${POD_COUNT} pods (gzip, as kubectl), p50`, listP50[0], listP50[1]));
    console.log(row(`LIST ${POD_COUNT} pods (gzip), best`, Math.min(...listDirect), Math.min(...listHub)));
    console.log(row(`LIST ${POD_COUNT} pods (uncompressed), p50`, percentile(rawDirect, 50), percentile(rawHub, 50)));
    console.log(row('kubectl get pod (process), p50', percentile(kGetDirect, 50), percentile(kGetHub, 50)));
    console.log(row(`kubectl get pods (${POD_COUNT}), p50`, percentile(kListDirect, 50), percentile(kListHub, 50)));
    const listOk = listP50[1] / listP50[0] <= 1.25;
    const getOk = getP50[1] - getP50[0] <= 2;
    console.log(`\ntarget: list (as kubectl requests it) within 1.25x of direct: ${listOk ? 'met' : 'MISSED'} (${(listP50[1] / listP50[0]).toFixed(2)}x)`);
    console.log(`target: single get within 2 ms of direct at p50: ${getOk ? 'met' : 'MISSED'} (+${(getP50[1] - getP50[0]).toFixed(2)} ms)`);
  } finally {
    await hub.stop();
    if (process.env.BENCH_KEEP_PODS === undefined) {
      await runChecked(kubectl, ['--kubeconfig', kubeconfig, 'delete', 'namespace', NAMESPACE, '--wait=false']);
    }
    direct.agent.destroy();
  }
}

await main();
