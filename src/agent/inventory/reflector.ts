// One kind's list-then-watch loop, as client-go's reflector does it: list
// (paged) and replace the cache, then watch from the list's resourceVersion.
// A planned end of the watch re-watches from the last resourceVersion; 410
// Gone relists; any other failure restarts with backoff; a watchdog restarts
// a watch that has been silent too long (bookmarks arrive about every
// minute, so a silent watch is a dead one whose TCP connection has not
// noticed). Kinds the API server does not serve, or RBAC forbids, are
// retried slowly and reported, never fatal.
import { setTimeout as sleep } from 'node:timers/promises';
import { Backoff } from '../../link/backoff.ts';
import type { Logger } from '../../util/logger.ts';
import { KubeApiError } from '../kube.ts';
import type { AgentMetrics, WatchRestartReason } from '../metrics.ts';
import type { KindSpec } from './kinds.ts';
import type { KindSource, WatchEvent } from './source.ts';
import type { KindStore, StoreChange, StoredObject } from './store.ts';
import { stripObject } from './strip.ts';
import { buildRow, type KubeObject } from './summary.ts';

/**
 * Objects per list page. Small on purpose: a page is read whole and parsed
 * whole, and with 500 pods a page (managedFields included) is megabytes of
 * short-lived objects that push the V8 heap and the agent's RSS up for good.
 * Measured at 10,000 pods: 100 per page ends the sync at 137 MiB RSS, 500 at
 * 182 MiB (docs/benchmarks.md), for a few more round trips.
 */
export const LIST_LIMIT = 100;
/** Retry interval of a kind the API server does not serve (404) or RBAC forbids (403). */
export const UNAVAILABLE_RETRY_MS = 60_000;
/**
 * Consecutive 403/404 answers after which a kind that was served before is
 * given up as unavailable. A restarting API server answers both for a few
 * seconds (its RBAC and its aggregated APIs are not loaded yet); that must not
 * wipe a kind's cache.
 */
export const UNAVAILABLE_AFTER_FAILURES = 6;
/** Bounds of the restart backoff (full jitter). */
export const RESTART_BACKOFF = { initialMs: 500, maxMs: 30_000 } as const;
/** A watch that lasted this long, or delivered an event, resets the backoff. */
export const HEALTHY_WATCH_MS = 5_000;
/** Each watch's timeout is the configured one ±20%, so a fleet's re-watches do not align. */
export const WATCH_TIMEOUT_JITTER = 0.2;
/** Extra time past its timeout before the agent ends a watch the API server failed to end. */
const WATCH_DEADLINE_GRACE_S = 30;

export interface ReflectorOptions {
  kind: KindSpec;
  store: KindStore;
  source: KindSource;
  log: Logger;
  metrics: AgentMetrics;
  watchTimeoutSeconds: number;
  watchSilenceSeconds: number;
  now: () => number;
  /** Store changes of relists and watches (not of the first list). */
  onChanges: (changes: StoreChange[]) => void;
  random?: () => number;
}

/** A watch ERROR event or HTTP status of 410: the resourceVersion is too old, relist. */
class WatchGone extends Error {}

type WatchEnd = WatchRestartReason;

function isGone(error: unknown): boolean {
  return error instanceof WatchGone || (error instanceof KubeApiError && error.status === 410);
}

function isUnavailable(error: unknown): boolean {
  return error instanceof KubeApiError && (error.status === 403 || error.status === 404);
}

export class Reflector {
  readonly kind: KindSpec;
  /** The first list has completed. */
  synced = false;
  /** The API server does not serve the kind, or RBAC forbids it. */
  unavailable = false;
  /** The loop's last failure, or null while healthy. */
  error: string | null = null;
  /** When the API server last answered for this kind (ms). */
  lastContact: number;
  /**
   * A watch of this kind is open: the API server answered it and it has not
   * ended. Such a kind is as current as the API server's last sign of life on
   * any kind, even when nothing of its own changed for minutes.
   */
  watching = false;
  resourceVersion = '';
  private readonly options: ReflectorOptions;
  private readonly backoff: Backoff;
  private currentWatch: AbortController | undefined;
  private lastLogged = '';
  /** 403/404 answers in a row since the last good list. */
  private unavailableStreak = 0;
  private refused = 0;
  private lists = 0;

