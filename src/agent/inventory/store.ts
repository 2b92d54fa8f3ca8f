// One kind's cached objects. Memory is the constraint (the agent should stay
// under 150 MiB at 10,000 objects), so each object is kept as its row plus
// its stripped JSON as one flat string, parsed again only when someone asks
// for the object itself. Keys are held in a sorted array beside the map:
// pages are a binary search and a scan, quick at tens of thousands.
import type { ResourceRow } from '../../link/resources.ts';
import { rowMatches, type RowFilter } from './query.ts';

export interface StoredObject {
  row: ResourceRow;
  /** The stripped object, JSON. */
  json: string;
}

export type ChangeType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoreChange {
  type: ChangeType;
  row: ResourceRow;
  /** The row before a MODIFIED (to tell watchers whose filter it left or entered). */
  previous?: ResourceRow;
}

/**
 * `namespace NUL name`: NUL sorts before every character a name may hold, so
 * plain string order is namespace order, then name order.
 */
export function objectKey(namespace: string | null, name: string): string {
  return `${namespace ?? ''}\u0000${name}`;
}

function keyOf(row: ResourceRow): string {
  return objectKey(row.namespace, row.name);
}

/** The cap on objects over all kinds (--inventory-max-objects), shared by every store. */
export class ObjectBudget {
  readonly max: number;
  used = 0;

  constructor(max: number) {
    this.max = max;
  }
}

/** First index whose key is >= key (or > key when `after`). */
function bound(keys: readonly string[], key: string, after: boolean): number {
  let low = 0;
  let high = keys.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    const probe = keys[mid] ?? '';
    if (probe < key || (after && probe === key)) low = mid + 1;
    else high = mid;
  }
  return low;
}

export interface Page {
  rows: ResourceRow[];
  /** Matches over all pages. */
  total: number;
  /** The key of the last row when more matches follow it, else undefined. */
  nextAfter: string | undefined;
}

export interface ReplaceResult {
  changes: StoreChange[];
  /** New objects the budget had no room for. */
  refused: number;
}

export class KindStore {
  private entries = new Map<string, StoredObject>();
  private keys: string[] = [];
  private readonly budget: ObjectBudget;

  constructor(budget: ObjectBudget) {
    this.budget = budget;
  }

  get size(): number {
    return this.entries.size;
  }

  get(namespace: string | null, name: string): StoredObject | undefined {
    return this.entries.get(objectKey(namespace, name));
  }

  /** Inserts or replaces one object; undefined when it is new and the budget is spent. */
  put(entry: StoredObject): StoreChange | undefined {
    const key = keyOf(entry.row);
    const previous = this.entries.get(key);
    if (previous) {
      this.entries.set(key, entry);
      return { type: 'MODIFIED', row: entry.row, previous: previous.row };
    }
    if (this.budget.used >= this.budget.max) return undefined;
    this.entries.set(key, entry);
    this.keys.splice(bound(this.keys, key, false), 0, key);
    this.budget.used += 1;
    return { type: 'ADDED', row: entry.row };
  }

  /** Removes one object; the change carries `finalRow` (the object as deleted) when given. */
  remove(namespace: string | null, name: string, finalRow?: ResourceRow): StoreChange | undefined {
    const key = objectKey(namespace, name);
    const previous = this.entries.get(key);
    if (!previous) return undefined;
    this.entries.delete(key);
    const index = bound(this.keys, key, false);
    if (this.keys[index] === key) this.keys.splice(index, 1);
    this.budget.used -= 1;
    return { type: 'DELETED', row: finalRow ?? previous.row };
  }

  /**
   * Replaces every object with a fresh list and returns the difference:
   * ADDED for new keys, MODIFIED where the resourceVersion moved, DELETED for
   * keys the list no longer has.
   */
  replace(incoming: Iterable<StoredObject>): ReplaceResult {
    const next = new Map<string, StoredObject>();
    const changes: StoreChange[] = [];
    let room = this.budget.max - (this.budget.used - this.entries.size);
    let refused = 0;
    for (const entry of incoming) {
      const key = keyOf(entry.row);
      const previous = this.entries.get(key);
      if (!next.has(key)) {
        if (room <= 0) {
          refused += 1;
          continue;
        }
        room -= 1;
      }
      next.set(key, entry);
      if (!previous) changes.push({ type: 'ADDED', row: entry.row });
      else if (previous.row.resourceVersion !== entry.row.resourceVersion) changes.push({ type: 'MODIFIED', row: entry.row, previous: previous.row });
    }
    for (const [key, previous] of this.entries) {
      if (!next.has(key)) changes.push({ type: 'DELETED', row: previous.row });
    }
    this.budget.used += next.size - this.entries.size;
    this.entries = next;
    this.keys = [...next.keys()].sort();
    return { changes, refused };
  }

  /** Entries in key order, optionally of one namespace only. */
  *sorted(namespace?: string): Generator<StoredObject> {
    const [start, end] = this.range(namespace);
    for (let i = start; i < end; i += 1) {
      const entry = this.entries.get(this.keys[i] ?? '');
      if (entry) yield entry;
    }
  }

  /** One page of the matching rows after `afterKey`, plus the number of matches over all pages. */
  page(filter: RowFilter, limit: number, afterKey?: string): Page {
    const [start, end] = this.range(filter.namespace);
    const from = afterKey === undefined ? start : Math.max(start, bound(this.keys, afterKey, true));
    const rows: ResourceRow[] = [];
    let total = 0;
    let more = false;
    for (let i = start; i < end; i += 1) {
      const entry = this.entries.get(this.keys[i] ?? '');
      if (!entry || !rowMatches(filter, entry.row)) continue;
      total += 1;
      if (i < from) continue;
      if (rows.length < limit) rows.push(entry.row);
      else more = true;
    }
    const last = rows.at(-1);
    return { rows, total, nextAfter: more && last ? keyOf(last) : undefined };
  }

  /** [start, end) of the sorted keys in a namespace, or of all keys. */
  private range(namespace: string | undefined): [number, number] {
    if (namespace === undefined) return [0, this.keys.length];
    return [bound(this.keys, `${namespace}\u0000`, false), bound(this.keys, `${namespace}\u0001`, false)];
  }
}
