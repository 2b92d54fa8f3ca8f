// Reconnect storm: 5,000 simulated agents linked to one real hub, then the
// hub process is killed and started again (same data directory, same port).
// Measures how long until every agent is linked again, the peak admission
// rate, the 503 + Retry-After answers and any agent that fails or gives up.
// The agents are the agent's own code (backoff with full jitter, Retry-After
// honoured), in a few worker processes.
//   scripts/bench.sh reconnect                 (about 1.5 min)
//   scripts/bench.sh reconnect --signal SIGTERM   a graceful restart instead of a crash
// BENCH_HUB_NODE_OPTIONS="--cpu-prof --cpu-prof-dir=DIR" profiles the hub (both of its runs).
// See docs/benchmarks.md. Needs no Kubernetes cluster.
import { parseArgs } from 'node:util';
import { HubProcess, listAllClusters, metricValue } from './sim/hub-process.ts';
import { count, mib, printTable, ratio, sleep, verdict } from './sim/measure.ts';
import { coresBetween } from './sim/proc.ts';
import type { FleetTotals } from './sim/fleet-sim.ts';
import { describeMachine, describeTransports, hubMetric, linkAgents, startRig, stopRig, type Rig } from './sim/rig.ts';
import { percentile } from '../test/helpers/resources.ts';

const env = (name: string, fallback: number): number => Number(process.env[name] ?? fallback);
const AGENTS = env('BENCH_RECONNECT_AGENTS', 5000);
const WORKERS = env('BENCH_FLEET_WORKERS', 4);
const RAMP_PER_SECOND = env('BENCH_FLEET_RAMP', 200);
/** Links older than 30 s reset the agent's backoff (STABLE_LINK_MS): a hub that crashes after a while. */
const HOLD_SECONDS = env('BENCH_RECONNECT_HOLD', 35);
/** How long to wait for the fleet to come back before giving up on the measurement. */
const GIVE_UP_SECONDS = env('BENCH_RECONNECT_WAIT', 150);
/** The end of the hold, when the API is probed at rest. */
const REST_SECONDS = 15;
const TARGET_SECONDS = 60;
const SAMPLE_MS = 250;
/** A /metrics scrape holds the hub's event loop for 50-100 ms at 5,000 clusters: every 2 s, not more. */
const SCRAPE_MS = 2000;
const PROBE_MS = 250;

/** What the agents counted, SAMPLE_MS apart, at `t` seconds since the kill. */
interface SimsPoint {
  t: number;
  sims: FleetTotals;
}

/** What the hub's /metrics said, as often as it answered. */
interface HubPoint {
  t: number;
  connected: number;
  accepted: number;
  overloaded: number;
  lagMaxSeconds: number;
}

/** The API as a user sees it meanwhile: GET one cluster every PROBE_MS, one at a time. */
class ApiProbe {
  readonly ms: number[] = [];
  failures = 0;
  private running = true;
  private readonly done: Promise<void>;

  constructor(hub: () => HubProcess | undefined) {
    this.done = (async () => {
      while (this.running) {
        const target = hub();
        const started = Date.now();
        if (target) {
          try {
            const res = await target.request('GET', '/api/v1/clusters/sim-00000');
            if (res.status === 200) this.ms.push(res.ms);
            else this.failures += 1;
          } catch {
            this.failures += 1;
          }
        }
        await sleep(Math.max(0, started + PROBE_MS - Date.now()));
      }
    })();
  }

  async stop(): Promise<this> {
    this.running = false;
    await this.done;
    return this;
  }
}

const delta = (after: FleetTotals, before: FleetTotals, result: string): number => (after.attempts[result] ?? 0) - (before.attempts[result] ?? 0);

async function scrape(hub: HubProcess | undefined, t = 0): Promise<HubPoint | undefined> {
  if (!hub) return undefined;
  try {
    const text = await hub.metricsText();
    return {
      t,
      connected: metricValue(text, 'uplink_hub_agents_connected'),
      accepted: metricValue(text, 'uplink_hub_links_accepted_total'),
      overloaded: metricValue(text, 'uplink_hub_link_errors_total', 'reason="overloaded"'),
      // prom-client resets the event-loop delay histogram at each scrape: this is the max since the last one.
      lagMaxSeconds: metricValue(text, 'uplink_hub_nodejs_eventloop_lag_max_seconds'),
    };
  } catch {
    return undefined;
  }
}

/** The most of `value` gained within any 1 s of a series. */
function peakPerSecond<P extends { t: number }>(points: P[], value: (p: P) => number): number {
  let peak = 0;
  for (const [i, point] of points.entries()) {
    const earlier = points.slice(0, i).reverse().find((q) => point.t - q.t >= 1);
    if (earlier) peak = Math.max(peak, (value(point) - value(earlier)) / (point.t - earlier.t));
  }
  return peak;
}

