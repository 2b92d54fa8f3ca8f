// The fleet bench's table: each stage of one hub side by side (no agents,
// each fleet size, agents gone), its memory split the way the hub holds it,
// the fleet list by page and whole, and the verdicts against the targets.
import type { MemoryReading } from './inspector.ts';
import {
  count, cpuPerList, kib, mib, ms, p, printTable, ratio, verdict,
  type HubWindow, type ListLatency, type ListWalk, type ScrapeCost,
} from './measure.ts';
import { describeMachine } from './rig.ts';

const TARGET_RSS_BYTES = 2 * 1024 ** 3;
const TARGET_CORES = 1;
const TARGET_LIST_P99_MS = 200;
/** RSS after every agent left, at most this much above the idle hub's. */
const TARGET_GONE_OVER_IDLE = 1.25;

/** The hub at one stage: the window with agents only, then /metrics, the fleet list polled and walked, then its memory. */
export interface Stage {
  window: HubWindow;
  list: ListLatency;
  walk: ListWalk;
  scrape: ScrapeCost;
  /** Through the inspector: as the hub holds it, then after a forced full GC. */
  memory: MemoryReading | undefined;
}

export interface Level extends Stage {
  agents: number;
  linkSeconds: number;
  heartbeatsPerSecond: number;
  dropped: number;
  /** The sim workers' CPU over the window: what the hub shared the machine with. */
  simsCores: number;
}

export interface FleetResults {
  idle: Stage;
  levels: Level[];
  gone: Stage;
  workers: number;
  windowSeconds: number;
  listSamples: number;
  walkSamples: number;
}

type Row = string[];

function memoryRows(row: (name: string, value: (s: Stage) => string, last?: string) => Row): Row[] {
  const inspected = (value: (m: MemoryReading) => number) => (s: Stage): string => (s.memory ? mib(value(s.memory)) : 'n/a');
  return [
    row('JS heap used', inspected((m) => m.before.heapUsed)),
    row('JS heap committed (V8 heapTotal)', inspected((m) => m.before.heapTotal)),
    row('external (Buffers, native objects)', inspected((m) => m.before.external)),
    row('  of which ArrayBuffers and Buffers', inspected((m) => m.before.arrayBuffers)),
    row('RSS outside V8 heap and external', inspected((m) => m.before.rss - m.before.heapTotal - m.before.external)),
    row('after a forced full GC: JS heap used', inspected((m) => m.afterGc.heapUsed)),
    row('after a forced full GC: external', inspected((m) => m.afterGc.external)),
    row('after a forced full GC: RSS', inspected((m) => m.afterGc.rss)),
  ];
}

function listRows(r: FleetResults, row: (name: string, value: (s: Stage) => string, last?: string) => Row): Row[] {
  const last = r.levels.at(-1);
  const vsGone = (value: (s: Stage) => number): string => (last ? ratio(value(last), value(r.gone)) : '');
  return [
    row(`fleet list, one page: p50 (${r.listSamples} GETs)`, (s) => ms(p(s.list.ms, 50)), vsGone((s) => p(s.list.ms, 50))),
    row('fleet list, one page: p90', (s) => ms(p(s.list.ms, 90)), vsGone((s) => p(s.list.ms, 90))),
    row('fleet list, one page: p99', (s) => ms(p(s.list.ms, 99)), vsGone((s) => p(s.list.ms, 99))),
    row('fleet list, one page: max', (s) => ms(Math.max(...s.list.ms))),
    row('fleet list, one page: clusters', (s) => count(s.list.items)),
    row('fleet list, one page: size', (s) => kib(s.list.bytes)),
    row('hub CPU per page', (s) => ms(cpuPerList(s.list, s.window.cores)), vsGone((s) => cpuPerList(s.list, s.window.cores))),
    row(`whole fleet, page by page: p50 (${r.walkSamples} reads)`, (s) => ms(p(s.walk.ms, 50)), vsGone((s) => p(s.walk.ms, 50))),
    row('whole fleet, page by page: p99', (s) => ms(p(s.walk.ms, 99)), vsGone((s) => p(s.walk.ms, 99))),
    row('whole fleet: pages, clusters', (s) => `${s.walk.pages}, ${count(s.walk.items)}`),
    row('whole fleet: bytes, largest answer', (s) => `${mib(s.walk.bytes)}, ${kib(s.walk.largestPageBytes)}`),
  ];
}

