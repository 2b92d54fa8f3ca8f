// `kubectl port-forward` through the hub vs the same command straight to the
// API server, in one run, with a plain local TCP copy as the floor. A TCP
// server in its own process (portforward-source.ts) listens where kwok's
// ClusterPortForward sends the test pod's port 8080 and writes
// BENCH_PF_MIB MiB to each connection. The bench reads that stream:
// - straight from the server (the floor: what one TCP copy between two
//   processes does on this machine at that moment);
// - through `kubectl port-forward pod/P :8080` with the cluster's admin
//   kubeconfig (kubectl -> API server -> kwok -> the server);
// - through `kubectl port-forward` with a kubeconfig from
//   `uplink kubeconfig` (kubectl -> hub -> link -> agent -> API server -> kwok).
// Rounds alternate the three, each round starting with the next one, so
// drift on the machine hits all alike; the first round warms up and is
// dropped. For every run it also reads the CPU time each process on the path
// spent (/proc/PID/stat), per MiB carried: where the time goes.
//
// Run with: node bench/portforward.ts (needs the test cluster; starts it if
// needed). Knobs: BENCH_PF_MIB (256), BENCH_PF_ROUNDS (5),
// BENCH_PF_WEBSOCKETS (unset: kubectl's default, WebSocket; "false" forces
// SPDY/3.1), BENCH_PF_PROFILE_DIR (the hub and the agent write a
// .cpuprofile there when they stop), BENCH_PF_HUB_ONLY=1 (only the hub's
// path, BENCH_PF_ROUNDS times, with the process ids printed first: for
// strace or perf attached from outside). See docs/benchmarks.md.
import { spawnSync } from 'node:child_process';
import { connect } from 'node:net';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { percentile } from '../test/helpers/resources.ts';
import { suiteContext } from '../test/helpers/uplink.ts';
import { alternate } from './alternate-rounds.ts';
import { startPortForwardRig, type PortForwardRig } from './portforward-rig.ts';
import { startSource } from './portforward-source.ts';
import { cpuNow, cpuSince, loadAverage, stopForProfiles } from './process-cpu.ts';

const REPO_ROOT = join(import.meta.dirname, '..');
const CLUSTER_SCRIPT = join(REPO_ROOT, 'test/cluster/cluster');
const MIB = 1024 * 1024;
const STREAM_MIB = Number(process.env.BENCH_PF_MIB ?? 256);
const ROUNDS = Number(process.env.BENCH_PF_ROUNDS ?? 5);
const WEBSOCKETS = process.env.BENCH_PF_WEBSOCKETS;
const PROFILE_DIR = process.env.BENCH_PF_PROFILE_DIR;
const HUB_ONLY = process.env.BENCH_PF_HUB_ONLY === '1';
/** A stream that stalls this long is a failure, not a figure. */
const STREAM_TIMEOUT_MS = 120_000;
/** Target: through the hub at least this share of the direct command's throughput. */
const MIN_RATIO = 0.8;
// A namespace per run: the previous run's may still be terminating.
const NAMESPACE = `uplink-bench-pf-${Date.now().toString(36)}`;

function cluster(...args: string[]): string {
  const result = spawnSync(CLUSTER_SCRIPT, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (result.status !== 0) throw new Error(`cluster ${args.join(' ')} failed`);
  return result.stdout.trim();
}

/** One stream: MiB/s, and the CPU milliseconds per MiB of each watched process. */
interface Run {
  mibs: number;
  cpuPerMib: Record<string, number>;
}

/** Reads one whole stream from 127.0.0.1:`port`, watching `pids`' CPU time. */
async function readStream(label: string, port: number, pids: Record<string, number>): Promise<Run> {
  const bytes = STREAM_MIB * MIB;
  const before = cpuNow(pids);
  const started = performance.now();
  const socket = connect(port, '127.0.0.1');
  let received = 0;
  const finished = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => { socket.destroy(new Error(`${label}: no end after ${STREAM_TIMEOUT_MS} ms, ${received} bytes`)); }, STREAM_TIMEOUT_MS);
    socket.on('data', (chunk: Buffer) => {
      received += chunk.length;
      // kubectl keeps the local connection open a moment after the pod's side ended; the count is what matters.
      if (received >= bytes) {
        clearTimeout(timer);
        socket.destroy();
        resolve();
      }
    });
    socket.on('error', (error) => { clearTimeout(timer); reject(error); });
    socket.on('close', () => {
      clearTimeout(timer);
      if (received < bytes) reject(new Error(`${label}: the stream ended after ${received} of ${bytes} bytes`));
    });
  });
  await finished;
  const seconds = (performance.now() - started) / 1000;
  return { mibs: STREAM_MIB / seconds, cpuPerMib: cpuSince(pids, before, STREAM_MIB) };
}

function median(values: number[]): number {
  return percentile(values, 50);
}

