// The hub under many agents: one real hub process, thousands of simulated
// agents (the agent's own link code, synthetic cluster facts) in a few
// worker processes. Prints the hub's RSS and CPU at each fleet size, with 15 s
// heartbeats, and the latency of the fleet list (GET /api/v1/clusters) under
// that load, next to the same hub with no agent linked.
//   scripts/bench.sh fleet               1,000 then 5,000 agents (about 7 min)
//   scripts/bench.sh fleet --soak 600    1,000 agents held for 10 min: does RSS grow?
// See docs/benchmarks.md. Needs no Kubernetes cluster.
import { parseArgs } from 'node:util';
import {
  count, cpuPerList, kib, mib, ms, p, printTable, ratio, sampleFleetList, scrapeCost, sleep, verdict, watchHub,
  type HubWindow, type ListLatency, type ScrapeCost,
} from './sim/measure.ts';
import { describeMachine, describeTransports, hubMetric, linkAgents, startRig, stopRig, type Rig } from './sim/rig.ts';
import { runSoak } from './sim/soak.ts';

const env = (name: string, fallback: number): number => Number(process.env[name] ?? fallback);
const LEVELS = (process.env.BENCH_FLEET_LEVELS ?? '1000,5000').split(',').map(Number);
const WORKERS = env('BENCH_FLEET_WORKERS', 4);
/** Agents started per second while ramping up. */
const RAMP_PER_SECOND = env('BENCH_FLEET_RAMP', 200);
/** After a ramp: every agent past a heartbeat, the ramp's garbage collected. */
const SETTLE_SECONDS = env('BENCH_FLEET_SETTLE', 20);
/** The CPU and RSS window at each fleet size: four heartbeat rounds. */
const WINDOW_SECONDS = env('BENCH_FLEET_WINDOW', 60);
const IDLE_SECONDS = env('BENCH_FLEET_IDLE', 15);
const LIST_SAMPLES = env('BENCH_FLEET_LIST_SAMPLES', 100);
const LIST_INTERVAL_MS = env('BENCH_FLEET_LIST_INTERVAL_MS', 400);

const TARGET_RSS_BYTES = 2 * 1024 ** 3;
const TARGET_CORES = 1;
const TARGET_LIST_P99_MS = 200;

/** The hub at one stage: the window with agents only, then /metrics, then the fleet list polled. */
interface Stage {
  window: HubWindow;
  list: ListLatency;
  scrape: ScrapeCost;
}

interface Level extends Stage {
  agents: number;
  linkSeconds: number;
  heartbeatsPerSecond: number;
  dropped: number;
  /** The sim workers' CPU over the window: what the hub shared the machine with. */
  simsCores: number;
}

async function measureLevel(rig: Rig, agents: number, linkSeconds: number): Promise<Level> {
  await sleep(SETTLE_SECONDS * 1000);
  const beatsBefore = await hubMetric(rig.hub, 'uplink_hub_heartbeats_total');
  const dropsBefore = rig.fleet.totals().drops;
  const simsBefore = rig.fleet.cpuSeconds();
  const window = await watchHub(rig.hub, WINDOW_SECONDS);
  const simsCores = (rig.fleet.cpuSeconds() - simsBefore) / window.seconds;
  const beats = (await hubMetric(rig.hub, 'uplink_hub_heartbeats_total')) - beatsBefore;
  const dropped = rig.fleet.totals().drops - dropsBefore;
  const scrape = await scrapeCost(rig.hub);
  const list = await sampleFleetList(rig.hub, LIST_SAMPLES, LIST_INTERVAL_MS);
  console.log(`${count(agents)} agents: CPU ${window.cores.toFixed(3)} cores, RSS ${mib(window.rssMedianBytes)}, fleet list p99 ${ms(p(list.ms, 99))}`);
  return { agents, linkSeconds, window, heartbeatsPerSecond: beats / window.seconds, dropped, list, scrape, simsCores };
}

/** The hub with no agent linked: the same window, list and scrape. */
async function measureQuiet(rig: Rig): Promise<Stage> {
  const window = await watchHub(rig.hub, IDLE_SECONDS);
  const scrape = await scrapeCost(rig.hub);
  return { window, scrape, list: await sampleFleetList(rig.hub, LIST_SAMPLES, LIST_INTERVAL_MS) };
}

