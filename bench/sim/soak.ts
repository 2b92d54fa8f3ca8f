// `scripts/bench.sh fleet --soak SECONDS`: 1,000 agents held against one hub
// for SECONDS; the hub's RSS and heap read every 10 s, one fleet list every
// 10 s, and a few agents replaced every 10 s (--churn per minute, 10 by
// default; 0 holds every link) so the paths that open and close links run
// too. Passes when RSS at the end is within 10 % of RSS after the warm-up.
import { count, mib, ms, p, sleep, verdict } from './measure.ts';
import { describeMachine, describeTransports, hubMetric, linkAgents, startRig, stopRig } from './rig.ts';

const SAMPLE_EVERY_MS = 10_000;
/** The minute after the warm-up and the last minute are what is compared. */
const COMPARE_MS = 60_000;
const WARM_UP_MAX_MS = 60_000;
const ALLOWED_GROWTH = 0.1;

export interface SoakOptions {
  seconds: number;
  churnPerMinute: number;
  workers: number;
  rampPerSecond: number;
}

interface Sample {
  /** Milliseconds since the hold started. */
  t: number;
  rssBytes: number;
  heapUsedBytes: number;
}

function median(values: number[]): number {
  return p(values, 50);
}

/** Least-squares slope of value over time, per minute. */
function slopePerMinute(samples: Sample[], value: (s: Sample) => number): number {
  const n = samples.length;
  if (n < 2) return 0;
  const mx = samples.reduce((a, s) => a + s.t, 0) / n;
  const my = samples.reduce((a, s) => a + value(s), 0) / n;
  let num = 0;
  let den = 0;
  for (const s of samples) {
    num += (s.t - mx) * (value(s) - my);
    den += (s.t - mx) ** 2;
  }
  return den === 0 ? 0 : (num / den) * 60_000;
}

export async function runSoak(options: SoakOptions): Promise<void> {
  const agents = Number(process.env.BENCH_SOAK_AGENTS ?? 1000);
  if (!(options.seconds >= 60)) throw new Error('--soak takes the seconds to hold, at least 60');
  const rig = await startRig({ clusters: agents, workers: options.workers });
  try {
    const linkSeconds = await linkAgents(rig, rig.clusters, agents, options.rampPerSecond);
    console.log(`linked ${count(agents)} agents in ${linkSeconds.toFixed(1)} s; holding them for ${options.seconds} s, ${options.churnPerMinute} replaced a minute`);
    const warmUpMs = Math.min(WARM_UP_MAX_MS, (options.seconds * 1000) / 5);
    const acceptedBefore = await hubMetric(rig.hub, 'uplink_hub_links_accepted_total');
    const samples: Sample[] = [];
    const listMs: number[] = [];
    let churnDue = 0;
    let churned = 0;
    const started = Date.now();
    for (let next = started; next - started <= options.seconds * 1000; next += SAMPLE_EVERY_MS) {
      await sleep(Math.max(0, next - Date.now()));
      const proc = rig.hub.sample();
      const heapUsedBytes = await hubMetric(rig.hub, 'uplink_hub_nodejs_heap_size_used_bytes');
      samples.push({ t: proc.at - started, rssBytes: proc.rssBytes, heapUsedBytes });
      // One page of the largest size: the whole fleet of 1,000, as before the list had pages.
      const list = await rig.hub.request('GET', '/api/v1/clusters?limit=1000');
      if (list.status !== 200) throw new Error(`GET /api/v1/clusters: HTTP ${list.status}`);
      listMs.push(list.ms);
      if (samples.length % 6 === 1) console.log(`  ${((proc.at - started) / 1000).toFixed(0).padStart(4)} s  RSS ${mib(proc.rssBytes)}  heap used ${mib(heapUsedBytes)}  linked ${rig.fleet.totals().linked}`);
      if (next + SAMPLE_EVERY_MS - started > options.seconds * 1000) break;
      churnDue += (options.churnPerMinute * SAMPLE_EVERY_MS) / 60_000;
      const now = Math.floor(churnDue);
      churnDue -= now;
      churned += now;
      rig.fleet.churn(now);
    }
    const end = samples.at(-1)?.t ?? 0;
    const afterWarmUp = samples.filter((s) => s.t >= warmUpMs && s.t < warmUpMs + COMPARE_MS);
    const last = samples.filter((s) => s.t > end - COMPARE_MS);
    const held = samples.filter((s) => s.t >= warmUpMs);
    const rssWarm = median(afterWarmUp.map((s) => s.rssBytes));
    const rssEnd = median(last.map((s) => s.rssBytes));
    const heapWarm = median(afterWarmUp.map((s) => s.heapUsedBytes));
    const heapEnd = median(last.map((s) => s.heapUsedBytes));
    const accepted = (await hubMetric(rig.hub, 'uplink_hub_links_accepted_total')) - acceptedBefore;
    const totals = rig.fleet.totals();
    const connected = await hubMetric(rig.hub, 'uplink_hub_agents_connected');
    console.log(`\nSoak: ${count(agents)} agents for ${(end / 1000).toFixed(0)} s (${describeMachine()})`);
    console.log(`hub RSS, median of the minute after a ${(warmUpMs / 1000).toFixed(0)} s warm-up: ${mib(rssWarm)}; of the last minute: ${mib(rssEnd)} (${(((rssEnd / rssWarm) - 1) * 100).toFixed(1)} %)`);
    console.log(`hub heap used, same minutes: ${mib(heapWarm)} -> ${mib(heapEnd)} (${(((heapEnd / heapWarm) - 1) * 100).toFixed(1)} %)`);
    const rss = held.map((s) => s.rssBytes);
    console.log(`RSS series after warm-up (${held.length} samples every ${SAMPLE_EVERY_MS / 1000} s): min ${mib(Math.min(...rss))}, max ${mib(Math.max(...rss))}, `
      + `slope ${(slopePerMinute(held, (s) => s.rssBytes) / 1024 / 1024).toFixed(2)} MiB/min; heap slope ${(slopePerMinute(held, (s) => s.heapUsedBytes) / 1024 / 1024).toFixed(2)} MiB/min`);
    console.log(`RSS each minute: ${samples.filter((_, i) => i % 6 === 0).map((s) => (s.rssBytes / 1024 / 1024).toFixed(0)).join(' ')} MiB`);
    console.log(`fleet list once every 10 s: p50 ${ms(p(listMs, 50))}, p99 ${ms(p(listMs, 99))}, max ${ms(Math.max(...listMs))}`);
    console.log(`links: ${churned} agents replaced, ${accepted} links accepted by the hub meanwhile (balanced: ${accepted === churned ? 'yes' : 'no'}), `
      + `${connected} connected at the end, ${totals.drops} dropped under a running agent, ${totals.gaveUp} gave up`);
    console.log(describeTransports(rig));
    const ok = rssEnd <= rssWarm * (1 + ALLOWED_GROWTH);
    console.log(`\ntarget: hub RSS at the end within 10 % of after warm-up: ${verdict(ok)} (${mib(rssWarm)} -> ${mib(rssEnd)})`);
    if (!ok) process.exitCode = 1;
  } finally {
    await stopRig(rig);
  }
}
