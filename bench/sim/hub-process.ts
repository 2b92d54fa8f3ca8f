// The hub under test: one real `bin/uplink hub` process on loopback, with
// its log in a file (a pipe the bench reads slowly would stall the hub's
// synchronous logger), its /proc figures, and an HTTPS client for its API.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, openSync, readFileSync, statSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import { readProc, type ProcSample } from './proc.ts';

const REPO = join(import.meta.dirname, '../..');
const UPLINK_BIN = join(REPO, 'bin/uplink');
/** How long a hub may take from spawn to listening. */
const START_TIMEOUT_MS = 60_000;

export interface HubStartOptions {
  dataDir: string;
  /** Appended to across restarts. */
  logFile: string;
  /** 0 for any free port; a restart passes the port of the first start. */
  port: number;
  args?: string[];
  /** Extra environment (e.g. NODE_OPTIONS=--cpu-prof to profile the hub). */
  env?: NodeJS.ProcessEnv;
  /** Opens the Node inspector on a free loopback port, for inspector.ts to read the hub's memory. */
  inspect?: boolean;
}

interface ListeningLine {
  msg?: string;
  publicUrl?: string;
  caHash?: string;
}

export interface TimedResponse {
  status: number;
  body: string;
  ms: number;
}

export class HubProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly url: string;
  readonly port: number;
  readonly caHash: string;
  readonly caPem: string;
  readonly adminToken: string;
  private readonly agent: https.Agent;

  private constructor(child: ChildProcess, listening: Required<Pick<ListeningLine, 'publicUrl' | 'caHash'>>, dataDir: string) {
    this.child = child;
    this.pid = child.pid ?? 0;
    this.url = listening.publicUrl;
    this.port = Number(new URL(listening.publicUrl).port);
    this.caHash = listening.caHash;
    this.caPem = readFileSync(join(dataDir, 'tls/ca.crt'), 'utf8');
    this.adminToken = readFileSync(join(dataDir, 'admin-token'), 'utf8').trim();
    this.agent = new https.Agent({ keepAlive: true, maxSockets: 32, ca: this.caPem });
  }

  /** Spawns `bin/uplink hub` and resolves once it logged that it listens. */
  static async start(options: HubStartOptions): Promise<HubProcess> {
    const offset = sizeOf(options.logFile);
    const log = openSync(options.logFile, 'a');
    const args = ['hub', '--listen', `127.0.0.1:${options.port}`, '--data-dir', options.dataDir, ...(options.args ?? [])];
    // bin/uplink execs node, so the child's pid is the hub's own.
    // BENCH_HUB_NODE_OPTIONS reaches the hub alone, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof` (written when it stops).
    const nodeOptions = [process.env.BENCH_HUB_NODE_OPTIONS, options.inspect === true ? '--inspect=127.0.0.1:0' : undefined].filter(Boolean).join(' ');
    const env = { ...process.env, ...(nodeOptions === '' ? {} : { NODE_OPTIONS: nodeOptions }), ...options.env };
    const child = spawn(UPLINK_BIN, args, { stdio: ['ignore', log, log], env });
    closeSync(log);
    const reap = (): void => { child.kill('SIGKILL'); };
    process.once('exit', reap);
    child.once('exit', () => { process.off('exit', reap); });
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      const listening = findListening(options.logFile, offset);
      if (listening) return new HubProcess(child, listening, options.dataDir);
      if (child.exitCode !== null) throw new Error(`the hub exited (${child.exitCode}) before listening; see ${options.logFile}`);
      if (Date.now() > deadline) throw new Error(`the hub did not listen within ${START_TIMEOUT_MS} ms; see ${options.logFile}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  sample(): ProcSample {
    return readProc(this.pid);
  }

  /** Sends `signal` and waits for the exit; SIGKILL after `timeoutMs`. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 30_000): Promise<void> {
    this.agent.destroy();
    if (!this.running) return;
    const exited = once(this.child, 'exit');
    this.child.kill(signal);
    const timer = setTimeout(() => { this.child.kill('SIGKILL'); }, timeoutMs);
    await exited;
    clearTimeout(timer);
  }

  /**
   * One API request with the admin token; reads the whole answer. A GET
   * whose kept-alive connection the hub closed as it was reused (ECONNRESET:
   * the hub ends idle connections after 5 s) is sent once more.
   */
  async request(method: string, path: string, body?: unknown): Promise<TimedResponse> {
    try {
      return await this.requestOnce(method, path, body);
    } catch (error) {
      if (method !== 'GET' || (error as NodeJS.ErrnoException).code !== 'ECONNRESET') throw error;
      return this.requestOnce(method, path, body);
    }
  }

  private requestOnce(method: string, path: string, body?: unknown): Promise<TimedResponse> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const started = performance.now();
    return new Promise((resolve, reject) => {
      const req = https.request(`${this.url}${path}`, {
        method, agent: this.agent,
        headers: { authorization: `Bearer ${this.adminToken}`, ...(payload === undefined ? {} : { 'content-type': 'application/json' }) },
      }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => { chunks.push(chunk); });
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), ms: performance.now() - started });
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** GET returning parsed JSON; throws on a status other than 200. */
  async getJson<T>(path: string): Promise<T> {
    const res = await this.request('GET', path);
    if (res.status !== 200) throw new Error(`GET ${path}: HTTP ${res.status}: ${res.body.slice(0, 200)}`);
    return JSON.parse(res.body) as T;
  }

  /** The Prometheus text of /metrics. */
  async metricsText(): Promise<string> {
    return (await this.request('GET', '/metrics')).body;
  }
}

/** Every cluster of the fleet list, following its pages (`metadata.continue`) to the last. */
export async function listAllClusters<T>(hub: HubProcess): Promise<T[]> {
  const items: T[] = [];
  let next: string | undefined;
  for (let pages = 0; pages < 10_000; pages++) {
    const page = await hub.getJson<{ items: T[]; metadata?: { continue?: string } }>(`/api/v1/clusters${next === undefined ? '' : `?continue=${next}`}`);
    items.push(...page.items);
    next = page.metadata?.continue;
    if (next === undefined) break;
  }
  return items;
}

function sizeOf(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

function findListening(logFile: string, offset: number): Required<Pick<ListeningLine, 'publicUrl' | 'caHash'>> | undefined {
  const text = readFileSync(logFile, 'utf8').slice(offset);
  for (const line of text.split('\n')) {
    if (!line.includes('"hub listening"')) continue;
    const parsed = JSON.parse(line) as ListeningLine;
    if (parsed.publicUrl !== undefined && parsed.caHash !== undefined) return { publicUrl: parsed.publicUrl, caHash: parsed.caHash };
  }
  return undefined;
}

/**
 * Links the hub logged ('agent linked'), by transport: its `transport` field
 * where the hub logs one, else `websocket` (the only transport then).
 */
export function linkTransports(logFile: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const line of readFileSync(logFile, 'utf8').split('\n')) {
    if (!line.includes('"msg":"agent linked"')) continue;
    const transport = /"transport":"([^"]+)"/.exec(line)?.[1] ?? 'websocket';
    counts[transport] = (counts[transport] ?? 0) + 1;
  }
  return counts;
}

/** Sums a Prometheus sample over the label sets that contain `labels`. */
export function metricValue(text: string, name: string, labels = ''): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    const series = line.slice(0, space);
    if ((series === name || series.startsWith(`${name}{`)) && series.includes(labels)) total += Number(line.slice(space + 1));
  }
  return total;
}

export interface SimCluster {
  id: string;
  name: string;
  token: string;
}

/**
 * Registers `count` clusters through the hub's API (POST /api/v1/clusters,
 * as `uplink clusters create` does), `concurrency` requests at a time.
 */
export async function createClusters(hub: HubProcess, count: number, concurrency = 16): Promise<SimCluster[]> {
  const clusters: SimCluster[] = new Array<SimCluster>(count);
  let next = 0;
  const labelSets = [{ env: 'prod', region: 'eu' }, { env: 'prod', region: 'us' }, { env: 'staging', region: 'eu' }, { env: 'dev' }];
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < count) {
      const index = next++;
      const name = `sim-${String(index).padStart(5, '0')}`;
      const res = await hub.request('POST', '/api/v1/clusters', { name, labels: labelSets[index % labelSets.length] });
      if (res.status !== 201) throw new Error(`creating cluster ${name}: HTTP ${res.status}: ${res.body.slice(0, 200)}`);
      const created = JSON.parse(res.body) as { cluster: { id: string }; token: string };
      clusters[index] = { id: created.cluster.id, name, token: created.token };
    }
  }));
  return clusters;
}
