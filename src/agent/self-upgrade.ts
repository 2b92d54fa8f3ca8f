// The agent upgrading its own Helm release when the hub asks
// (AGENT_PATHS.agentUpgrade): `helm upgrade <release> <chart> --version V
// --reuse-values --wait=watcher` through the agent's HelmRunner, one at a
// time, in the background; the outcome travels in the heartbeat
// (`agentUpgrade`).
//
// A successful upgrade replaces the agent's own pod, usually before the old
// agent could report it. So the upgrade labels the release with its operation
// id, and an agent starting up reports the outcome from its release's labels
// and state (re-reading it while the upgrade is still pending). On SIGTERM
// a running upgrade gets a grace period to finish, because the rollout it
// waits for is exactly what terminates this pod.
import { randomUUID } from 'node:crypto';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import { setTimeout as sleep } from 'node:timers/promises';
import { agentUpgradeVersionProblem, type AgentUpgradeAccepted, type AgentUpgradeReport, type AgentUpgradeRequest } from '../link/protocol.ts';
import type { Logger } from '../util/logger.ts';
import { readLimited } from '../util/read-limited.ts';
import { ConfigError } from '../util/settings.ts';
import type { HelmRunner } from './addons/index.ts';
import { CodedError } from '../domain/error-codes.ts';

/** What `helm get metadata` says of a release (labels included). */
type ReleaseMetadata = Awaited<ReturnType<HelmRunner['metadata']>>;

/** helm's own --timeout for the upgrade and its wait. */
export const SELF_UPGRADE_HELM_TIMEOUT_SECONDS = 300;
/** The helm process is killed a minute after its own timeout, as for add-ons. */
const SELF_UPGRADE_PROCESS_TIMEOUT_MS = (SELF_UPGRADE_HELM_TIMEOUT_SECONDS + 60) * 1000;
/** On shutdown, how long a running upgrade may still finish: under a pod's default 30 s grace period. */
export const SELF_UPGRADE_STOP_GRACE_MS = 20_000;
/** Release label with the id of the upgrade that made the current revision. */
export const UPGRADE_OPERATION_LABEL = 'uplink.dev/agent-upgrade';
/** Release label with the version that upgrade asked for ('+' as '_': label values allow no '+'). */
export const UPGRADE_VERSION_LABEL = 'uplink.dev/agent-upgrade-version';
/** A recovered upgrade still pending is read again this often, for at most the helm process's own limit. */
const RECOVER_POLL_MS = 5_000;
/** Largest upgrade request body. */
const MAX_REQUEST_BYTES = 4 * 1024;

/** What the agent upgrades: its own release, from which chart. */
export interface SelfUpgradeTarget {
  release: string;
  namespace: string;
  /** Any chart reference helm takes; with `chartRepo` a chart name in that repository. */
  chart: string;
  chartRepo?: string;
  /** An oci:// chart on a registry reached over plain HTTP. */
  plainHttp?: boolean;
}

/** The target, or why the agent cannot upgrade itself. */
export type SelfUpgradeSetup = { target: SelfUpgradeTarget } | { unavailable: string };

/** A refused upgrade request, with the status to answer. */
export class SelfUpgradeError extends CodedError {}

export interface AgentSelfUpgradeOptions {
  setup: SelfUpgradeSetup;
  helm: Pick<HelmRunner, 'run' | 'metadata'>;
  log: Logger;
  now?: () => number;
  /** Tests shorten these. */
  recoverPollMs?: number;
  stopGraceMs?: number;
}

/** A label value for `version` (at most 63 characters), or undefined when it cannot be one. */
function versionLabel(version: string): string | undefined {
  const value = version.replaceAll('+', '_');
  return value.length <= 63 ? value : undefined;
}

/** The helm arguments of one self-upgrade. */
export function upgradeArgs(target: SelfUpgradeTarget, operationId: string, version: string): string[] {
  const label = versionLabel(version);
  return [
    'upgrade', target.release, target.chart, ...(target.chartRepo === undefined ? [] : ['--repo', target.chartRepo]),
    ...(target.plainHttp === true ? ['--plain-http'] : []), '--namespace', target.namespace, '--version', version,
    '--reuse-values', '--wait=watcher', '--timeout', `${SELF_UPGRADE_HELM_TIMEOUT_SECONDS}s`,
    '--labels', `${UPGRADE_OPERATION_LABEL}=${operationId}${label === undefined ? '' : `,${UPGRADE_VERSION_LABEL}=${label}`}`,
  ];
}

/**
 * The upgrade a release's labels and state tell of, as of `at`: undefined
 * when no self-upgrade made its current revision (none labelled it, or the
 * release was upgraded to another version since, keeping the labels).
 */
