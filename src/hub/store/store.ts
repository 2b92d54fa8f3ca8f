// The hub's persistence boundary: one async interface that SQLite implements
// now and PostgreSQL later, so callers never see a driver.
import type { AddonStatus, AddonSweepReport } from '../../link/addons.ts';
import type { ClusterFacts } from '../../link/protocol.ts';
import type { AddonSpec } from '../addons/index.ts';
import { UplinkError } from '../../util/errors.ts';
import type { ExposureStore } from './store-exposures.ts';

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
  /**
   * `facts` as the JSON text the store holds, when it holds them so: a list
   * of thousands of clusters passes it on instead of parsing and serialising
   * every cluster's facts again. Absent when the store has no such text.
   */
  factsJson?: string | null;
  /**
   * The last add-on sweep report the tier stored for the cluster (see
   * recordAddonSweep), or null before any. Reports are stored at most every
   * few tens of seconds per cluster, so it can be older than the agent's last.
   */
  addonSweep: AddonSweepRecord | null;
}

/** An agent's add-on sweep report as stored, with when the hub received it. */
export interface AddonSweepRecord extends AddonSweepReport {
  /** ISO 8601, when the hub holding the link received it, by that hub's clock. */
  reportedAt: string;
}

/** What a grant lets its user do; see hub/rbac.ts for their order. */
export type Role = 'admin' | 'edit' | 'view';

/** A person or robot that calls the hub's API with API tokens. */
export interface UserRecord {
  id: string;
  /** Unique, a DNS-1123 label. */
  name: string;
  /** ISO 8601. */
  createdAt: string;
}

/** A cluster as the fleet list needs it: the record without its token hashes and heartbeat interval. */
export type ClusterSummary = Omit<ClusterRecord, 'tokenHash' | 'nextTokenHash' | 'heartbeatIntervalSeconds'>;

/** Where Store.forEachCluster starts. */
export interface ClusterScan {
  /** Only clusters whose name sorts after this one; every cluster when absent. */
  afterName?: string;
  /**
   * Rows a store that reads in batches (PostgreSQL's cursor) fetches per
   * round trip: a page of N asks for N + 1, the one more showing whether
   * there is a next page, so a page takes one round trip instead of two.
   */
  batchRows?: number;
}

/** A role for a user on one cluster, or on every cluster when clusterId is null. */
export interface GrantRecord {
  userId: string;
  role: Role;
  clusterId: string | null;
}

/**
 * One request through the hub to a cluster. The user and cluster names are
 * copied in, so a row still reads after either is deleted.
 */
export interface AuditRecord {
  /** ISO 8601, when the request started. */
  at: string;
  userId: string;
  userName: string;
  clusterId: string;
  clusterName: string;
  /** Kubernetes verb (get, list, watch, create, ...). */
  verb: string;
  resource: string;
  subresource: string | null;
  namespace: string | null;
  name: string | null;
  path: string;
  status: number;
  bytesIn: number;
  bytesOut: number;
  durationMs: number;
  /** The kubectl command line, when the client sent it. */
  command: string | null;
  /**
   * The hub replica that served it, on a hub whose replicas share a
   * database; null (or absent) on a hub alone.
   */
  replica?: string | null;
}

/**
 * Where an audit row stands. A unary request's row is written once, when it
 * ends: `complete`. A stream's row (watch, `logs -f`, exec, attach,
 * port-forward) is written when the stream is accepted, `in_progress`, and
 * completed when it ends; one whose hub died with the stream open is marked
 * `interrupted` (its status, bytes and duration stay 0: nobody saw the end).
 */
export type AuditState = 'complete' | 'in_progress' | 'interrupted';

/** A stored audit row, as listAudit returns it. */
export type AuditRow = AuditRecord & {
  id: number;
  state: AuditState;
  replica: string | null;
  /** An exec's exit code, as the API server's final Status gave it; null for other requests, or when it gave none. */
  exitCode: number | null;
  /** An exec that ended without an exit code: the Status's reason and message; else null. */
  exitReason: string | null;
};

/** What a stream's row gets when the stream ends (see Store.endAudit). */
export interface AuditEnd {
  status: number;
  bytesIn: number;
  bytesOut: number;
  durationMs: number;
  /** An exec's exit code (see AuditRow); absent or null when none was read. */
  exitCode?: number | null;
  /** Why an exec has no exit code (see AuditRow). */
  exitReason?: string | null;
}

/**
 * Which rows still in progress Store.interruptAudit marks interrupted:
 * - `all`: every one (a hub alone on its database, starting: nothing of its own is open yet);
 * - `replica`: those of `replicaId` (a replica starting again under its name);
 * - `unclaimed`: those whose replica holds no live claim on their cluster's
 *   link any more (it died, or the link moved). Only replicas sharing a
 *   PostgreSQL database claim links; on SQLite this marks none.
 */
export type AuditSweep = { kind: 'all' } | { kind: 'replica'; replicaId: string } | { kind: 'unclaimed' };

