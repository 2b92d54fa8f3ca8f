// A sim worker: a child process running many simulated agents (agent-sim.ts)
// against the hub, started and steered by fleet-sim.ts over IPC. It reports
// its agents' state every STATS_INTERVAL_MS.
import { mkdirSync } from 'node:fs';
import { pino } from 'pino';
import { AgentMetrics } from '../../src/agent/metrics.ts';
import { SimAgent, simShared, type SimShared } from './agent-sim.ts';
import { clusterShapes } from './fake-cluster.ts';
import type { AgentSpec, FromWorker, ToWorker } from './messages.ts';

const STATS_INTERVAL_MS = 250;
const POLL_INTERVAL_MS = 50;
const RAMP_TICK_MS = 50;
const MAX_FAILURE_MESSAGES = 5;

const shapes = clusterShapes();
const agents: SimAgent[] = [];
const specs: AgentSpec[] = [];
let shared: SimShared | undefined;
let metrics: AgentMetrics | undefined;

function send(message: FromWorker): void {
  // The bench gone (it failed or was stopped): nothing to report to, and the worker ends with it.
  if (!process.connected) return;
  process.send?.(message, undefined, {}, (error: Error | null) => { if (error) process.exit(0); });
}

function newAgent(spec: AgentSpec): SimAgent {
  if (!shared) throw new Error('worker not initialised');
  const shape = shapes[spec.index % shapes.length];
  if (!shape) throw new Error('no cluster shapes');
  const agent = new SimAgent(shared, shape, spec.token);
  agent.start();
  return agent;
}

async function addAgents(list: AgentSpec[], perSecond: number): Promise<void> {
  const perTick = Math.max(1, Math.round((perSecond * RAMP_TICK_MS) / 1000));
  for (let i = 0; i < list.length; i += perTick) {
    for (const spec of list.slice(i, i + perTick)) {
      specs.push(spec);
      agents.push(newAgent(spec));
    }
    await new Promise((resolve) => setTimeout(resolve, RAMP_TICK_MS));
  }
}

async function churn(count: number): Promise<void> {
  const linked = agents.map((agent, slot) => ({ agent, slot })).filter((a) => a.agent.linked);
  for (let i = 0; i < count && linked.length > 0; i++) {
    const [pick] = linked.splice(Math.floor(Math.random() * linked.length), 1);
    if (!pick) break;
    const spec = specs[pick.slot];
    if (!spec) continue;
    await pick.agent.stop();
    agents[pick.slot] = newAgent(spec);
  }
}

async function stats(): Promise<void> {
  if (!metrics) return;
  const attempts: Record<string, number> = {};
  for (const value of (await metrics.linkAttempts.get()).values) attempts[String(value.labels.result)] = value.value;
  const heartbeats = (await metrics.heartbeats.get()).values[0]?.value ?? 0;
  let linked = 0;
  let drops = 0;
  const failures: string[] = [];
  let gaveUp = 0;
  for (const agent of agents) {
    if (agent.linked) linked += 1;
    drops += agent.drops;
    if (agent.failure !== undefined) {
      gaveUp += 1;
      if (failures.length < MAX_FAILURE_MESSAGES) failures.push(agent.failure);
    }
  }
  send({ type: 'stats', agents: agents.length, linked, drops, gaveUp, failures, attempts, heartbeats, rssBytes: process.memoryUsage.rss() });
}

async function handle(message: ToWorker): Promise<void> {
  switch (message.type) {
    case 'init': {
      const log = pino({ level: process.env.BENCH_SIM_LOG_LEVEL ?? 'warn', base: { pid: process.pid } },
        pino.destination({ dest: message.logFile, sync: false, mkdir: true }));
      mkdirSync(message.helmDir, { recursive: true });
      metrics = new AgentMetrics();
      shared = simShared({ hubUrl: message.hubUrl, caHash: message.caHash, hubCaPem: message.hubCaPem, metrics, log, helmDir: message.helmDir });
      setInterval(() => { const now = Date.now(); for (const agent of agents) agent.poll(now); }, POLL_INTERVAL_MS);
      setInterval(() => { void stats(); }, STATS_INTERVAL_MS);
      return;
    }
    case 'add':
      await addAgents(message.agents, message.perSecond);
      return;
    case 'churn':
      await churn(message.count);
      return;
    case 'stopAll':
      await Promise.all(agents.map((agent) => agent.stop()));
      send({ type: 'stopped' });
      return;
    case 'linkTimes':
      send({ type: 'linkTimes', since: agents.map((agent) => agent.linkedSince ?? null) });
      return;
  }
}

process.on('message', (message: ToWorker) => {
  handle(message).catch((error: unknown) => {
    console.error('sim worker failed:', error);
    process.exit(1);
  });
});
process.on('disconnect', () => { process.exit(0); });
