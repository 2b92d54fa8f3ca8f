// What both fleet benches set up: a data directory, one real hub, the
// clusters registered through its API, and the sim workers.
import { mkdtempSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { SimFleet } from './fleet-sim.ts';
import { HubProcess, createClusters, linkTransports, metricValue, type SimCluster } from './hub-process.ts';
import { openFilesLimit } from './proc.ts';

/** File descriptors a process needs beyond one per agent connection. */
const FD_HEADROOM = 1024;

export interface Rig {
  dir: string;
  hubOptions: { dataDir: string; logFile: string; args: string[] };
  hub: HubProcess;
  clusters: SimCluster[];
  fleet: SimFleet;
  /** Seconds the last linkAgents() took, for a bench that wants to print it. */
  linkSeconds: number;
}

/** Each agent is a socket in the hub and one in a worker: the hub needs the most. */
export function checkOpenFiles(agents: number): void {
  const limit = openFilesLimit();
  if (limit < agents + FD_HEADROOM) {
    throw new Error(`open files limit is ${limit}; ${agents} agents need ${agents + FD_HEADROOM} in the hub: raise it first (ulimit -n ${agents + FD_HEADROOM})`);
  }
}

export function describeMachine(): string {
  const model = cpus()[0]?.model.trim() ?? 'unknown CPU';
  return `${cpus().length} cores (${model}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.versions.node}`;
}

/** `inspect` opens the hub's Node inspector on loopback, for its memory figures (inspector.ts). */
export async function startRig(options: { clusters: number; workers: number; inspect?: boolean }): Promise<Rig> {
  checkOpenFiles(options.clusters);
  const dir = mkdtempSync(join(tmpdir(), 'uplink-bench-fleet-'));
  // Every simulated agent dials from 127.0.0.1, as agents behind one NAT would: no per-address cap.
  const hubOptions = { dataDir: join(dir, 'hub'), logFile: join(dir, 'hub.log'), args: ['--max-connections-per-address', '0'] };
  const hub = await HubProcess.start({ ...hubOptions, port: 0, inspect: options.inspect === true });
  console.log(`hub ${hub.url} (pid ${hub.pid}), logs and data in ${dir}`);
  const started = performance.now();
  const clusters = await createClusters(hub, options.clusters);
  const seconds = (performance.now() - started) / 1000;
  console.log(`registered ${clusters.length} clusters through POST /api/v1/clusters in ${seconds.toFixed(1)} s (${(clusters.length / seconds).toFixed(0)}/s)`);
  // Every agent starts as one that linked before: the hub CA already in its state (a new agent fetches it once
  // through the pin, then keeps it in its Secret). BENCH_FLEET_FETCH_CA=1 makes each fetch it, as on a first install.
  const hubCaPem = process.env.BENCH_FLEET_FETCH_CA === '1' ? undefined : hub.caPem;
  const fleet = SimFleet.start({ workers: options.workers, hubUrl: hub.url, caHash: hub.caHash, ...(hubCaPem === undefined ? {} : { hubCaPem }), runDir: dir });
  return { dir, hubOptions, hub, clusters, fleet, linkSeconds: 0 };
}

/** A gauge or counter of the hub's /metrics. */
export async function hubMetric(hub: HubProcess, name: string, labels = ''): Promise<number> {
  return metricValue(await hub.metricsText(), name, labels);
}

/**
 * Starts agents for `clusters` at `perSecond` and waits until the sims and
 * the hub both count `total` links; resolves with the seconds it took.
 */
export async function linkAgents(rig: Rig, clusters: readonly SimCluster[], total: number, perSecond: number): Promise<number> {
  const started = performance.now();
  rig.fleet.add(clusters, perSecond);
  // Generous: on a shared machine handshakes queue up, and agents back off up to 30 s between tries.
  const timeoutMs = Math.max(240_000, (clusters.length / perSecond) * 3000);
  await rig.fleet.waitFor(`${total} agents linked`, timeoutMs, (t) => t.linked === total);
  for (;;) {
    if ((await hubMetric(rig.hub, 'uplink_hub_agents_connected')) === total) break;
    if (performance.now() - started > timeoutMs) throw new Error(`the hub does not count ${total} linked agents`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return (performance.now() - started) / 1000;
}

/** Stops the sims, then the hub as an operator would (SIGTERM), so a --cpu-prof of it gets written. */
/** "links by transport: h2 5000", from the hub's log so far. */
export function describeTransports(rig: Rig): string {
  const counts = Object.entries(linkTransports(rig.hubOptions.logFile)).map(([transport, n]) => `${transport} ${n}`);
  return `links by transport (hub log): ${counts.join(', ') || 'none'}`;
}

export async function stopRig(rig: Rig): Promise<void> {
  await rig.fleet.close();
  await rig.hub.stop('SIGTERM');
}
