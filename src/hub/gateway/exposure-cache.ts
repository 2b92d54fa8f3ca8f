// Exposures as recently read, for the gateway's per-request lookup: on
// PostgreSQL every read is a round trip, and a page's requests all ask for
// the same exposure. An exposure is never changed in place (only created and
// deleted), and the agent checks the id of every stream against the set the
// hub pushed, so an entry a second old fails closed: a deleted exposure is
// refused by the agent, one deleted and created again under the same name
// (a new id) is refused until the entry is read again.
import type { GatewayExposure } from './gateway-route.ts';

/** How long a read is used without asking the store again. */
export const EXPOSURE_FRESH_MS = 1_000;
/** Entries kept; the oldest go first. */
const MAX_ENTRIES = 10_000;

type Find = (clusterId: string, name: string) => Promise<GatewayExposure | undefined>;

/** `find`, with each exposure found shared for EXPOSURE_FRESH_MS; a miss or a failed read is forgotten at once. */
export function cachedExposures(find: Find, options: { freshMs?: number; now?: () => number } = {}): Find {
  const entries = new Map<string, { at: number; value: Promise<GatewayExposure | undefined> }>();
  const freshMs = options.freshMs ?? EXPOSURE_FRESH_MS;
  const now = options.now ?? Date.now;
  return (clusterId, name) => {
    const key = `${clusterId}\u0000${name}`;
    const at = now();
    const entry = entries.get(key);
    if (entry !== undefined && at - entry.at < freshMs) return entry.value;
    entries.delete(key);
    const value = find(clusterId, name);
    entries.set(key, { at, value });
    // Only what was found is kept: one created a moment after a miss is found at once.
    const forget = (): void => { if (entries.get(key)?.value === value) entries.delete(key); };
    value.then((found) => { if (found === undefined) forget(); }, forget);
    for (const oldest of entries.keys()) {
      if (entries.size <= MAX_ENTRIES) break;
      entries.delete(oldest);
    }
    return value;
  };
}
