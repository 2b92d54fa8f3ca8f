// The Service gateway (https://HUB/gw/<cluster>/<name>/…) vs the same HTTP
// server reached directly, in one run. The server (gateway-server.ts, a
// process of its own) listens on this machine's non-loopback address; the
// test cluster reaches it through a selector-less Service and a hand-made
// EndpointSlice, exposed through the API (gateway-rig.ts). The bench, as a
// user with the view role and an API token (Bearer), measures:
// - one BENCH_GW_MIB MiB download, straight from the server and through the
//   gateway (client -TLS-> hub -link-> agent -> server): MiB/s;
// - BENCH_GW_GETS small GETs (about 100 bytes) one after another on a
//   kept-alive connection, each way: latency p50 and p99;
// - for both, the CPU time of the hub, the agent, the server and the bench
//   (/proc/PID/stat), per MiB and per request: where the time goes.
// Rounds alternate the two paths, each round starting with the next one, so
// drift on the machine hits both alike; the first round warms connections
// and is dropped. The load average is printed at the start and the end.
//
// Run with: node bench/gateway.ts (needs the running test cluster). Knobs:
// BENCH_GW_MIB (100), BENCH_GW_ROUNDS (5), BENCH_GW_GETS (2000 a path, over
// the rounds), BENCH_GW_PROFILE_DIR (the hub and the agent write a
// .cpuprofile there when they stop). See docs/benchmarks.md.
import http from 'node:http';
import https from 'node:https';
import { cpus } from 'node:os';
import { percentile } from '../test/helpers/resources.ts';
import { eventually, suiteContext } from '../test/helpers/uplink.ts';
import { alternate } from './alternate-rounds.ts';
import { startGatewayRig } from './gateway-rig.ts';
import { SMALL_BODY, startBenchServer } from './gateway-server.ts';
import { load, median } from './portforward-measure.ts';
import { cpuNow, cpuSince, stopForProfiles } from './process-cpu.ts';

const MIB = 1024 * 1024;
const DOWNLOAD_MIB = Number(process.env.BENCH_GW_MIB ?? 100);
const ROUNDS = Number(process.env.BENCH_GW_ROUNDS ?? 5);
const GETS = Number(process.env.BENCH_GW_GETS ?? 2000);
const PROFILE_DIR = process.env.BENCH_GW_PROFILE_DIR;
/** A request that takes longer is a failure, not a figure. */
const REQUEST_TIMEOUT_MS = 120_000;
/** Targets: a download through the gateway at least this share of direct; small GETs' p50 at most this much slower. */
const TARGET = { downloadRatio: 0.6, p50ExtraMs: 2 } as const;

/** One way to the server: its base URL, a kept-alive client with one connection, and the headers it sends. */
interface Path {
  label: string;
  base: string;
  client: http.Agent;
  headers: Record<string, string>;
}

/** GETs `base + path` on the path's connection; resolves with the status and the bytes of the body. */
function get(way: Path, path: string): Promise<{ status: number; bytes: number }> {
  const url = new URL(way.base + path);
  const request = url.protocol === 'https:' ? https.request : http.request;
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: way.client, headers: way.headers, timeout: REQUEST_TIMEOUT_MS }, (res) => {
      let bytes = 0;
      res.on('data', (chunk: Buffer) => { bytes += chunk.length; });
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, bytes }); });
      res.on('error', reject);
    });
    req.on('timeout', () => { req.destroy(new Error(`${way.label}: GET ${path} took over ${REQUEST_TIMEOUT_MS} ms`)); });
    req.on('error', reject);
    req.end();
  });
}

async function getChecked(way: Path, path: string, bytes: number): Promise<void> {
  const answer = await get(way, path);
  if (answer.status !== 200 || answer.bytes !== bytes) throw new Error(`${way.label}: GET ${path} answered ${answer.status} with ${answer.bytes} of ${bytes} bytes`);
}

interface Download { mibs: number; cpu: Record<string, number> }
interface Gets { ms: number[]; cpu: Record<string, number> }

async function download(way: Path, pids: Record<string, number>): Promise<Download> {
  const before = cpuNow(pids);
  const started = performance.now();
  await getChecked(way, '/big', DOWNLOAD_MIB * MIB);
  const seconds = (performance.now() - started) / 1000;
  return { mibs: DOWNLOAD_MIB / seconds, cpu: cpuSince(pids, before, DOWNLOAD_MIB) };
}

async function smallGets(way: Path, count: number, pids: Record<string, number>): Promise<Gets> {
  const ms: number[] = [];
  const before = cpuNow(pids);
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    await getChecked(way, '/small', SMALL_BODY.length);
    ms.push(performance.now() - started);
  }
  return { ms, cpu: cpuSince(pids, before, count) };
}

const cell = (text: string): string => text.padStart(14);