function printThroughput(labels: string[], runs: Run[][]): void {
  const [floor, direct, viaHub] = runs.map((r) => median(r.map((run) => run.mibs))) as [number, number, number];
  console.log(`\n${'path'.padEnd(34)} ${'median'.padStart(12)} ${'min'.padStart(12)} ${'max'.padStart(12)}  ${'of direct'.padStart(9)}  ${'of floor'.padStart(8)}`);
  for (const [index, label] of labels.entries()) {
    const values = (runs[index] ?? []).map((run) => run.mibs);
    const value = median(values);
    const cells = [value, Math.min(...values), Math.max(...values)].map((v) => `${v.toFixed(0)} MiB/s`.padStart(12));
    console.log(`${label.padEnd(34)} ${cells.join(' ')}  ${`${((value / direct) * 100).toFixed(0)} %`.padStart(9)}  ${`${((value / floor) * 100).toFixed(0)} %`.padStart(8)}`);
  }
  const ratio = viaHub / direct;
  console.log(`\ntarget: through the hub ≥ ${MIN_RATIO * 100} % of direct: ${ratio >= MIN_RATIO ? 'met' : 'MISSED'} (${(ratio * 100).toFixed(0)} %)`);
}

/** CPU milliseconds per MiB of each process, median over the runs of each path; '' where the process is not on it. */
function printCpu(labels: string[], runs: Run[][], names: string[]): void {
  console.log(`\nCPU per MiB carried (user + system, median of the runs; a process off a path shows its idle cost)`);
  console.log(`${'process'.padEnd(20)} ${labels.map((l) => l.padStart(14)).join(' ')}`);
  const totals = labels.map(() => 0);
  for (const name of names) {
    const cells = labels.map((_, index) => {
      const value = median((runs[index] ?? []).map((run) => run.cpuPerMib[name] ?? 0));
      totals[index] = (totals[index] ?? 0) + value;
      return `${value.toFixed(2)} ms`.padStart(14);
    });
    console.log(`${name.padEnd(20)} ${cells.join(' ')}`);
  }
  console.log(`${'sum'.padEnd(20)} ${totals.map((v) => `${v.toFixed(2)} ms`.padStart(14)).join(' ')}`);
}

async function main(): Promise<void> {
  const kubeconfig = cluster('start').split('\n').pop() ?? '';
  const kubectl = join(cluster('bin'), 'kubectl');
  const { t, runCleanups } = suiteContext('portforward');
  const source = await startSource(STREAM_MIB);
  t.after(() => { source.stop(); });
  const startLoad = loadAverage();
  try {
    const rig: PortForwardRig = await startPortForwardRig(t, {
      kubeconfig, kubectl, namespace: NAMESPACE, profileDir: PROFILE_DIR,
      kubectlEnv: WEBSOCKETS === undefined ? {} : { KUBECTL_PORT_FORWARD_WEBSOCKETS: WEBSOCKETS },
    });
    const pids: Record<string, number> = { ...rig.pids, 'source (server)': source.pid, 'bench (client)': process.pid };
    const paths = [
      { label: 'plain TCP copy (floor)', port: source.port },
      { label: 'kubectl port-forward, direct', port: rig.direct.port },
      { label: 'kubectl port-forward, via hub', port: rig.viaHub.port },
    ];
    if (HUB_ONLY) {
      // Only the hub's path, over and over, for a profiler attached from outside.
      console.log(`processes: ${JSON.stringify(pids)}`);
      for (let round = 0; round < ROUNDS; round++) {
        const run = await readStream('via hub', rig.viaHub.port, pids);
        console.log(`via hub: ${run.mibs.toFixed(0)} MiB/s; CPU per MiB: ${Object.entries(run.cpuPerMib).map(([name, ms]) => `${name} ${ms.toFixed(2)} ms`).join(', ')}`);
      }
      return;
    }
    const runs = await alternate(paths.map((path) => () => readStream(path.label, path.port, pids)), ROUNDS + 1);
    const measured = runs.map((r) => r.slice(1)); // the first round warms buffers and connections
    console.log(`\nkubectl port-forward through the hub vs direct: one ${STREAM_MIB} MiB stream, ${ROUNDS} runs each (+1 warm-up), `
      + `${WEBSOCKETS === 'false' ? 'SPDY/3.1' : 'kubectl default (WebSocket)'}, node ${process.versions.node}, ${cpus().length} cores`);
    printThroughput(paths.map((p) => p.label), measured);
    printCpu(['floor', 'direct', 'via hub'], measured, Object.keys(pids));
    await stopForProfiles([rig.agent.process, rig.hub.process], PROFILE_DIR);
  } finally {
    console.log(`\nload average (1, 5, 15 min): ${startLoad} at the start, ${loadAverage()} at the end`);
    await runCleanups();
  }
}

await main();
