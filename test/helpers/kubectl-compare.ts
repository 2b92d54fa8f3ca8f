// Runs one kubectl command two ways on the same objects, straight at the test
// cluster's API server with its admin kubeconfig and through the hub as an
// Uplink admin user, and compares what a user sees: stdout, stderr and the
// exit code. Only what must differ is normalised, by the small named
// normalisers below; each one is a difference listed with its reason in
// docs/kubectl.md ("Compatibility").
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { runProcess, type ProcessResult } from '../../src/util/run-process.ts';
import { clusterBinDir, kubeconfigPath, kubectl, testTempDir, waitForDefaultServiceAccount } from './cluster.ts';
import { createUserLogin, kubeconfigThroughHub, startHubCluster, type HubCluster } from './kubectl-hub.ts';
import { eventually } from './uplink.ts';

/** Every namespace and cluster-scoped object of the comparison suite starts with this. */
export const COMPAT_PREFIX = 'compat';
/** The hub user of the hub side: the hub impersonates `uplink:alice` in group `uplink:admin`. */
export const HUB_USER = 'alice';
/** Bound on one kubectl run; commands that wait (rollout status, wait, drain) get their own shorter --timeout. */
const RUN_TIMEOUT_MS = 180_000;

export type SideName = 'api' | 'hub';

/** One way of reaching the cluster. */
export interface Side {
  /** `api` (straight to the API server) or `hub`: the same length, so twin names keep table columns aligned. */
  name: SideName;
  kubeconfig: string;
  /** This side's namespace: its own twin in a family with twin objects, else the one both sides share. */
  namespace: string;
  /** kubectl's environment: a discovery cache of its own per side. */
  env: NodeJS.ProcessEnv;
}

export interface Compat {
  cluster: HubCluster;
  api: Side;
  hub: Side;
  /** A random id in every name of this run, so a rerun never meets a leftover. */
  run: string;
}

/** A kubectl command line after `-n <namespace>`, the same for both sides or made per side. */
export type Args = readonly string[] | ((side: Side) => readonly string[]);

/** Rewrites what must differ between the sides into one form; gets the side whose output it is. */
export type Normaliser = (text: string, side: Side) => string;

/** What is compared. */
export interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Bytes for kubectl's stdin, the same for both sides or made per side. */
  input?: string | Uint8Array | ((side: Side) => string);
  /** Extra environment (KUBE_EDITOR, say). */
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

export interface CompareOptions extends RunOptions {
  /** Applied to stdout and stderr after the twin names. */
  normalise?: readonly Normaliser[];
  /** The exit code both sides must have (0 unless given). */
  code?: number;
  /** Run the API server side to its end first (commands whose second run would see the first one's change). */
  sequential?: boolean;
  /**
   * Runs again, up to this many times, while the sides differ: for output that
   * other tests on the shared cluster may change between the two runs (the
   * cluster's list of APIs, the one pod log file kwok serves).
   */
  attempts?: number;
}

/**
 * Starts a hub with a linked agent, an Uplink admin user and the namespaces
 * of one family: with `twins`, one per side (`<prefix>-<family>-<run>-api`
 * and `-hub`) for families that change what they touch; else one both share.
 */
export async function startCompat(t: TestContext, family: string, options: { twins: boolean }): Promise<Compat> {
  const cluster = await startHubCluster(t, `compat-${family}`);
  const login = await createUserLogin(cluster.hub, HUB_USER, 'admin');
  const hubKubeconfig = await kubeconfigThroughHub(login, cluster.clusterName);
  const run = randomBytes(3).toString('hex');
  const shared = `${COMPAT_PREFIX}-${family}-${run}`;
  const side = (name: SideName, kubeconfig: string): Side => ({
    name,
    kubeconfig,
    namespace: options.twins ? `${shared}-${name}` : shared,
    env: { ...process.env, KUBECACHEDIR: testTempDir(t, `uplink-compat-cache-${name}-`) },
  });
  const compat = { cluster, api: side('api', await kubeconfigPath()), hub: side('hub', hubKubeconfig), run };
  for (const namespace of new Set([compat.api.namespace, compat.hub.namespace])) await createNamespace(t, namespace);
  return compat;
}

async function createNamespace(t: TestContext, name: string): Promise<void> {
  await kubectl(['create', 'namespace', name]);
  t.after(async () => { await kubectl(['delete', 'namespace', name, '--wait=false', '--ignore-not-found']); });
  await kubectl(['label', 'namespace', name, 'uplink.dev/test=true']);
  await waitForDefaultServiceAccount(name);
}

