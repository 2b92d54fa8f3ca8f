// The agent's inventory: a watch-fed, in-memory cache of the cluster's
// objects, one store and one list-then-watch loop per kind, answering the
// hub's paginated, filtered queries and live feeds without calling the API
// server per request.
import { setTimeout as sleep } from 'node:timers/promises';
import type {
  InventoryFreshness, KindInfo, KindStatus, ResourceChange, ResourceEventsResponse, ResourceListResponse, ResourceObjectResponse, ResourceRow,
} from '../../link/resources.ts';
import { collectGarbage } from '../../util/heap.ts';
import type { Logger } from '../../util/logger.ts';
import { parseLabelSelector } from '../../domain/label-selector.ts';
import type { KubeClient } from '../kube.ts';
import type { AgentMetrics } from '../metrics.ts';
import { REDISCOVER_INTERVAL_MS, discoverKinds } from './discovery.ts';
import { Feed } from './feed.ts';
import { KindRegistry, builtinKinds, discoveredKind, type KindSpec } from './kinds.ts';
import { InventoryError, checkLimit, compileFilter, decodeContinue, encodeContinue, rowMatches, type RowQuery } from './query.ts';
import { Reflector } from './reflector.ts';
import { KubeSource, type KindSource } from './source.ts';
import { KindStore, ObjectBudget, type StoreChange } from './store.ts';
import { eventMatcher, podContainers, type PodContainers } from './lookups.ts';

export const DEFAULT_MAX_OBJECTS = 200_000;
export const DEFAULT_WATCH_TIMEOUT_SECONDS = 300;
export const DEFAULT_WATCH_SILENCE_SECONDS = 150;
/** The namespace of a namespaced object asked for without one, as kubectl assumes. */
const DEFAULT_NAMESPACE = 'default';

export interface InventoryOptions {
  kube: KubeClient;
  log: Logger;
  metrics: AgentMetrics;
  /** Also cache every further listable and watchable kind that discovery finds. Default false. */
  discover?: boolean;
  /** Cap on cached objects over all kinds. Default 200,000. */
  maxObjects?: number;
  /** Seconds the API server keeps a watch open before a planned re-watch (±20% per watch). Default 300. */
  watchTimeoutSeconds?: number;
  /** Seconds without a byte on a watch before the watchdog restarts it. Default 150. */
  watchSilenceSeconds?: number;
  now?: () => number;
  /** The list/watch source; the API server through `kube` unless a test gives one. */
  source?: KindSource;
}

export type ObjectQuery = { kind: string; namespace?: string; name: string };
export type ListQuery = RowQuery & { kind: string; limit?: number; continue?: string };
export type WatchQuery = RowQuery & { kind: string };

interface KindState {
  spec: KindSpec;
  store: KindStore;
  reflector: Reflector;
  controller: AbortController;
  done?: Promise<void>;
}

/** Reflectors by inventory, for test hooks only (not part of the public surface). */
const reflectorsOf = new WeakMap<Inventory, (resource: string) => Reflector | undefined>();

/** Test hook: makes the kind's next re-watch meet 410 Gone, so it relists. */
export function expireResourceVersion(inventory: Inventory, resource: string): void {
  const reflector = reflectorsOf.get(inventory)?.(resource);
  if (!reflector) throw new Error(`no reflector for ${resource}`);
  reflector.expireResourceVersion();
}

function copyInfo(info: KindInfo): KindInfo {
  return { ...info, shortNames: [...info.shortNames] };
}

export class Inventory {
  private readonly options: InventoryOptions;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly source: KindSource;
  private readonly registry = new KindRegistry([]);
  private readonly states = new Map<string, KindState>();
  private readonly feed: Feed;
  private readonly budget: ObjectBudget;
  private readonly stopping = new AbortController();
  private startedAt: number;
  private syncedAt: number | undefined;
  private started = false;
  private discovery: Promise<void> | undefined;
  /** With discovery on, the first sync waits for the first discovery's kinds too. */
  private discoveryPending = false;
  private lastDiscoveryProblem = '';

