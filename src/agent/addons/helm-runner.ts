// The agent's one way to run the real `helm` binary: a bounded child process
// (its own process group, a timeout, an output cap) with a built environment
// rather than the agent's own, and parsers for `-o json` output that keep
// only what status reports need (never values, manifests or notes).
import { join } from 'node:path';
import type { AddonRelease, AddonRevision } from '../../link/addons.ts';
import { UplinkError } from '../../util/errors.ts';
import { childEnv, KILL_GRACE_MS, ProcessStartError, runProcess, type ProcessResult } from '../../util/run-process.ts';
import { classifyHelmError, type HelmFailureCode } from './helm-errors.ts';

/** Default limit per helm command; an upgrade with `--wait` passes its own, above helm's `--timeout`. */
export const DEFAULT_HELM_TIMEOUT_MS = 5 * 60_000;
/** Limit for read-only commands (list, history, status, version). */
export const HELM_READ_TIMEOUT_MS = 60_000;
/** Output kept per stream; a manifest of a large chart is a few MiB. */
export const DEFAULT_HELM_MAX_OUTPUT_BYTES = 16 * 1024 * 1024;
/** Releases `list` asks for; helm's own default of 256 could hide some. */
export const HELM_LIST_MAX = 2000;
/** Helm 4 has no `list --all`: every state is asked for by name. */
/** helm commands that change a release. */
const WRITE_COMMANDS: ReadonlySet<string> = new Set(['install', 'upgrade', 'rollback', 'uninstall']);
const LIST_EVERY_STATE = ['--deployed', '--failed', '--pending', '--superseded', '--uninstalled', '--uninstalling'];

/**
 * Variables helm may take from the agent's environment besides PATH: temp files, proxies and CA bundles, and in-cluster credentials
 * when no kubeconfig is given. Nothing else is inherited (HELM_DEBUG,
 * HELM_DRIVER, the agent's own settings and secrets stay out).
 */
const INHERITED_ENV = [
  'TMPDIR', 'HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'http_proxy', 'https_proxy', 'no_proxy',
  'SSL_CERT_FILE', 'SSL_CERT_DIR', 'KUBERNETES_SERVICE_HOST', 'KUBERNETES_SERVICE_PORT',
] as const;

export interface HelmRunnerOptions {
  /** Path of the helm binary. */
  binary: string;
  /**
   * The agent's helm directory: HELM_CACHE_HOME, HELM_CONFIG_HOME and
   * HELM_DATA_HOME are `cache`, `config` and `data` under it, and it is HOME,
   * so no `~/.kube/config` or `~/.config/helm` of the agent's user is read.
   */
  stateDir: string;
  /** The kubeconfig helm uses; without it helm uses its in-cluster credentials. */
  kubeconfig?: string;
  /** Further variables the caller chose to give helm; they cannot turn on HELM_DEBUG. */
  env?: Readonly<Record<string, string>>;
  /** Default limit per command. */
  timeoutMs?: number;
  maxOutputBytes?: number;
  /** Where running helm processes are recorded, so a restarted agent can stop what a killed one left. */
  children?: { add(pid: number): void; remove(pid: number): void };
  /**
   * Asked before each command that changes a release (install, upgrade,
   * rollback, uninstall): false refuses it with NOT_LEADER. With leader
   * election, true only while this agent's leadership is within its renew
   * deadline, so a process that was frozen past it (a stopped VM, a long
   * pause) cannot write before its deadline timer has had a chance to run.
   */
  mayWrite?: () => boolean;
}

export interface HelmCommandOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Written to helm's stdin (values with `-f -`), so they never touch the disk. */
  input?: string;
}

/** A helm command failed; `reason` is the stable code, `message` safe to show and store. */
export class HelmError extends UplinkError {
  readonly reason: HelmFailureCode | 'START_FAILED' | 'CANCELLED' | 'OUTPUT_TOO_LARGE' | 'OUTPUT_INVALID' | 'NOT_LEADER';
  /** Helm undid the failed operation itself (`--rollback-on-failure`). */
  readonly rolledBack: boolean;

  constructor(reason: HelmError['reason'], message: string, options?: ErrorOptions & { rolledBack?: boolean }) {
    super('HELM_FAILED', message, options);
    this.reason = reason;
    this.rolledBack = options?.rolledBack ?? false;
  }
}

/** The environment helm runs with (see {@link HelmRunnerOptions}). */
export function buildHelmEnv(options: HelmRunnerOptions, parent: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const env = childEnv(INHERITED_ENV, parent);
  Object.assign(env, options.env, {
    HOME: options.stateDir,
    HELM_CACHE_HOME: join(options.stateDir, 'cache'),
    HELM_CONFIG_HOME: join(options.stateDir, 'config'),
    HELM_DATA_HOME: join(options.stateDir, 'data'),
    // --debug prints values and rendered manifests; it stays off.
    HELM_DEBUG: 'false',
  });
  if (options.kubeconfig !== undefined) env.KUBECONFIG = options.kubeconfig;
  return env;
}

