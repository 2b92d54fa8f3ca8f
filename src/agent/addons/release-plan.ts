// The pure parts of applying an add-on: what identifies a desired spec on the
// release (its digest), the helm arguments of an install or upgrade, the wait
// before a retry, and whether an add-on's dependencies let it go ahead.
import { createHash } from 'node:crypto';
import type { DesiredAddonSpec } from '../../link/addons.ts';
import { durationSeconds } from '../../domain/duration.ts';

/**
 * Labels the agent puts on each release revision it writes (`helm upgrade
 * --labels`). Helm keeps them in the release record, so after a restart the
 * agent reads which spec a release runs from the cluster itself.
 */
export const RELEASE_LABELS = {
  digest: 'uplink.dev/spec-digest',
  generation: 'uplink.dev/generation',
} as const;

/**
 * The parts of a spec that change what helm installs: the chart (source and
 * version), where, the values and the history limit. Policy fields (sync
 * policy, ignore rules, window, retry, health mode, dependencies) change how
 * the agent treats the release, not the release, so they are left out: a
 * new retry policy must not cause an upgrade.
 */
export function specDigest(spec: DesiredAddonSpec): string {
  const installed = {
    source: spec.source, version: spec.version, namespace: spec.namespace, values: spec.values,
    revisionHistoryLimit: spec.revisionHistoryLimit,
  };
  // A label value holds at most 63 characters; 32 hex digits of SHA-256 are plenty to tell specs apart.
  return createHash('sha256').update(JSON.stringify(installed)).digest('hex').slice(0, 32);
}

export interface UpgradeInput {
  name: string;
  spec: DesiredAddonSpec;
  /** The chart argument and its source's flags (ChartSources.resolve). */
  chart: string;
  chartArgs: readonly string[];
  digest: string;
  generation: number;
  /** Helm's own `--timeout`, per Kubernetes operation and for the wait. */
  helmTimeoutSeconds: number;
  /** Take over objects another release owns (an add-on moving namespace: its cluster-scoped objects). */
  takeOwnership?: boolean;
}

/**
 * `helm upgrade --install` as the agent runs it: the namespace created when
 * missing, history capped, a failed upgrade rolled back (a failed install
 * uninstalled) by helm itself, readiness waited for with kstatus (Helm 4's
 * default is to wait for hooks only), and the spec's digest on the release.
 * Values go to stdin (`-f -`), never to the disk or the arguments.
 */
export function upgradeArgs(input: UpgradeInput): string[] {
  const { name, spec } = input;
  return [
    'upgrade', '--install', name, input.chart, ...input.chartArgs,
    '--namespace', spec.namespace, '--create-namespace',
    '--history-max', String(spec.revisionHistoryLimit),
    '--rollback-on-failure', '--wait=watcher', '--timeout', `${input.helmTimeoutSeconds}s`,
    '--labels', `${RELEASE_LABELS.digest}=${input.digest},${RELEASE_LABELS.generation}=${input.generation}`,
    ...(input.takeOwnership === true ? ['--take-ownership'] : []),
    ...(spec.values.trim() === '' ? [] : ['--values', '-']),
  ];
}

/** `helm rollback` to `revision`, waiting for readiness like an upgrade. */
export function rollbackArgs(name: string, spec: DesiredAddonSpec, revision: number, helmTimeoutSeconds: number): string[] {
  return [
    'rollback', name, String(revision), '--namespace', spec.namespace,
    '--history-max', String(spec.revisionHistoryLimit), '--wait=watcher', '--timeout', `${helmTimeoutSeconds}s`,
  ];
}

/** `helm uninstall`, waiting until the objects are gone. */
export function uninstallArgs(name: string, namespace: string, helmTimeoutSeconds: number): string[] {
  return ['uninstall', name, '--namespace', namespace, '--wait', '--timeout', `${helmTimeoutSeconds}s`];
}

/**
 * Milliseconds to wait before retry number `failures` (1 after the first
 * failure), or undefined when the policy allows no more: the wait starts at
 * `backoff.duration` and grows by `factor` up to `maxDuration`; `limit` -1
 * means no limit and 0 no retry.
 */
export function retryDelayMs(retry: DesiredAddonSpec['retry'], failures: number): number | undefined {
  if (retry.limit !== -1 && failures > retry.limit) return undefined;
  const first = durationSeconds(retry.backoff.duration) ?? 5;
  const max = durationSeconds(retry.backoff.maxDuration) ?? 180;
  return Math.min(max, first * retry.backoff.factor ** Math.max(0, failures - 1)) * 1000;
}

/** Where one dependency stands, as the engine sees it. */
export interface DependencyState {
  name: string;
  /** Present in the desired set and not deleted. */
  known: boolean;
  /** Deployed with its desired spec. */
  ready: boolean;
  /** Its phase, for the message. */
  phase: string;
}

/** Undefined when every dependency is ready, else one sentence naming those that are not. */
export function waitingFor(dependencies: readonly DependencyState[]): string | undefined {
  const notReady = dependencies.filter((d) => !d.ready);
  if (notReady.length === 0) return undefined;
  const parts = notReady.map((d) => (d.known ? `${d.name} (${d.phase})` : `${d.name} (not an add-on of this cluster)`));
  return `waiting for ${notReady.length === 1 ? 'add-on' : 'add-ons'} ${parts.join(', ')} to be deployed`;
}