/** Filters for listAudit; all optional, combined with AND. */
export interface AuditQuery {
  clusterId?: string;
  userName?: string;
  /** ISO 8601, inclusive. */
  since?: string;
  /** ISO 8601, exclusive. */
  until?: string;
  /** Rows to return: default AUDIT_DEFAULT_LIMIT, at most AUDIT_MAX_LIMIT. */
  limit?: number;
}

export const AUDIT_DEFAULT_LIMIT = 100;
export const AUDIT_MAX_LIMIT = 1000;

/**
 * A browser session of the gateway, made by signing in with an API token:
 * only the hash of its id is stored; it lasts until expiresAt or until its
 * token or user is deleted (the row goes with them).
 */
export interface GatewaySessionRecord {
  /** `sha256:<hex>` of the id the browser holds. */
  idHash: string;
  userId: string;
  /** The API token it was made from. */
  tokenId: string;
  /** ISO 8601. */
  createdAt: string;
  /** ISO 8601; at most 12 hours after createdAt. */
  expiresAt: string;
}

/** A credential for the hub's API, owned by a user. */
export interface ApiTokenRecord {
  id: string;
  userId: string;
  name: string;
  tokenHash: string;
  /** ISO 8601. */
  createdAt: string;
  lastUsedAt: string | null;
}

/**
 * An add-on's desired state on one cluster. Deleting an add-on keeps its row
 * with `deletedAt` set: the desired state becomes "uninstalled" until the
 * agent has removed the release. `generation` counts changes to the desired
 * state (spec or deletion) and never goes back, also across a delete and a
 * new put of the same name, so an agent can tell newer from older.
 */
export interface AddonRecord {
  clusterId: string;
  /** Unique per cluster; the Helm release name. */
  name: string;
  spec: AddonSpec;
  /** 1 on creation, +1 on every change. */
  generation: number;
  /** ISO 8601; reset when a deleted add-on is put again. */
  createdAt: string;
  /** ISO 8601, the last change. */
  updatedAt: string;
  /** ISO 8601, when it was deleted (to be uninstalled), else null. */
  deletedAt: string | null;
}

/** A put of an add-on's spec, creating or replacing it. */
export interface AddonPut {
  clusterId: string;
  name: string;
  spec: AddonSpec;
  /** ISO 8601, the time of the change. */
  at: string;
}

/** What putAddon did: `created` also when the name was deleted before; `unchanged` for the same spec again. */
export type AddonPutOutcome = 'created' | 'updated' | 'unchanged';

/**
 * The newest status a cluster's agent reported for one of its add-ons. It
 * lives beside the add-on's row and goes with it (and so with the cluster).
 */
export interface AddonStatusRecord {
  clusterId: string;
  /** The add-on's name. */
  name: string;
  /** As the agent sent it, checked and bounded by the hub (hub/addons/status.ts). */
  status: AddonStatus;
  /** ISO 8601, when the hub received it. */
  reportedAt: string;
}

export interface AddonDeletion {
  clusterId: string;
  name: string;
  at: string;
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
  userId: string;
  name: string;
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
  /** null clears facts that do not fit the heartbeat schema (see stored-facts.ts). */
  facts: ClusterFacts | null;
  /** JSON.stringify(facts), when the caller has it already. */
  factsJson?: string;
}

/**
 * Everything the hub persists. Every method returns a Promise so a networked
 * database fits behind it. Failures reject with StoreConflictError for a
 * uniqueness violation and StoreError for anything else.
 *
 * Deleting a user deletes its grants and API tokens; deleting a cluster
 * deletes the grants on it, its add-ons with their statuses and its
 * exposures (store-exposures.ts). Audit rows
 * are kept either way.
 *
 * The update methods (updateClusterTokens, recordConnection, recordHeartbeat,
 * recordAddonSweep, touchApiToken) are no-ops for an unknown id: the record may have been
 * deleted while a link or request was still using it.
 */
export interface Store extends ExposureStore {
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
  /**
   * Calls `visit` with each cluster in listClusters' order, one at a time and
   * without its token hashes, for answers about the whole fleet that need not
   * hold every record at once. With `scan.afterName`, only the clusters whose
   * name sorts after it (in the store's own name order, the one listClusters
   * uses): a page of the fleet list starts there (keyset paging). `visit`
   * returns false to end the scan early; the rest is not read. Resolves after
   * the last; rejects with what `visit` threw.
   */
  forEachCluster(visit: (cluster: ClusterSummary) => boolean | undefined, scan?: ClusterScan): Promise<void>;
  /** Whether a cluster was deleted. */
  deleteCluster(id: string): Promise<boolean>;
  updateClusterTokens(id: string, hashes: ClusterTokenHashes): Promise<void>;
  recordConnection(id: string, change: ConnectionChange): Promise<void>;
  recordHeartbeat(id: string, beat: Heartbeat): Promise<void>;
  /** Stores the cluster's newest add-on sweep report, replacing the one before (ClusterRecord.addonSweep). */
  recordAddonSweep(id: string, sweep: AddonSweepRecord): Promise<void>;

