// What the failover bench sets up and reads: three hub replicas on one real
// PostgreSQL behind a real HAProxy (test/helpers/hub-tier.ts, as the e2e
// tests start them), thousands of clusters registered through HAProxy, the
// simulated agents (bench/sim) dialing HAProxy's round-robin endpoint, and
// the /proc figures of each replica and of PostgreSQL's processes.
import { readdirSync, readFileSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { startHubTier, type HubTier, type Replica } from '../test/helpers/hub-tier.ts';
import { SimFleet } from './sim/fleet-sim.ts';
import { createClusters, metricValue, timedRequest, type ApiTarget, type HubProcess, type SimCluster } from './sim/hub-process.ts';
import { openFilesLimit, readProc, type ProcSample } from './sim/proc.ts';
import { checkOpenFiles } from './sim/rig.ts';

/** HAProxy's connections beyond one per agent: API clients, health checks. */
const HAPROXY_HEADROOM = 500;
/** Open files HAProxy needs per connection (client side and server side) and beyond them. */
const HAPROXY_FDS_PER_CONNECTION = 2;
const HAPROXY_FDS_EXTRA = 200;
const POSTGRES_READ_MS = 1000;

export interface FailoverTier {
  tier: HubTier;
  /** The API through HAProxy, with the admin token. */
  api: Pick<HubProcess, 'request'>;
  clusters: SimCluster[];
  fleet: SimFleet;
  runDir: string;
}

/** A replica's own API (not through HAProxy), for its /metrics. */
export function replicaTarget(failover: FailoverTier, replica: Replica): ApiTarget {
  const caPem = caPemOf(failover.tier);
  return { url: replica.url, token: failover.tier.adminToken, agent: new https.Agent({ keepAlive: true, maxSockets: 4, ca: caPem }) };
}

function caPemOf(tier: HubTier): string {
  return (JSON.parse(readFileSync(tier.cliConfig, 'utf8')) as { caPem: string }).caPem;
}

/** A gauge or counter of one replica's /metrics; NaN when it does not answer. */
export async function replicaMetric(target: ApiTarget, name: string): Promise<number> {
  try {
    const res = await timedRequest(target, 'GET', '/metrics');
    return res.status === 200 ? metricValue(res.body, name) : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/**
 * Each HAProxy must hold its agents' two sockets within this process's open
 * files limit (its children inherit it): one HAProxy while the fleet fits,
 * else as many as it takes (a site would run a pair or more), the sim
 * workers dealt among them.
 */
function haproxyPlan(agents: number, workers: number): { balancers: number; maxconn: number } {
  const fits = Math.floor((openFilesLimit() - HAPROXY_FDS_EXTRA) / HAPROXY_FDS_PER_CONNECTION) - HAPROXY_HEADROOM;
  for (let balancers = 1; balancers <= workers; balancers++) {
    // Workers are dealt round robin, so a balancer carries ceil(workers / balancers) workers' agents.
    const perBalancer = Math.ceil(Math.ceil(workers / balancers) * (agents / workers));
    if (perBalancer <= fits) return { balancers, maxconn: perBalancer + HAPROXY_HEADROOM };
  }
  throw new Error(`open files limit is ${openFilesLimit()}; HAProxy cannot carry ${agents} agents over ${workers} sim workers: raise it or add workers`);
}

/**
 * Starts the tier (`--max-connections-per-address 0`: every sim dials from
 * 127.0.0.1), registers `agents` clusters through HAProxy and starts the sim
 * workers on HAProxy's round-robin URL; no agent runs yet.
 */
export async function startFailoverTier(t: TestContext, options: { agents: number; workers: number; runDir: string }): Promise<FailoverTier> {
  checkOpenFiles(options.agents);
  const plan = haproxyPlan(options.agents, options.workers);
  const tier = await startHubTier(t, 3, ['--max-connections-per-address', '0'], { maxconn: plan.maxconn, extraBalancers: plan.balancers - 1 });
  if (plan.balancers > 1) console.log(`${plan.balancers} HAProxy processes (${plan.maxconn} connections each): one would not fit the open files limit of ${openFilesLimit()}`);
  const caPem = caPemOf(tier);
  const target: ApiTarget = { url: tier.lbUrl, token: tier.adminToken, agent: new https.Agent({ keepAlive: true, maxSockets: 32, ca: caPem }) };
  const api = { request: (method: string, path: string, body?: unknown) => timedRequest(target, method, path, body) };
  const started = performance.now();
  const clusters = await createClusters(api, options.agents);
  const seconds = (performance.now() - started) / 1000;
  console.log(`registered ${clusters.length} clusters through HAProxy in ${seconds.toFixed(1)} s (${(clusters.length / seconds).toFixed(0)}/s)`);
  // Every agent starts as one that linked before, with the hub CA in its state (as rig.ts does).
  const fleet = SimFleet.start({ workers: options.workers, hubUrl: tier.balancerUrls, caHash: tier.caHash, hubCaPem: caPem, runDir: options.runDir });
  t.after(() => fleet.close());
  return { tier, api, clusters, fleet, runDir: options.runDir };
}

/** The postmaster and its children (backends, WAL writer, checkpointer...), from its pid file and /proc. */
export function postgresPids(dataDir: string): number[] {
  const postmaster = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  const pids = [postmaster];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === postmaster) pids.push(Number(name));
    } catch {
      // Gone meanwhile.
    }
  }
  return pids;
}

/**
 * PostgreSQL's CPU over a window, all its processes together. Read every
 * second per process, so a backend that exits meanwhile still counts what it
 * used until its last reading (summing the processes at both ends alone
 * would lose it, and can even go backwards).
 */
export class PostgresMeter {
  /** Per pid: CPU seconds at its first reading (0 for a process started within the window) and at its last. */
  readonly #cpu = new Map<number, { first: number; last: number }>();
  readonly #startedAt = Date.now();
  #rssBytes = 0;
  readonly #timer: NodeJS.Timeout;
  private readonly dataDir: string;

  constructor(dataDir: string) {
    this.dataDir = dataDir;
    this.#read(true);
    this.#timer = setInterval(() => { this.#read(false); }, POSTGRES_READ_MS);
  }

  #read(initial: boolean): void {
    let rss = 0;
    for (const pid of postgresPids(this.dataDir)) {
      try {
        const one = readProc(pid);
        rss += one.rssBytes;
        const known = this.#cpu.get(pid);
        if (known) known.last = one.cpuSeconds;
        else this.#cpu.set(pid, { first: initial ? one.cpuSeconds : 0, last: one.cpuSeconds });
      } catch {
        // Exited between the listing and the reading.
      }
    }
    this.#rssBytes = rss;
  }

  /** Stops reading; average cores since the start and the RSS summed at the end (shared buffers count in each). */
  stop(): { cores: number; rssBytes: number } {
    clearInterval(this.#timer);
    this.#read(false);
    let cpu = 0;
    for (const { first, last } of this.#cpu.values()) cpu += last - first;
    return { cores: cpu / ((Date.now() - this.#startedAt) / 1000), rssBytes: this.#rssBytes };
  }
}

/** A replica's hub process (bin/uplink execs node: the child's pid is the hub's). */
export function sampleReplica(replica: Replica): ProcSample {
  return readProc(replica.process.child.pid ?? 0);
}
