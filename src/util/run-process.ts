import { spawn, spawnSync } from 'node:child_process';
import { UplinkError } from './errors.ts';

/** Default limit on a child's run time; every child process is bounded. */
export const DEFAULT_PROCESS_TIMEOUT_MS = 120_000;
/** Output kept per stream; the rest is dropped and `truncated` is set. */
export const DEFAULT_MAX_OUTPUT_BYTES = 16 * 1024 * 1024;
/** Time between SIGTERM and SIGKILL when a child overruns its timeout. */
export const KILL_GRACE_MS = 5_000;

export interface RunProcessOptions {
  /** Bytes written to the child's stdin, which is then closed. */
  input?: string | Uint8Array;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  timeoutMs?: number;
  maxOutputBytes?: number;
  signal?: AbortSignal;
  /**
   * Start the child as the leader of a new process group and signal the
   * whole group on timeout or abort, so that what it started itself (shells,
   * plugins, credential helpers) dies with it instead of holding its output
   * pipes open. POSIX only; the group also outlives a crash of this process.
   */
  processGroup?: boolean;
  /**
   * Have the kernel SIGKILL the child when this process dies, even of
   * SIGKILL: the child is started through util-linux `setpriv --pdeathsig
   * SIGKILL` (see {@link deathSignalWrapper}); where that is missing the
   * child starts as usual and only the caller's own cleanup applies.
   */
  dieWithParent?: boolean;
  /** Called with the child's process id once it started (to record it). */
  onStart?: (pid: number) => void;
}

export interface ProcessResult {
  /** Exit code, or null when the child died of a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  durationMs: number;
  timedOut: boolean;
  truncated: boolean;
}

/** The program could not be started at all (not found, not executable). */
export class ProcessStartError extends UplinkError {
  constructor(file: string, cause: Error) {
    super('PROCESS_START_FAILED', `could not start ${file}: ${cause.message}`, { cause });
  }
}

/** The program ran and failed; the message carries the tail of its stderr. */
export class ProcessExitError extends UplinkError {
  readonly result: ProcessResult;

  constructor(file: string, args: readonly string[], result: ProcessResult) {
    const how = result.timedOut
      ? `timed out after ${Math.round(result.durationMs)} ms`
      : result.code === null
        ? `was killed by ${result.signal ?? 'a signal'}`
        : `exited with code ${result.code}`;
    const detail = (result.stderr.trim() || result.stdout.trim()).slice(-2000);
    super('PROCESS_FAILED', `${file} ${args.join(' ')} ${how}${detail ? `: ${detail}` : ''}`);
    this.result = result;
  }
}

class BoundedBuffer {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  private readonly limit: number;
  truncated = false;

  constructor(limit: number) {
    this.limit = limit;
  }

