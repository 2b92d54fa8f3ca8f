// Add-ons through the hub and the agent vs helm run by hand, in one run: the
// time from declaring an add-on (PUT on the hub) until the hub reports it
// deployed and Healthy, next to `helm upgrade --install --wait=watcher` of the
// same chart from the same chart repository; the same for an upgrade (new
// values); and a batch of add-ons declared at once next to the same number of
// helm runs, 5 at a time (the agent's default write workers). Run with:
//   scripts/bench.sh addons        (BENCH_SAMPLES, BENCH_BATCH)
// See docs/benchmarks.md. Needs the test cluster; starts it if needed.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { AddonStatus } from '../src/link/addons.ts';
import { runChecked } from '../src/util/run-process.ts';
import { helmEnv, mintServiceAccountToken, waitForDefaultServiceAccount } from '../test/helpers/cluster.ts';
import { serveChartRepo } from '../test/helpers/chart-sources.ts';
import { inParallel, percentile } from '../test/helpers/resources.ts';
import { startAgent, startHub, suiteContext, type HubHandle } from '../test/helpers/uplink.ts';

const REPO_ROOT = join(import.meta.dirname, '..');
const CLUSTER_SCRIPT = join(REPO_ROOT, 'test/cluster/cluster');
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 10);
const BATCH = Number(process.env.BENCH_BATCH ?? 20);
const WRITE_WORKERS = 5;
const RUN = Date.now().toString(36);
const CLUSTER = 'bench-addons';

