// The relay between hub replicas vs the replica holding the link, in one run:
// two replicas on one PostgreSQL, the agent linked to replica B; the same
// kubectl requests through B (served there) and through A (relayed to B
// over the peer port), alternated so drift on the machine hits both alike,
// with the API server directly alongside for scale: p50/p90/p99 of a GET of
// one ConfigMap, the real `kubectl get` of it, and the throughput of one
// stream (a big uncompressed list; `kubectl exec` writing a stream of
// bytes). In the same rounds, the floor (relay-floor.ts): one bare HTTPS
// hop through a Node process, what any relay costs on this machine. Run with: scripts/bench.sh relay   (BENCH_GET_SAMPLES,
// BENCH_STREAM_SAMPLES, BENCH_KUBECTL_SAMPLES, BENCH_BIG_OBJECTS,
// BENCH_EXEC_MIB). See docs/benchmarks.md. Needs the test cluster; starts
// it if needed.
import { spawn, spawnSync } from 'node:child_process';
import https from 'node:https';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { percentile } from '../test/helpers/resources.ts';
import { metricValue, suiteContext } from '../test/helpers/uplink.ts';
import { alternate } from './alternate-rounds.ts';
import { roundTripsPerGet } from './relay-db.ts';
import { floorGet, startFloor, type FloorEnds } from './relay-floor.ts';
import { get, startRelayRig, type KubePath, type RelayRig } from './relay-setup.ts';

const REPO_ROOT = join(import.meta.dirname, '..');
const CLUSTER_SCRIPT = join(REPO_ROOT, 'test/cluster/cluster');
const GET_SAMPLES = Number(process.env.BENCH_GET_SAMPLES ?? 3000);
const WARMUP_SAMPLES = 200;
const STREAM_SAMPLES = Number(process.env.BENCH_STREAM_SAMPLES ?? 7);
const KUBECTL_SAMPLES = Number(process.env.BENCH_KUBECTL_SAMPLES ?? 20);
const BIG_OBJECTS = Number(process.env.BENCH_BIG_OBJECTS ?? 48);
const EXEC_MIB = Number(process.env.BENCH_EXEC_MIB ?? 128);
/** GETs per path whose database transactions are counted (relay-db.ts). */
const ROUND_TRIP_SAMPLES = 300;
const MIB = 1024 * 1024;
/** The floor's stream: about the size of the big list. */
const FLOOR_STREAM_MIB = 48;
// A namespace per run: the previous run's may still be terminating.
const NAMESPACE = `uplink-bench-relay-${Date.now().toString(36)}`;

/** Targets of the relay (and of the figures in docs/benchmarks.md). */
const MAX_P50_DELTA_MS = 1;
const MIN_STREAM_RATIO = 0.8;

function cluster(...args: string[]): string {
  const result = spawnSync(CLUSTER_SCRIPT, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (result.status !== 0) throw new Error(`cluster ${args.join(' ')} failed`);
  return result.stdout.trim();
}

/** One `kubectl exec` writing `bytes` zero bytes to its stdout; MiB/s as counted here. */
function execStream(kubectl: string, path: KubePath, rig: RelayRig, bytes: number): Promise<number> {
  const started = performance.now();
  const child = spawn(kubectl, ['--kubeconfig', path.kubeconfig, '-n', rig.namespace, 'exec', rig.pod, '--', 'head', '-c', String(bytes), '/dev/zero'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let received = 0;
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => { received += chunk.length; });
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      const seconds = (performance.now() - started) / 1000;
      if (code !== 0 || received !== bytes) reject(new Error(`${path.label}: kubectl exec exited ${code ?? 'by signal'} after ${received} of ${bytes} bytes: ${stderr}`));
      else resolve(bytes / MIB / seconds);
    });
  });
}