export function recoveredReport(release: ReleaseMetadata, at: string): AgentUpgradeReport | undefined {
  const operationId = release.labels[UPGRADE_OPERATION_LABEL];
  if (operationId === undefined || operationId === '') return undefined;
  const wanted = release.labels[UPGRADE_VERSION_LABEL];
  if (wanted !== undefined && wanted !== versionLabel(release.chartVersion)) return undefined;
  const what = `release ${release.namespace}/${release.name} is ${release.status} at revision ${release.revision} (chart version ${release.chartVersion})`;
  const base = { operationId, version: release.chartVersion, startedAt: release.deployedAt || at };
  if (release.status.startsWith('pending-')) return { ...base, state: 'running', message: `${what}; the upgrade is still running`, finishedAt: null };
  const state = release.status === 'deployed' ? 'succeeded' : 'failed';
  return { ...base, state, message: `${what}; read from the release after the agent restarted`, finishedAt: at };
}

/** One agent's self-upgrades: at most one at a time, bounded by helm's timeout. */
export class AgentSelfUpgrade {
  private readonly options: AgentSelfUpgradeOptions;
  private readonly now: () => number;
  private readonly stopping = new AbortController();
  private last: AgentUpgradeReport | undefined;
  private running: Promise<void> | undefined;
  private recovering: Promise<void> | undefined;
  private closing = false;

  constructor(options: AgentSelfUpgradeOptions) {
    this.options = options;
    this.now = options.now ?? Date.now;
  }

  /** The last upgrade, for the heartbeat; undefined before the first. */
  report(): AgentUpgradeReport | undefined {
    return this.last && { ...this.last };
  }

  /** Starts an upgrade in the background; throws SelfUpgradeError when it cannot. */
  request(input: AgentUpgradeRequest): AgentUpgradeAccepted {
    const { setup, log } = this.options;
    if ('unavailable' in setup) throw new SelfUpgradeError('SELF_UPGRADE_UNAVAILABLE', setup.unavailable);
    if (this.closing) throw new SelfUpgradeError('AGENT_STOPPING', 'the agent is shutting down');
    if (this.last?.state === 'running') {
      throw new SelfUpgradeError('AGENT_UPGRADE_RUNNING', `the agent is already upgrading to chart version ${this.last.version} (operation ${this.last.operationId}); ask again once it has finished`);
    }
    const { target } = setup;
    const report: AgentUpgradeReport = {
      operationId: randomUUID(), version: input.version, state: 'running',
      message: `helm upgrade of release ${target.namespace}/${target.release} to chart version ${input.version} is running`,
      startedAt: new Date(this.now()).toISOString(), finishedAt: null,
    };
    this.last = report;
    log.info({ operationId: report.operationId, version: input.version, requestedBy: input.requestedBy, release: target.release }, 'agent self-upgrade started');
    this.running = this.upgrade(target, report).finally(() => { this.running = undefined; });
    return { operationId: report.operationId };
  }

  private async upgrade(target: SelfUpgradeTarget, report: AgentUpgradeReport): Promise<void> {
    try {
      await this.options.helm.run(upgradeArgs(target, report.operationId, report.version), { timeoutMs: SELF_UPGRADE_PROCESS_TIMEOUT_MS, signal: this.stopping.signal });
      this.finish(report, 'succeeded', `upgraded release ${target.namespace}/${target.release} to chart version ${report.version}`);
    } catch (error) {
      this.finish(report, 'failed', error instanceof Error ? error.message : String(error));
    }
  }

  private finish(report: AgentUpgradeReport, state: 'succeeded' | 'failed', message: string): void {
    this.last = { ...report, state, message, finishedAt: new Date(this.now()).toISOString() };
    const fields = { operationId: report.operationId, version: report.version, message };
    if (state === 'failed') this.options.log.error(fields, 'agent self-upgrade failed');
    else this.options.log.info(fields, 'agent self-upgrade succeeded');
  }

  /**
   * At start: reports an upgrade an earlier agent process started, from its
   * release (see the file comment). Never rejects; a release it cannot read
   * is logged.
   */
  recover(): Promise<void> {
    const { setup } = this.options;
    if ('unavailable' in setup) return Promise.resolve();
    this.recovering = this.readRelease(setup.target).finally(() => { this.recovering = undefined; });
    return this.recovering;
  }

