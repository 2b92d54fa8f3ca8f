// A scripted list/watch source for unit tests of the reflector and the
// inventory: lists page through an in-memory set of objects, and each watch
// is a handle the test drives (emit events, end it, fail it).
import type { KindSpec } from './kinds.ts';
import type { KindSource, ListPage, ListPageOptions, WatchEvent, WatchOptions } from './source.ts';
import type { KubeObject } from './summary.ts';

export class FakeWatch {
  readonly resource: string;
  readonly options: WatchOptions;
  readonly done: Promise<void>;
  settled = false;
  private resolve!: () => void;
  private reject!: (error: unknown) => void;

  constructor(resource: string, options: WatchOptions) {
    this.resource = resource;
    this.options = options;
    this.done = new Promise<void>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    options.signal.addEventListener('abort', () => {
      this.fail(options.signal.reason);
    }, { once: true });
    // The real source reports activity once the API server has answered the watch.
    options.onActivity();
  }

  /** Delivers one event as the real source would: activity, then the event; a throw ends the watch. */
  emit(type: WatchEvent['type'], object: KubeObject): void {
    if (this.settled) throw new Error('the watch has ended');
    this.options.onActivity();
    try {
      this.options.onEvent({ type, object });
    } catch (error) {
      this.fail(error);
    }
  }

  end(): void {
    if (this.settled) return;
    this.settled = true;
    this.resolve();
  }

  fail(error: unknown): void {
    if (this.settled) return;
    this.settled = true;
    this.reject(error);
  }
}

export class FakeSource implements KindSource {
  /** The objects a list returns, by resource. */
  readonly objects = new Map<string, KubeObject[]>();
  /** The resourceVersion a list returns, by resource. */
  readonly listVersion = new Map<string, string>();
  /** Errors the next lists of a resource throw, in order. */
  readonly listErrors = new Map<string, Error[]>();
  /** Errors the next watches of a resource throw before streaming, in order. */
  readonly watchErrors = new Map<string, Error[]>();
  readonly lists: { resource: string; continue: string | undefined }[] = [];
  readonly watches: FakeWatch[] = [];

  set(resource: string, objects: KubeObject[], resourceVersion: string): void {
    this.objects.set(resource, objects);
    this.listVersion.set(resource, resourceVersion);
  }

  listPage(kind: KindSpec, options: ListPageOptions): Promise<ListPage> {
    const resource = kind.info.resource;
    this.lists.push({ resource, continue: options.continue });
    const error = this.listErrors.get(resource)?.shift();
    if (error) return Promise.reject(error);
    const all = this.objects.get(resource) ?? [];
    const start = options.continue === undefined ? 0 : Number(options.continue);
    const end = start + options.limit;
    // Deep copies, as each list from the API server is freshly parsed.
    const items = structuredClone(all.slice(start, end));
    return Promise.resolve({
      items, resourceVersion: this.listVersion.get(resource) ?? '1', continue: end < all.length ? String(end) : undefined,
    });
  }

  watch(kind: KindSpec, options: WatchOptions): Promise<void> {
    const error = this.watchErrors.get(kind.info.resource)?.shift();
    if (error) return Promise.reject(error);
    const watch = new FakeWatch(kind.info.resource, options);
    this.watches.push(watch);
    return watch.done;
  }

  /** The latest watch of a resource once `count` of them have been opened. */
  async nthWatch(resource: string, count: number, timeoutMs = 3000): Promise<FakeWatch> {
    return until(`watch #${count} of ${resource}`, timeoutMs, () => {
      const mine = this.watches.filter((w) => w.resource === resource);
      return mine.length >= count ? mine[count - 1] : undefined;
    });
  }
}

// The real timer and clock, taken before a test can mock them, so polling
// still works in tests that drive the code under test with mock timers.
const realSetTimeout = globalThis.setTimeout;
const realNow = performance.now.bind(performance);

/** Polls every 5 ms (real time, whatever timers a test mocks) until `check` returns a value. */
export async function until<T>(what: string, timeoutMs: number, check: () => T | undefined): Promise<T> {
  const deadline = realNow() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (realNow() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => realSetTimeout(resolve, 5));
  }
}

let uidCounter = 0;

/** A minimal object of any kind. */
export function object(namespace: string | null, name: string, resourceVersion: string, extra: Partial<KubeObject> = {}): KubeObject {
  uidCounter += 1;
  const { metadata, ...rest } = extra;
  return {
    metadata: {
      name, ...(namespace === null ? {} : { namespace }), uid: `uid-${name}-${uidCounter}`, resourceVersion,
      creationTimestamp: '2026-01-01T00:00:00Z', ...metadata,
    },
    ...rest,
  };
}
