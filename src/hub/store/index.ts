// The hub's store: one interface, with SQLite behind it today.
export type {
  ApiTokenRecord,
  ClusterRecord,
  ClusterTokenHashes,
  ConnectionChange,
  Heartbeat,
  NewApiToken,
  NewCluster,
  Store,
} from './store.ts';
export { StoreConflictError, StoreError } from './store.ts';
export { openSqliteStore, type SqliteStoreOptions } from './sqlite.ts';
