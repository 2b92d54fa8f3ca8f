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
import { cpus } from 'node:os';
import { join } from 'node:path';
import { suiteContext } from '../test/helpers/uplink.ts';
import { alternate } from './alternate-rounds.ts';
import { load, median, printCpu, readStream as readMiB, type Run } from './portforward-measure.ts';
import { cluster, startPortForwardRig, type PortForwardRig } from './portforward-rig.ts';
import { startSource } from './portforward-source.ts';

const STREAM_MIB = Number(process.env.BENCH_PF_MIB ?? 256);
const ROUNDS = Number(process.env.BENCH_PF_ROUNDS ?? 5);
const WEBSOCKETS = process.env.BENCH_PF_WEBSOCKETS;
const PROFILE_DIR = process.env.BENCH_PF_PROFILE_DIR;
const HUB_ONLY = process.env.BENCH_PF_HUB_ONLY === '1';
/** Target: through the hub at least this share of the direct command's throughput. */
const MIN_RATIO = 0.8;
// A namespace per run: the previous run's may still be terminating.
const NAMESPACE = `uplink-bench-pf-${Date.now().toString(36)}`;

/** Reads one whole BENCH_PF_MIB stream from 127.0.0.1:`port`, watching `pids`' CPU time. */
function readStream(label: string, port: number, pids: Record<string, number>): Promise<Run> {
  return readMiB({ label, port, mib: STREAM_MIB, pids });
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

async function main(): Promise<void> {
  const kubeconfig = cluster('start').split('\n').pop() ?? '';
  const kubectl = join(cluster('bin'), 'kubectl');
  const { t, runCleanups } = suiteContext('portforward');
  const source = await startSource(STREAM_MIB);
  t.after(() => { source.stop(); });
  const startLoad = load();
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
    if (PROFILE_DIR !== undefined) {
      // Stopped gently so that they write their CPU profiles.
      await rig.agent.process.stop('SIGTERM');
      await rig.hub.process.stop('SIGTERM');
      console.log(`\nCPU profiles of the hub and the agent: ${PROFILE_DIR}`);
    }
  } finally {
    console.log(`\nload average (1, 5, 15 min): ${startLoad} at the start, ${load()} at the end`);
    await runCleanups();
  }
}

await main();