  constructor(options: ReflectorOptions) {
    this.options = options;
    this.kind = options.kind;
    this.lastContact = options.now();
    this.backoff = new Backoff({ ...RESTART_BACKOFF, ...(options.random ? { random: options.random } : {}) });
  }

  /** Lists and watches until the signal aborts. Never rejects. */
  async run(signal: AbortSignal): Promise<void> {
    let needList = true;
    while (!signal.aborted) {
      let delay = 0;
      try {
        if (needList) await this.list(signal);
        needList = false;
        const started = this.options.now();
        const { end, events } = await this.watchOnce(signal);
        this.options.metrics.inventoryWatchRestarts.inc({ reason: end });
        if (end === 'gone') needList = true;
        const healthy = events > 0 || this.options.now() - started >= HEALTHY_WATCH_MS;
        if (healthy && end !== 'watchdog') this.backoff.reset();
        else delay = this.backoff.next();
      } catch (error) {
        // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- the signal can abort during the await
        if (signal.aborted) break;
        if (isGone(error)) {
          // A re-watch from an expired resourceVersion: relist, after a short pause so a flapping server is no hot loop.
          this.options.metrics.inventoryWatchRestarts.inc({ reason: 'gone' });
          needList = true;
          delay = this.backoff.next();
        } else if (isUnavailable(error)) {
          needList = true;
          this.unavailableStreak += 1;
          // Never served: unavailable at once. Served before: only once it persists.
          if (this.lists === 0 || this.unavailableStreak >= UNAVAILABLE_AFTER_FAILURES) delay = this.markUnavailable(error as KubeApiError);
          else {
            this.fail((error as Error).message);
            delay = this.backoff.next();
          }
        } else {
          if (!needList) this.options.metrics.inventoryWatchRestarts.inc({ reason: 'error' });
          this.fail((error as Error).message);
          delay = this.backoff.next();
        }
      }
      if (delay > 0) await sleep(delay, undefined, { signal }).catch(() => undefined);
    }
  }

  /** A test hook: forget the resourceVersion and end the current watch, so the next one meets 410 Gone. */
  expireResourceVersion(): void {
    this.resourceVersion = '1';
    this.currentWatch?.abort(new Error('the resourceVersion was expired by a test'));
  }

  private async list(signal: AbortSignal): Promise<void> {
    const relist = this.lists > 0;
    const entries: StoredObject[] = [];
    let cont: string | undefined;
    let resourceVersion: string;
    do {
      const page = await this.options.source.listPage(this.kind, { limit: LIST_LIMIT, continue: cont, signal });
      this.lastContact = this.options.now();
      for (const item of page.items) entries.push(this.toStored(item));
      cont = page.continue;
      resourceVersion = page.resourceVersion;
    } while (cont !== undefined);
    const { changes, refused } = this.options.store.replace(entries);
    this.lists += 1;
    if (relist) this.options.metrics.inventoryRelists.inc();
    this.resourceVersion = resourceVersion;
    this.refused = refused;
    this.unavailable = false;
    this.unavailableStreak = 0;
    this.synced = true;
    this.options.metrics.inventoryObjects.set({ resource: this.kind.info.resource }, this.options.store.size);
    if (refused > 0) this.reportFull();
    else this.recover();
    // The first list's changes matter only to a feed opened before it (no-op without subscribers).
    this.options.onChanges(changes);
  }

