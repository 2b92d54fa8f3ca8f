// Connection flood: one client opens 20,000 idle TCP connections (no TLS
// hello, no request) to a real hub from one address, 1,000 a second, and
// goes on at that pace until the bench ends, while a real agent linked to the
// real test cluster stays linked and the admin runs the real `uplink clusters
// list` (timed once the flood has filled its per-address share). Prints
// the CLI's latency before and under the flood (target under 1 s), the hub's
// refusals and timeouts, its open connections and RSS, and whether the agent
// ever relinked. The hub runs with its default caps and deadlines.
//   scripts/bench.sh flood        (about 1 min; needs the test cluster, starts it if needed)
// BENCH_FLOOD_SOCKETS (20000), BENCH_FLOOD_RATE (1000 attempts/s in all),
// BENCH_FLOOD_WORKERS (2: each process opens its share, within its own
// open-file limit), BENCH_FLOOD_SAMPLES (10 CLI runs each phase),
// BENCH_FLOOD_HUB_ARGS (extra hub flags, e.g. "--max-connections-per-address 0
// --tls-handshake-timeout 120" for the hub without its connection limits).
// See docs/benchmarks.md.
import { fork, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import type { ClientRequest } from 'node:http';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runProcess } from '../src/util/run-process.ts';
import type { FloodTally } from '../test/helpers/flood.ts';
import { percentile } from '../test/helpers/resources.ts';
import { UplinkProcess } from '../test/helpers/uplink.ts';
import { HubProcess, metricValue } from './sim/hub-process.ts';
import { count, mib, ms, printTable, sleep, verdict } from './sim/measure.ts';

const env = (name: string, fallback: number): number => Number(process.env[name] ?? fallback);
const SOCKETS = env('BENCH_FLOOD_SOCKETS', 20_000);
const WORKERS = env('BENCH_FLOOD_WORKERS', 2);
const SAMPLES = env('BENCH_FLOOD_SAMPLES', 10);
const RATE = env('BENCH_FLOOD_RATE', 1000);
/** The CLI is timed once the flood has made this many attempts: the hub's per-address share (1,024 by default) is full by then. */
const MEASURE_AFTER_ATTEMPTS = 2048;
const HUB_ARGS = (process.env.BENCH_FLOOD_HUB_ARGS ?? '').split(' ').filter((arg) => arg !== '');
/** A CLI run or request that takes longer counts as failed: the admin gave up. */
const GIVE_UP_MS = 10_000;
const FLOOD_FROM = '127.0.0.2';
const TARGET_MS = 1000;
const REPO = join(import.meta.dirname, '..');
const UPLINK_BIN = join(REPO, 'bin/uplink');
const CLUSTER = join(REPO, 'test/cluster/cluster');
/** How long the flood may take to make its first SOCKETS attempts before the bench gives up. */
const START_TIMEOUT_MS = 120_000;

function cluster(...args: string[]): string {
  const result = spawnSync(CLUSTER, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (result.status !== 0) throw new Error(`cluster ${args.join(' ')} failed`);
  return result.stdout.trim();
}

/** The flood's worker processes and their latest tallies. */
class FloodWorkers {
  readonly tallies: FloodTally[];
  readonly #started: Promise<unknown>[];
  readonly #children;

  constructor(port: number) {
    const share = Math.ceil(SOCKETS / WORKERS);
    this.tallies = Array.from({ length: WORKERS }, () => ({ connected: 0, closed: 0, failed: 0, attempted: 0, open: 0 }));
    this.#children = Array.from({ length: WORKERS }, () => fork(join(import.meta.dirname, 'flood-worker.ts'), ['127.0.0.1', String(port), FLOOD_FROM, String(share), String(RATE / WORKERS)]));
    this.#started = this.#children.map((child, i) => new Promise((resolve) => {
      child.on('message', (message: { started?: boolean; tally: FloodTally }) => {
        this.tallies[i] = message.tally;
        if (message.started === true) resolve(undefined);
      });
    }));
  }

  async started(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(this.#started),
      new Promise((_, reject) => { timer = setTimeout(() => { reject(new Error('the flood did not make its attempts in time')); }, START_TIMEOUT_MS); }),
    ]);
    clearTimeout(timer);
  }

  total(): FloodTally {
    const sum = { connected: 0, closed: 0, failed: 0, attempted: 0, open: 0 };
    for (const t of this.tallies) for (const key of Object.keys(sum) as (keyof FloodTally)[]) sum[key] += t[key];
    return sum;
  }

  async stop(): Promise<void> {
    await Promise.all(this.#children.map(async (child) => {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.send('stop');
      await exited;
    }));
  }
}