function cluster(...args: string[]): string {
  const result = spawnSync(CLUSTER_SCRIPT, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (result.status !== 0) throw new Error(`cluster ${args.join(' ')} failed`);
  return result.stdout.trim();
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Direct {
  helm: string;
  env: NodeJS.ProcessEnv;
  repo: string;
}

/** `helm upgrade --install` as the agent runs it, by hand; resolves with the milliseconds it took. */
async function directInstall(direct: Direct, name: string, namespace: string, values: string): Promise<number> {
  const started = performance.now();
  await runChecked(direct.helm, [
    'upgrade', '--install', name, 'webapp', '--repo', direct.repo, '--version', '0.1.0', '--namespace', namespace, '--create-namespace',
    '--rollback-on-failure', '--wait=watcher', '--timeout', '120s', '--values', '-',
  ], { env: direct.env, input: values, timeoutMs: 180_000 });
  return performance.now() - started;
}

async function addonStatus(hub: HubHandle, name: string): Promise<{ generation: number; status: AddonStatus | null }> {
  return hub.client.request('GET', `/api/v1/clusters/${CLUSTER}/addons/${name}`);
}

/** PUT of the add-on to the hub's report of it deployed, Healthy and in sync at `revision`; milliseconds. */
async function viaHub(hub: HubHandle, repo: string, name: string, namespace: string, values: string, revision: number): Promise<number> {
  const started = performance.now();
  const { generation } = await hub.client.request<{ generation: number }>('PUT', `/api/v1/clusters/${CLUSTER}/addons/${name}`, {
    source: { repo: { url: repo, chart: 'webapp' } }, version: '0.1.0', namespace, values,
  });
  const deadline = Date.now() + 180_000;
  for (;;) {
    const { status } = await addonStatus(hub, name);
    if (status?.generation === generation && status.phase === 'Failed') throw new Error(`${name} failed: ${status.message}`);
    if (status?.generation === generation && status.inSync && status.release?.revision === revision && status.health?.status === 'Healthy') {
      return performance.now() - started;
    }
    if (Date.now() > deadline) throw new Error(`${name} not deployed at revision ${revision} within 180 s`);
    await sleep(20);
  }
}

function row(name: string, direct: string, ours: string, ratio: string): string {
  return `${name.padEnd(44)} ${direct.padStart(12)}  ${ours.padStart(12)}  ${ratio.padStart(8)}`;
}

function line(name: string, direct: number[], ours: number[], q: number): string {
  const d = percentile(direct, q);
  const o = percentile(ours, q);
  return row(`${name}, p${q}`, `${d.toFixed(0)} ms`, `${o.toFixed(0)} ms`, `${(o / d).toFixed(2)}x`);
}

async function main(): Promise<void> {
  const kubeconfig = cluster('start').split('\n').pop() ?? '';
  const bin = cluster('bin');
  const kubectl = join(bin, 'kubectl');
  const { t, runCleanups } = suiteContext('bench-addons');
  const namespaces: string[] = [];
  const namespace = (label: string): string => {
    const name = `bench-${label}-${RUN}`;
    namespaces.push(name);
    return name;
  };
  try {
    const agentNamespace = namespace('agent');
    spawnSync(kubectl, ['--kubeconfig', kubeconfig, 'create', 'namespace', agentNamespace], { stdio: 'ignore' });
    await waitForDefaultServiceAccount(agentNamespace);
    const { kubeconfig: agentKubeconfig } = await mintServiceAccountToken(t, { namespace: agentNamespace, clusterRole: 'cluster-admin' });
    const repo = await serveChartRepo(t, [join(REPO_ROOT, 'examples/charts/webapp')]);
    const direct: Direct = { helm: join(bin, 'helm'), env: await helmEnv(kubeconfig), repo };
    const hub = await startHub(t);
    const { token } = await hub.client.request<{ token: string }>('POST', '/api/v1/clusters', { name: CLUSTER });
    await startAgent(t, { hubUrl: hub.url, caHash: hub.caHash, token, kubeconfig: agentKubeconfig, args: ['--log-level', 'info'] });

    const installs = { direct: [] as number[], hub: [] as number[] };
    const upgrades = { direct: [] as number[], hub: [] as number[] };
    const directNs = namespace('direct');
    const hubNs = namespace('hub');
    // Alternate the two paths, so drift on the machine hits both alike.
    for (let i = 0; i < SAMPLES; i++) {
      installs.direct.push(await directInstall(direct, `d${i}`, directNs, 'replicaCount: 2\n'));
      installs.hub.push(await viaHub(hub, repo, `h${i}`, hubNs, 'replicaCount: 2\n', 1));
      upgrades.direct.push(await directInstall(direct, `d${i}`, directNs, 'replicaCount: 3\n'));
      upgrades.hub.push(await viaHub(hub, repo, `h${i}`, hubNs, 'replicaCount: 3\n', 2));
    }

    const batchDirectNs = namespace('batch-direct');
    const batchHubNs = namespace('batch-hub');
    let started = performance.now();
    await inParallel([...Array(BATCH).keys()], WRITE_WORKERS, async (i) => { await directInstall(direct, `bd${i}`, batchDirectNs, ''); });
    const batchDirect = performance.now() - started;
    started = performance.now();
    await Promise.all([...Array(BATCH).keys()].map((i) => viaHub(hub, repo, `bh${i}`, batchHubNs, '', 1)));
    const batchHub = performance.now() - started;

    console.log(`\nadd-ons: the webapp example chart (Deployment of 2 pods run by kwok, Service, ConfigMap) from a chart repository on loopback`);
    console.log(row('measure', 'helm by hand', 'via the hub', 'ratio'));
    for (const q of [50, 90]) console.log(line(`install to deployed and Healthy (${SAMPLES})`, installs.direct, installs.hub, q));
    for (const q of [50, 90]) console.log(line(`upgrade to deployed and Healthy (${SAMPLES})`, upgrades.direct, upgrades.hub, q));
    console.log(row(`${BATCH} add-ons at once, ${WRITE_WORKERS} at a time`, `${batchDirect.toFixed(0)} ms`, `${batchHub.toFixed(0)} ms`, `${(batchHub / batchDirect).toFixed(2)}x`));
    console.log('\n(helm by hand = `helm upgrade --install --wait=watcher` timed to its exit; via the hub = PUT on the hub to the hub reporting the');
    console.log(' new revision deployed, in sync and Healthy: the push over the link, the agent running the same helm command, its health check');
    console.log(' of every object and the status back over the link; the hub is polled every 20 ms)');
  } finally {
    await runCleanups();
    for (const name of namespaces) spawnSync(kubectl, ['--kubeconfig', kubeconfig, 'delete', 'namespace', name, '--wait=false'], { stdio: 'ignore' });
  }
}

await main();
