// Round trips to the database are what a busy hub runs out of first: 10,000
// agents beating every 15 s make ~670 heartbeats a second, and a replica's
// failover sends thousands of agents to link again within seconds, each with
// a token check, a link claim and a connection record. One statement (and,
// for a write, one commit and fsync) per call would spend a round trip on
// each; the batcher gathers the calls for many keys into one statement.
import { StoreError, StoreUnavailableError } from './store.ts';

export interface KeyedBatcherOptions<T, R> {
  /**
   * Runs one batch (one value per key); resolves once it is committed, with
   * each key's result where the statement has one (a key left out resolves
   * with undefined).
   */
  write: (batch: ReadonlyMap<string, T>) => Promise<ReadonlyMap<string, R> | undefined>;
  /** How long the first value of a batch waits for others; 0 runs it as soon as a batch may start. */
  windowMs: number;
  /** A batch holding this many keys is run at once, without waiting for the window. */
  maxBatch: number;
  /** Calls waiting (not yet in a batch) beyond this are refused: the database is not keeping up. */
  maxQueued: number;
  /** Batches run at a time. Writes keep 1, so one key's values are written in the order they came. */
  maxInFlight?: number;
  /** What the calls are, for the refusal's message ("heartbeats"). */
  what: string;
  /** Folds a later value for a key into the one waiting (default: the later value replaces it). */
  merge?: (earlier: T, later: T) => T;
}

interface Waiter<R> {
  resolve: (result: R | undefined) => void;
  reject: (error: unknown) => void;
}

interface Pending<T, R> {
  value: T;
  waiters: Waiter<R>[];
}

/** What the batcher has done, for metrics. */
export interface KeyedBatcherStats {
  /** Calls waiting for a batch to run. */
  queued: number;
  batches: number;
  /** Keys run (after coalescing). */
  written: number;
  /** Calls refused because the queue was full. */
  refused: number;
}

/**
 * Coalesces calls by key. Each call's promise settles when the batch holding
 * its value commits (with its key's result), or fails with that batch's
 * error. Two values for one key waiting together make one entry (see
 * `merge`). At most `maxInFlight` batches run at once; calls arriving
 * meanwhile gather for the next, so batches grow with the load by themselves.
 */
export class KeyedBatcher<T, R = void> {
  readonly #options: KeyedBatcherOptions<T, R>;
  readonly #pending = new Map<string, Pending<T, R>>();
  #queued = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  readonly #inFlight = new Set<Promise<void>>();
  #closed = false;
  readonly #stats = { batches: 0, written: 0, refused: 0 };

  constructor(options: KeyedBatcherOptions<T, R>) {
    this.#options = options;
  }

  /** Queues `value` for `key`; resolves once it (or a later value for the key) is committed. */
  add(key: string, value: T): Promise<R | undefined> {
    if (this.#closed) return Promise.reject(new StoreError('the store is closed'));
    if (this.#queued >= this.#options.maxQueued) {
      this.#stats.refused += 1;
      return Promise.reject(new StoreUnavailableError('STORE_UNAVAILABLE',
        `the hub's database is not keeping up: ${this.#queued} ${this.#options.what} are waiting; this one was refused`));
    }
    return new Promise<R | undefined>((resolve, reject) => {
      const entry = this.#pending.get(key);
      if (entry === undefined) this.#pending.set(key, { value, waiters: [{ resolve, reject }] });
      else {
        entry.value = this.#options.merge === undefined ? value : this.#options.merge(entry.value, value);
        entry.waiters.push({ resolve, reject });
      }
      this.#queued += 1;
      this.#schedule();
    });
  }

  stats(): KeyedBatcherStats {
    return { queued: this.#queued, ...this.#stats };
  }

  /** Runs what is queued, refuses further calls, and resolves when the last batch has settled. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    while (this.#inFlight.size > 0 || this.#pending.size > 0) {
      if (this.#inFlight.size < (this.#options.maxInFlight ?? 1)) this.#flush();
      await Promise.race(this.#inFlight);
    }
  }

  #schedule(): void {
    if (this.#inFlight.size >= (this.#options.maxInFlight ?? 1) || this.#pending.size === 0) return;
    if (this.#pending.size >= this.#options.maxBatch) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
      this.#flush();
      return;
    }
    this.#timer ??= setTimeout(() => {
      this.#timer = undefined;
      this.#flush();
    }, this.#options.windowMs);
  }

  #flush(): void {
    const batch = new Map<string, T>();
    const settled: [string, Pending<T, R>][] = [];
    for (const [key, entry] of this.#pending) {
      if (batch.size >= this.#options.maxBatch) break;
      batch.set(key, entry.value);
      settled.push([key, entry]);
      this.#pending.delete(key);
      this.#queued -= entry.waiters.length;
    }
    if (batch.size === 0) return;
    this.#stats.batches += 1;
    const done = (results: ReadonlyMap<string, R> | undefined, failure: { error: unknown } | undefined): void => {
      for (const [key, { waiters }] of settled) {
        for (const waiter of waiters) {
          if (failure === undefined) waiter.resolve(results?.get(key));
          else waiter.reject(failure.error);
        }
      }
    };
    // Through then(), so a write that throws at once fails its batch like one that rejects.
    const run: Promise<void> = Promise.resolve().then(() => this.#options.write(batch)).then((results) => {
      this.#stats.written += batch.size;
      done(results, undefined);
    }, (error: unknown) => { done(undefined, { error }); }).finally(() => {
      this.#inFlight.delete(run);
      if (!this.#closed) this.#schedule();
    });
    this.#inFlight.add(run);
  }
}
