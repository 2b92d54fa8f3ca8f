// `uplink forward` vs a plain TCP copy, in one run. A TCP server in its own
// process (portforward-source.ts) listens on this machine's own
// non-loopback address and writes BENCH_FWD_MIB MiB to each connection; a
// selector-less Service with a hand-made EndpointSlice points at it, as
// test/e2e/forward.test.ts does. The bench reads that stream:
// - straight from the server (a plain TCP copy between two processes: what
//   this machine does at that moment);
// - through `uplink forward CLUSTER svc/NAME LOCAL:PORT` (the CLI -> the hub
//   -> the link -> the agent -> the server), one connection per stream.
// Rounds alternate the two, each round starting with the next one, so drift
// on the machine hits both alike; the first round warms up and is dropped.
// For every run it also reads the CPU time each process on the path spent,
// per MiB carried (portforward-measure.ts).
//
// Run with: node bench/forward.ts (needs the test cluster; starts it if
// needed). Knobs: BENCH_FWD_MIB (512), BENCH_FWD_ROUNDS (5),
// BENCH_FWD_PROFILE_DIR (the hub, the agent and the CLI write a .cpuprofile
// there when they stop). See docs/benchmarks.md.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { cpus } from 'node:os';
import type { TestContext } from 'node:test';
import { runChecked } from '../src/util/run-process.ts';
import { applyService, hostAddress } from '../test/helpers/service-endpoints.ts';
import { eventually, freePort, suiteContext, UPLINK_BIN } from '../test/helpers/uplink.ts';
import { alternate } from './alternate-rounds.ts';
import { load, median, printCpu, readStream, type Run } from './portforward-measure.ts';
import { cluster, clusterPids, profileEnv, startLinkedHub } from './portforward-rig.ts';
import { startSource } from './portforward-source.ts';

const STREAM_MIB = Number(process.env.BENCH_FWD_MIB ?? 512);
const ROUNDS = Number(process.env.BENCH_FWD_ROUNDS ?? 5);
const PROFILE_DIR = process.env.BENCH_FWD_PROFILE_DIR;
/** Target: through the link at least this share of a plain copy's throughput. */
const MIN_RATIO = 0.6;
const CLUSTER = 'bench-fwd';
const SERVICE = 'sink';
const SERVICE_PORT = 9000;
// A namespace per run: the previous run's may still be terminating.
const NAMESPACE = `uplink-bench-fwd-${Date.now().toString(36)}`;

/** `uplink forward` to the Service, as the hub's admin; resolves with the CLI's pid and local port once it listens. */
async function startCli(t: TestContext, cliConfig: string): Promise<{ pid: number; port: number; stop: () => Promise<void> }> {
  const local = await freePort();
  const env = { ...process.env, UPLINK_CLI_CONFIG: cliConfig, ...profileEnv(PROFILE_DIR) };
  const child = spawn(UPLINK_BIN, ['forward', CLUSTER, `svc/${SERVICE}`, '-n', NAMESPACE, `${local}:${SERVICE_PORT}`], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString(); });
  child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString(); });
  // Ctrl-C, so that a CPU profile is written.
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGINT');
    await exited;
  };
  t.after(stop);
  await eventually('uplink forward to listen', 30_000, () => {
    if (child.exitCode !== null) throw new Error(`uplink forward exited: ${output}`);
    return output.includes(`Forwarding 127.0.0.1:${local}`) ? true : undefined;
  });
  return { pid: child.pid ?? 0, port: local, stop };
}

function printThroughput(labels: string[], runs: Run[][]): void {
  const [plain, viaLink] = runs.map((r) => median(r.map((run) => run.mibs))) as [number, number];
  console.log(`\n${'path'.padEnd(28)} ${'median'.padStart(12)} ${'min'.padStart(12)} ${'max'.padStart(12)}  ${'of plain'.padStart(8)}`);
  for (const [index, label] of labels.entries()) {
    const values = (runs[index] ?? []).map((run) => run.mibs);
    const value = median(values);
    const cells = [value, Math.min(...values), Math.max(...values)].map((v) => `${v.toFixed(0)} MiB/s`.padStart(12));
    console.log(`${label.padEnd(28)} ${cells.join(' ')}  ${`${((value / plain) * 100).toFixed(0)} %`.padStart(8)}`);
  }
  const ratio = viaLink / plain;
  console.log(`\ntarget: through the link ≥ ${MIN_RATIO * 100} % of a plain copy: ${ratio >= MIN_RATIO ? 'met' : 'MISSED'} (${(ratio * 100).toFixed(0)} %)`);
}

async function main(): Promise<void> {
  const kubeconfig = cluster('start').split('\n').pop() ?? '';
  const kubectl = (args: string[]): Promise<unknown> => runChecked(`${cluster('bin')}/kubectl`, ['--kubeconfig', kubeconfig, ...args], { timeoutMs: 70_000 });
  const { t, runCleanups } = suiteContext('forward-bench');
  const host = hostAddress();
  const source = await startSource(STREAM_MIB, { host, port: 0 });
  t.after(() => { source.stop(); });
  const startLoad = load();
  try {
    t.after(() => kubectl(['delete', 'namespace', NAMESPACE, '--wait=false']));
    await kubectl(['create', 'namespace', NAMESPACE]);
    await applyService(NAMESPACE, SERVICE, host, [{ name: 'stream', port: SERVICE_PORT, target: source.port }]);
    const { hub, agent } = await startLinkedHub(t, { kubeconfig, clusterName: CLUSTER, profileDir: PROFILE_DIR });
    const cli = await startCli(t, hub.cliConfig);
    const { 'kube-apiserver': apiServer } = clusterPids(kubeconfig);
    const pids: Record<string, number> = {
      'uplink forward': cli.pid, hub: hub.process.child.pid ?? 0, agent: agent.process.child.pid ?? 0,
      'kube-apiserver': apiServer ?? 0, 'source (server)': source.pid, 'bench (client)': process.pid,
    };
    const paths = [
      { label: 'plain TCP copy', read: () => readStream({ label: 'plain', host, port: source.port, mib: STREAM_MIB, pids }) },
      { label: 'uplink forward', read: () => readStream({ label: 'uplink forward', port: cli.port, mib: STREAM_MIB, pids }) },
    ];
    const runs = await alternate(paths.map((path) => path.read), ROUNDS + 1);
    const measured = runs.map((r) => r.slice(1)); // the first round warms buffers and connections
    console.log(`\nuplink forward vs a plain TCP copy: one ${STREAM_MIB} MiB stream, ${ROUNDS} runs each (+1 warm-up), node ${process.versions.node}, ${cpus().length} cores`);
    printThroughput(paths.map((p) => p.label), measured);
    printCpu(['plain', 'forward'], measured, Object.keys(pids));
    if (PROFILE_DIR !== undefined) {
      // Stopped gently so that they write their CPU profiles.
      await cli.stop();
      await agent.process.stop('SIGTERM');
      await hub.process.stop('SIGTERM');
      console.log(`\nCPU profiles of the CLI, the hub and the agent: ${PROFILE_DIR}`);
    }
  } finally {
    console.log(`\nload average (1, 5, 15 min): ${startLoad} at the start, ${load()} at the end`);
    await runCleanups();
  }
}

await main();
