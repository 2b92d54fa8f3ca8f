// Where the router last found clusters' links, so that a request need not
// wait on a database round trip: each one costs a hop to PostgreSQL, and
// the relayed path would otherwise pay two (one on each replica). An entry
// is trusted only while fresh, and the router checks it against what it
// knows live (the links held here, the holders the tier's news reports), so
// a link that moved is noticed by the news, not by the entry's age; the age
// only bounds how long a missed notification can mislead.
import type { LinkLocation } from './replica-tier.ts';

/** How long a location read from the database is used without asking again. */
export const LOCATION_FRESH_MS = 1_000;
/** References remembered at once; the oldest go first. */
const MAX_LOCATIONS = 10_000;

export interface LocationCacheOptions {
  freshMs?: number;
  maxEntries?: number;
  now?: () => number;
}

interface Entry {
  location: LinkLocation;
  at: number;
}

/** Link locations by the cluster reference (name or id) the request gave. */
export class LocationCache {
  readonly #entries = new Map<string, Entry>();
  readonly #freshMs: number;
  readonly #maxEntries: number;
  readonly #now: () => number;

  constructor(options: LocationCacheOptions = {}) {
    this.#freshMs = options.freshMs ?? LOCATION_FRESH_MS;
    this.#maxEntries = options.maxEntries ?? MAX_LOCATIONS;
    this.#now = options.now ?? Date.now;
  }

  /** The location last read for `ref`, if it was read within the freshness window. */
  fresh(ref: string): LinkLocation | undefined {
    const entry = this.#entries.get(ref);
    if (entry === undefined) return undefined;
    if (this.#now() - entry.at < this.#freshMs) return entry.location;
    this.#entries.delete(ref);
    return undefined;
  }

  /** Records what the database said of `ref`; no such cluster (undefined) is not remembered. */
  remember(ref: string, location: LinkLocation | undefined): void {
    this.#entries.delete(ref);
    if (location === undefined) return;
    this.#entries.set(ref, { location, at: this.#now() });
    // Map order is insertion order: the first entries are the oldest.
    for (const key of this.#entries.keys()) {
      if (this.#entries.size <= this.#maxEntries) break;
      this.#entries.delete(key);
    }
  }

  get size(): number {
    return this.#entries.size;
  }
}