/** Prints the table and the verdicts; true when every target is met. */
export function printFleetResults(r: FleetResults): boolean {
  const { idle, levels, gone } = r;
  const last = levels.at(-1);
  if (!last) return false;
  const stages: Stage[] = [idle, ...levels, gone];
  const header = ['measure', 'no agents', ...levels.map((l) => `${count(l.agents)} linked`), 'agents gone', 'ratio'];
  const row = (name: string, value: (s: Stage) => string, lastCell = ''): Row => [name, ...stages.map(value), lastCell];
  const levelRow = (name: string, value: (l: Level) => string): Row => [name, '', ...levels.map(value), '', ''];
  // Per agent added since the stage before: the first agents also pay for code warmed up and heaps grown once.
  const perAdded = (l: Level): string => {
    const previous = levels[levels.indexOf(l) - 1];
    return kib((l.window.rssMedianBytes - (previous ?? idle).window.rssMedianBytes) / (l.agents - (previous?.agents ?? 0)));
  };
  console.log(`\nThe hub under many agents (${count(last.agents)} clusters registered, heartbeats every 15 s, ${describeMachine()})`);
  printTable(header, [
    row('hub RSS (median over the window)', (s) => mib(s.window.rssMedianBytes),
      `${ratio(last.window.rssMedianBytes, idle.window.rssMedianBytes)} / gone ${ratio(gone.window.rssMedianBytes, idle.window.rssMedianBytes)}`),
    levelRow('hub RSS per agent added', perAdded),
    row('hub peak RSS so far (VmHWM)', (s) => mib(s.window.peakRssBytes)),
    ...memoryRows(row),
    row(`hub CPU, average cores over the window`, (s) => s.window.cores.toFixed(3)),
    row('hub CPU while polling the fleet list', (s) => s.list.cores.toFixed(3)),
    levelRow(`sim workers' CPU (${r.workers} processes, not the hub)`, (l) => l.simsCores.toFixed(3)),
    levelRow('heartbeats received per second', (l) => l.heartbeatsPerSecond.toFixed(1)),
    levelRow('links dropped during the window', (l) => String(l.dropped)),
    ...listRows(r, row),
    row('GET /metrics, median of 5', (s) => ms(s.scrape.ms)),
    row('GET /metrics, size', (s) => kib(s.scrape.bytes)),
    levelRow('ramp: agents linked per second', (l) => (l.agents / l.linkSeconds).toFixed(0)),
  ], 42, 14);
  console.log('"no agents" is the idle hub: started, the clusters registered, no agent ever linked, the fleet list polled as at');
  console.log('every stage. "agents gone": the same hub after every agent disconnected and a settle time, so it holds the same');
  console.log('stored facts without live links. Memory rows come from process.memoryUsage() in the hub (its inspector), read');
  console.log(`after the list polling; "after a forced full GC" is what is really held. ratio: ${count(last.agents)} linked over no agents`);
  console.log('for RSS (and agents gone over no agents); over agents gone for the fleet list (same answer, with and without the load).');
  return printVerdicts(r, last);
}

function printVerdicts(r: FleetResults, last: Level): boolean {
  const { idle, gone } = r;
  const rssOk = last.window.peakRssBytes < TARGET_RSS_BYTES;
  const cpuOk = last.window.cores < TARGET_CORES;
  const listOk = p(last.list.ms, 99) < TARGET_LIST_P99_MS;
  const goneOk = gone.window.rssMedianBytes <= idle.window.rssMedianBytes * TARGET_GONE_OVER_IDLE;
  const at = `at ${count(last.agents)} agents`;
  console.log(`\ntarget: hub RSS ${at} < 2 GiB: ${verdict(rssOk)} (peak ${mib(last.window.peakRssBytes)}, median ${mib(last.window.rssMedianBytes)})`);
  console.log(`target: hub CPU ${at} < 1 core average: ${verdict(cpuOk)} (${last.window.cores.toFixed(3)} cores over ${last.window.seconds.toFixed(0)} s)`);
  console.log(`target: fleet list p99 ${at} < ${TARGET_LIST_P99_MS} ms (one page of ${count(last.list.items)}): ${verdict(listOk)} (${ms(p(last.list.ms, 99))})`);
  console.log(`target: hub RSS after the agents left within 25 % of the idle hub's: ${verdict(goneOk)} `
    + `(${mib(gone.window.rssMedianBytes)} vs ${mib(idle.window.rssMedianBytes)}, ${ratio(gone.window.rssMedianBytes, idle.window.rssMedianBytes)})`);
  return rssOk && cpuOk && listOk && goneOk;
}
