// Waiting for an add-on: the hub answers changes and operations at once, and
// the agent's outcome arrives later as the add-on's status. The CLI polls the
// add-on until a check says it is done, or the timeout passes.
import type { AddonView } from '../../hub/api/addons.ts';
import { HubApiError } from '../hub-client.ts';

/** How long a wait lasts unless --timeout says otherwise. */
export const DEFAULT_WAIT_SECONDS = 600;
/** Polling interval: statuses change in seconds, and each poll is one small GET. */
export const POLL_INTERVAL_MS = 1_000;

/** Seconds as --timeout takes them: `45s`, `10m`, `1h30m`. */
export function formatWaitTime(seconds: number): string {
  const parts: [number, string][] = [[Math.floor(seconds / 3600), 'h'], [Math.floor((seconds % 3600) / 60), 'm'], [seconds % 60, 's']];
  return parts.filter(([value]) => value > 0).map(([value, unit]) => `${value}${unit}`).join('') || '0s';
}

/** How a wait ended: `ok` false exits non-zero with `message`. */
export interface WaitOutcome {
  ok: boolean;
  message: string;
}

/** Looks at the add-on as it is now: an outcome when done, undefined to keep waiting. */
export type WaitCheck = (view: AddonView) => WaitOutcome | undefined;

export interface WaitOptions {
  /** The add-on now (a GET of it). */
  fetch: () => Promise<AddonView>;
  check: WaitCheck;
  timeoutSeconds: number;
  /** What is awaited, for the timeout message: `the rollback of web to revision 1`. */
  what: string;
  intervalMs?: number;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

/** Polls until `check` gives an outcome; a timeout is an outcome too (not ok). Hub outages are retried until then. */
export async function waitForAddon(options: WaitOptions): Promise<WaitOutcome> {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => { setTimeout(resolve, ms); }));
  const deadline = now() + options.timeoutSeconds * 1000;
  let last: AddonView | undefined;
  for (;;) {
    try {
      last = await options.fetch();
      const outcome = options.check(last);
      if (outcome) return outcome;
    } catch (error) {
      // Unreachable (0) or failing (5xx) for a moment is worth waiting out; a 4xx will not change.
      if (!(error instanceof HubApiError) || (error.status !== 0 && error.status < 500)) throw error;
    }
    if (now() >= deadline) return { ok: false, message: timeoutMessage(options, last) };
    await sleep(options.intervalMs ?? POLL_INTERVAL_MS);
  }
}

function timeoutMessage(options: WaitOptions, last: AddonView | undefined): string {
  const status = last?.status ?? null;
  const where = status === null ? 'no status reported yet' : `last reported ${status.phase} for generation ${status.generation}${status.message === '' ? '' : `: ${status.message}`}`;
  return `gave up waiting for ${options.what} after ${formatWaitTime(options.timeoutSeconds)} (${where}); `
    + 'the agent goes on, and a cluster that is offline catches up once it links again';
}

/** Done once the add-on's last operation is the one with `operationId` and it has finished. */
export function operationCheck(operationId: string, what: string, success: string): WaitCheck {
  return (view) => {
    const operation = view.status?.lastOperation;
    if (operation?.id !== operationId || operation.result === 'running') return undefined;
    if (operation.result === 'failed') {
      const code = operation.code === null ? '' : ` (${operation.code})`;
      const rolledBack = operation.rolledBack ? '; helm rolled the release back' : '';
      return { ok: false, message: `${what} failed${code}: ${operation.message}${rolledBack}` };
    }
    const release = view.status?.release;
    const result = operation.revision === null ? operation.message : `revision ${operation.revision} ${release?.status ?? 'deployed'}`;
    return { ok: true, message: `${success}: ${result}` };
  };
}

/**
 * Done once the agent reports the add-on's `generation` (or a later one) in
 * phase `success` (Deployed counts once in sync: a held rollback is Deployed
 * too), or Failed. For `set --wait` (Deployed) and `uninstall` (Uninstalled).
 */
export function generationCheck(generation: number, success: 'Deployed' | 'Uninstalled'): WaitCheck {
  return (view) => {
    const status = view.status;
    if (status === null || status.generation < generation) return undefined;
    if (status.phase === success && (success === 'Uninstalled' || status.inSync)) {
      const revision = success === 'Deployed' && status.release !== null ? `, revision ${status.release.revision}` : '';
      return { ok: true, message: `${view.name} ${success === 'Deployed' ? 'deployed' : 'uninstalled'} (generation ${status.generation}${revision})` };
    }
    if (status.phase !== 'Failed') return undefined;
    const failure = status.lastOperation?.code ?? null;
    const code = failure === null ? '' : ` (${failure})`;
    const retry = status.nextRetryAt === null ? '' : `; the agent retries at ${status.nextRetryAt}`;
    return { ok: false, message: `${view.name} failed at generation ${status.generation}${code}: ${status.message}${retry}` };
  };
}