  constructor(options: InventoryOptions) {
    this.options = options;
    this.log = options.log;
    this.now = options.now ?? Date.now;
    this.startedAt = this.now();
    this.source = options.source ?? new KubeSource(options.kube);
    this.feed = new Feed(options.metrics, this.now);
    this.budget = new ObjectBudget(options.maxObjects ?? DEFAULT_MAX_OBJECTS);
    for (const spec of builtinKinds()) this.addKind(spec);
    reflectorsOf.set(this, (resource) => this.states.get(resource)?.reflector);
  }

  /** Starts every kind's list-then-watch loop, all in parallel, and discovery when enabled. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.startedAt = this.now();
    for (const state of this.states.values()) this.startKind(state);
    if (this.options.discover) {
      this.discoveryPending = true;
      this.discovery = this.discoverLoop(this.stopping.signal);
    }
  }

  /** Aborts every loop and ends every feed with an ERROR change. */
  async stop(): Promise<void> {
    this.stopping.abort(new Error('the inventory is stopping'));
    this.feed.end(undefined, 'the agent is stopping');
    await Promise.all([...[...this.states.values()].map((s) => s.done), this.discovery]);
  }

  resolveKind(name: string): KindInfo | undefined {
    const spec = this.registry.resolve(name);
    return spec ? copyInfo(spec.info) : undefined;
  }

  kinds(): KindStatus[] {
    const now = this.now();
    const heard = this.lastHeard();
    return [...this.states.values()].map(({ spec, store, reflector }) => ({
      ...copyInfo(spec.info),
      synced: reflector.synced,
      objects: store.size,
      error: reflector.error,
      stalenessSeconds: seconds(now - contactOf(reflector, heard)),
    }));
  }

  /** The API server's last sign of life on any kind (ms). */
  private lastHeard(): number {
    let heard = 0;
    for (const { reflector } of this.states.values()) heard = Math.max(heard, reflector.lastContact);
    return heard;
  }

  /**
   * How current the cache is. A kind the API server does not serve or RBAC
   * forbids does not hold back `synced` or `stalenessSeconds` (kinds() shows
   * its error); a kind still syncing counts from when it started.
   */
  freshness(): InventoryFreshness {
    const now = this.now();
    let syncedKinds = 0;
    let settled = !this.discoveryPending;
    let oldestContact = now;
    const heard = this.lastHeard();
    for (const { reflector } of this.states.values()) {
      if (reflector.synced) syncedKinds += 1;
      if (reflector.unavailable) continue;
      if (!reflector.synced) settled = false;
      oldestContact = Math.min(oldestContact, contactOf(reflector, heard));
    }
    if (settled && this.started && this.syncedAt === undefined) this.markSynced(now);
    return {
      synced: settled && this.started,
      kinds: this.states.size,
      syncedKinds,
      objects: this.budget.used,
      stalenessSeconds: seconds(now - oldestContact),
      startedAt: new Date(this.startedAt).toISOString(),
      syncedAt: this.syncedAt === undefined ? null : new Date(this.syncedAt).toISOString(),
    };
  }

  list(query: ListQuery): ResourceListResponse {
    const state = this.stateOf(query.kind);
    const filter = compileFilter(query, state.spec.info.namespaced);
    const limit = checkLimit(query.limit);
    const resource = state.spec.info.resource;
    const after = query.continue ? decodeContinue(resource, query.continue) : undefined;
    const page = state.store.page(filter, limit, after);
    return {
      kind: copyInfo(state.spec.info),
      items: page.rows,
      continue: page.nextAfter === undefined ? null : encodeContinue(resource, page.nextAfter),
      total: page.total,
      inventory: this.freshness(),
    };
  }

  /** One object; a namespaced kind asked for without a namespace looks in `default`, as kubectl does. */
  get(query: ObjectQuery): ResourceObjectResponse | undefined {
    const state = this.stateOf(query.kind);
    const entry = state.store.get(this.namespaceFor(state.spec, query.namespace), query.name);
    if (!entry) return undefined;
    return { kind: copyInfo(state.spec.info), object: JSON.parse(entry.json) as Record<string, unknown>, inventory: this.freshness() };
  }

