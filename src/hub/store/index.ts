// The hub's store: one interface, with SQLite behind it today.
export type {
  AddonDeletion,
  AddonPut,
  AddonPutOutcome,
  AddonRecord,
  AddonStatusRecord,
  ApiTokenRecord,
  AuditQuery,
  AuditRecord,
  ClusterRecord,
  ClusterScan,
  ClusterSummary,
  ClusterTokenHashes,
  ConnectionChange,
  GrantRecord,
  Heartbeat,
  NewApiToken,
  NewCluster,
  Role,
  Store,
  UserRecord,
} from './store.ts';
export { AUDIT_DEFAULT_LIMIT, AUDIT_MAX_LIMIT, StoreConflictError, StoreError, StoreUnavailableError } from './store.ts';
export { openSqliteStore, type SqliteStoreOptions } from './sqlite.ts';