/** A name of this run that differs between the sides only in its `-api`/`-hub` ending (for cluster-scoped twins). */
export function twinName(env: Compat, side: Side, base: string): string {
  return `${COMPAT_PREFIX}-${base}-${env.run}-${side.name}`;
}

function argsFor(args: Args, side: Side): string[] {
  return ['--kubeconfig', side.kubeconfig, '-n', side.namespace, ...(typeof args === 'function' ? args(side) : args)];
}

/** Runs kubectl on one side. Never throws on a non-zero exit. */
export async function runSide(side: Side, args: Args, options: RunOptions = {}): Promise<ProcessResult> {
  return runProcess(join(await clusterBinDir(), 'kubectl'), argsFor(args, side), {
    env: { ...side.env, ...options.env },
    timeoutMs: options.timeoutMs ?? RUN_TIMEOUT_MS,
    ...(options.input === undefined ? {} : { input: typeof options.input === 'function' ? options.input(side) : options.input }),
  });
}

/** The twin names of a side, and then each normaliser, applied to one text. */
export function normaliseText(text: string, side: Side, env: Compat, normalisers: readonly Normaliser[] = []): string {
  // Only this side's own twin names: a name of the other side in it stays, and differs.
  const named = text.replaceAll(`${env.run}-${side.name}`, `${env.run}-<twin>`);
  return normalisers.reduce((acc, normaliser) => normaliser(acc, side), named);
}

function outcome(result: ProcessResult, side: Side, env: Compat, normalisers: readonly Normaliser[] = []): Outcome {
  if (result.timedOut) throw new Error(`kubectl on the ${side.name} side timed out; stderr: ${result.stderr}`);
  return { code: result.code, stdout: normaliseText(result.stdout, side, env, normalisers), stderr: normaliseText(result.stderr, side, env, normalisers) };
}

function describeArgs(args: Args): string {
  return typeof args === 'function' ? 'kubectl (per side)' : `kubectl ${args.join(' ')}`.slice(0, 300);
}

/**
 * Runs `args` on both sides (at once, unless `sequential`), normalises, and
 * asserts that both have the same stdout, stderr and exit code, and that the
 * exit code is the expected one. Returns both normalised outcomes.
 */
export async function compare(env: Compat, args: Args, options: CompareOptions = {}): Promise<{ api: Outcome; hub: Outcome }> {
  const attempts = options.attempts ?? 1;
  for (let attempt = 1; ; attempt++) {
    const run = (side: Side): Promise<ProcessResult> => runSide(side, args, options);
    const [apiResult, hubResult] = options.sequential === true
      ? [await run(env.api), await run(env.hub)]
      : await Promise.all([run(env.api), run(env.hub)]);
    const api = outcome(apiResult, env.api, env, options.normalise);
    const hub = outcome(hubResult, env.hub, env, options.normalise);
    const same = api.code === hub.code && api.stdout === hub.stdout && api.stderr === hub.stderr;
    if (same || attempt >= attempts) return assertSame(describeArgs(args), { api, hub }, options.code ?? 0);
  }
}

/** Asserts that both outcomes are the same and (unless `code` is undefined) have that exit code; returns them. */
export function assertSame(what: string, pair: { api: Outcome; hub: Outcome }, code: number | null | undefined): { api: Outcome; hub: Outcome } {
  assert.deepEqual(pair.hub, pair.api, `${what}: through the hub (actual) differs from straight to the API server (expected)`);
  if (code !== undefined) assert.equal(pair.api.code, code, `${what} exited ${pair.api.code}: ${pair.api.stderr}`);
  return pair;
}

/** One step of a sequence run in turn: a kubectl command to compare, or an action on one side's objects. */
export type Step = { args: Args; options?: CompareOptions } | ((side: Side) => Promise<void>);

/**
 * Runs every step on the API server side, then all of them again on the hub
 * side, and compares each command's outcomes: for an object both sides share
 * and change (a node's cordon), where running at once would let one side see
 * the other's change. Returns the compared outcomes, one per command.
 */
export async function compareInTurn(env: Compat, steps: readonly Step[]): Promise<{ api: Outcome; hub: Outcome }[]> {
  const outcomes: Record<SideName, Outcome[]> = { api: [], hub: [] };
  for (const side of [env.api, env.hub]) {
    for (const step of steps) {
      if (typeof step === 'function') {
        await step(side);
        continue;
      }
      const result = outcome(await runSide(side, step.args, step.options), side, env, step.options?.normalise);
      assert.equal(result.code, step.options?.code ?? 0, `${describeArgs(step.args)} on the ${side.name} side exited ${result.code}: ${result.stderr}`);
      outcomes[side.name].push(result);
    }
  }
  const commands = steps.filter((step) => typeof step !== 'function');
  return commands.map((step, i) => assertSame(describeArgs(step.args), { api: outcomes.api[i] as Outcome, hub: outcomes.hub[i] as Outcome }, step.options?.code ?? 0));
}

