// The link alone, no cluster: two processes on loopback, this one the hub
// side and a forked bench/link-agent.ts the agent side, linked by the real
// code of src/link/ (dialHub, HubSession, AgentSession: wss:// with TLS
// verified against the hub's pinned CA, then node:http2 over the WebSocket's
// bytes, the agent the HTTP/2 server). Next to each figure, the same between
// the same two processes without the link: a plain TCP copy, TLS over TCP,
// and the link's own HTTP/2 settings over a bare loopback connection, h2c and
// over TLS. Measures one stream's throughput (with both processes' CPU per
// GiB), small-request latency, also while another stream floods the same
// session (head-of-line blocking), and 100 and 1,000 concurrent streams.
// Run with:  scripts/bench.sh link      (BENCH_LINK_MIB, BENCH_LINK_ROUNDS)
// See docs/benchmarks.md.
import { cpus, loadavg, totalmem } from 'node:os';
import {
  concurrentBulk, concurrentSmall, copyBytes, getBulk, mibPerSecond, sequentialSmall, startFlood, withCpu,
  type Concurrent, type Requester, type Timed,
} from './link-measure.ts';
import { setUp, type Paths } from './link-setup.ts';
import { median, percentile } from './link-shared.ts';

const MIB = 1024 * 1024;
const BULK_BYTES = Number(process.env.BENCH_LINK_MIB ?? 512) * MIB;
const ROUNDS = Number(process.env.BENCH_LINK_ROUNDS ?? 3);
const SMALL_REQUESTS = 2000;
const STREAM_COUNTS = [100, 1000];
const STREAM_BYTES = MIB;
const SMALL_TOTAL = 20_000;
const THROUGHPUT_TARGET = 0.4;
const FLOODED_P99_TARGET_MS = 20;

