// A bounded buffer of the most recent entries, each with an increasing id,
// and the live listeners that want every new one: what the agent's SSE
// streams replay to a client that connects, then follow.

/** One entry with the id the buffer gave it (1, 2, 3, ... per buffer). */
export interface Numbered<T> {
  id: number;
  value: T;
}

/** Called with each new entry; must not throw. */
export type ReplayListener<T> = (entry: Numbered<T>) => void;

/** Keeps the last `capacity` entries; older ones are dropped as new ones come. */
export class ReplayBuffer<T> {
  readonly capacity: number;
  private readonly entries: Numbered<T>[] = [];
  private readonly listeners = new Set<ReplayListener<T>>();
  private nextId = 1;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
    this.capacity = capacity;
  }

  /** Adds `value`, drops the oldest beyond the capacity, and tells every listener. */
  push(value: T): Numbered<T> {
    const entry = { id: this.nextId, value };
    this.nextId += 1;
    this.entries.push(entry);
    if (this.entries.length > this.capacity) this.entries.shift();
    for (const listener of this.listeners) listener(entry);
    return entry;
  }

  /** The entries held, oldest first; with `afterId`, only the newer ones. */
  recent(afterId = 0): Numbered<T>[] {
    return this.entries.filter((entry) => entry.id > afterId);
  }

  /** The id the last entry got, 0 before any. */
  get lastId(): number {
    return this.nextId - 1;
  }

  /** Calls `listener` with each entry pushed from now on; returns the unsubscribe. */
  subscribe(listener: ReplayListener<T>): () => void {
    this.listeners.add(listener);
    return () => { this.listeners.delete(listener); };
  }

  get listenerCount(): number {
    return this.listeners.size;
  }
}
