// The simulated fleet: a few worker processes (worker.ts), each running its
// share of the agents, apart from the hub's process so the hub's figures are
// its own. Clusters are dealt round-robin; stats are summed over workers.
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import type { SimCluster } from './hub-process.ts';
import { readProc } from './proc.ts';
import type { AttemptCounts, FromWorker, ToWorker, WorkerStats } from './messages.ts';

const WORKER = join(import.meta.dirname, 'worker.ts');

export interface FleetTotals {
  agents: number;
  linked: number;
  drops: number;
  gaveUp: number;
  failures: string[];
  attempts: AttemptCounts;
  heartbeats: number;
  workerRssBytes: number;
}

interface Worker {
  child: ChildProcess;
  stats: WorkerStats | undefined;
  waiting: ((message: FromWorker) => void)[];
}

export class SimFleet {
  private readonly workers: Worker[];
  private dealt = 0;
  private churned = 0;

  private constructor(workers: Worker[]) {
    this.workers = workers;
  }

  /** `hubUrl` may list several URLs (load balancers): worker n dials the n-th, round robin. */
  static start(options: { workers: number; hubUrl: string | readonly string[]; caHash: string; hubCaPem?: string; runDir: string }): SimFleet {
    const hubUrls = typeof options.hubUrl === 'string' ? [options.hubUrl] : options.hubUrl;
    const workers = Array.from({ length: options.workers }, (_, n): Worker => {
      const child = fork(WORKER, [], { execArgv: ['--disable-warning=ExperimentalWarning'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      const worker: Worker = { child, stats: undefined, waiting: [] };
      child.on('message', (message: FromWorker) => {
        if (message.type === 'stats') worker.stats = message;
        else worker.waiting.shift()?.(message);
      });
      child.on('exit', (code, signal) => {
        if (code !== 0 && signal !== 'SIGKILL') console.error(`sim worker ${n} exited (${code ?? signal ?? 'unknown'})`);
      });
      const reap = (): void => { child.kill('SIGKILL'); };
      process.once('exit', reap);
      child.once('exit', () => { process.off('exit', reap); });
      const init: ToWorker = {
        type: 'init', hubUrl: hubUrls[n % hubUrls.length] ?? '', caHash: options.caHash, ...(options.hubCaPem === undefined ? {} : { hubCaPem: options.hubCaPem }),
        logFile: join(options.runDir, `sim-${n}.log`), helmDir: join(options.runDir, `helm-${n}`),
      };
      child.send(init);
      return worker;
    });
    return new SimFleet(workers);
  }

  /** Starts an agent for each cluster, `perSecond` a second over all workers. */
  add(clusters: readonly SimCluster[], perSecond: number): void {
    const shares = this.workers.map(() => [] as { index: number; token: string }[]);
    for (const cluster of clusters) {
      shares[this.dealt % this.workers.length]?.push({ index: this.dealt, token: cluster.token });
      this.dealt += 1;
    }
    for (const [n, worker] of this.workers.entries()) {
      const agents = shares[n] ?? [];
      if (agents.length > 0) this.send(worker, { type: 'add', agents, perSecond: perSecond / this.workers.length });
    }
  }

  /** Replaces `count` linked agents with fresh ones (each worker its share). */
  churn(count: number): void {
    for (let i = 0; i < count; i++) {
      const worker = this.workers[this.churned++ % this.workers.length];
      if (worker) this.send(worker, { type: 'churn', count: 1 });
    }
  }

  totals(): FleetTotals {
    const totals: FleetTotals = { agents: 0, linked: 0, drops: 0, gaveUp: 0, failures: [], attempts: {}, heartbeats: 0, workerRssBytes: 0 };
    for (const { stats, child } of this.workers) {
      if (!stats) continue;
      if (exited(child)) {
        // A worker that crashed took its agents with it: they count as having given up.
        totals.agents += stats.agents;
        totals.gaveUp += stats.agents;
        totals.failures.push(`sim worker ${child.pid ?? '?'} exited (${child.exitCode ?? child.signalCode ?? 'unknown'}) with ${stats.agents} agents`);
        continue;
      }
      totals.agents += stats.agents;
      totals.linked += stats.linked;
      totals.drops += stats.drops;
      totals.gaveUp += stats.gaveUp;
      totals.failures.push(...stats.failures);
      totals.heartbeats += stats.heartbeats;
      totals.workerRssBytes += stats.rssBytes;
      for (const [result, value] of Object.entries(stats.attempts)) totals.attempts[result] = (totals.attempts[result] ?? 0) + value;
    }
    return totals;
  }

  /** CPU seconds the workers have used so far, all together (/proc). */
  cpuSeconds(): number {
    let total = 0;
    for (const { child } of this.workers) {
      try {
        if (child.pid !== undefined) total += readProc(child.pid).cpuSeconds;
      } catch {
        // A worker that is gone counts nothing.
      }
    }
    return total;
  }

  /** Polls the totals every 100 ms until `done` holds; throws after `timeoutMs` with `what`. */
  async waitFor(what: string, timeoutMs: number, done: (totals: FleetTotals) => boolean): Promise<FleetTotals> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const totals = this.totals();
      if (done(totals)) return totals;
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}: ${JSON.stringify(totals)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** For every agent: when its current link opened (epoch ms), null while unlinked. */
  async linkTimes(): Promise<(number | null)[]> {
    const answers = await Promise.all(this.workers.map((worker) => this.ask(worker, { type: 'linkTimes' })));
    return answers.flatMap((answer) => (answer.type === 'linkTimes' ? answer.since : []));
  }

  /** Stops every agent gracefully and waits until they have. */
  async stopAll(): Promise<void> {
    await Promise.all(this.workers.map((worker) => this.ask(worker, { type: 'stopAll' })));
  }

  /** Ends the workers: their agents' links drop with them. A worker still there after 5 s is killed. */
  async close(): Promise<void> {
    await Promise.all(this.workers.map(async ({ child }) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      const timer = setTimeout(() => { child.kill('SIGKILL'); }, 5000);
      child.disconnect();
      await exited;
      clearTimeout(timer);
    }));
  }

  private send(worker: Worker, message: ToWorker): void {
    worker.child.send(message);
  }

  private ask(worker: Worker, message: ToWorker): Promise<FromWorker> {
    if (exited(worker.child)) {
      // No answer will come: a gone worker's agents are all unlinked.
      const since = new Array<null>(worker.stats?.agents ?? 0).fill(null);
      const answer: FromWorker = message.type === 'linkTimes' ? { type: 'linkTimes', since } : { type: 'stopped' };
      return Promise.resolve(answer);
    }
    return new Promise((resolve) => {
      worker.waiting.push(resolve);
      this.send(worker, message);
    });
  }
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}