interface AtRest {
  api: ApiProbe;
  lagMaxSeconds: number;
}

/**
 * The same probes with the fleet linked and quiet, for comparison; /metrics
 * only at the start and the end (the delay histogram covers what is between).
 */
async function atRest(rig: Rig, seconds: number): Promise<AtRest> {
  await scrape(rig.hub);
  const api = new ApiProbe(() => rig.hub);
  await sleep(seconds * 1000);
  await api.stop();
  return { api, lagMaxSeconds: (await scrape(rig.hub))?.lagMaxSeconds ?? 0 };
}

async function storm(rig: Rig, signal: NodeJS.Signals, rest: AtRest): Promise<void> {
  const before = rig.fleet.totals();
  const port = rig.hub.port;
  const killedAt = Date.now();
  const elapsed = (): number => (Date.now() - killedAt) / 1000;
  await rig.hub.stop(signal);
  const restart = HubProcess.start({ ...rig.hubOptions, port });
  let hub: HubProcess | undefined;
  let listeningAt: number | undefined;
  let hubCpu: ReturnType<HubProcess['sample']> | undefined;
  let simsCpu: { at: number; seconds: number } | undefined;
  void restart.then((h) => {
    hub = h;
    listeningAt = Date.now();
    hubCpu = h.sample();
    simsCpu = { at: Date.now(), seconds: rig.fleet.cpuSeconds() };
  });
  const probe = new ApiProbe(() => hub);
  // The agents' counts and the hub's metrics are sampled apart: a busy hub answers late, the sims' counts must not wait for it.
  const simsPoints: SimsPoint[] = [];
  const sampler = setInterval(() => { simsPoints.push({ t: elapsed(), sims: rig.fleet.totals() }); }, SAMPLE_MS);
  const hubPoints: HubPoint[] = [];
  const allLinked = (q: SimsPoint): boolean => q.sims.linked === AGENTS && delta(q.sims, before, 'linked') >= AGENTS;
  let hubAllAt: number | undefined;
  while (elapsed() < GIVE_UP_SECONDS && (!simsPoints.some(allLinked) || hubAllAt === undefined)) {
    const point = await scrape(hub, elapsed());
    if (point) hubPoints.push(point);
    if (hubAllAt === undefined && point?.connected === AGENTS) hubAllAt = point.t;
    await sleep(SCRAPE_MS);
  }
  clearInterval(sampler);
  const allAt = simsPoints.find(allLinked)?.t;
  hub ??= await restart;
  const cpuEnd = hub.sample();
  const simsCores = simsCpu ? (rig.fleet.cpuSeconds() - simsCpu.seconds) / ((Date.now() - simsCpu.at) / 1000) : 0;
  const api = await probe.stop();
  const lagMax = Math.max(0, ...hubPoints.map((q) => q.lagMaxSeconds));
  const since = await rig.fleet.linkTimes();
  const relinked = since.filter((s): s is number => s !== null && s > killedAt).map((s) => (s - killedAt) / 1000);
  let onlineAt: number | undefined;
  for (let i = 0; i < 20 && onlineAt === undefined; i++) {
    const items = await listAllClusters<{ status: string }>(hub);
    if (items.filter((c) => c.status === 'online').length === AGENTS) onlineAt = elapsed();
    else await sleep(1000);
  }
  const after = rig.fleet.totals();
  const hubOverloaded = hubPoints.at(-1)?.overloaded ?? 0;
  const secs = (value: number | undefined): string => (value === undefined ? `not within ${GIVE_UP_SECONDS} s` : `${value.toFixed(1)} s`);
  const pct = (q: number): string => (relinked.length === 0 ? '' : `${percentile(relinked, q).toFixed(1)} s`);
  const failedOther = ['unauthorized', 'refused', 'tls'].map((r) => `${delta(after, before, r)} ${r}`).join(', ');
  console.log(`\nReconnect storm: ${count(AGENTS)} agents, hub ${signal === 'SIGKILL' ? 'killed (SIGKILL)' : `stopped (${signal})`} and started again on the same port and data dir (${describeMachine()})`);
  printTable(['measure', 'value'], [
    ['hub down: kill to listening again', secs(listeningAt === undefined ? undefined : (listeningAt - killedAt) / 1000)],
    ['first agent linked again', pct(0)],
    ['half linked again (p50)', pct(50)],
    ['90 % linked again', pct(90)],
    ['99 % linked again', pct(99)],
    [`all ${count(AGENTS)} linked again (the agents' view)`, secs(allAt)],
    [`all ${count(AGENTS)} linked (uplink_hub_agents_connected)`, secs(hubAllAt)],
    [`all ${count(AGENTS)} online in the fleet list`, secs(onlineAt)],
    ['peak admission, agents linked in 1 s (agents)', `${peakPerSecond(simsPoints, (q) => q.sims.attempts.linked ?? 0).toFixed(0)}/s`],
    ['peak admission, links accepted in 1 s (hub)', `${peakPerSecond(hubPoints, (q) => q.accepted).toFixed(0)}/s`],
    [`first start: ${count(AGENTS)} linked at an offered ${RAMP_PER_SECOND}/s`, `${(AGENTS / rig.linkSeconds).toFixed(0)}/s`],
    ['503 + Retry-After answers (agents / hub count)', `${delta(after, before, 'unavailable')} / ${hubOverloaded}`],
    ['attempts refused or timed out (hub down, busy)', String(delta(after, before, 'unreachable'))],
    ['other failed attempts', failedOther],
    ['link attempts in all', String(Object.keys(after.attempts).reduce((a, r) => a + delta(after, before, r), 0))],
    ['agents that gave up', String(after.gaveUp)],
    ['hub CPU from listening to all linked', hubCpu ? `${coresBetween(hubCpu, cpuEnd).toFixed(2)} cores` : ''],
    [`sim workers' CPU meanwhile (${WORKERS} processes)`, `${simsCores.toFixed(2)} cores`],
    ['hub RSS after the storm', mib(cpuEnd.rssBytes)],
  ], 50, 22);
  const fmt = (values: number[], q: number): string => (values.length === 0 ? 'none' : `${percentile(values, q).toFixed(1)} ms`);
  console.log(`
The API meanwhile: GET /api/v1/clusters/NAME every ${PROBE_MS} ms, ${count(AGENTS)} agents linked and quiet vs during the storm (from listening to all linked)`);
  printTable(['measure', 'at rest', 'storm', 'ratio'], [
    ['GET one cluster, p50', fmt(rest.api.ms, 50), fmt(api.ms, 50), ratio(percentile(api.ms, 50), percentile(rest.api.ms, 50))],
    ['GET one cluster, p99', fmt(rest.api.ms, 99), fmt(api.ms, 99), ratio(percentile(api.ms, 99), percentile(rest.api.ms, 99))],
    ['GET one cluster, max', fmt(rest.api.ms, 100), fmt(api.ms, 100), ''],
    ['GETs answered / failed', `${rest.api.ms.length} / ${rest.api.failures}`, `${api.ms.length} / ${api.failures}`, ''],
    ['hub event-loop delay, max', `${(rest.lagMaxSeconds * 1000).toFixed(0)} ms`, `${(lagMax * 1000).toFixed(0)} ms`, ''],
  ], 50, 14);
  const timeline = simsPoints.filter((q, i) => i % 4 === 3 && q.t <= (allAt ?? GIVE_UP_SECONDS) + 1)
    .map((q) => `${q.t.toFixed(0)}s:${q.sims.linked}`).join(' ');
  console.log(`linked agents by second since the kill: ${timeline}`);
  if (after.failures.length > 0) console.log(`failures: ${after.failures.join('; ')}`);
  console.log(describeTransports(rig));
  const ok = allAt !== undefined && allAt <= TARGET_SECONDS && after.gaveUp === 0;
  console.log(`\ntarget: all ${count(AGENTS)} linked again within ${TARGET_SECONDS} s, no agent giving up: ${verdict(ok)} (${secs(allAt)}, ${after.gaveUp} gave up)`);
  if (!ok) process.exitCode = 1;
  rig.hub = hub;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { signal: { type: 'string', default: 'SIGKILL' } } });
  const signal = values.signal as NodeJS.Signals;
  const rig = await startRig({ clusters: AGENTS, workers: WORKERS });
  try {
    rig.linkSeconds = await linkAgents(rig, rig.clusters, AGENTS, RAMP_PER_SECOND);
    console.log(`linked ${count(AGENTS)} agents in ${rig.linkSeconds.toFixed(1)} s; holding ${HOLD_SECONDS} s so every link is past the agents' 30 s backoff reset`);
    await sleep((HOLD_SECONDS - REST_SECONDS) * 1000);
    const rest = await atRest(rig, REST_SECONDS);
    console.log(`hub RSS ${mib(rig.hub.sample().rssBytes)}, ${await hubMetric(rig.hub, 'uplink_hub_agents_connected')} linked; ${signal === 'SIGKILL' ? 'killing' : 'stopping'} it now`);
    await storm(rig, signal, rest);
  } finally {
    await stopRig(rig);
  }
}

await main();
