import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Outcome of one attempt to link; a closed set keeps label cardinality bounded. */
export type LinkAttemptResult = 'linked' | 'unauthorized' | 'unavailable' | 'held' | 'unreachable' | 'refused' | 'tls';

/**
 * Why an inventory watch was re-established: the planned timeout, an error,
 * 410 Gone (the resourceVersion expired: relist), the silence watchdog, or
 * the API server closing it early. A closed set keeps label cardinality bounded.
 */
export type WatchRestartReason = 'timeout' | 'error' | 'gone' | 'watchdog' | 'closed';

/** The agent's Prometheus metrics, on its own registry. */
export class AgentMetrics {
  readonly registry = new Registry();
  readonly linkUp = new Gauge({ name: 'uplink_agent_link_up', help: '1 while linked to the hub', registers: [this.registry] });
  readonly linkAttempts = new Counter({
    name: 'uplink_agent_link_attempts_total', help: 'Attempts to link to the hub, by result',
    labelNames: ['result'] as const, registers: [this.registry],
  });
  readonly heartbeats = new Counter({ name: 'uplink_agent_heartbeats_total', help: 'Heartbeats sent', registers: [this.registry] });
  readonly heartbeatSeconds = new Histogram({
    name: 'uplink_agent_heartbeat_collect_seconds', help: 'Time to gather heartbeat facts',
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5], registers: [this.registry],
  });
  readonly linkRequests = new Counter({
    name: 'uplink_agent_link_requests_total', help: 'Requests the hub made over the link, by path',
    labelNames: ['path'] as const, registers: [this.registry],
  });
  readonly inventoryObjects = new Gauge({
    name: 'uplink_agent_inventory_objects', help: 'Objects cached in the inventory, by resource',
    labelNames: ['resource'] as const, registers: [this.registry],
  });
  readonly inventoryWatchRestarts = new Counter({
    name: 'uplink_agent_inventory_watch_restarts_total', help: 'Inventory watches re-established, by reason',
    labelNames: ['reason'] as const, registers: [this.registry],
  });
  readonly inventoryRelists = new Counter({
    name: 'uplink_agent_inventory_relists_total', help: 'Full lists of a kind after its first one (410 Gone or a failed re-watch)',
    registers: [this.registry],
  });
  readonly inventorySyncSeconds = new Gauge({
    name: 'uplink_agent_inventory_initial_sync_seconds', help: 'Time from inventory start until every kind had completed its first list',
    registers: [this.registry],
  });
  readonly inventorySubscribers = new Gauge({
    name: 'uplink_agent_inventory_feed_subscribers', help: 'Live change feeds open on the inventory', registers: [this.registry],
  });
  readonly inventoryDroppedSubscribers = new Counter({
    name: 'uplink_agent_inventory_feed_dropped_total', help: 'Change feeds ended by the agent (a failing reader, a kind gone, shutdown)',
    registers: [this.registry],
  });
  readonly accessReviews = new Counter({
    name: 'uplink_agent_access_reviews_total',
    help: "Access checks of hub users' inventory reads, by outcome (allowed, denied: asked the API server; cached; failed)",
    labelNames: ['outcome'] as const, registers: [this.registry],
  });
  readonly logStreams = new Gauge({
    name: 'uplink_agent_log_streams', help: 'Pod log streams open to the API server', registers: [this.registry],
  });
  readonly addonOperations = new Counter({
    name: 'uplink_agent_addon_operations_total', help: 'Helm operations on add-ons, by action and result',
    labelNames: ['action', 'result'] as const, registers: [this.registry],
  });
  readonly addonOperationSeconds = new Histogram({
    name: 'uplink_agent_addon_operation_seconds', help: 'Duration of helm operations on add-ons, by action',
    labelNames: ['action'] as const, buckets: [0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600], registers: [this.registry],
  });
  readonly addonPoolJobs = new Gauge({
    name: 'uplink_agent_addon_pool_jobs', help: 'Jobs of the add-on worker pools, by pool (read, write) and state (running, queued)',
    labelNames: ['pool', 'state'] as const, registers: [this.registry],
  });
  readonly addonSweeps = new Counter({
    name: 'uplink_agent_addon_sweeps_total', help: 'Sweeps of every add-on (release, health, drift) completed', registers: [this.registry],
  });
  readonly addonPhases = new Gauge({
    name: 'uplink_agent_addons', help: 'Add-ons the agent holds, by phase',
    labelNames: ['phase'] as const, registers: [this.registry],
  });

  readonly leader = new Gauge({
    name: 'uplink_agent_leader', help: '1 while this agent holds the leader lease and does the leader\'s work (always 1 without --leader-elect)', registers: [this.registry],
  });
  readonly leaderTransitions = new Counter({
    name: 'uplink_agent_leader_transitions_total', help: 'Times this agent became the leader (to=leader) or stopped leading (to=standby)',
    labelNames: ['to'] as const, registers: [this.registry],
  });
  readonly leaseRenewFailures = new Counter({
    name: 'uplink_agent_lease_renew_failures_total', help: 'Failed renewals of the leader lease while leading (timeouts, errors, 409)', registers: [this.registry],
  });
  readonly leaseWatchRestarts = new Counter({
    name: 'uplink_agent_lease_watch_restarts_total', help: 'Reopenings of the watch on the leader lease, by reason (ended: the API server closed it at its timeout; error)',
    labelNames: ['reason'] as const, registers: [this.registry],
  });

  readonly runtimeSseClients = new Gauge({
    name: 'uplink_agent_runtime_sse_clients', help: 'Clients connected to the runtime SSE streams, by stream (events, logs)',
    labelNames: ['stream'] as const, registers: [this.registry],
  });
  readonly runtimeSseDropped = new Counter({
    name: 'uplink_agent_runtime_sse_dropped_total', help: 'Runtime SSE clients refused (over the limit) or dropped (reading too slowly), by stream and reason',
    labelNames: ['stream', 'reason'] as const, registers: [this.registry],
  });
  readonly runtimeConnectivityChecks = new Counter({
    name: 'uplink_agent_runtime_connectivity_checks_total', help: 'Connectivity checks run (not served from the cache), by result (ok, failed)',
    labelNames: ['result'] as const, registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'uplink_agent_' });
  }
}