/** One GET with the admin token on a connection of its own, as a new CLI process makes it; milliseconds. */
function timeFreshGet(hub: HubProcess, path: string): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    https.get(`${hub.url}${path}`, { ca: hub.caPem, agent: false, timeout: GIVE_UP_MS, headers: { authorization: `Bearer ${hub.adminToken}` } }, (res) => {
      res.resume();
      res.on('error', reject);
      res.on('end', () => {
        if (res.statusCode === 200) resolve(performance.now() - started);
        else reject(new Error(`GET ${path}: HTTP ${res.statusCode ?? 0}`));
      });
    }).on('error', reject).on('timeout', function (this: ClientRequest) { this.destroy(new Error(`GET ${path}: no answer in ${GIVE_UP_MS} ms`)); });
  });
}

/** The hub's /metrics, or '' when the hub cannot be reached (a hub without connection limits under the flood). */
async function metricsOrNothing(hub: HubProcess): Promise<string> {
  try {
    return await hub.metricsText();
  } catch (error) {
    console.log(`(the hub's /metrics could not be read: ${(error as Error).message})`);
    return '';
  }
}

interface Samples {
  /** The real CLI, process start included. */
  cli: number[];
  /** The same list as one HTTPS request on a fresh connection (TLS handshake included), without the CLI's start. */
  api: number[];
  /** Runs or requests that failed or took over GIVE_UP_MS. */
  failed: number;
}

/** `uplink clusters list` as the admin and the same GET on its own, SAMPLES times each, one after another; milliseconds. */
async function timeClustersList(hub: HubProcess, cliConfig: string): Promise<Samples> {
  const samples: Samples = { cli: [], api: [], failed: 0 };
  for (let i = 0; i < SAMPLES; i += 1) {
    const started = performance.now();
    const result = await runProcess(UPLINK_BIN, ['clusters', 'list'], { env: { ...process.env, UPLINK_CLI_CONFIG: cliConfig }, timeoutMs: GIVE_UP_MS });
    if (result.code === 0 && /\bflood\b.*\bonline\b/.test(result.stdout)) samples.cli.push(performance.now() - started);
    else samples.failed += 1;
    try {
      samples.api.push(await timeFreshGet(hub, '/api/v1/clusters'));
    } catch {
      samples.failed += 1;
    }
  }
  return samples;
}

