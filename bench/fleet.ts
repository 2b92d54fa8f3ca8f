// The hub under many agents: one real hub process, thousands of simulated
// agents (the agent's own link code, synthetic cluster facts) in a few
// worker processes. Prints the hub's RSS and CPU at each fleet size, with 15 s
// heartbeats, and the latency of the fleet list (GET /api/v1/clusters) under
// that load, next to the same hub with no agent linked and after the agents
// left; its memory as the hub holds it (read through its inspector).
//   scripts/bench.sh fleet               1,000 then 5,000 agents (about 9 min)
//   scripts/bench.sh fleet --soak 600    1,000 agents held for 10 min: does RSS grow?
// See docs/benchmarks.md. Needs no Kubernetes cluster.
import { parseArgs } from 'node:util';
import { printFleetResults, type Level, type Stage } from './sim/fleet-report.ts';
import { HubInspector, readHubMemory } from './sim/inspector.ts';
import {
  count, mib, ms, p, sampleFleetList, scrapeCost, sleep, walkFleetList, watchHub, type HubWindow,
} from './sim/measure.ts';
import { describeTransports, hubMetric, linkAgents, startRig, stopRig, type Rig } from './sim/rig.ts';
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
/** Reads of the whole fleet, page by page, at each stage. */
const WALK_SAMPLES = env('BENCH_FLEET_WALK_SAMPLES', 20);

/** After a stage's window: /metrics, the fleet list polled and walked, then the hub's memory. */
async function measureAfter(rig: Rig, window: HubWindow): Promise<Stage> {
  const scrape = await scrapeCost(rig.hub);
  const list = await sampleFleetList(rig.hub, LIST_SAMPLES, LIST_INTERVAL_MS);
  const walk = await walkFleetList(rig.hub, WALK_SAMPLES);
  const memory = await readHubMemory(rig.hubOptions.logFile);
  return { window, scrape, list, walk, memory };
}

async function measureStage(rig: Rig, seconds: number): Promise<Stage> {
  return measureAfter(rig, await watchHub(rig.hub, seconds));
}

async function measureLevel(rig: Rig, agents: number, linkSeconds: number): Promise<Level> {
  await sleep(SETTLE_SECONDS * 1000);
  const beatsBefore = await hubMetric(rig.hub, 'uplink_hub_heartbeats_total');
  const dropsBefore = rig.fleet.totals().drops;
  const simsBefore = rig.fleet.cpuSeconds();
  // Heartbeats, drops and the sims' CPU over the window alone, before the lists add their load.
  const window = await watchHub(rig.hub, WINDOW_SECONDS);
  const simsCores = (rig.fleet.cpuSeconds() - simsBefore) / window.seconds;
  const beats = (await hubMetric(rig.hub, 'uplink_hub_heartbeats_total')) - beatsBefore;
  const dropped = rig.fleet.totals().drops - dropsBefore;
  const stage = await measureAfter(rig, window);
  console.log(`${count(agents)} agents: ${describeStage(stage)}`);
  return { ...stage, agents, linkSeconds, heartbeatsPerSecond: beats / window.seconds, dropped, simsCores };
}

function describeStage(stage: Stage): string {
  return `CPU ${stage.window.cores.toFixed(3)} cores, RSS ${mib(stage.window.rssMedianBytes)}, heap used ${mib(stage.scrape.heapUsedBytes)}, `
    + `fleet list page p99 ${ms(p(stage.list.ms, 99))}, whole fleet p99 ${ms(p(stage.walk.ms, 99))}`;
}

async function runLevels(): Promise<void> {
  const max = Math.max(...LEVELS);
  const rig = await startRig({ clusters: max, workers: WORKERS, inspect: true });
  try {
    await sleep(5_000);
    const idle = await measureStage(rig, IDLE_SECONDS);
    console.log(`no agents: ${describeStage(idle)}`);
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
    await waitForNoLinks(rig);
    await sleep(SETTLE_SECONDS * 1000);
    const gone = await measureStage(rig, WINDOW_SECONDS);
    console.log(`agents gone: ${describeStage(gone)}`);
    await snapshotIfAsked(rig);
    const ok = printFleetResults({ idle, levels, gone, workers: WORKERS, windowSeconds: WINDOW_SECONDS, listSamples: LIST_SAMPLES, walkSamples: WALK_SAMPLES });
    console.log(`sims: ${count(totals.heartbeats)} heartbeats sent, link attempts ${JSON.stringify(totals.attempts)}, ${totals.gaveUp} gave up, `
      + `${WORKERS} worker processes at ${mib(totals.workerRssBytes)} RSS in all; ${describeTransports(rig)}`);
    if (!ok) process.exitCode = 1;
  } finally {
    await stopRig(rig);
  }
}

/** After stopAll: until the hub counts no link (each agent's close is recorded on its own). */
async function waitForNoLinks(rig: Rig): Promise<void> {
  const deadline = Date.now() + 120_000;
  while ((await hubMetric(rig.hub, 'uplink_hub_agents_connected')) > 0) {
    if (Date.now() > deadline) throw new Error('the hub still counts linked agents 120 s after they stopped');
    await sleep(500);
  }
}

/** BENCH_FLEET_HEAP_SNAPSHOT=FILE writes a heap snapshot of the hub after the agents left, to see what it holds. */
async function snapshotIfAsked(rig: Rig): Promise<void> {
  const file = process.env.BENCH_FLEET_HEAP_SNAPSHOT;
  if (file === undefined) return;
  await HubInspector.with(rig.hubOptions.logFile, (inspector) => inspector.heapSnapshot(file));
  console.log(`heap snapshot of the hub after the agents left: ${file}`);
}

const { values } = parseArgs({ options: { soak: { type: 'string' }, churn: { type: 'string' } } });
if (values.soak !== undefined) {
  await runSoak({ seconds: Number(values.soak), churnPerMinute: Number(values.churn ?? 10), workers: WORKERS, rampPerSecond: RAMP_PER_SECOND });
} else {
  await runLevels();
}
