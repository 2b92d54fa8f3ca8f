// Runs the real `bin/uplink hub` and `bin/uplink agent` as child processes
// for e2e tests, and reads what they log.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import https from 'node:https';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { HubClient } from '../../src/cli/hub-client.ts';
import { runProcess, type ProcessResult } from '../../src/util/run-process.ts';
import { clusterBinDir, REPO_ROOT, testTempDir } from './cluster.ts';

export const UPLINK_BIN = join(REPO_ROOT, 'bin/uplink');

export interface LogLine {
  level: string;
  msg: string;
  [key: string]: unknown;
}

/** A running `bin/uplink` process with its JSON log lines collected. */
export class UplinkProcess {
  readonly child: ChildProcess;
  readonly lines: LogLine[] = [];
  private raw = '';

  constructor(args: string[], env: NodeJS.ProcessEnv = process.env) {
    this.child = spawn(UPLINK_BIN, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    // Test hooks do not run when a test process exits early; the children must
    // not outlive it either way.
    const reap = (): void => { this.child.kill('SIGKILL'); };
    process.once('exit', reap);
    this.child.once('exit', () => { process.off('exit', reap); });
    this.child.stdout?.on('data', (chunk: Buffer) => { this.take(chunk.toString()); });
    this.child.stderr?.on('data', (chunk: Buffer) => { this.raw += chunk.toString(); });
  }

  private take(text: string): void {
    this.raw += text;
    const parts = this.raw.split('\n');
    this.raw = parts.pop() ?? '';
    for (const part of parts) {
      try {
        this.lines.push(JSON.parse(part) as LogLine);
      } catch {
        this.lines.push({ level: 'raw', msg: part });
      }
    }
  }

  /** Waits until a log line matches, or fails with the log so far. */
  async waitForLog(match: (line: LogLine) => boolean, timeoutMs = 15_000): Promise<LogLine> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.lines.find(match);
      if (found) return found;
      if (this.child.exitCode !== null) throw new Error(`process exited (${this.child.exitCode}) before the log line; log:\n${this.dump()}`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for a log line; log:\n${this.dump()}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  dump(): string {
    return [...this.lines.map((l) => JSON.stringify(l)), this.raw].join('\n');
  }

  /** SIGTERM and wait for the exit. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = once(this.child, 'exit');
    this.child.kill(signal);
    await exited;
  }
}

/** A TCP port free at this moment on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  server.close();
  await once(server, 'close');
  return port;
}

export interface HubHandle {
  process: UplinkProcess;
  url: string;
  port: number;
  dataDir: string;
  caHash: string | undefined;
  adminToken: string;
  /** Settings file for the CLI, logged in as admin. */
  cliConfig: string;
  client: HubClient;
}

export interface StartHubOptions {
  port?: number;
  dataDir?: string;
  insecureHttp?: boolean;
  args?: string[];
  /** Added to the test process's environment (e.g. NODE_OPTIONS for a CPU profile). */
  env?: Record<string, string>;
}

/** Starts a hub on 127.0.0.1, waits until it listens, and logs the CLI in. */
export async function startHub(t: TestContext, options: StartHubOptions = {}): Promise<HubHandle> {
  const port = options.port ?? (await freePort());
  const dataDir = options.dataDir ?? testTempDir(t, 'uplink-hub-');
  const args = ['hub', '--listen', `127.0.0.1:${port}`, '--data-dir', dataDir, ...(options.insecureHttp ? ['--insecure-http'] : []), ...(options.args ?? [])];
  const hub = new UplinkProcess(args, { ...process.env, ...options.env });
  t.after(() => hub.stop('SIGKILL'));
  // Generous: on a busy machine (the whole suite on two cores) a hub restarted by a test took over 15 s to listen.
  const listening = await hub.waitForLog((l) => l.msg === 'hub listening', 60_000);
  const adminToken = readFileSync(join(dataDir, 'admin-token'), 'utf8').trim();
  const url = listening.publicUrl as string;
  const caHash = listening.caHash as string | undefined;
  const cliConfig = join(dataDir, 'cli.json');
  const login = ['login', url, '--token-file', join(dataDir, 'admin-token'), ...(caHash ? ['--ca-hash', caHash] : [])];
  const result = await uplink(login, cliConfig);
  if (result.code !== 0) throw new Error(`uplink login failed: ${result.stderr}`);
  const caPem = (JSON.parse(readFileSync(cliConfig, 'utf8')) as { caPem?: string }).caPem;
  const client = new HubClient({ hubUrl: url, token: adminToken, ...(caPem ? { caPem } : {}) });
  return { process: hub, url, port, dataDir, caHash, adminToken, cliConfig, client };
}

/**
 * Logs the CLI in to `hub` with `token` through the real `uplink login`, into
 * a settings file of its own (so tests can act as several users); returns it.
 */
export async function loginWithToken(hub: HubHandle, token: string): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'uplink-cli-'));
  const tokenFile = join(dir, 'token');
  writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
  const cliConfig = join(dir, 'cli.json');
  const result = await uplink(['login', hub.url, '--token-file', tokenFile, ...(hub.caHash ? ['--ca-hash', hub.caHash] : [])], cliConfig);
  if (result.code !== 0) throw new Error(`uplink login failed: ${result.stderr}`);
  return cliConfig;
}