function fmt(value: number, digits = 1): string {
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function row(cells: string[], widths: number[]): string {
  return cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join('  ');
}

/** The HTTP/2 paths, in column order: the two direct ones, then the link. */
const H2_PATHS = ['h2c', 'h2tls', 'link', 'linkWs'] as const;
type H2Path = (typeof H2_PATHS)[number];
const H2_HEADER = ['direct h2c', 'h2 + TLS', 'link (h2)', 'link (ws)', 'link/h2c'];
const WIDE = [44, 13, 13, 13, 13, 9];

interface Transfer {
  rate: number;
  /** CPU milliseconds per GiB moved, in this process (the hub side) and in the agent side's. */
  hubCpu: number;
  agentCpu: number;
}

async function throughput(paths: Paths): Promise<number> {
  const kinds = ['tcp', 'tls', 'h2c', 'h2tls', 'link', 'linkWs'] as const;
  const runs = new Map<string, Transfer[]>(kinds.map((kind) => [kind, []]));
  const transfer = (kind: (typeof kinds)[number]): Promise<Timed> => {
    if (kind === 'tcp') return copyBytes(paths.ready.tcpPort, BULK_BYTES);
    if (kind === 'tls') return copyBytes(paths.ready.tlsPort, BULK_BYTES, paths.caPem);
    return getBulk(paths[kind], BULK_BYTES);
  };
  // Round 0 warms up (JIT, buffers, windows); the paths alternate so drift on the machine hits all alike.
  for (let round = 0; round <= ROUNDS; round++) {
    for (const kind of kinds) {
      const { result, hubCpuMs, agentCpuMs } = await withCpu(paths.agentPid, () => transfer(kind));
      const perGiB = (1024 * MIB) / result.bytes;
      if (round > 0) runs.get(kind)?.push({ rate: mibPerSecond(result), hubCpu: hubCpuMs * perGiB, agentCpu: agentCpuMs * perGiB });
    }
  }
  const of = (kind: string, figure: (t: Transfer) => number): number => median((runs.get(kind) ?? []).map(figure));
  const rate = (kind: string): number => of(kind, (t) => t.rate);
  const tcp = rate('tcp');
  const widths = [54, 8, 7, 12, 12];
  console.log(`\n1. One stream, ${BULK_BYTES / MIB} MiB from the agent side to the hub side (median of ${ROUNDS} rounds, paths alternated);`);
  console.log('   CPU: milliseconds of CPU per GiB moved, in each process');
  console.log(row(['path', 'MiB/s', 'of TCP', 'hub CPU', 'agent CPU'], widths));
  const lines: [string, string][] = [
    ['plain TCP copy (net sockets, 64 KiB writes): baseline', 'tcp'],
    ['TLS over TCP (the hub certificate, verified)', 'tls'],
    ['HTTP/2 over TCP, h2c (link settings, no WebSocket)', 'h2c'],
    ['HTTP/2 over TLS (link settings, no WebSocket)', 'h2tls'],
    ['link: HTTP/2 on the upgraded TLS socket (h2, default)', 'link'],
    ['link: HTTP/2 over the WebSocket over TLS (fallback)', 'linkWs'],
  ];
  for (const [name, kind] of lines) {
    const cpu = [fmt(of(kind, (t) => t.hubCpu), 0), fmt(of(kind, (t) => t.agentCpu), 0)];
    console.log(row([name, fmt(rate(kind), 0), `${fmt((100 * rate(kind)) / tcp, 0)} %`, ...cpu], widths));
  }
  return rate('link') / tcp;
}

function printRow(name: string, values: Record<H2Path, number>, unit: string, digits: number): void {
  const cells = H2_PATHS.map((path) => `${fmt(values[path], digits)} ${unit}`);
  console.log(row([name, ...cells, `${fmt(values.link / values.h2c, 2)}x`], WIDE));
}

function perPath<T>(make: () => T): Record<H2Path, T> {
  return { h2c: make(), h2tls: make(), link: make(), linkWs: make() };
}

/** Sequential small GETs, idle and with a flooding stream on the same session; returns the link's flooded p99. */
async function latency(paths: Paths): Promise<number> {
  const idle = perPath<number[]>(() => []);
  const flooded = perPath<number[]>(() => []);
  const floodRate = perPath<number[]>(() => []);
  for (const path of H2_PATHS) await sequentialSmall(paths[path], 200); // warm-up
  // In blocks, the paths alternating, so drift on the machine hits all alike.
  for (let block = 0; block < SMALL_REQUESTS / 100; block++) {
    for (const path of H2_PATHS) idle[path].push(...await sequentialSmall(paths[path], 100));
  }
  for (let block = 0; block < 2; block++) {
    for (const path of H2_PATHS) {
      const flood = await startFlood(paths[path]);
      flooded[path].push(...await sequentialSmall(paths[path], SMALL_REQUESTS / 2));
      floodRate[path].push(mibPerSecond(flood.stop()));
    }
  }
  console.log(`\n2. Small GETs, ${SMALL_REQUESTS} one after another on one HTTP/2 session per path; flooded: another stream`);
  console.log('   on the same session downloads without pause meanwhile (head-of-line blocking)');
  console.log(row(['measure', ...H2_HEADER], WIDE));
  const at = (values: Record<H2Path, number[]>, p: number): Record<H2Path, number> => ({
    h2c: percentile(values.h2c, p), h2tls: percentile(values.h2tls, p), link: percentile(values.link, p), linkWs: percentile(values.linkWs, p),
  });
  printRow('idle session, p50', at(idle, 50), 'ms', 2);
  printRow('idle session, p99', at(idle, 99), 'ms', 2);
  printRow('flooded session, p50', at(flooded, 50), 'ms', 2);
  printRow('flooded session, p99', at(flooded, 99), 'ms', 2);
  printRow('flooded session, max', at(flooded, 100), 'ms', 2);
  printRow('the flooding stream meanwhile', at(floodRate, 50), 'MiB/s', 0);
  return percentile(flooded.link, 99);
}

async function concurrency(paths: Paths): Promise<void> {
  console.log('\n3. Concurrent streams on one HTTP/2 session per path');
  console.log(row(['measure', ...H2_HEADER], WIDE));
  const each = async (run: (request: Requester) => Promise<Concurrent>): Promise<Record<H2Path, Concurrent>> => {
    const results: Partial<Record<H2Path, Concurrent>> = {};
    for (const path of H2_PATHS) results[path] = await run(paths[path]);
    return results as Record<H2Path, Concurrent>;
  };
  const figure = (results: Record<H2Path, Concurrent>, of: (c: Concurrent) => number): Record<H2Path, number> => ({
    h2c: of(results.h2c), h2tls: of(results.h2tls), link: of(results.link), linkWs: of(results.linkWs),
  });
  await each((request) => concurrentBulk(request, 100, STREAM_BYTES)); // warm-up
  for (const streams of STREAM_COUNTS) {
    const results = await each((request) => concurrentBulk(request, streams, STREAM_BYTES));
    const name = `${fmt(streams, 0)} streams x ${STREAM_BYTES / MIB} MiB`;
    printRow(`${name}, aggregate`, figure(results, (c) => c.bytes / MIB / (c.ms / 1000)), 'MiB/s', 0);
    printRow(`${name}, per stream p50`, figure(results, (c) => percentile(c.times, 50)), 'ms', 0);
    printRow(`${name}, per stream p99`, figure(results, (c) => percentile(c.times, 99)), 'ms', 0);
  }
  for (const streams of STREAM_COUNTS) {
    const results = await each((request) => concurrentSmall(request, streams, SMALL_TOTAL));
    const name = `${fmt(streams, 0)} streams, ${fmt(SMALL_TOTAL, 0)} small GETs`;
    printRow(`${name}, rate`, figure(results, (c) => c.requests / (c.ms / 1000)), 'req/s', 0);
    printRow(`${name}, p50`, figure(results, (c) => percentile(c.times, 50)), 'ms', 1);
    printRow(`${name}, p99`, figure(results, (c) => percentile(c.times, 99)), 'ms', 1);
  }
}

function loadAverage(): string {
  return loadavg().map((load) => fmt(load, 2)).join(' ');
}

async function main(): Promise<void> {
  const cpu = cpus();
  console.log(`link benchmark: ${cpu.length} cores (${cpu[0]?.model.trim() ?? 'unknown'}), ${fmt(totalmem() / 1024 ** 3, 0)} GiB, `
    + `node ${process.versions.node}, OpenSSL ${process.versions.openssl}`);
  console.log('two processes on loopback: this one the hub side, a forked one the agent side (as bin/uplink runs the agent);');
  console.log(`bulk data flows agent -> hub, as kubectl and log answers do; load average at start: ${loadAverage()}`);
  const paths = await setUp();
  const started = performance.now();
  try {
    const share = await throughput(paths);
    const floodedP99 = await latency(paths);
    await concurrency(paths);
    console.log('');
    console.log(`target: one stream through the link >= ${THROUGHPUT_TARGET * 100} % of the plain TCP copy: `
      + `${share >= THROUGHPUT_TARGET ? 'PASS' : 'FAIL'} (${fmt(share * 100, 0)} %)`);
    console.log(`target: small GET p99 < ${FLOODED_P99_TARGET_MS} ms through the link while another stream floods it: `
      + `${floodedP99 < FLOODED_P99_TARGET_MS ? 'PASS' : 'FAIL'} (${fmt(floodedP99, 2)} ms)`);
    console.log(`(measured in ${fmt((performance.now() - started) / 1000, 0)} s; load average at the end: ${loadAverage()})`);
  } finally {
    await paths.stop();
  }
}

await main();