  /** Rejects with StoreConflictError when the name is taken. */
  createUser(input: UserRecord): Promise<UserRecord>;
  getUser(id: string): Promise<UserRecord | undefined>;
  getUserByName(name: string): Promise<UserRecord | undefined>;
  /** All users, ordered by name. */
  listUsers(): Promise<UserRecord[]>;
  /** Whether a user was deleted (with its grants and tokens). */
  deleteUser(id: string): Promise<boolean>;

  /** Adds a grant; adding one that exists is a no-op. */
  addGrant(grant: GrantRecord): Promise<void>;
  /** Whether the grant existed. */
  removeGrant(grant: GrantRecord): Promise<boolean>;
  /** A user's grants: fleet-wide first, then by cluster id and role. */
  listGrants(userId: string): Promise<GrantRecord[]>;
  /** Every user's grants, ordered by user id, then as listGrants. */
  listAllGrants(): Promise<GrantRecord[]>;

  createApiToken(input: NewApiToken): Promise<ApiTokenRecord>;
  getApiToken(id: string): Promise<ApiTokenRecord | undefined>;
  /** A user's tokens, oldest first. */
  listApiTokens(userId: string): Promise<ApiTokenRecord[]>;
  /** Whether a token was deleted. */
  deleteApiToken(id: string): Promise<boolean>;
  /** Sets lastUsedAt. */
  touchApiToken(id: string, at: string): Promise<void>;
  countApiTokens(): Promise<number>;

  /**
   * Creates or replaces an add-on. The same spec again (compared as stored
   * JSON) on a live add-on changes nothing, not even its generation.
   */
  putAddon(input: AddonPut): Promise<{ record: AddonRecord; outcome: AddonPutOutcome }>;
  /** The add-on, deleted ones included. */
  getAddon(clusterId: string, name: string): Promise<AddonRecord | undefined>;
  /** A cluster's add-ons, deleted ones included, ordered by name. */
  listAddons(clusterId: string): Promise<AddonRecord[]>;
  /**
   * Marks a live add-on deleted (generation +1) and returns it; an add-on
   * already deleted comes back unchanged; undefined when there is none.
   */
  deleteAddon(input: AddonDeletion): Promise<AddonRecord | undefined>;
  /**
   * Stores an add-on's newest status, replacing the one before. Returns false
   * and stores nothing when the cluster has no add-on of that name (deleted
   * ones count as existing): statuses exist only beside an add-on row, so an
   * agent cannot grow the table past the cluster's add-ons.
   */
  putAddonStatus(record: AddonStatusRecord): Promise<boolean>;
  /** The add-on's newest status; undefined before its agent reported one. */
  getAddonStatus(clusterId: string, name: string): Promise<AddonStatusRecord | undefined>;
  /** The newest status of each of a cluster's add-ons that has one, ordered by name. */
  listAddonStatuses(clusterId: string): Promise<AddonStatusRecord[]>;

  /** Stores the row of a request that has ended (state `complete`). */
  insertAudit(record: AuditRecord): Promise<void>;
  /**
   * Stores the row of a stream just accepted, state `in_progress` (its
   * status, bytes and duration as given, normally 0), and returns its id for
   * endAudit.
   */
  openAudit(record: AuditRecord): Promise<number>;
  /**
   * Completes a stream's row: state `complete` with the end's figures,
   * whatever its state was (a row marked interrupted while its replica was
   * cut off from the database gets its real end). No-op for an unknown id.
   */
  endAudit(id: number, end: AuditEnd): Promise<void>;
  /** Marks rows still in progress `interrupted` (see AuditSweep); returns how many. */
  interruptAudit(sweep: AuditSweep): Promise<number>;
  /** Matching rows, newest first. */
  listAudit(query: AuditQuery): Promise<AuditRow[]>;
  /** Deletes rows older than `olderThan` (ISO 8601), except streams still in progress; returns how many. */
  pruneAudit(olderThan: string): Promise<number>;

  /** Stores a gateway session; the token's oldest sessions beyond MAX_SESSIONS_PER_TOKEN go. Rejects when the token or user is gone. */
  createGatewaySession(record: GatewaySessionRecord): Promise<void>;
  getGatewaySession(idHash: string): Promise<GatewaySessionRecord | undefined>;
  /** Whether a session was deleted. */
  deleteGatewaySession(idHash: string): Promise<boolean>;
  /** Deletes the sessions expired at `now` (ISO 8601); returns how many. */
  pruneGatewaySessions(now: string): Promise<number>;
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

/**
 * The database cannot take writes now (disk or filesystem full, I/O error,
 * read-only file): code STORE_FULL or STORE_UNAVAILABLE. The write did not
 * happen; the caller must not report success.
 */
export class StoreUnavailableError extends UplinkError {
  declare readonly code: 'STORE_FULL' | 'STORE_UNAVAILABLE';
}
