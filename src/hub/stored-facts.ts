// Facts a hub stored before it checked heartbeats can have any shape. Reads
// check them (a record's `facts` is null when they do not fit), but the fleet
// list sends the stored JSON text as it is, for speed; so at start the hub
// clears, once, the stored facts that do not fit, and the list and a single
// cluster's view agree. Heartbeats are checked before they are stored, so
// nothing that does not fit is stored afterwards.
import type { Logger } from '../util/logger.ts';
import type { Store } from './store/index.ts';

/** The interval recorded with cleared facts when a record has none. */
const UNKNOWN_INTERVAL_SECONDS = 15;

/** Clears stored facts that do not fit the heartbeat schema; resolves with how many were cleared. */
export async function clearMalformedFacts(store: Pick<Store, 'listClusters' | 'recordHeartbeat'>, log: Pick<Logger, 'warn'>): Promise<number> {
  let cleared = 0;
  for (const record of await store.listClusters()) {
    // `facts` is the checked reading of `factsJson`: null with text behind it means the text does not fit.
    if (record.facts !== null || record.factsJson === undefined || record.factsJson === null || record.factsJson === 'null') continue;
    await store.recordHeartbeat(record.id, {
      at: record.lastHeartbeatAt ?? record.createdAt,
      intervalSeconds: record.heartbeatIntervalSeconds ?? UNKNOWN_INTERVAL_SECONDS,
      facts: null,
    });
    cleared += 1;
  }
  if (cleared > 0) log.warn({ cleared }, 'cleared stored cluster facts that do not fit the heartbeat schema (stored by an older hub)');
  return cleared;
}