async function main(): Promise<void> {
  const kubeconfig = cluster('start').split('\n').pop() ?? '';
  const dir = mkdtempSync(join(tmpdir(), 'uplink-bench-flood-'));
  const hub = await HubProcess.start({ dataDir: join(dir, 'hub'), logFile: join(dir, 'hub.log'), port: 0, args: HUB_ARGS });
  console.log(`hub ${hub.url} (pid ${hub.pid}), logs and data in ${dir}; flood of ${count(SOCKETS)} sockets from ${FLOOD_FROM} in ${WORKERS} processes; hub flags: ${HUB_ARGS.join(' ') || '(defaults)'}`);
  const created = await hub.request('POST', '/api/v1/clusters', { name: 'flood' });
  if (created.status !== 201) throw new Error(`creating the cluster: HTTP ${created.status}`);
  const agent = new UplinkProcess([
    'agent', '--hub-url', hub.url, '--hub-ca-hash', hub.caHash, '--token', (JSON.parse(created.body) as { token: string }).token,
    '--kubeconfig', kubeconfig, '--state-file', join(dir, 'agent-state.json'), '--health-listen', '127.0.0.1:0', '--heartbeat-interval', '5',
  ]);
  const cliConfig = join(dir, 'cli.json');
  let workers: FloodWorkers | undefined;
  try {
    const starting = await agent.waitForLog((l) => l.msg === 'agent starting');
    await agent.waitForLog((l) => l.msg === 'linked to the hub', 30_000);
    const agentHealth = `http://127.0.0.1:${String(starting.healthPort)}`;
    writeFileSync(join(dir, 'admin-token'), `${hub.adminToken}\n`, { mode: 0o600 });
    const login = await runProcess(UPLINK_BIN, ['login', hub.url, '--token-file', join(dir, 'admin-token'), '--ca-hash', hub.caHash], {
      env: { ...process.env, UPLINK_CLI_CONFIG: cliConfig }, timeoutMs: 30_000,
    });
    if (login.code !== 0) throw new Error(`uplink login: ${login.stderr}`);
    await sleep(6000); // the first heartbeat: online
    const quiet = await timeClustersList(hub, cliConfig);

    workers = new FloodWorkers(hub.port);
    const floodStarted = performance.now();
    while (workers.total().attempted < MEASURE_AFTER_ATTEMPTS) await sleep(100);
    const loud = await timeClustersList(hub, cliConfig);
    const openDuring = metricValue(await metricsOrNothing(hub), 'uplink_hub_connections_open');
    await workers.started();
    const attemptSeconds = (performance.now() - floodStarted) / 1000;
    const rssDuring = [hub.sample().peakRssBytes];
    const metrics = await metricsOrNothing(hub);
    const tally = workers.total();
    await workers.stop();
    workers = undefined;

    const agentMetrics = await (await fetch(`${agentHealth}/metrics`)).text();
    const relinks = metricValue(agentMetrics, 'uplink_agent_link_attempts_total', 'result="linked"') - 1;
    const p50 = (xs: number[]): number => percentile(xs, 50);
    const worst = (xs: number[]): number => (xs.length === 0 ? Number.NaN : Math.max(...xs));
    console.log(`\nthe flood made ${count(tally.attempted)} connection attempts (the first ${count(SOCKETS)} in ${attemptSeconds.toFixed(1)} s), ` +
      `${count(tally.open)} open at the end; the hub refused ${count(metricValue(metrics, 'uplink_hub_connections_refused_total'))} on arrival ` +
      `(${count(metricValue(metrics, 'uplink_hub_connections_refused_total', 'max_per_address'))} over the per-address cap) and cut ` +
      `${count(metricValue(metrics, 'uplink_hub_connections_timed_out_total', 'tls_handshake'))} at the handshake deadline\n`);
    printTable(['clusters list as the admin', 'p50', 'worst', 'target', ''], [
      ['uplink clusters list (real CLI), no flood', ms(p50(quiet.cli)), ms(worst(quiet.cli)), '', ''],
      ['uplink clusters list (real CLI), under the flood', ms(p50(loud.cli)), ms(worst(loud.cli)), `< ${TARGET_MS} ms`,
        verdict(loud.failed === 0 && worst(loud.cli) < TARGET_MS)],
      ['GET /api/v1/clusters, new connection, no flood', ms(p50(quiet.api)), ms(worst(quiet.api)), '', ''],
      ['GET /api/v1/clusters, new connection, under the flood', ms(p50(loud.api)), ms(worst(loud.api)), '', ''],
    ], 52);
    console.log(`failed or over ${GIVE_UP_MS} ms: ${quiet.failed} of ${2 * SAMPLES} with no flood, ${loud.failed} of ${2 * SAMPLES} under the flood`);
    console.log('');
    printTable(['the hub and the agent', 'value', '', '', ''], [
      ['hub open connections (gauge, under the flood)', count(openDuring), '', '', ''],
      ['hub peak RSS (VmHWM)', mib(Math.max(...rssDuring)), '', '', ''],
      ['agents linked (hub gauge)', count(metricValue(metrics, 'uplink_hub_agents_connected')), '', '1', verdict(metricValue(metrics, 'uplink_hub_agents_connected') === 1)],
      ['agent relinks during the run', count(relinks), '', '0', verdict(relinks === 0)],
    ]);
  } finally {
    await workers?.stop();
    await agent.stop();
    await hub.stop();
  }
}

await main();
