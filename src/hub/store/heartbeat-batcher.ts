// Heartbeats are the hub's hottest write: 10,000 agents beating every 15 s
// make ~670 updates a second. One statement and one commit per heartbeat
// would spend a round trip and an fsync on each; the batcher gathers those
// arriving within a short window into one write instead.
import { StoreError, StoreUnavailableError } from './store.ts';

export interface HeartbeatBatcherOptions<T> {
  /** Writes one batch (one value per key); resolves once it is committed. */
  write: (batch: ReadonlyMap<string, T>) => Promise<void>;
  /** How long the first value of a batch waits for others. */
  windowMs: number;
  /** A batch holding this many keys is written at once, without waiting for the window. */
  maxBatch: number;
  /** Calls waiting (not yet in a write) beyond this are refused: the database is not keeping up. */
  maxQueued: number;
}

interface Pending<T> {
  value: T;
  waiters: { resolve: () => void; reject: (error: unknown) => void }[];
}

/** What the batcher has done, for metrics. */
export interface HeartbeatBatcherStats {
  /** Calls waiting for a batch to be written. */
  queued: number;
  batches: number;
  /** Values written (after coalescing). */
  written: number;
  /** Calls refused because the queue was full. */
  refused: number;
}

/**
 * Coalesces writes by key. Each call's promise settles when the batch holding
 * its value commits (or fails with that batch's error). Two values for one key
 * in a window make one write of the later value. One batch is written at a
 * time, so a key's values are written in the order they came.
 */
export class HeartbeatBatcher<T> {
  readonly #options: HeartbeatBatcherOptions<T>;
  readonly #pending = new Map<string, Pending<T>>();
  #queued = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #inFlight: Promise<void> | undefined;
  #closed = false;
  readonly #stats = { batches: 0, written: 0, refused: 0 };

  constructor(options: HeartbeatBatcherOptions<T>) {
    this.#options = options;
  }

  /** Queues `value` for `key`; resolves once it (or a later value for the key) is committed. */
  add(key: string, value: T): Promise<void> {
    if (this.#closed) return Promise.reject(new StoreError('postgres store: the store is closed'));
    if (this.#queued >= this.#options.maxQueued) {
      this.#stats.refused += 1;
      return Promise.reject(new StoreUnavailableError('STORE_UNAVAILABLE',
        `the hub's database is not keeping up: ${this.#queued} heartbeats are waiting to be written; this one was not stored`));
    }
    return new Promise<void>((resolve, reject) => {
      const entry = this.#pending.get(key);
      if (entry === undefined) this.#pending.set(key, { value, waiters: [{ resolve, reject }] });
      else {
        entry.value = value;
        entry.waiters.push({ resolve, reject });
      }
      this.#queued += 1;
      this.#schedule();
    });
  }

  stats(): HeartbeatBatcherStats {
    return { queued: this.#queued, ...this.#stats };
  }

  /** Writes what is queued, refuses further calls, and resolves when the last batch has settled. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    while (this.#inFlight !== undefined || this.#pending.size > 0) {
      if (this.#inFlight === undefined) this.#flush();
      await this.#inFlight;
    }
  }

  #schedule(): void {
    if (this.#inFlight !== undefined || this.#pending.size === 0) return;
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
    const settled: Pending<T>[] = [];
    for (const [key, entry] of this.#pending) {
      if (batch.size >= this.#options.maxBatch) break;
      batch.set(key, entry.value);
      settled.push(entry);
      this.#pending.delete(key);
      this.#queued -= entry.waiters.length;
    }
    if (batch.size === 0) return;
    this.#stats.batches += 1;
    const done = (outcome: { error: unknown } | undefined): void => {
      for (const { waiters } of settled) {
        for (const waiter of waiters) {
          if (outcome === undefined) waiter.resolve();
          else waiter.reject(outcome.error);
        }
      }
    };
    // Through then(), so a write that throws at once fails its batch like one that rejects.
    this.#inFlight = Promise.resolve().then(() => this.#options.write(batch)).then(() => {
      this.#stats.written += batch.size;
      done(undefined);
    }, (error: unknown) => { done({ error }); }).finally(() => {
      this.#inFlight = undefined;
      if (!this.#closed) this.#schedule();
    });
  }
}
