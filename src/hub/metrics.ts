import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { AddonSweepSample } from './addons/sweeps.ts';

/** Why an agent connection was refused or dropped; a closed set keeps label cardinality bounded. */
export type LinkErrorReason =
  | 'unauthorized' | 'bad_request' | 'overloaded' | 'protocol' | 'timeout' | 'dropped' | 'replaced' | 'held' | 'stale_leader' | 'store';

/** The live-resource routes of the API (see api/resources.ts); a closed set for labels. */
export type ResourceRoute = 'kinds' | 'list' | 'object' | 'events' | 'watch' | 'logs';

/**
 * How a live-resource request ended: answered (`ok`), refused by the hub,
 * relayed as the agent's error, or a stream cut short. Closed set for labels.
 */
export type ResourceOutcome =
  | 'ok' | 'bad_request' | 'forbidden' | 'not_found' | 'offline' | 'limited'
  | 'agent_error' | 'link_failed' | 'too_slow' | 'cancelled' | 'failed';

/** The hub's Prometheus metrics, on its own registry. */
export class HubMetrics {
  readonly registry = new Registry();
  /** What the add-on sweep gauges read at each scrape (observeAddonSweeps). */
  #addonSweeps: () => readonly AddonSweepSample[] = () => [];
  readonly agentsConnected = new Gauge({ name: 'uplink_hub_agents_connected', help: 'Agents with an open link', registers: [this.registry] });
  readonly heartbeats = new Counter({ name: 'uplink_hub_heartbeats_total', help: 'Heartbeats received from agents', registers: [this.registry] });
  readonly linkErrors = new Counter({
    name: 'uplink_hub_link_errors_total', help: 'Agent connections refused or dropped, by reason',
    labelNames: ['reason'] as const, registers: [this.registry],
  });
  readonly agentEventsDropped = new Counter({
    name: 'uplink_hub_agent_events_dropped_total',
    help: 'Events from agents dropped at the hub, by type: heartbeat (malformed), unknown (not an object or a type this hub does not know)',
    labelNames: ['type'] as const, registers: [this.registry],
  });
  readonly linksAccepted = new Counter({ name: 'uplink_hub_links_accepted_total', help: 'Agent links accepted', registers: [this.registry] });
  readonly leaderHandovers = new Counter({
    name: 'uplink_hub_leader_handovers_total', help: 'Links of a leader-elected agent that took over a link still held for the cluster: from a later leader (handover) or the same one linking again (same)',
    labelNames: ['kind'] as const, registers: [this.registry],
  });
  readonly streamsOpen = new Gauge({ name: 'uplink_hub_link_streams_open', help: 'HTTP/2 streams open to agents', registers: [this.registry] });
  readonly pendingHandshakes = new Gauge({ name: 'uplink_hub_pending_handshakes', help: 'Agent connections being authenticated', registers: [this.registry] });
  readonly kubeRequests = new Counter({
    name: 'uplink_hub_kube_requests_total', help: 'kubectl requests through the hub, by class (unary, streaming) and outcome',
    labelNames: ['class', 'outcome'] as const, registers: [this.registry],
  });
  readonly kubeInFlight = new Gauge({
    name: 'uplink_hub_kube_requests_in_flight', help: 'kubectl requests being proxied, by class',
    labelNames: ['class'] as const, registers: [this.registry],
  });
  readonly resourceRequests = new Counter({
    name: 'uplink_hub_resource_requests_total', help: 'Live resource and log requests, by route and outcome',
    labelNames: ['route', 'outcome'] as const, registers: [this.registry],
  });
  readonly resourceFeedsOpen = new Gauge({
    name: 'uplink_hub_resource_feeds_open', help: 'Live resource feeds (server-sent events) being served', registers: [this.registry],
  });
  readonly logStreamsOpen = new Gauge({ name: 'uplink_hub_log_streams_open', help: 'Pod log streams being served', registers: [this.registry] });
  readonly resourceFeedsDropped = new Counter({
    name: 'uplink_hub_resource_feeds_dropped_total', help: 'Live resource feeds ended because the client read slower than changes came',
    registers: [this.registry],
  });
  readonly streamsRevoked = new Counter({
    name: 'uplink_hub_streams_revoked_total',
    help: "Users' open streams ended because their token was revoked, their user deleted or their grant reduced, by kind and reason",
    labelNames: ['kind', 'reason'] as const, registers: [this.registry],
  });
  readonly fleetWatchRefused = new Counter({
    name: 'uplink_hub_fleet_watch_refused_total', help: 'Fleet feeds refused, by reason (no_grant, user_limit, hub_limit)',
    labelNames: ['reason'] as const, registers: [this.registry],
  });
  readonly fleetWatchers = new Gauge({ name: 'uplink_hub_fleet_watchers', help: 'Dashboards watching the live fleet (GET /api/v1/fleet/watch)', registers: [this.registry] });
  readonly addonPushes = new Counter({
    name: 'uplink_hub_addon_pushes_total', help: 'Pushes of desired add-ons to agents, by outcome (ok, refused, failed)',
    labelNames: ['outcome'] as const, registers: [this.registry],
  });
  readonly exposurePushes = new Counter({
    name: 'uplink_hub_exposure_pushes_total', help: 'Pushes of the Service gateway\'s exposure sets to agents, by outcome (ok, refused, failed)',
    labelNames: ['outcome'] as const, registers: [this.registry],
  });
  readonly addonStatusEvents = new Counter({
    name: 'uplink_hub_addon_status_events_total',
    help: 'Add-on statuses received from agents, by outcome (stored, refused, superseded, failed)',
    labelNames: ['outcome'] as const, registers: [this.registry],
  });
  readonly addonOperations = new Counter({
    name: 'uplink_hub_addon_operations_total',
    help: 'Manual add-on operations (rollback, sync) forwarded to agents, by action and outcome (accepted, refused, offline, failed)',
    labelNames: ['action', 'outcome'] as const, registers: [this.registry],
  });
  // Per cluster, computed at scrape time so the lag rises between reports;
  // the label set is the clusters whose agents reported a sweep, which the
  // store bounds, and a deleted cluster's series go with it.
  readonly addonReconcileLag = new Gauge({
    name: 'uplink_hub_addon_reconcile_lag_seconds',
    help: 'Seconds since the cluster last reported a sweep of its add-ons; keeps rising while sweeps or the agent are stopped',
    labelNames: ['cluster'] as const, registers: [this.registry],
    collect: () => { this.#readAddonSweeps(this.addonReconcileLag, (sample) => sample.lagSeconds); },
  });
  readonly addonSweepDuration = new Gauge({
    name: 'uplink_hub_addon_sweep_duration_seconds', help: 'How long the cluster\'s last reported sweep of its add-ons took',
    labelNames: ['cluster'] as const, registers: [this.registry],
    collect: () => { this.#readAddonSweeps(this.addonSweepDuration, (sample) => sample.sweepDurationSeconds); },
  });
  readonly connectionsOpen = new Gauge({
    name: 'uplink_hub_connections_open', help: 'Client connections open on the hub\'s port (agents, users, dashboards, not yet identified)',
    registers: [this.registry],
  });
  readonly refusedBodies = new Counter({
    name: 'uplink_hub_refused_bodies_total',
    help: 'Request bodies refused as too large (413), read and discarded before the answer, by how that ended (ended, bytes, time)',
    labelNames: ['outcome'] as const, registers: [this.registry],
  });
  readonly connectionsRefused = new Counter({
    name: 'uplink_hub_connections_refused_total',
    help: 'Connections closed on arrival, by the cap they met (max_connections, max_per_address)',
    labelNames: ['reason'] as const, registers: [this.registry],
  });
  readonly requestHeadsRefused = new Counter({
    name: 'uplink_hub_request_heads_refused_total',
    help: 'Requests refused while their request line and headers arrived, before any route: too_large (431, over 1 MiB + 4 KiB, the API server\'s own bound), too_many_long (429, more long heads at once than the hub takes)',
    labelNames: ['reason'] as const, registers: [this.registry],
  });
  readonly longRequestHeads = new Gauge({
    name: 'uplink_hub_long_request_heads', help: 'Connections receiving a request line and headers over 16 KiB now',
    registers: [this.registry],
  });
  readonly connectionsTimedOut = new Counter({
    name: 'uplink_hub_connections_timed_out_total',
    help: 'Connections closed for being too slow, by phase (tls_handshake, request: headers or body not received in time)',
    labelNames: ['phase'] as const, registers: [this.registry],
  });
  readonly auditRowsSuppressed = new Counter({
    name: 'uplink_hub_audit_rows_suppressed_total',
    help: 'Refusals of unauthenticated requests beyond the audit log\'s rate for them: counted in a summary row, not stored one by one',
    registers: [this.registry],
  });
  readonly auditWriteFailures = new Counter({
    name: 'uplink_hub_audit_write_failures_total', help: 'Audit rows the store failed to write (e.g. disk full)', registers: [this.registry],
  });
  readonly auditRowsInterrupted = new Counter({
    name: 'uplink_hub_audit_rows_interrupted_total',
    help: 'Audit rows of streams marked interrupted: left in progress by a hub or replica that stopped or died with the stream open',
    registers: [this.registry],
  });
  readonly peerRelays = new Counter({
    name: 'uplink_hub_peer_relays_total', help: 'Requests relayed to the hub replica holding the cluster\'s link, by kind (request, upgrade) and outcome',
    labelNames: ['kind', 'outcome'] as const, registers: [this.registry],
  });
  readonly peerRelayStreams = new Gauge({ name: 'uplink_hub_peer_relay_streams_open', help: 'Requests and upgrades being relayed to other replicas now', registers: [this.registry] });
  readonly peerRelayBytes = new Counter({
    name: 'uplink_hub_peer_relay_bytes_total', help: 'Bytes relayed between replicas, by direction (to_peer, from_peer)', labelNames: ['direction'] as const, registers: [this.registry],
  });
  readonly peerRelayResumes = new Counter({
    name: 'uplink_hub_peer_relay_watch_resumes_total', help: 'Relayed watches whose replica died, by outcome (resumed, expired, no_holder, busy)',
    labelNames: ['outcome'] as const, registers: [this.registry],
  });
  readonly peerConnectionsRefused = new Counter({
    name: 'uplink_hub_peer_connections_refused_total', help: 'Connections to the peer port refused, by reason (tls, not_peer, max_connections)',
    labelNames: ['reason'] as const, registers: [this.registry],
  });
  readonly gatewayRequests = new Counter({
    name: 'uplink_hub_gateway_requests_total',
    help: 'Requests to the Service gateway (and its sign-in pages), by outcome: proxied, unauthenticated, not_found, forbidden, offline, limited, refused (by the agent), failed, bad_request, signed_in, sign_in_refused, signed_out',
    labelNames: ['outcome'] as const, registers: [this.registry],
  });
  readonly gatewayStreamsOpen = new Gauge({
    name: 'uplink_hub_gateway_streams_open', help: 'Requests and WebSockets being proxied through the Service gateway now', registers: [this.registry],
  });
  readonly apiRequestSeconds = new Histogram({
    name: 'uplink_hub_api_request_duration_seconds', help: 'API request latency',
    labelNames: ['route', 'status'] as const, buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5], registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'uplink_hub_' });
  }

  linkError(reason: LinkErrorReason): void {
    this.linkErrors.inc({ reason });
  }

  resourceRequest(route: ResourceRoute, outcome: ResourceOutcome): void {
    this.resourceRequests.inc({ route, outcome });
  }

  /** Sets where the add-on sweep gauges read their values at each scrape. */
  observeAddonSweeps(samples: () => readonly AddonSweepSample[]): void {
    this.#addonSweeps = samples;
  }

  #readAddonSweeps(gauge: Gauge<'cluster'>, value: (sample: AddonSweepSample) => number): void {
    gauge.reset();
    for (const sample of this.#addonSweeps()) gauge.set({ cluster: sample.cluster }, value(sample));
  }
}