/** `helm upgrade` for `upgrade --install x`: the subcommand, never the arguments, which name files and releases. */
function commandName(args: readonly string[]): string {
  return args.find((arg) => !arg.startsWith('-')) ?? 'command';
}

export class HelmRunner {
  readonly binary: string;
  private readonly env: Record<string, string>;
  private readonly timeoutMs: number;
  private readonly maxOutputBytes: number;
  private readonly children: HelmRunnerOptions['children'];
  private readonly mayWrite: HelmRunnerOptions['mayWrite'];

  constructor(options: HelmRunnerOptions) {
    this.children = options.children;
    this.mayWrite = options.mayWrite;
    this.binary = options.binary;
    this.env = buildHelmEnv(options);
    this.timeoutMs = options.timeoutMs ?? DEFAULT_HELM_TIMEOUT_MS;
    this.maxOutputBytes = options.maxOutputBytes ?? DEFAULT_HELM_MAX_OUTPUT_BYTES;
  }

  /**
   * Runs `helm ARGS` and returns its output, or throws {@link HelmError} with
   * a classified reason when it fails, overruns its time (its process group
   * is killed) or prints more than the output cap.
   */
  async run(args: readonly string[], options: HelmCommandOptions = {}): Promise<ProcessResult> {
    if (args.includes('--debug')) throw new TypeError('helm --debug prints values and manifests; it is never passed');
    const command = commandName(args);
    if (WRITE_COMMANDS.has(args[0] ?? '') && this.mayWrite?.() === false) {
      throw new HelmError('NOT_LEADER', `helm ${command} was not run: this agent no longer leads its replicas`);
    }
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
    let result: ProcessResult;
    let pid: number | undefined;
    try {
      // helm dies with the agent (even of SIGKILL): a helm left running would race the restarted agent's.
      result = await runProcess(this.binary, args, {
        env: this.env, input: options.input, signal: options.signal, timeoutMs, maxOutputBytes: this.maxOutputBytes, processGroup: true,
        dieWithParent: true, onStart: (started) => { pid = started; this.children?.add(started); },
      });
    } catch (error) {
      if (error instanceof ProcessStartError) throw new HelmError('START_FAILED', `could not start helm at ${this.binary}: ${error.cause instanceof Error ? error.cause.message : 'unknown error'}`);
      throw error;
    } finally {
      if (pid !== undefined) this.children?.remove(pid);
    }
    if (result.timedOut) {
      const limit = timeoutMs >= 1000 ? `${Math.round(timeoutMs / 1000)} s` : `${timeoutMs} ms`;
      throw new HelmError('TIMEOUT', `helm ${command} did not finish within ${limit} and was killed with its process group (SIGTERM, then SIGKILL after ${KILL_GRACE_MS / 1000} s)`);
    }
    if (result.code !== 0) {
      if (result.code === null && options.signal?.aborted === true) throw new HelmError('CANCELLED', `helm ${command} was cancelled`);
      const failure = classifyHelmError(result.stderr, result.code);
      throw new HelmError(failure.code, `helm ${command}: ${failure.message}`, { rolledBack: failure.rolledBack });
    }
    if (result.truncated) {
      throw new HelmError('OUTPUT_TOO_LARGE', `helm ${command} printed more than ${this.maxOutputBytes} bytes; the output was cut and not used`);
    }
    return result;
  }

  /** The helm version, like `v4.2.4`. */
  async version(): Promise<string> {
    const result = await this.run(['version', '--template', '{{.Version}}'], { timeoutMs: HELM_READ_TIMEOUT_MS });
    return result.stdout.trim();
  }

  /** Releases in every state, in one namespace or in all of them. */
  async list(namespace?: string): Promise<HelmListEntry[]> {
    const scope = namespace === undefined ? ['--all-namespaces'] : ['--namespace', namespace];
    const result = await this.run(['list', ...LIST_EVERY_STATE, '--max', String(HELM_LIST_MAX), ...scope, '-o', 'json'], { timeoutMs: HELM_READ_TIMEOUT_MS });
    return parseHelmList(result.stdout);
  }

  /** A release's revisions, oldest first; with `max`, only the newest `max`. */
  async history(release: string, namespace: string, max?: number, signal?: AbortSignal): Promise<HelmRevision[]> {
    const limit = max === undefined ? [] : ['--max', String(max)];
    const result = await this.run(['history', release, '--namespace', namespace, ...limit, '-o', 'json'], { timeoutMs: HELM_READ_TIMEOUT_MS, signal });
    return parseHelmHistory(result.stdout);
  }

  /** The current revision's metadata, labels included; throws HelmError RELEASE_NOT_FOUND when there is no release. */
  async metadata(release: string, namespace: string, signal?: AbortSignal): Promise<HelmReleaseMetadata> {
    const result = await this.run(['get', 'metadata', release, '--namespace', namespace, '-o', 'json'], { timeoutMs: HELM_READ_TIMEOUT_MS, signal });
    return parseHelmMetadata(result.stdout);
  }