/** The real `kubectl get` of the small ConfigMap, process start to exit; milliseconds. */
function kubectlGet(kubectl: string, path: KubePath, rig: RelayRig): number {
  const started = performance.now();
  const result = spawnSync(kubectl, ['--kubeconfig', path.kubeconfig, '-n', rig.namespace, 'get', 'configmap', 'small', '-o', 'name'], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${path.label}: kubectl get failed: ${result.stderr}`);
  return performance.now() - started;
}

/** Each measure's runs, in the order direct, owning, relayed, then the floor's origin and proxy where measured. */
interface Figures {
  get: number[][];
  kubectl: number[][];
  list: number[][];
  exec: number[][];
}

async function measure(rig: RelayRig, floor: FloorEnds, kubectl: string): Promise<Figures> {
  const paths = [rig.direct, rig.owning, rig.relayed];
  const ends = [floor.origin, floor.proxy];
  const small = [
    ...paths.map((path) => () => get(path, rig.smallPath).then((answer) => answer.ms)),
    ...ends.map((end) => () => floorGet(end, '/small').then((answer) => answer.ms)),
  ];
  await alternate(small, WARMUP_SAMPLES); // connections, JIT, caches
  const getMs = await alternate(small, GET_SAMPLES);
  const kubectlMs = await alternate(paths.map((path) => () => Promise.resolve(kubectlGet(kubectl, path, rig))), KUBECTL_SAMPLES);
  const listMibs = await alternate([
    ...paths.map((path) => async () => {
      const answer = await get(path, rig.bigListPath);
      if (answer.bytes !== rig.bigListBytes) throw new Error(`${path.label}: the list was ${answer.bytes} bytes, not ${rig.bigListBytes}`);
      return answer.bytes / MIB / (answer.ms / 1000);
    }),
    ...ends.map((end) => async () => {
      const answer = await floorGet(end, `/stream?mib=${FLOOR_STREAM_MIB}`);
      return answer.bytes / MIB / (answer.ms / 1000);
    }),
  ], STREAM_SAMPLES + 1);
  const execMibs = await alternate(paths.map((path) => () => execStream(kubectl, path, rig, EXEC_MIB * MIB)), STREAM_SAMPLES + 1);
  // The first round of each stream warms buffers and the peer connection.
  return { get: getMs, kubectl: kubectlMs, list: listMibs.map((runs) => runs.slice(1)), exec: execMibs.map((runs) => runs.slice(1)) };
}

const HEADER = ['measure', 'direct', 'owning (B)', 'relayed (A)', 'A/B', 'A - B'] as const;

function row(cells: readonly string[]): string {
  const [name = '', ...rest] = cells;
  return `${name.padEnd(46)} ${rest.map((cell) => cell.padStart(12)).join(' ')}`;
}

function timeRow(name: string, runs: number[][], q: number): string {
  const [direct, owning, relayed] = runs.map((r) => percentile(r, q)) as [number, number, number];
  return row([`${name}, p${q}`, `${direct.toFixed(2)} ms`, `${owning.toFixed(2)} ms`, `${relayed.toFixed(2)} ms`,
    `${(relayed / owning).toFixed(2)}x`, `${relayed - owning >= 0 ? '+' : ''}${(relayed - owning).toFixed(2)} ms`]);
}

function rateRow(name: string, runs: number[][]): string {
  const [direct, owning, relayed] = runs.map((r) => percentile(r, 50)) as [number, number, number];
  return row([`${name}, median`, `${direct.toFixed(0)} MiB/s`, `${owning.toFixed(0)} MiB/s`, `${relayed.toFixed(0)} MiB/s`,
    `${((relayed / owning) * 100).toFixed(0)} %`, '']);
}

/** Requests replica A relayed to B and that ended well, from A's /metrics: proof the relayed path was the relay. */
async function relayedCount(rig: RelayRig): Promise<number> {
  const a = rig.tier.replicas[0];
  if (a === undefined) return 0;
  const text = await new Promise<string>((resolve, reject) => {
    https.get(`${a.url}/metrics`, { agent: rig.relayed.agent }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => { body += chunk.toString(); });
      res.on('end', () => { resolve(body); });
    }).on('error', reject);
  });
  return metricValue(text, 'uplink_hub_peer_relays_total', 'outcome="ok"');
}

/** The bare hop next to the relay: what any extra HTTPS hop through Node costs here, in the same rounds. */
function reportFloor(figures: Figures): void {
  const [origin = [], proxy = []] = figures.get.slice(3);
  const [streamOrigin = [], streamProxy = []] = figures.list.slice(3);
  console.log('\nthe floor: one bare HTTPS hop through a Node proxy (no hub, no database), in the same rounds');
  console.log(row(['measure', '', 'origin', 'via proxy', 'proxy/origin', 'difference']));
  for (const q of [50, 90, 99]) {
    const [o, p] = [percentile(origin, q), percentile(proxy, q)];
    console.log(row([`GET a small object, p${q}`, '', `${o.toFixed(2)} ms`, `${p.toFixed(2)} ms`, `${(p / o).toFixed(2)}x`, `+${(p - o).toFixed(2)} ms`]));
  }
  const [o, p] = [percentile(streamOrigin, 50), percentile(streamProxy, 50)];
  console.log(row([`${FLOOR_STREAM_MIB} MiB stream, median`, '', `${o.toFixed(0)} MiB/s`, `${p.toFixed(0)} MiB/s`, `${((p / o) * 100).toFixed(0)} %`, '']));
}

function report(rig: RelayRig, figures: Figures, relayedRequests: number, load: readonly number[]): void {
  const cpu = cpus();
  console.log(`\nrelay between hub replicas: the agent linked to B, the same requests through B and relayed by A (node ${process.versions.node},`);
  console.log(` ${cpu.length} cores ${cpu[0]?.model.trim() ?? ''}, load average ${load.map((l) => l.toFixed(1)).join(' -> ')}, ${relayedRequests} requests relayed A -> B)`);
  console.log(row([...HEADER]));
  for (const q of [50, 90, 99]) console.log(timeRow(`GET one ConfigMap (${GET_SAMPLES}, keep-alive)`, figures.get, q));
  console.log(timeRow(`kubectl get configmap (process, ${KUBECTL_SAMPLES})`, figures.kubectl, 50));
  const listMib = (rig.bigListBytes / MIB).toFixed(1);
  console.log(rateRow(`LIST ${BIG_OBJECTS} ConfigMaps (${listMib} MiB, uncompressed, ${STREAM_SAMPLES})`, figures.list));
  console.log(rateRow(`kubectl exec, ${EXEC_MIB} MiB to stdout (${STREAM_SAMPLES})`, figures.exec));
  reportFloor(figures);
  const delta = percentile(figures.get[2] ?? [], 50) - percentile(figures.get[1] ?? [], 50);
  const ratio = (runs: number[][]): number => percentile(runs[2] ?? [], 50) / percentile(runs[1] ?? [], 50);
  const streams = Math.min(ratio(figures.list), ratio(figures.exec));
  console.log(`\ntarget: relayed GET p50 within +${MAX_P50_DELTA_MS} ms of the owning replica: ${delta <= MAX_P50_DELTA_MS ? 'met' : 'MISSED'} (${delta >= 0 ? '+' : ''}${delta.toFixed(2)} ms)`);
  console.log(`target: one relayed stream at least ${MIN_STREAM_RATIO * 100} % of the owning replica's: ${streams >= MIN_STREAM_RATIO ? 'met' : 'MISSED'} (list ${(ratio(figures.list) * 100).toFixed(0)} %, exec ${(ratio(figures.exec) * 100).toFixed(0)} %)`);
}

async function main(): Promise<void> {
  const kubeconfig = cluster('start').split('\n').pop() ?? '';
  const kubectl = join(cluster('bin'), 'kubectl');
  const { t, runCleanups } = suiteContext('bench-relay');
  try {
    const rig = await startRelayRig(t, { kubeconfig, kubectl, namespace: NAMESPACE, bigObjects: BIG_OBJECTS });
    const floor = await startFloor();
    t.after(() => { floor.stop(); });
    const loadBefore = loadavg()[0] ?? 0;
    const figures = await measure(rig, floor, kubectl);
    const loadAfter = loadavg()[0] ?? 0;
    report(rig, figures, await relayedCount(rig), [loadBefore, loadAfter]);
    const [owning = 0, relayed = 0] = await roundTripsPerGet({ databaseUrl: rig.tier.databaseUrl, paths: [rig.owning, rig.relayed], apiPath: rig.smallPath, requests: ROUND_TRIP_SAMPLES });
    console.log(`database transactions per GET (${ROUND_TRIP_SAMPLES} each, background taken out): owning ${owning.toFixed(2)}, relayed ${relayed.toFixed(2)} (the audit row is one)`);
  } finally {
    await runCleanups();
    spawnSync(join(cluster('bin'), 'kubectl'), ['--kubeconfig', kubeconfig, 'delete', 'namespace', NAMESPACE, '--wait=false'], { stdio: 'ignore' });
  }
}

await main();