function printResults(idle: Stage, levels: Level[], after: Stage): void {
  const header = ['measure', 'no agents', ...levels.map((l) => `${count(l.agents)} linked`), 'agents gone', 'ratio'];
  const last = levels.at(-1);
  if (!last) return;
  // Per agent added since the stage before: the first agents also pay for code warmed up and heaps grown once.
  const perAdded = (value: (s: Stage) => number) => (l: Level): string => {
    const previous = levels[levels.indexOf(l) - 1];
    return kib((value(l) - value(previous ?? idle)) / (l.agents - (previous?.agents ?? 0)));
  };
  const row = (name: string, none: string, each: (l: Level) => string, gone: string, r: string): string[] => [name, none, ...levels.map(each), gone, r];
  console.log(`\nThe hub under many agents (${count(idle.list.items)} clusters registered, heartbeats every 15 s, ${describeMachine()})`);
  printTable(header, [
    row('hub RSS (median over the window)', mib(idle.window.rssMedianBytes), (l) => mib(l.window.rssMedianBytes), mib(after.window.rssMedianBytes),
      ratio(last.window.rssMedianBytes, idle.window.rssMedianBytes)),
    row('hub RSS per agent added', '', perAdded((st) => st.window.rssMedianBytes), '', ''),
    row('hub JS heap used (end of the window)', mib(idle.scrape.heapUsedBytes), (l) => mib(l.scrape.heapUsedBytes), mib(after.scrape.heapUsedBytes), ''),
    row('hub peak RSS so far (VmHWM)', mib(idle.window.peakRssBytes), (l) => mib(l.window.peakRssBytes), mib(after.window.peakRssBytes), ''),
    row(`hub CPU, average cores over ${WINDOW_SECONDS} s`, idle.window.cores.toFixed(3), (l) => l.window.cores.toFixed(3), after.window.cores.toFixed(3), ''),
    row('hub CPU while polling the fleet list', idle.list.cores.toFixed(3), (l) => l.list.cores.toFixed(3), after.list.cores.toFixed(3), ''),
    row(`sim workers' CPU (${WORKERS} processes, not the hub)`, '', (l) => l.simsCores.toFixed(3), '', ''),
    row('heartbeats received per second', '0', (l) => l.heartbeatsPerSecond.toFixed(1), '0', ''),
    row('links dropped during the window', '', (l) => String(l.dropped), '', ''),
    row(`fleet list p50 (${LIST_SAMPLES} GETs)`, ms(p(idle.list.ms, 50)), (l) => ms(p(l.list.ms, 50)), ms(p(after.list.ms, 50)),
      ratio(p(last.list.ms, 50), p(after.list.ms, 50))),
    row('fleet list p90', ms(p(idle.list.ms, 90)), (l) => ms(p(l.list.ms, 90)), ms(p(after.list.ms, 90)), ratio(p(last.list.ms, 90), p(after.list.ms, 90))),
    row('fleet list p99', ms(p(idle.list.ms, 99)), (l) => ms(p(l.list.ms, 99)), ms(p(after.list.ms, 99)), ratio(p(last.list.ms, 99), p(after.list.ms, 99))),
    row('fleet list max', ms(Math.max(...idle.list.ms)), (l) => ms(Math.max(...l.list.ms)), ms(Math.max(...after.list.ms)), ''),
    row('hub CPU per fleet list', ms(cpuPerList(idle.list, idle.window.cores)), (l) => ms(cpuPerList(l.list, l.window.cores)),
      ms(cpuPerList(after.list, after.window.cores)), ratio(cpuPerList(last.list, last.window.cores), cpuPerList(after.list, after.window.cores))),
    row('fleet list answer size', mib(idle.list.bytes), (l) => mib(l.list.bytes), mib(after.list.bytes), ''),
    row('GET /metrics, median of 5', ms(idle.scrape.ms), (l) => ms(l.scrape.ms), ms(after.scrape.ms), ''),
    row('GET /metrics, size', kib(idle.scrape.bytes), (l) => kib(l.scrape.bytes), kib(after.scrape.bytes), ''),
    row('ramp: agents linked per second', '', (l) => (l.agents / l.linkSeconds).toFixed(0), '', ''),
  ], 40, 14);
  console.log('"no agents": the clusters registered, none ever linked. "agents gone": the same hub after every agent disconnected,');
  console.log(`so the list carries the same stored facts without live links. ratio: ${count(last.agents)} linked over "no agents" for RSS,`);
  console.log('over "agents gone" for the fleet list (same answer, with and without the load).');
  const rssOk = last.window.peakRssBytes < TARGET_RSS_BYTES;
  const cpuOk = last.window.cores < TARGET_CORES;
  const listOk = p(last.list.ms, 99) < TARGET_LIST_P99_MS;
  console.log(`\ntarget: hub RSS at ${count(last.agents)} agents < 2 GiB: ${verdict(rssOk)} (peak ${mib(last.window.peakRssBytes)}, median ${mib(last.window.rssMedianBytes)})`);
  console.log(`target: hub CPU at ${count(last.agents)} agents < 1 core average: ${verdict(cpuOk)} (${last.window.cores.toFixed(3)} cores over ${last.window.seconds.toFixed(0)} s)`);
  console.log(`target: fleet list p99 at ${count(last.agents)} agents < 200 ms: ${verdict(listOk)} (${ms(p(last.list.ms, 99))})`);
  if (!(rssOk && cpuOk && listOk)) process.exitCode = 1;
}

async function runLevels(): Promise<void> {
  const max = Math.max(...LEVELS);
  const rig = await startRig({ clusters: max, workers: WORKERS });
  try {
    await sleep(5_000);
    const idle = await measureQuiet(rig);
    console.log(`no agents: CPU ${idle.window.cores.toFixed(3)} cores, RSS ${mib(idle.window.rssMedianBytes)}, fleet list p99 ${ms(p(idle.list.ms, 99))}`);
    const levels: Level[] = [];
    let linked = 0;
    for (const agents of LEVELS) {
      const seconds = await linkAgents(rig, rig.clusters.slice(linked, agents), agents, RAMP_PER_SECOND);
      console.log(`linked ${count(agents - linked)} more agents (${count(agents)} in all) in ${seconds.toFixed(1)} s`);
      linked = agents;
      levels.push(await measureLevel(rig, agents, seconds));
    }
    const totals = rig.fleet.totals();
    await rig.fleet.stopAll();
    await sleep(5_000);
    const after = await measureQuiet(rig);
    printResults(idle, levels, after);
    console.log(`sims: ${count(totals.heartbeats)} heartbeats sent, link attempts ${JSON.stringify(totals.attempts)}, ${totals.gaveUp} gave up, `
      + `${WORKERS} worker processes at ${mib(totals.workerRssBytes)} RSS in all; ${describeTransports(rig)}`);
  } finally {
    await stopRig(rig);
  }
}

const { values } = parseArgs({ options: { soak: { type: 'string' }, churn: { type: 'string' } } });
if (values.soak !== undefined) {
  await runSoak({ seconds: Number(values.soak), churnPerMinute: Number(values.churn ?? 10), workers: WORKERS, rampPerSecond: RAMP_PER_SECOND });
} else {
  await runLevels();
}
