// The hub's store: one interface, with SQLite (one hub) or PostgreSQL (one or
// several replicas) behind it.
import { join } from 'node:path';
import type { Logger } from '../../util/logger.ts';
import { openPostgresStore, PostgresStore } from './postgres.ts';
import { openSqliteStore } from './sqlite.ts';
import type { Store } from './store.ts';

export type {
  AddonDeletion,
  AddonPut,
  AddonPutOutcome,
  AddonRecord,
  AddonStatusRecord,
  AddonSweepRecord,
  ApiTokenRecord,
  AuditQuery,
  AuditRecord,
  AuditRow,
  AuditState,
  AuditEnd,
  AuditSweep,
  ClusterRecord,
  ClusterScan,
  ClusterSummary,
  ClusterTokenHashes,
  ConnectionChange,
  GatewaySessionRecord,
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
export { openPostgresStore, PostgresStore, type PostgresStoreOptions, type PostgresStoreStats } from './postgres.ts';
export { redactUrl } from './postgres-config.ts';

/** The settings that choose and reach the store (a subset of the hub's). */
export interface StoreSettings {
  dataDir: string;
  databaseUrl?: string | undefined;
  databasePasswordFile?: string | undefined;
}

/**
 * The hub's store: PostgreSQL when `databaseUrl` is set, else SQLite in
 * `<dataDir>/hub.db`. Not migrated yet: call `migrate()` first.
 */
export function openStore(settings: StoreSettings, log: Logger): Store {
  if (settings.databaseUrl === undefined) return openSqliteStore({ path: join(settings.dataDir, 'hub.db') });
  const passwordFile = settings.databasePasswordFile;
  return openPostgresStore({ url: settings.databaseUrl, ...(passwordFile === undefined ? {} : { passwordFile }), log });
}

/** The PostgreSQL store behind `store` (for its pool and connection settings), or undefined on SQLite. */
export function postgresOf(store: Store): PostgresStore | undefined {
  return store instanceof PostgresStore ? store : undefined;
}
