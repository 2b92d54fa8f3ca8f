// Pushes each linked cluster's desired add-ons to its agent: the whole set,
// deleted markers included, when the agent links and after every change.
// Per cluster at most one push is in flight; changes arriving meanwhile are
// coalesced into one follow-up push of the then-current set. A failed push
// (link error, timeout, 5xx) is retried with backoff while the same link
// stays up; a new link starts over with a push of its own.
import type { HubSession } from '../../link/hub-session.ts';
import { ADDON_PATHS, desiredSetGeneration, type DesiredAddonSet } from '../../link/addons.ts';
import { Backoff } from '../../link/backoff.ts';
import { background } from '../../util/background.ts';
import type { Logger } from '../../util/logger.ts';
import type { AddonRecord } from '../store/index.ts';

/** How long one push may take before it counts as failed; stores on the agent may be a Secret write. */
export const ADDON_PUSH_TIMEOUT_MS = 15_000;
/** Retry backoff of failed pushes while the agent stays linked. */
export const ADDON_PUSH_RETRY_MIN_MS = 1_000;
export const ADDON_PUSH_RETRY_MAX_MS = 60_000;

/** How a push ended: `refused` is a 4xx (a bad or stale set, not retried), `failed` is retried. */
export type AddonPushOutcome = 'ok' | 'refused' | 'failed';

export interface AddonPusherOptions {
  /** The cluster's add-on rows, deleted ones included. */
  listAddons: (clusterId: string) => Promise<AddonRecord[]>;
  /** The cluster's live link, if it has one. */
  sessionOf: (clusterId: string) => HubSession | undefined;
  log: Logger;
  /** Counts each push by outcome. */
  onOutcome: (outcome: AddonPushOutcome) => void;
  timeoutMs?: number;
  retryMinMs?: number;
  retryMaxMs?: number;
}

interface ClusterPush {
  /** A change arrived while a push was in flight or waiting to retry. */
  again: boolean;
}

/** The wire form of a cluster's add-on rows. */
export function desiredSetOf(addons: readonly AddonRecord[]): DesiredAddonSet {
  const list = [...addons]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((a) => ({ name: a.name, generation: a.generation, deleted: a.deletedAt !== null, spec: a.spec }));
  return { generation: desiredSetGeneration(list), addons: list };
}

export class AddonPusher {
  private readonly options: AddonPusherOptions;
  private readonly running = new Map<string, ClusterPush>();
  private readonly stopping = new AbortController();

  constructor(options: AddonPusherOptions) {
    this.options = options;
  }

  /** The cluster's desired set changed, or its agent linked: push (or push again after the current one). */
  notify(clusterId: string): void {
    if (this.stopping.signal.aborted) return;
    const current = this.running.get(clusterId);
    if (current) {
      current.again = true;
      return;
    }
    const push: ClusterPush = { again: false };
    this.running.set(clusterId, push);
    background(this.pushLoop(clusterId, push), this.options.log, 'an add-on push failed');
  }

  /** Pushes in flight or waiting (for tests and shutdown checks). */
  get pending(): number {
    return this.running.size;
  }

  /** Stops retries and follow-ups (hub shutdown). */
  close(): void {
    this.stopping.abort();
  }

  private async pushLoop(clusterId: string, push: ClusterPush): Promise<void> {
    const backoff = new Backoff({
      initialMs: this.options.retryMinMs ?? ADDON_PUSH_RETRY_MIN_MS, maxMs: this.options.retryMaxMs ?? ADDON_PUSH_RETRY_MAX_MS,
    });
    let previous: HubSession | undefined;
    try {
      for (;;) {
        // Each round pushes over the link there is now: a new link (whose
        // notify was folded into `again`) gets the set too, with a fresh backoff.
        const session = this.options.sessionOf(clusterId);
        if (session?.isOpen !== true || this.stopping.signal.aborted) return;
        if (session !== previous) backoff.reset();
        previous = session;
        push.again = false;
        const outcome = await this.pushOnce(clusterId, session);
        this.options.onOutcome(outcome);
        if (outcome === 'failed') {
          if (!(await this.sleep(backoff.next()))) return;
        // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- notify() sets it during the await
        } else if (!push.again) {
          return;
        }
      }
    } finally {
      // Synchronously with the last decision, so a notify after it starts a new loop.
      this.running.delete(clusterId);
    }
  }

  private async pushOnce(clusterId: string, session: HubSession): Promise<AddonPushOutcome> {
    const { log } = this.options;
    let set: DesiredAddonSet;
    try {
      set = desiredSetOf(await this.options.listAddons(clusterId));
    } catch (error) {
      log.error({ err: error, clusterId }, 'could not read the add-ons to push');
      return 'failed';
    }
    try {
      const response = await session.requestJson<{ error?: { code?: string; message?: string } } | undefined>(
        'PUT', ADDON_PATHS.desired, set, this.options.timeoutMs ?? ADDON_PUSH_TIMEOUT_MS,
      );
      if (response.status === 204) {
        log.debug({ clusterId, generation: set.generation, addons: set.addons.length }, 'pushed desired add-ons');
        return 'ok';
      }
      if (response.status >= 400 && response.status < 500) {
        log.warn({ clusterId, generation: set.generation, status: response.status, error: response.body?.error }, 'the agent refused the desired add-ons');
        return 'refused';
      }
      log.warn({ clusterId, generation: set.generation, status: response.status, error: response.body?.error }, 'the agent could not store the desired add-ons; retrying');
      return 'failed';
    } catch (error) {
      log.warn({ err: error, clusterId, generation: set.generation }, 'pushing the desired add-ons failed; retrying while the agent stays linked');
      return 'failed';
    }
  }

  /** Waits `ms`; false when the pusher is closing. */
  private async sleep(ms: number): Promise<boolean> {
    const { signal } = this.stopping;
    if (signal.aborted) return false;
    return new Promise((resolve) => {
      const timer = setTimeout(() => { signal.removeEventListener('abort', onAbort); resolve(true); }, ms);
      const onAbort = (): void => { clearTimeout(timer); resolve(false); };
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}