  push(chunk: Buffer): void {
    const room = this.limit - this.size;
    if (room <= 0) {
      this.truncated = true;
      return;
    }
    const kept = chunk.length > room ? chunk.subarray(0, room) : chunk;
    if (kept !== chunk) this.truncated = true;
    this.chunks.push(kept);
    this.size += kept.length;
  }

  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

/** util-linux's setpriv, which has had --pdeathsig since 2.33 (Debian bookworm has 2.38). */
const SETPRIV = '/usr/bin/setpriv';
/** Exit status of setpriv when it could not execute the program. */
const SETPRIV_EXEC_FAILED = 127;
let deathSignalProbe: readonly string[] | null | undefined;

/**
 * The argument prefix that makes a child die with this process on Linux
 * (`setpriv --pdeathsig SIGKILL --`), or null when setpriv is missing or too
 * old. Probed once. The death signal is kept across exec, so it reaches the
 * program setpriv runs; it does not reach that program's own children (a
 * process group kill by the caller covers those).
 */
export function deathSignalWrapper(): readonly string[] | null {
  if (deathSignalProbe !== undefined) return deathSignalProbe;
  const prefix = [SETPRIV, '--pdeathsig', 'SIGKILL', '--'];
  const ok = process.platform === 'linux' && spawnSync(SETPRIV, [...prefix.slice(1), 'true'], { stdio: 'ignore', timeout: 5000 }).status === 0;
  deathSignalProbe = ok ? prefix : null;
  return deathSignalProbe;
}

/**
 * Runs a program to completion and collects its output. Resolves for any exit
 * status (see {@link runChecked} for the throwing form); rejects only when the
 * program cannot be started.
 */
export function runProcess(file: string, args: readonly string[], options: RunProcessOptions = {}): Promise<ProcessResult> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_PROCESS_TIMEOUT_MS;
  const limit = options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
  const group = options.processGroup === true;
  const started = performance.now();
  const wrapper = options.dieWithParent === true ? deathSignalWrapper() : null;
  return new Promise((resolve, reject) => {
    const [command = file, ...commandArgs] = wrapper === null ? [file, ...args] : [...wrapper, file, ...args];
    const child = spawn(command, commandArgs, {
      env: options.env ?? process.env,
      cwd: options.cwd,
      stdio: ['pipe', 'pipe', 'pipe'],
      // A group's abort is handled below: spawn's own would signal the leader only.
      signal: group ? undefined : options.signal,
      detached: group,
    });
    const stdout = new BoundedBuffer(limit);
    const stderr = new BoundedBuffer(limit);
    let timedOut = false;
    let killTimer: NodeJS.Timeout | undefined;
    const kill = (signal: NodeJS.Signals): void => {
      if (!group || child.pid === undefined) {
        child.kill(signal);
        return;
      }
      try {
        process.kill(-child.pid, signal);
      } catch {
        // ESRCH: every member of the group has already exited.
      }
    };
    const stop = (): void => {
      if (killTimer !== undefined) return;
      kill('SIGTERM');
      killTimer = setTimeout(() => { kill('SIGKILL'); }, KILL_GRACE_MS);
    };
    const timer = setTimeout(() => {
      timedOut = true;
      stop();
    }, timeoutMs);
    const abort = group ? options.signal : undefined;
    if (abort?.aborted) stop();
    abort?.addEventListener('abort', stop, { once: true });
    child.stdout.on('data', (chunk: Buffer) => { stdout.push(chunk); });
    child.stderr.on('data', (chunk: Buffer) => { stderr.push(chunk); });
    // A child that exits without reading its stdin makes the write fail with
    // EPIPE; that is its choice, not an error of ours.
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input ?? '');
    const settle = (): void => {
      clearTimeout(timer);
      clearTimeout(killTimer);
      abort?.removeEventListener('abort', stop);
    };
    child.on('error', (error) => {
      settle();
      if (child.pid === undefined) reject(new ProcessStartError(file, error));
    });
    if (child.pid !== undefined) options.onStart?.(child.pid);
    child.on('close', (code, signal) => {
      // Members of a stopped group that outlived their leader are strays: no grace.
      if (group && killTimer !== undefined) kill('SIGKILL');
      settle();
      const text = stderr.text();
      if (wrapper !== null && code === SETPRIV_EXEC_FAILED && text.startsWith('setpriv: ')) {
        // setpriv started but could not run the program: the same as spawn failing to.
        reject(new ProcessStartError(file, new Error(text.trim().replace(/^setpriv: /, ''))));
        return;
      }
      resolve({
        code,
        signal,
        stdout: stdout.text(),
        stderr: text,
        durationMs: performance.now() - started,
        timedOut,
        truncated: stdout.truncated || stderr.truncated,
      });
    });
  });
}

/** Like {@link runProcess}, but a non-zero exit or a timeout throws {@link ProcessExitError}. */
export async function runChecked(file: string, args: readonly string[], options: RunProcessOptions = {}): Promise<ProcessResult> {
  const result = await runProcess(file, args, options);
  if (result.code !== 0 || result.timedOut) throw new ProcessExitError(file, args, result);
  return result;
}

/** PATH for a child when the parent has none. */
const DEFAULT_PATH = '/usr/local/bin:/usr/bin:/bin';

/**
 * The start of a child's environment built rather than inherited: PATH and
 * only the `inherit` variables the parent has (temp dir, proxies, CA
 * bundles…), so none of the parent's own settings or secrets reach it.
 */
export function childEnv(inherit: readonly string[], parent: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const env: Record<string, string> = { PATH: parent.PATH ?? DEFAULT_PATH };
  for (const name of inherit) {
    const value = parent[name];
    if (value !== undefined) env[name] = value;
  }
  return env;
}
