// Live changes to the subscribers of each kind. Callbacks run synchronously
// in the reflector's turn, so each subscriber must only queue (the link
// handler writes to its stream and ends it when the reader falls behind).
// A callback that throws is dropped rather than allowed to stall the others.
import type { ResourceChange } from '../../link/resources.ts';
import type { AgentMetrics } from '../metrics.ts';
import { InventoryError, rowMatches, type RowFilter } from './query.ts';
import type { StoreChange } from './store.ts';

/** Open feeds over all kinds; each one is a stream on the link. */
export const MAX_FEED_SUBSCRIBERS = 1024;

interface Subscriber {
  filter: RowFilter;
  onChange: (change: ResourceChange) => void;
}

/** What a subscriber sees of a change, given what its filter matched before and after. */
function viewOf(filter: RowFilter, change: StoreChange): StoreChange['type'] | undefined {
  const now = rowMatches(filter, change.row);
  if (change.type !== 'MODIFIED') return now ? change.type : undefined;
  const before = change.previous === undefined || rowMatches(filter, change.previous);
  if (now && before) return 'MODIFIED';
  if (now) return 'ADDED';
  // The object left the filter (a label changed): to this subscriber it is gone.
  return before ? 'DELETED' : undefined;
}

export class Feed {
  private readonly byKind = new Map<string, Set<Subscriber>>();
  private readonly metrics: AgentMetrics;
  private readonly now: () => number;
  private count = 0;

  constructor(metrics: AgentMetrics, now: () => number) {
    this.metrics = metrics;
    this.now = now;
  }

  get size(): number {
    return this.count;
  }

  /** Adds a subscriber; returns its unsubscribe. Throws TOO_MANY_WATCHES at the cap. */
  subscribe(resource: string, filter: RowFilter, onChange: (change: ResourceChange) => void): () => void {
    if (this.count >= MAX_FEED_SUBSCRIBERS) {
      throw new InventoryError('TOO_MANY_WATCHES', `the agent already serves ${MAX_FEED_SUBSCRIBERS} watches; close one first`);
    }
    const subscriber: Subscriber = { filter, onChange };
    let set = this.byKind.get(resource);
    if (!set) {
      set = new Set();
      this.byKind.set(resource, set);
    }
    set.add(subscriber);
    this.setCount(this.count + 1);
    return () => {
      this.detach(resource, subscriber);
    };
  }

  publish(resource: string, changes: readonly StoreChange[]): void {
    const set = this.byKind.get(resource);
    if (!set || set.size === 0 || changes.length === 0) return;
    const at = new Date(this.now()).toISOString();
    for (const subscriber of [...set]) {
      for (const change of changes) {
        const type = viewOf(subscriber.filter, change);
        if (type === undefined) continue;
        try {
          subscriber.onChange({ type, row: change.row, at });
        } catch {
          this.metrics.inventoryDroppedSubscribers.inc();
          this.detach(resource, subscriber);
          break;
        }
      }
    }
  }

  /** Ends the feeds of one kind (or all), each with an ERROR change saying why. */
  end(resource: string | undefined, message: string): void {
    const at = new Date(this.now()).toISOString();
    const kinds = resource === undefined ? [...this.byKind.keys()] : [resource];
    for (const kind of kinds) {
      for (const subscriber of [...(this.byKind.get(kind) ?? [])]) {
        this.detach(kind, subscriber);
        this.metrics.inventoryDroppedSubscribers.inc();
        try {
          subscriber.onChange({ type: 'ERROR', at, message });
        } catch {
          // It is gone either way.
        }
      }
    }
  }

  private detach(resource: string, subscriber: Subscriber): void {
    const set = this.byKind.get(resource);
    if (!set?.delete(subscriber)) return;
    if (set.size === 0) this.byKind.delete(resource);
    this.setCount(this.count - 1);
  }

  private setCount(count: number): void {
    this.count = count;
    this.metrics.inventorySubscribers.set(count);
  }
}