/** Runs the uplink CLI with the given login settings file. */
export function uplink(args: string[], cliConfig: string): Promise<ProcessResult> {
  return runProcess(UPLINK_BIN, args, { env: { ...process.env, UPLINK_CLI_CONFIG: cliConfig }, timeoutMs: 30_000 });
}

export interface AgentHandle {
  process: UplinkProcess;
  stateFile: string;
  healthUrl: string;
}

export interface StartAgentOptions {
  hubUrl: string;
  token: string;
  kubeconfig: string;
  caHash?: string | undefined;
  stateFile?: string;
  args?: string[];
  /** Wait for 'linked to the hub' before returning (default true). */
  waitLinked?: boolean;
  /** Added to the test process's environment (e.g. POD_NAME). */
  env?: Record<string, string>;
}

/** Starts an agent with fast heartbeats and short backoff, as tests need. */
export async function startAgent(t: TestContext, options: StartAgentOptions): Promise<AgentHandle> {
  const stateFile = options.stateFile ?? join(testTempDir(t, 'uplink-agent-'), 'state.json');
  const ownState = options.args?.includes('--state-secret') === true;
  const args = [
    'agent', '--hub-url', options.hubUrl, '--token', options.token, '--kubeconfig', options.kubeconfig,
    ...(ownState ? [] : ['--state-file', stateFile]), '--health-listen', '127.0.0.1:0', '--heartbeat-interval', '1',
    '--reconnect-min', '0.5', '--reconnect-max', '4', '--log-level', 'debug', '--helm', join(await clusterBinDir(), 'helm'),
    '--sops', join(await clusterBinDir(), 'sops'),
    ...(options.caHash ? ['--hub-ca-hash', options.caHash] : []),
    ...(options.args ?? []),
  ];
  const agent = new UplinkProcess(args, { ...process.env, ...options.env });
  t.after(() => agent.stop('SIGKILL'));
  const starting = await agent.waitForLog((l) => l.msg === 'agent starting');
  if (options.waitLinked !== false) await agent.waitForLog((l) => l.msg === 'linked to the hub');
  return { process: agent, stateFile, healthUrl: `http://127.0.0.1:${String(starting.healthPort)}` };
}

/** Polls `check` every 50 ms until it returns a value, or fails after `timeoutMs`. */
export async function eventually<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined> | T | undefined): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${(lastError as Error).message}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A Prometheus sample value from a /metrics text, summed over label sets matching `labels`. */
export function metricValue(text: string, name: string, labels = ''): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const [series = '', value = '0'] = line.split(' ');
    if ((series === name || series.startsWith(`${name}{`)) && series.includes(labels)) total += Number(value);
  }
  return total;
}

/** The hub's /metrics text, trusting its CA. */
export async function hubMetricsText(hub: HubHandle): Promise<string> {
  const ca = hub.caHash ? readFileSync(join(hub.dataDir, 'tls', 'ca.crt'), 'utf8') : undefined;
  if (!ca) return (await fetch(`${hub.url}/metrics`)).text();
  return new Promise((resolve, reject) => {
    https.get(`${hub.url}/metrics`, { ca }, (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => { text += chunk.toString(); });
      res.on('end', () => { resolve(text); });
    }).on('error', reject);
  });
}

/**
 * A stand-in TestContext for a describe block's shared setup: helpers that
 * register `t.after` cleanups get them run by `runCleanups` (call it from the
 * suite's `after`), last registered first.
 */
export function suiteContext(name: string): { t: TestContext; runCleanups: () => Promise<void> } {
  const cleanups: (() => unknown)[] = [];
  const t = { after: (fn: () => unknown) => { cleanups.push(fn); }, name } as unknown as TestContext;
  return {
    t,
    runCleanups: async () => {
      for (const fn of cleanups.reverse()) await fn();
      cleanups.length = 0;
    },
  };
}

/** A long-running `uplink` command (a watch) whose output is collected. */
export function uplinkStream(t: TestContext, cliConfig: string, args: string[]): { stdout: () => string; stderr: () => string; exited: Promise<unknown> } {
  const child = spawn(UPLINK_BIN, args, { env: { ...process.env, UPLINK_CLI_CONFIG: cliConfig }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString(); });
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
  t.after(() => { child.kill('SIGKILL'); });
  return { stdout: () => stdout, stderr: () => stderr, exited: once(child, 'exit') };
}
