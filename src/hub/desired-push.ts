// Pushes a desired set that the hub owns to each linked cluster's agent: the
// whole set, when the agent links and after every change. The desired
// add-ons (addons/push.ts) and the Service gateway's exposures
// (gateway/exposure-push.ts) are both such sets. Per cluster at most one push
// is in flight; changes arriving meanwhile are coalesced into one follow-up
// push of the then-current set. A failed push (link error, timeout, 5xx) is
// retried with backoff while the same link stays up; a new link starts over
// with a push of its own.
import type { HubSession } from '../link/hub-session.ts';
import { Backoff } from '../link/backoff.ts';
import { background } from '../util/background.ts';
import type { Logger } from '../util/logger.ts';

/** How long one push may take before it counts as failed; stores on the agent may be a Secret write. */
export const DESIRED_PUSH_TIMEOUT_MS = 15_000;
/** Retry backoff of failed pushes while the agent stays linked. */
export const DESIRED_PUSH_RETRY_MIN_MS = 1_000;
export const DESIRED_PUSH_RETRY_MAX_MS = 60_000;

/** How a push ended: `refused` is a 4xx (a bad or stale set, not retried), `failed` is retried. */
export type DesiredPushOutcome = 'ok' | 'refused' | 'failed';

/** A set on the wire: whatever it holds, with the generation the agent compares. */
export interface DesiredSet {
  generation: number;
}

export interface DesiredPusherOptions<S extends DesiredSet> {
  /** What is pushed, for logs: `add-ons`, `exposures`. */
  what: string;
  /** The agent's path (PUT). */
  path: string;
  /** The cluster's current set, read at each push. */
  read: (clusterId: string) => Promise<S>;
  /** How many entries a set holds, for logs. */
  size: (set: S) => number;
  /** The cluster's live link, if this hub holds it. */
  sessionOf: (clusterId: string) => HubSession | undefined;
  log: Logger;
  /** Counts each push by outcome. */
  onOutcome: (outcome: DesiredPushOutcome) => void;
  timeoutMs?: number;
  retryMinMs?: number;
  retryMaxMs?: number;
}

interface ClusterPush {
  /** A change arrived while a push was in flight or waiting to retry. */
  again: boolean;
}

export class DesiredPusher<S extends DesiredSet> {
  private readonly options: DesiredPusherOptions<S>;
  private readonly running = new Map<string, ClusterPush>();
  private readonly stopping = new AbortController();

  constructor(options: DesiredPusherOptions<S>) {
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
    background(this.pushLoop(clusterId, push), this.options.log, `a push of the desired ${this.options.what} failed`);
  }

  /**
   * Pushes the cluster's current set over `session` now and resolves with
   * how it went, outside the coalescing: for a caller that must know the
   * agent holds the newest set before it goes on (a gateway stream the agent
   * refused right after a create).
   */
  async pushNow(clusterId: string, session: HubSession): Promise<DesiredPushOutcome> {
    if (this.stopping.signal.aborted || !session.isOpen) return 'failed';
    const outcome = await this.pushOnce(clusterId, session);
    this.options.onOutcome(outcome);
    return outcome;
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
      initialMs: this.options.retryMinMs ?? DESIRED_PUSH_RETRY_MIN_MS, maxMs: this.options.retryMaxMs ?? DESIRED_PUSH_RETRY_MAX_MS,
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

  private async pushOnce(clusterId: string, session: HubSession): Promise<DesiredPushOutcome> {
    const { log, what } = this.options;
    let set: S;
    try {
      set = await this.options.read(clusterId);
    } catch (error) {
      log.error({ err: error, clusterId }, `could not read the ${what} to push`);
      return 'failed';
    }
    try {
      const response = await session.requestJson<{ error?: { code?: string; message?: string } } | undefined>(
        'PUT', this.options.path, set, this.options.timeoutMs ?? DESIRED_PUSH_TIMEOUT_MS,
      );
      if (response.status === 204) {
        log.debug({ clusterId, generation: set.generation, [what]: this.options.size(set) }, `pushed the desired ${what}`);
        return 'ok';
      }
      if (response.status >= 400 && response.status < 500) {
        log.warn({ clusterId, generation: set.generation, status: response.status, error: response.body?.error }, `the agent refused the desired ${what}`);
        return 'refused';
      }
      log.warn({ clusterId, generation: set.generation, status: response.status, error: response.body?.error }, `the agent could not store the desired ${what}; retrying`);
      return 'failed';
    } catch (error) {
      log.warn({ err: error, clusterId, generation: set.generation }, `pushing the desired ${what} failed; retrying while the agent stays linked`);
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
