import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Outcome of one attempt to link; a closed set keeps label cardinality bounded. */
export type LinkAttemptResult = 'linked' | 'unauthorized' | 'unavailable' | 'unreachable' | 'refused' | 'tls';

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

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'uplink_agent_' });
  }
}