  /** The rendered manifest of the current revision (or of `revision`): YAML documents, no hooks. */
  async manifest(release: string, namespace: string, revision?: number, signal?: AbortSignal): Promise<string> {
    const pick = revision === undefined ? [] : ['--revision', String(revision)];
    const result = await this.run(['get', 'manifest', release, '--namespace', namespace, ...pick], { timeoutMs: HELM_READ_TIMEOUT_MS, signal });
    return result.stdout;
  }

  async status(release: string, namespace: string): Promise<HelmReleaseStatus> {
    const result = await this.run(['status', release, '--namespace', namespace, '-o', 'json'], { timeoutMs: HELM_READ_TIMEOUT_MS });
    return parseHelmStatus(result.stdout);
  }
}

/** One row of `helm list -o json`. */
export interface HelmListEntry {
  name: string;
  namespace: string;
  revision: number;
  /** As helm prints it: Go's time format, like `2025-01-02 10:00:00.1 +0000 UTC`. */
  updated: string;
  status: string;
  /** `<chart>-<version>`, like `webapp-0.1.0`. */
  chart: string;
  appVersion: string;
}

/** One row of `helm history -o json`: the add-on status carries these as they are. */
export type HelmRevision = AddonRevision;

/** What `helm status -o json` says about the release, without its values, manifest, hooks or notes. */
export interface HelmReleaseStatus {
  name: string;
  namespace: string;
  revision: number;
  status: string;
  description: string;
  firstDeployed: string | null;
  lastDeployed: string | null;
}

/**
 * What `helm get metadata -o json` says: the current revision and its chart
 * (the fields the add-on status reports), when it was deployed, and the
 * release's labels: Helm's own (`owner`, `status`, `version`, …) and those
 * given with `--labels`.
 */
export type HelmReleaseMetadata = Omit<AddonRelease, 'updated' | 'description'> & {
  name: string;
  /** RFC 3339. */
  deployedAt: string;
  labels: Record<string, string>;
};

type Json = Record<string, unknown>;

function parseJson(stdout: string, command: string): unknown {
  try {
    return JSON.parse(stdout);
  } catch (error) {
    throw new HelmError('OUTPUT_INVALID', `helm ${command} -o json printed no valid JSON`, { cause: error });
  }
}

function parseArray(stdout: string, command: string): Json[] {
  const parsed = parseJson(stdout, command);
  // helm prints `null` rather than `[]` for an empty history in some versions.
  if (parsed === null) return [];
  if (!Array.isArray(parsed) || !parsed.every((item) => typeof item === 'object' && item !== null)) {
    throw new HelmError('OUTPUT_INVALID', `helm ${command} -o json printed something other than a list of objects`);
  }
  return parsed as Json[];
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

/** `helm list` prints the revision as a string, `history` and `status` as a number. */
function revisionOf(value: unknown, command: string): number {
  const revision = typeof value === 'string' ? Number(value) : value;
  if (typeof revision !== 'number' || !Number.isInteger(revision) || revision < 1) {
    throw new HelmError('OUTPUT_INVALID', `helm ${command} -o json printed revision ${JSON.stringify(value)}, not a whole number`);
  }
  return revision;
}

export function parseHelmList(stdout: string): HelmListEntry[] {
  return parseArray(stdout, 'list').map((item) => ({
    name: text(item.name),
    namespace: text(item.namespace),
    revision: revisionOf(item.revision, 'list'),
    updated: text(item.updated),
    status: text(item.status),
    chart: text(item.chart),
    appVersion: text(item.app_version),
  }));
}

export function parseHelmHistory(stdout: string): HelmRevision[] {
  return parseArray(stdout, 'history').map((item) => ({
    revision: revisionOf(item.revision, 'history'),
    updated: text(item.updated),
    status: text(item.status),
    chart: text(item.chart),
    appVersion: text(item.app_version),
    description: text(item.description),
  }));
}

export function parseHelmStatus(stdout: string): HelmReleaseStatus {
  const parsed = parseJson(stdout, 'status');
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new HelmError('OUTPUT_INVALID', 'helm status -o json printed something other than an object');
  }
  const release = parsed as Json;
  const info = (typeof release.info === 'object' && release.info !== null ? release.info : {}) as Json;
  return {
    name: text(release.name),
    namespace: text(release.namespace),
    revision: revisionOf(release.version, 'status'),
    status: text(info.status),
    description: text(info.description),
    firstDeployed: text(info.first_deployed) || null,
    lastDeployed: text(info.last_deployed) || null,
  };
}

export function parseHelmMetadata(stdout: string): HelmReleaseMetadata {
  const parsed = parseJson(stdout, 'get metadata');
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new HelmError('OUTPUT_INVALID', 'helm get metadata -o json printed something other than an object');
  }
  const release = parsed as Json;
  const labels: Record<string, string> = {};
  if (typeof release.labels === 'object' && release.labels !== null) {
    for (const [key, value] of Object.entries(release.labels as Json)) if (typeof value === 'string') labels[key] = value;
  }
  return {
    name: text(release.name),
    namespace: text(release.namespace),
    revision: revisionOf(release.revision, 'get metadata'),
    status: text(release.status),
    chart: text(release.chart),
    chartVersion: text(release.version),
    appVersion: text(release.appVersion),
    deployedAt: text(release.deployedAt),
    labels,
  };
}