  private async watchOnce(signal: AbortSignal): Promise<{ end: WatchEnd; events: number }> {
    const base = this.options.watchTimeoutSeconds;
    const random = this.options.random ?? Math.random;
    const timeoutSeconds = Math.max(1, Math.round(base * (1 - WATCH_TIMEOUT_JITTER + 2 * WATCH_TIMEOUT_JITTER * random())));
    const controller = new AbortController();
    this.currentWatch = controller;
    const stop = (): void => {
      controller.abort(signal.reason);
    };
    signal.addEventListener('abort', stop, { once: true });
    let end: WatchEnd | undefined;
    // The watchdog wakes when the silence limit could have passed and re-arms
    // for what is left when a byte came meanwhile: no timer work per byte.
    const silenceMs = this.options.watchSilenceSeconds * 1000;
    let lastByte = this.options.now();
    const check = (): void => {
      const quiet = this.options.now() - lastByte;
      if (quiet < silenceMs) {
        watchdog = setTimeout(check, silenceMs - quiet);
        return;
      }
      end = 'watchdog';
      controller.abort(new Error(`no byte for ${this.options.watchSilenceSeconds} s`));
    };
    let watchdog = setTimeout(check, silenceMs);
    const deadline = setTimeout(() => {
      end = 'timeout';
      controller.abort(new Error('the API server did not end the watch at its timeout'));
    }, (timeoutSeconds + WATCH_DEADLINE_GRACE_S) * 1000);
    const started = this.options.now();
    let events = 0;
    try {
      await this.options.source.watch(this.kind, {
        resourceVersion: this.resourceVersion,
        timeoutSeconds,
        signal: controller.signal,
        onActivity: () => {
          lastByte = this.options.now();
          this.lastContact = lastByte;
          this.watching = true;
        },
        onEvent: (event) => {
          this.apply(event);
          // Only after apply: an ERROR event is no sign of health.
          if (events === 0) this.recover();
          events += 1;
        },
      });
      this.recover();
      const ranFull = this.options.now() - started >= timeoutSeconds * 1000 * 0.9;
      return { end: ranFull ? 'timeout' : 'closed', events };
    } catch (error) {
      if (end !== undefined && !signal.aborted) return { end, events };
      if (controller.signal.aborted && !signal.aborted) return { end: 'closed', events };
      throw error;
    } finally {
      this.watching = false;
      clearTimeout(watchdog);
      clearTimeout(deadline);
      signal.removeEventListener('abort', stop);
      this.currentWatch = undefined;
    }
  }

  private apply(event: WatchEvent): void {
    const object = event.object as KubeObject | undefined;
    if (event.type === 'ERROR') {
      const status = object as { code?: number; message?: string } | undefined;
      if (status?.code === 410) throw new WatchGone(status.message ?? 'resourceVersion too old');
      throw new KubeApiError(status?.code ?? 0, `watch ${this.kind.info.resource}: ${status?.message ?? 'an ERROR event'}`);
    }
    const resourceVersion = object?.metadata?.resourceVersion;
    if (resourceVersion) this.resourceVersion = resourceVersion;
    if (event.type === 'BOOKMARK' || !object) return;
    const stored = this.toStored(object);
    const store = this.options.store;
    let change: StoreChange | undefined;
    if (event.type === 'DELETED') change = store.remove(stored.row.namespace, stored.row.name, stored.row);
    else {
      change = store.put(stored);
      if (!change && !store.get(stored.row.namespace, stored.row.name)) {
        this.refused += 1;
        this.reportFull();
      }
    }
    if (!change) return;
    this.options.metrics.inventoryObjects.set({ resource: this.kind.info.resource }, store.size);
    this.options.onChanges([change]);
  }

  private toStored(raw: KubeObject): StoredObject {
    const object = stripObject(this.kind, raw);
    const info = this.kind.info;
    return { row: buildRow({ kind: info.kind, namespaced: info.namespaced }, this.kind.summarize, object), json: JSON.stringify(object) };
  }

  private markUnavailable(error: KubeApiError): number {
    this.unavailable = true;
    const change = this.options.store.replace([]);
    this.options.metrics.inventoryObjects.set({ resource: this.kind.info.resource }, 0);
    this.synced = false;
    // Also when there was nothing to delete: the inventory checks whether every kind has settled.
    this.options.onChanges(change.changes);
    const why = error.status === 403 ? 'forbidden by RBAC' : 'not served by the API server';
    this.fail(`${this.kind.info.resource} is ${why}: ${error.message}`, 'info');
    return UNAVAILABLE_RETRY_MS;
  }

  private reportFull(): void {
    this.fail(`the inventory is full (--inventory-max-objects): new ${this.kind.info.resource} are not cached`);
  }

  /** Records a failure; logs it once per distinct message. */
  private fail(message: string, level: 'warn' | 'info' = 'warn'): void {
    this.error = message;
    if (message === this.lastLogged) return;
    this.lastLogged = message;
    this.options.log[level]({ resource: this.kind.info.resource, error: message }, 'inventory list/watch failed');
  }

  private recover(): void {
    if (this.refused > 0) return;
    if (this.error !== null && this.lastLogged !== '') {
      this.options.log.info({ resource: this.kind.info.resource }, 'inventory list/watch recovered');
    }
    this.error = null;
    this.lastLogged = '';
  }
}
