// Public surface of the agent's inventory: a watch-fed, in-memory cache of
// the cluster's objects, answering the hub's list, get, events and watch.
export {
  Inventory, DEFAULT_MAX_OBJECTS, DEFAULT_WATCH_SILENCE_SECONDS, DEFAULT_WATCH_TIMEOUT_SECONDS,
  type InventoryOptions, type ListQuery, type ObjectQuery, type WatchQuery,
} from './inventory.ts';
export { InventoryError, type InventoryErrorCode } from './query.ts';
export { MAX_FEED_SUBSCRIBERS } from './feed.ts';
export type { PodContainers } from './lookups.ts';