/** Runs `fn` for both sides at once; the API server side's result first. */
export function eachSide<T>(env: Compat, fn: (side: Side) => Promise<T>): Promise<[T, T]> {
  return Promise.all([fn(env.api), fn(env.hub)]);
}

export interface StreamOptions {
  /** Extra environment. */
  env?: NodeJS.ProcessEnv;
  /**
   * Runs kubectl on a terminal of this size (util-linux `script` makes it),
   * as from a user's shell, for `exec -t`; stdout and stderr then arrive
   * together on stdout, as on a screen.
   */
  terminal?: { columns: number; rows: number };
}

/** Quotes one word for sh. */
function shellWord(word: string): string {
  return `'${word.replaceAll("'", "'\\''")}'`;
}

/** A long-running kubectl on one side (watch, logs -f, attach, port-forward), its output collected; stdin stays open. */
export class SideStream {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  readonly closed: Promise<number | null>;
  readonly side: Side;

  private constructor(kubectlFile: string, side: Side, args: Args, options: StreamOptions) {
    this.side = side;
    const argv = [kubectlFile, ...argsFor(args, side)];
    const size = options.terminal;
    const [file = kubectlFile, ...rest] = size === undefined
      ? argv
      : ['script', '-qec', `stty cols ${size.columns} rows ${size.rows}; exec ${argv.map(shellWord).join(' ')}`, '/dev/null'];
    this.child = spawn(file, rest, { env: { ...side.env, ...options.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdout?.on('data', (chunk: Buffer) => { this.stdout += chunk.toString(); });
    this.child.stderr?.on('data', (chunk: Buffer) => { this.stderr += chunk.toString(); });
    // 'close', not 'exit': only then has all of the output been read.
    this.closed = once(this.child, 'close').then(([code]) => code as number | null);
  }

  static async start(t: TestContext, side: Side, args: Args, options: StreamOptions = {}): Promise<SideStream> {
    const stream = new SideStream(join(await clusterBinDir(), 'kubectl'), side, args, options);
    t.after(() => { stream.child.kill('SIGKILL'); });
    return stream;
  }

  /** Ends the process (SIGINT, as Ctrl-C would) and waits until its output is read. */
  async stop(): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGINT');
    return this.closed;
  }
}

/** The same long-running kubectl on both sides. */
export class StreamPair {
  readonly env: Compat;
  readonly api: SideStream;
  readonly hub: SideStream;

  private constructor(env: Compat, api: SideStream, hub: SideStream) {
    this.env = env;
    this.api = api;
    this.hub = hub;
  }

  static async start(t: TestContext, env: Compat, args: Args, options: StreamOptions = {}): Promise<StreamPair> {
    const [api, hub] = await Promise.all([SideStream.start(t, env.api, args, options), SideStream.start(t, env.hub, args, options)]);
    return new StreamPair(env, api, hub);
  }

  /** Waits (generously) until `seen` holds for both sides' stdout and stderr. */
  async waitBoth(what: string, seen: (stream: SideStream) => boolean, timeoutMs = 60_000): Promise<void> {
    await eventually(`${what} on both sides`, timeoutMs, () => {
      for (const stream of [this.api, this.hub]) {
        if (stream.child.exitCode !== null) throw new Error(`kubectl on the ${stream.side.name} side exited: ${stream.stderr}`);
      }
      return seen(this.api) && seen(this.hub) ? true : undefined;
    });
  }

  /**
   * Stops both (unless `untilExit`: then waits for both to end by
   * themselves) and asserts that their normalised output is the same, and
   * with `untilExit` that both exited with `code` (0 unless given); returns it.
   */
  async compare(options: { normalise?: readonly Normaliser[]; untilExit?: boolean; code?: number | null } = {}): Promise<{ api: Outcome; hub: Outcome }> {
    const end = (stream: SideStream): Promise<number | null> => (options.untilExit === true ? stream.closed : stream.stop());
    const [apiCode, hubCode] = await Promise.all([end(this.api), end(this.hub)]);
    const view = (stream: SideStream, code: number | null): Outcome => ({
      code,
      stdout: normaliseText(stream.stdout, stream.side, this.env, options.normalise),
      stderr: normaliseText(stream.stderr, stream.side, this.env, options.normalise),
    });
    return assertSame('the stream', { api: view(this.api, apiCode), hub: view(this.hub, hubCode) }, options.untilExit === true ? options.code ?? 0 : options.code);
  }
}