  eventsFor(query: ObjectQuery): ResourceEventsResponse {
    const state = this.stateOf(query.kind);
    const namespace = this.namespaceFor(state.spec, query.namespace);
    const target = state.store.get(namespace, query.name);
    const matches = eventMatcher({ kind: state.spec.info.kind, namespace, name: query.name, uid: target?.row.uid });
    const events = this.states.get('events')?.store;
    const items: ResourceRow[] = [];
    // Events about a namespaced object live in its namespace; about a cluster-scoped one, anywhere.
    for (const entry of events?.sorted(namespace ?? undefined) ?? []) if (matches(entry.row)) items.push(entry.row);
    items.sort((a, b) => String(a.columns.lastSeen ?? a.createdAt ?? '').localeCompare(String(b.columns.lastSeen ?? b.createdAt ?? '')));
    return { items, inventory: this.freshness() };
  }

  /** ADDED for each current match, then SYNCED, then live changes, all through `onChange`; returns the unsubscribe. */
  watch(query: WatchQuery, onChange: (change: ResourceChange) => void): () => void {
    const state = this.stateOf(query.kind);
    const filter = compileFilter(query, state.spec.info.namespaced);
    const at = new Date(this.now()).toISOString();
    if (this.stopping.signal.aborted) {
      onChange({ type: 'ERROR', at, message: 'the agent is stopping' });
      return () => undefined;
    }
    const unsubscribe = this.feed.subscribe(state.spec.info.resource, filter, onChange);
    try {
      for (const entry of state.store.sorted(filter.namespace)) {
        if (rowMatches(filter, entry.row)) onChange({ type: 'ADDED', row: entry.row, at });
      }
      onChange({ type: 'SYNCED', at, inventory: this.freshness() });
    } catch (error) {
      unsubscribe();
      throw error;
    }
    return unsubscribe;
  }

  /** Current rows of a kind in namespace/name order; empty for an unknown kind. */
  *rows(resource: string): Generator<ResourceRow> {
    const state = this.stateOrUndefined(resource);
    for (const entry of state?.store.sorted() ?? []) yield entry.row;
  }

  /** Stored (stripped) objects of a kind, parsed one at a time: meant for small kinds such as nodes. */
  *objects(resource: string): Generator<Record<string, unknown>> {
    const state = this.stateOrUndefined(resource);
    for (const entry of state?.store.sorted() ?? []) yield JSON.parse(entry.json) as Record<string, unknown>;
  }

  /** Pods of a namespace matching a selector, with their containers; throws BAD_SELECTOR. */
  podsMatching(namespace: string, labelSelector: string): PodContainers[] {
    const selector = parseLabelSelector(labelSelector);
    const pods = this.states.get('pods')?.store;
    const result: PodContainers[] = [];
    for (const entry of pods?.sorted(namespace) ?? []) {
      if (selector.matches(entry.row.labels)) result.push(podContainers(entry.row.name, entry.json));
    }
    return result;
  }

  private stateOrUndefined(name: string): KindState | undefined {
    const spec = this.registry.resolve(name);
    return spec ? this.states.get(spec.info.resource) : undefined;
  }

  private stateOf(name: string): KindState {
    const state = this.stateOrUndefined(name);
    if (!state) throw new InventoryError('UNKNOWN_KIND', `unknown kind ${JSON.stringify(name)}: not one the inventory caches`);
    return state;
  }

  private namespaceFor(spec: KindSpec, namespace: string | undefined): string | null {
    if (!spec.info.namespaced) return null;
    return namespace === undefined || namespace === '' ? DEFAULT_NAMESPACE : namespace;
  }

