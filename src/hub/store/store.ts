// The hub's persistence boundary: one async interface that SQLite implements
// now and PostgreSQL later, so callers never see a driver.
import type { ClusterFacts } from '../../link/protocol.ts';
import { UplinkError } from '../../util/errors.ts';

/** A registered cluster: its identity, credentials and what its agent last told us. */
export interface ClusterRecord {
  id: string;
  name: string;
  labels: Record<string, string>;
  /** Hash of the current cluster token (see hub/tokens.ts). */
  tokenHash: string;
  /** Hash of the token a rotation in progress is moving to, else null. */
  nextTokenHash: string | null;
  /** ISO 8601. */
  createdAt: string;
  agentVersion: string | null;
  /** When the agent's link last opened (ISO 8601). */
  connectedAt: string | null;
  /** When the agent's link last closed (ISO 8601). */
  disconnectedAt: string | null;
  lastHeartbeatAt: string | null;
  heartbeatIntervalSeconds: number | null;
  facts: ClusterFacts | null;
}

/** A credential for the hub's API. */
export interface ApiTokenRecord {
  id: string;
  name: string;
  role: string;
  tokenHash: string;
  /** ISO 8601. */
  createdAt: string;
  lastUsedAt: string | null;
}

export interface NewCluster {
  id: string;
  name: string;
  labels: Record<string, string>;
  tokenHash: string;
  createdAt: string;
}

export interface NewApiToken {
  id: string;
  name: string;
  role: string;
  tokenHash: string;
  createdAt: string;
}

export interface ClusterTokenHashes {
  tokenHash: string;
  nextTokenHash: string | null;
}

export interface ConnectionChange {
  /** true when the link opened, false when it closed. */
  connected: boolean;
  at: string;
  /** Recorded when given; the previous value is kept otherwise. */
  agentVersion?: string;
}

export interface Heartbeat {
  at: string;
  intervalSeconds: number;
  facts: ClusterFacts;
}

/**
 * Everything the hub persists. Every method returns a Promise so a networked
 * database fits behind it. Failures reject with StoreConflictError for a
 * uniqueness violation and StoreError for anything else.
 *
 * The update methods (updateClusterTokens, recordConnection, recordHeartbeat,
 * touchApiToken) are no-ops for an unknown id: the record may have been
 * deleted while a link or request was still using it.
 */
export interface Store {
  /** Brings the schema up to date. Idempotent; applied versions live in `schema_migrations`. */
  migrate(): Promise<void>;
  /** A cheap query; rejects when the database is unusable. */
  ping(): Promise<void>;
  /** Releases the database. Safe to call twice. */
  close(): Promise<void>;

  createCluster(input: NewCluster): Promise<ClusterRecord>;
  getCluster(id: string): Promise<ClusterRecord | undefined>;
  getClusterByName(name: string): Promise<ClusterRecord | undefined>;
  /** All clusters, ordered by name. */
  listClusters(): Promise<ClusterRecord[]>;
  /** Whether a cluster was deleted. */
  deleteCluster(id: string): Promise<boolean>;
  updateClusterTokens(id: string, hashes: ClusterTokenHashes): Promise<void>;
  recordConnection(id: string, change: ConnectionChange): Promise<void>;
  recordHeartbeat(id: string, beat: Heartbeat): Promise<void>;

  createApiToken(input: NewApiToken): Promise<ApiTokenRecord>;
  getApiToken(id: string): Promise<ApiTokenRecord | undefined>;
  /** Sets lastUsedAt. */
  touchApiToken(id: string, at: string): Promise<void>;
  countApiTokens(): Promise<number>;
}

/** A write would break a uniqueness rule, e.g. a second cluster with the same name. */
export class StoreConflictError extends UplinkError {
  constructor(message: string, options?: ErrorOptions) {
    super('STORE_CONFLICT', message, options);
  }
}

/** The database failed; `message` says what the store was doing, `cause` holds the driver error. */
export class StoreError extends UplinkError {
  constructor(message: string, options?: ErrorOptions) {
    super('STORE_FAILED', message, options);
  }
}