  private async readRelease(target: SelfUpgradeTarget): Promise<void> {
    const { helm, log } = this.options;
    const deadline = this.now() + SELF_UPGRADE_PROCESS_TIMEOUT_MS;
    try {
      for (;;) {
        const release = await helm.metadata(target.release, target.namespace, this.stopping.signal);
        const found = recoveredReport(release, new Date(this.now()).toISOString());
        // A request made meanwhile is newer than anything the release says.
        if (found === undefined || (this.last !== undefined && this.last.operationId !== found.operationId)) return;
        this.last = found;
        if (found.state !== 'running') return;
        if (this.now() >= deadline) {
          this.last = { ...found, state: 'failed', finishedAt: new Date(this.now()).toISOString(), message: `${found.message.replace(/; the upgrade is still running$/, '')} after ${SELF_UPGRADE_PROCESS_TIMEOUT_MS / 1000} s: the helm run that upgraded the agent was interrupted (see helm history)` };
          return;
        }
        await sleep(this.options.recoverPollMs ?? RECOVER_POLL_MS, undefined, { signal: this.stopping.signal });
      }
    } catch (error) {
      if (this.stopping.signal.aborted) return;
      log.warn({ err: error, release: target.release, namespace: target.namespace }, 'could not read the agent\'s own release (--self-release) to report its last upgrade');
    }
  }

  /** Refuses new requests, lets a running upgrade finish within the grace period, then cancels what is left. */
  async stop(): Promise<void> {
    this.closing = true;
    const running = this.running;
    if (running) {
      const grace = new AbortController();
      const finished = await Promise.race([running.then(() => true), sleep(this.options.stopGraceMs ?? SELF_UPGRADE_STOP_GRACE_MS, false, { signal: grace.signal })]);
      grace.abort();
      if (!finished) this.options.log.warn('stopping in the middle of the agent\'s self-upgrade; helm is cancelled');
    }
    this.stopping.abort();
    await Promise.all([this.running, this.recovering]);
  }
}

/** Why a request body is not an AgentUpgradeRequest, or undefined. */
export function upgradeRequestProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'the body must be an object {version, requestedBy}';
  const body = value as Partial<Record<keyof AgentUpgradeRequest, unknown>>;
  const version = agentUpgradeVersionProblem(body.version);
  if (version !== undefined) return version;
  if (typeof body.requestedBy !== 'string' || body.requestedBy.length > 256) return 'requestedBy must name who asked';
  return undefined;
}

/** The request in a body; SelfUpgradeError 400 naming the problem otherwise. */
async function readUpgradeRequest(req: Http2ServerRequest): Promise<AgentUpgradeRequest> {
  let body: unknown;
  try {
    body = JSON.parse(await readLimited(req, MAX_REQUEST_BYTES));
  } catch {
    body = undefined;
  }
  const problem = body === undefined ? 'the body must be JSON {version, requestedBy}' : upgradeRequestProblem(body);
  if (problem !== undefined) throw new SelfUpgradeError('AGENT_UPGRADE_INVALID', problem);
  return body as AgentUpgradeRequest;
}

/** POST AGENT_PATHS.agentUpgrade (answers documented there). */
export async function serveAgentUpgrade(upgrade: AgentSelfUpgrade, req: Http2ServerRequest, res: Http2ServerResponse): Promise<void> {
  let status = 202;
  let answer: unknown;
  try {
    answer = upgrade.request(await readUpgradeRequest(req));
  } catch (error) {
    if (!(error instanceof SelfUpgradeError)) throw error;
    status = error.status;
    answer = { error: { code: error.code, message: error.message } }; // the catalogue's shape and status (CodedError)
  }
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
}

/** The settings a self-upgrade takes (the agent's --self-* settings). */
export interface SelfUpgradeSettings {
  selfRelease?: string | undefined;
  selfChart?: string | undefined;
  selfChartRepo?: string | undefined;
  /** OCI registries reached over plain HTTP (host[:port]). */
  plainHttpRegistries?: readonly string[];
}

/** What the agent upgrades, from its settings and its namespace; throws ConfigError for settings that cannot work. */
export function selfUpgradeSetup(settings: SelfUpgradeSettings, namespace: string): SelfUpgradeSetup {
  const { selfRelease: release, selfChart: chart, selfChartRepo: chartRepo } = settings;
  if (chart?.startsWith('-') === true) throw new ConfigError(`--self-chart must be a chart reference, not '${chart}'`);
  if (chartRepo !== undefined && chart === undefined) throw new ConfigError('--self-chart-repo needs --self-chart, the chart\'s name in that repository');
  if (release === undefined) {
    return { unavailable: 'this agent was not installed by its Helm chart (--self-release is not set), so it cannot upgrade itself; upgrade it the way it was installed' };
  }
  if (chart === undefined) return { unavailable: `this agent knows its release ${namespace}/${release} but not its chart (--self-chart is not set), so it cannot upgrade itself` };
  const host = chart.startsWith('oci://') ? chart.slice('oci://'.length).split('/')[0] : undefined;
  const plainHttp = host !== undefined && (settings.plainHttpRegistries ?? []).includes(host);
  return { target: { release, namespace, chart, ...(chartRepo === undefined ? {} : { chartRepo }), ...(plainHttp ? { plainHttp } : {}) } };
}