  private addKind(spec: KindSpec): KindState {
    const store = new KindStore(this.budget);
    const resource = spec.info.resource;
    const reflector = new Reflector({
      kind: spec, store, source: this.source, log: this.log, metrics: this.options.metrics, now: this.now,
      watchTimeoutSeconds: this.options.watchTimeoutSeconds ?? DEFAULT_WATCH_TIMEOUT_SECONDS,
      watchSilenceSeconds: this.options.watchSilenceSeconds ?? DEFAULT_WATCH_SILENCE_SECONDS,
      onChanges: (changes: StoreChange[]) => {
        this.feed.publish(resource, changes);
        if (this.syncedAt === undefined) this.freshness();
      },
    });
    const state: KindState = { spec, store, reflector, controller: new AbortController() };
    this.states.set(resource, state);
    this.registry.add(spec);
    return state;
  }

  private startKind(state: KindState): void {
    state.reflector.lastContact = this.now();
    state.done = state.reflector.run(AbortSignal.any([this.stopping.signal, state.controller.signal]));
  }

  private async removeKind(state: KindState, why: string): Promise<void> {
    const resource = state.spec.info.resource;
    state.controller.abort(new Error(why));
    this.states.delete(resource);
    this.registry.remove(resource);
    this.feed.end(resource, why);
    await state.done;
    state.store.replace([]);
    this.options.metrics.inventoryObjects.remove({ resource });
  }

  private markSynced(now: number): void {
    this.syncedAt = now;
    const elapsed = (now - this.startedAt) / 1000;
    this.options.metrics.inventorySyncSeconds.set(elapsed);
    this.log.info({ kinds: this.states.size, objects: this.budget.used, seconds: elapsed }, 'inventory synced');
    setTimeout(collectGarbage, 500).unref();
  }

  private async discoverLoop(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        await this.discoverOnce();
      } catch (error) {
        this.noteDiscoveryProblem(`discovery failed: ${(error as Error).message}`);
      }
      this.discoveryPending = false;
      await sleep(REDISCOVER_INTERVAL_MS, undefined, { signal }).catch(() => undefined);
    }
  }

  private async discoverOnce(): Promise<void> {
    const builtins = builtinKinds().map((k) => k.info);
    const signal = this.stopping.signal;
    // getJson has its own timeout but no abort: stop() must not wait for it.
    const result = await discoverKinds((path) => untilAborted(this.options.kube.getJson(path), signal), builtins);
    if (this.stopping.signal.aborted) return;
    this.noteDiscoveryProblem(result.failures.length > 0 ? `discovery skipped some groups: ${result.failures.join('; ')}` : '');
    const identity = (info: KindInfo): string => `${info.group}/${info.version}/${info.resource.split('.')[0] ?? ''}`;
    const found = new Map(result.kinds.map((info) => [identity(info), info]));
    const failed = new Set(result.failedGroups);
    for (const state of [...this.states.values()]) {
      const info = state.spec.info;
      if (!state.spec.discovered || found.delete(identity(info)) || failed.has(info.group)) continue;
      await this.removeKind(state, `${info.resource} is no longer served by the API server`);
    }
    for (const info of found.values()) {
      if (this.states.has(info.resource)) continue;
      const state = this.addKind(discoveredKind(info));
      if (this.started) this.startKind(state);
    }
  }

  private noteDiscoveryProblem(problem: string): void {
    if (problem === this.lastDiscoveryProblem) return;
    this.lastDiscoveryProblem = problem;
    if (problem !== '') this.log.warn({ error: problem }, 'inventory discovery');
  }
}

function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      reject(new Error('the inventory is stopping'));
    };
    if (signal.aborted) onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => {
      signal.removeEventListener('abort', onAbort);
    });
  });
}

function seconds(ms: number): number {
  return Math.max(0, Math.round(ms / 100) / 10);
}

/**
 * When a kind's cache was last known current: with its watch open, as of the
 * API server's last sign of life on any kind (a quiet kind is not a stale
 * one: its watch would have said if something changed, and the watchdog ends
 * a watch that goes silent too long); otherwise its own last answer.
 */
function contactOf(reflector: Reflector, heard: number): number {
  return reflector.watching ? Math.max(reflector.lastContact, heard) : reflector.lastContact;
}
