// The resources part of the link protocol: what the hub asks of an agent's
// inventory (a watch-fed, in-memory cache of the cluster's objects) and of
// pod logs, and the shapes of the answers. Shared by the agent, the hub and
// the CLI so the three agree on one definition.

/** Requests the hub makes to the agent for resources and logs (HTTP/2 GET, query string). */
export const RESOURCE_PATHS = {
  /** Supported kinds with their sync state: ResourceKindsResponse. */
  kinds: '/v1/resources/kinds',
  /** ?kind&namespace&labelSelector&name&limit&continue → ResourceListResponse. */
  list: '/v1/resources/list',
  /** ?kind&namespace&name → ResourceObjectResponse; 404 when absent. */
  object: '/v1/resources/object',
  /** ?kind&namespace&name → ResourceEventsResponse: the Events about one object. */
  events: '/v1/resources/events',
  /**
   * ?kind&namespace&labelSelector&name → NDJSON of ResourceChange: ADDED for
   * each matching object now, one SYNCED, then every change as it happens.
   */
  watch: '/v1/resources/watch',
  /**
   * ?namespace&pod|labelSelector&container&follow&tailLines&sinceSeconds&previous&timestamps&maxPods
   * → text/plain log lines. With a label selector each line is prefixed
   * `[pod/container] `. Carries the hub's Impersonate-User/Group so the
   * cluster's RBAC decides who may read which logs.
   */
  logs: '/v1/logs',
} as const;

/** How a kind of object is named, in the hub API and the CLI. */
export interface KindInfo {
  /** Plural resource name, the canonical key: `pods`, `deployments`, `customresourcedefinitions`. */
  resource: string;
  /** `Pod`, `Deployment`, ... */
  kind: string;
  /** API group, '' for core. */
  group: string;
  version: string;
  namespaced: boolean;
  /** Short names the CLI accepts (`po`, `deploy`, `svc`, ...). */
  shortNames: string[];
}

export type Health = 'healthy' | 'progressing' | 'degraded' | 'unknown';

/** One object as a list row: identity, labels and a per-kind status summary. Never Secret data. */
export interface ResourceRow {
  kind: string;
  /** Null for cluster-scoped objects. */
  namespace: string | null;
  name: string;
  uid: string;
  resourceVersion: string;
  /** metadata.creationTimestamp. */
  createdAt: string | null;
  labels: Record<string, string>;
  /** A short status word or ratio, as `kubectl get` would show it: `Running`, `3/3`, `Bound`, `Active`. */
  status: string;
  health: Health;
  /** Kind-specific columns (`ready`, `restarts`, `node`, `type`, ...), small scalars only. */
  columns: Record<string, string | number | boolean | null>;
}

/** How current the agent's inventory is; part of every answer. */
export interface InventoryFreshness {
  /** Every kind has completed its first list and is watching. */
  synced: boolean;
  kinds: number;
  syncedKinds: number;
  /** Objects cached now, over all kinds. */
  objects: number;
  /**
   * Seconds since the least recently confirmed kind last heard from the API
   * server (a list, an event or a bookmark). Small when every watch is alive.
   */
  stalenessSeconds: number;
  /** When the agent started its inventory (ISO 8601). */
  startedAt: string;
  /** When the first complete sync finished, or null while syncing. */
  syncedAt: string | null;
}

/** Sync state of one kind. */
export interface KindStatus extends KindInfo {
  synced: boolean;
  objects: number;
  /** Last error of its list/watch loop, or null while healthy. */
  error: string | null;
  /** Seconds since this kind last heard from the API server. */
  stalenessSeconds: number;
}

export interface ResourceKindsResponse {
  items: KindStatus[];
  inventory: InventoryFreshness;
}

export interface ResourceListResponse {
  kind: KindInfo;
  items: ResourceRow[];
  /** Opaque token for the next page, or null on the last page. */
  continue: string | null;
  /** Matching objects over all pages. */
  total: number;
  inventory: InventoryFreshness;
}

export interface ResourceObjectResponse {
  kind: KindInfo;
  /** The object with managedFields and last-applied annotations stripped; Secrets as metadata only. */
  object: Record<string, unknown>;
  inventory: InventoryFreshness;
}

export interface ResourceEventsResponse {
  /** Rows of kind Event about the object, oldest first. */
  items: ResourceRow[];
  inventory: InventoryFreshness;
}

/** One line of a watch. `at` is when the agent saw the change (ISO 8601, ms). */
export type ResourceChange =
  | { type: 'ADDED' | 'MODIFIED' | 'DELETED'; row: ResourceRow; at: string }
  /** The initial ADDED lines are complete; what follows is live. */
  | { type: 'SYNCED'; at: string; inventory: InventoryFreshness }
  /** The stream ends: the reader was too slow or the agent is stopping. Reconnect to resync. */
  | { type: 'ERROR'; at: string; message: string };

/** Bounds on log streams asked for by selector. */
export const LOG_LIMITS = {
  defaultMaxPods: 8,
  maxPods: 32,
} as const;

/** Largest page a list answer holds. */
export const MAX_LIST_LIMIT = 1000;
export const DEFAULT_LIST_LIMIT = 500;
