import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Why an agent connection was refused or dropped; a closed set keeps label cardinality bounded. */
export type LinkErrorReason =
  | 'unauthorized' | 'bad_request' | 'overloaded' | 'protocol' | 'timeout' | 'dropped' | 'replaced' | 'store';

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
  readonly agentsConnected = new Gauge({ name: 'uplink_hub_agents_connected', help: 'Agents with an open link', registers: [this.registry] });
  readonly heartbeats = new Counter({ name: 'uplink_hub_heartbeats_total', help: 'Heartbeats received from agents', registers: [this.registry] });
  readonly linkErrors = new Counter({
    name: 'uplink_hub_link_errors_total', help: 'Agent connections refused or dropped, by reason',
    labelNames: ['reason'] as const, registers: [this.registry],
  });
  readonly linksAccepted = new Counter({ name: 'uplink_hub_links_accepted_total', help: 'Agent links accepted', registers: [this.registry] });
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
  readonly addonPushes = new Counter({
    name: 'uplink_hub_addon_pushes_total', help: 'Pushes of desired add-ons to agents, by outcome (ok, refused, failed)',
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
}