function printDownloads(labels: string[], runs: Download[][]): boolean {
  console.log(`\n${`${DOWNLOAD_MIB} MiB download`.padEnd(34)} ${['median', 'min', 'max', 'of direct'].map(cell).join('')}`);
  const direct = median((runs[0] ?? []).map((r) => r.mibs));
  let ratio = 0;
  for (const [index, label] of labels.entries()) {
    const values = (runs[index] ?? []).map((r) => r.mibs);
    ratio = median(values) / direct;
    const figures = [median(values), Math.min(...values), Math.max(...values)].map((v) => cell(`${v.toFixed(0)} MiB/s`));
    console.log(`${label.padEnd(34)} ${figures.join('')}${cell(`${(ratio * 100).toFixed(0)} %`)}`);
  }
  console.log(`target: through the gateway ≥ ${TARGET.downloadRatio * 100} % of direct: ${ratio >= TARGET.downloadRatio ? 'met' : 'MISSED'} (${(ratio * 100).toFixed(0)} %)`);
  return ratio >= TARGET.downloadRatio;
}

function printGets(labels: string[], runs: Gets[][]): boolean {
  const all = runs.map((r) => r.flatMap((run) => run.ms));
  console.log(`\n${`small GETs (${SMALL_BODY.length} B, kept alive)`.padEnd(34)} ${['p50', 'p99', 'count'].map(cell).join('')}`);
  for (const [index, label] of labels.entries()) {
    const values = all[index] ?? [];
    console.log(`${label.padEnd(34)} ${[`${percentile(values, 50).toFixed(2)} ms`, `${percentile(values, 99).toFixed(2)} ms`, String(values.length)].map(cell).join('')}`);
  }
  const [direct = [], viaGateway = []] = all;
  const extra = percentile(viaGateway, 50) - percentile(direct, 50);
  const extra99 = percentile(viaGateway, 99) - percentile(direct, 99);
  console.log(`${'difference'.padEnd(34)} ${[`+${extra.toFixed(2)} ms`, `+${extra99.toFixed(2)} ms`].map(cell).join('')}`);
  console.log(`target: small GET p50 through the gateway within +${TARGET.p50ExtraMs} ms of direct: ${extra <= TARGET.p50ExtraMs ? 'met' : 'MISSED'} (+${extra.toFixed(2)} ms)`);
  return extra <= TARGET.p50ExtraMs;
}

/** CPU per unit of each process, median over the runs of each path. */
function printCpu(title: string, unit: string, labels: string[], runs: { cpu: Record<string, number> }[][], names: string[]): void {
  console.log(`\n${title} (user + system, median of the runs; a process off a path shows its idle cost)`);
  console.log(`${'process'.padEnd(20)} ${labels.map(cell).join('')}`);
  for (const name of names) {
    const cells = labels.map((_, index) => cell(`${median((runs[index] ?? []).map((run) => run.cpu[name] ?? 0)).toFixed(3)} ${unit}`));
    console.log(`${name.padEnd(20)} ${cells.join('')}`);
  }
}

async function main(): Promise<void> {
  const { t, runCleanups } = suiteContext('gateway');
  const startLoad = load();
  try {
    const server = await startBenchServer(DOWNLOAD_MIB);
    t.after(() => { server.stop(); });
    const rig = await startGatewayRig(t, { server, profileDir: PROFILE_DIR });
    const paths: Path[] = [
      { label: 'direct (HTTP to the server)', base: `http://${server.host}:${server.port}`, client: new http.Agent({ keepAlive: true, maxSockets: 1 }), headers: {} },
      {
        label: 'through the gateway (HTTPS)', base: rig.gatewayBase, headers: { authorization: `Bearer ${rig.token}` },
        client: new https.Agent({ keepAlive: true, maxSockets: 1, ca: rig.ca }),
      },
    ];
    t.after(() => { for (const path of paths) path.client.destroy(); });
    // The agent applies the exposure set the hub pushed a moment after the create.
    await eventually('the gateway to reach the server', 60_000, async () => ((await get(paths[1] as Path, '/small')).status === 200 ? true : undefined));
    const pids = { hub: rig.hub.process.child.pid ?? 0, agent: rig.agent.process.child.pid ?? 0, server: server.pid, 'bench (client)': process.pid };
    const labels = paths.map((p) => p.label);
    const downloads = (await alternate(paths.map((path) => () => download(path, pids)), ROUNDS + 1)).map((r) => r.slice(1));
    const perRound = Math.ceil(GETS / ROUNDS);
    const gets = (await alternate(paths.map((path) => () => smallGets(path, perRound, pids)), ROUNDS + 1)).map((r) => r.slice(1));
    console.log(`\nService gateway vs the same HTTP server directly: ${ROUNDS} rounds each (+1 warm-up), alternating; node ${process.versions.node}, ${cpus().length} cores`);
    const met = [printDownloads(labels, downloads), printGets(labels, gets)];
    printCpu('CPU per MiB downloaded', 'ms', ['direct', 'gateway'], downloads, Object.keys(pids));
    printCpu('CPU per small GET', 'ms', ['direct', 'gateway'], gets, Object.keys(pids));
    console.log(`\ntargets: ${met.every(Boolean) ? 'all met' : 'NOT all met'}`);
    await stopForProfiles([rig.agent.process, rig.hub.process], PROFILE_DIR);
  } finally {
    console.log(`\nload average (1, 5, 15 min): ${startLoad} at the start, ${load()} at the end`);
    await runCleanups();
  }
}

await main();
