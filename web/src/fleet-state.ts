// One live subscription to the hub's fleet feed per signed-in page, shared by
// the fleet and cluster pages. Reconnects with backoff (1 s doubling to 15 s)
// when the hub goes away, and says so.
import { useEffect, useState } from 'preact/hooks';
import { ApiError, describeError, type Api } from './api.ts';
import type { FleetFeedEvent, FleetItem } from './types.ts';

export interface FleetState {
  /** Null until the first snapshot. */
  items: Map<string, FleetItem> | null;
  /** Hub clock minus browser clock, ms, to turn timestamps into ages. */
  clockOffsetMs: number;
  offlineAfterSeconds: number;
  /** Set while the feed is down: why, and when the next try is. */
  problem: { message: string; retryAt: number } | null;
  /** When the last snapshot or change arrived (browser clock). */
  updatedAt: number;
}

const INITIAL: FleetState = { items: null, clockOffsetMs: 0, offlineAfterSeconds: 0, problem: null, updatedAt: 0 };
const MAX_BACKOFF_MS = 15_000;

function apply(state: FleetState, event: FleetFeedEvent): FleetState {
  const clockOffsetMs = Date.parse(event.serverTime) - Date.now();
  const items = new Map(event.type === 'snapshot' ? [] : state.items ?? []);
  if (event.type === 'removed') for (const id of event.ids) items.delete(id);
  else for (const item of event.items) items.set(item.id, item);
  return {
    items, clockOffsetMs, problem: null, updatedAt: Date.now(),
    offlineAfterSeconds: event.type === 'snapshot' ? event.offlineAfterSeconds : state.offlineAfterSeconds,
  };
}

export function useFleet(api: Api): FleetState {
  const [state, setState] = useState(INITIAL);
  useEffect(() => {
    const abort = new AbortController();
    // A function, not the property: the loop's awaits can see it change.
    const stopped = (): boolean => abort.signal.aborted;
    let backoff = 1000;
    void (async () => {
      while (!abort.signal.aborted) {
        let message = 'the hub ended the fleet feed';
        try {
          await api.events('/api/v1/fleet/watch', {
            onEvent: (name, data) => {
              if (name === 'ERROR') message = (data as { message: string }).message;
              else { backoff = 1000; setState((s) => apply(s, data as FleetFeedEvent)); }
            },
          }, abort.signal);
        } catch (error) {
          if (stopped()) return;
          if (error instanceof ApiError && error.status === 401) return;
          message = describeError(error);
        }
        if (stopped()) return;
        const retryAt = Date.now() + backoff;
        setState((s) => ({ ...s, problem: { message, retryAt } }));
        await new Promise((resolve) => setTimeout(resolve, backoff));
        backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
      }
    })();
    return () => { abort.abort(); };
  }, [api]);
  return state;
}

/** Re-renders every `ms` (for ages that count up). */
export function useTick(ms = 1000): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => { setNow(Date.now()); }, ms);
    return () => { clearInterval(timer); };
  }, [ms]);
  return now;
}
