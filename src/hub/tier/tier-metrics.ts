// The replica tier's Prometheus metrics, registered on the hub's registry.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { TierMetrics } from './pg-replica-tier.ts';

export function tierMetrics(registry: Registry): TierMetrics & { draining: Gauge } {
  const registers = [registry];
  const claims = new Counter({ name: 'uplink_hub_tier_claims_total', help: 'Link claims recorded by this replica, by outcome', labelNames: ['outcome'] as const, registers });
  const renewals = new Counter({ name: 'uplink_hub_tier_renewals_total', help: 'Rounds renewing this replica\'s link claims, by outcome', labelNames: ['outcome'] as const, registers });
  const sent = new Counter({ name: 'uplink_hub_tier_news_sent_total', help: 'NOTIFY payloads sent to the other replicas', registers });
  const received = new Counter({ name: 'uplink_hub_tier_news_received_total', help: 'News received from the other replicas, by topic', labelNames: ['topic'] as const, registers });
  const listener = new Gauge({ name: 'uplink_hub_tier_listener_up', help: '1 while the LISTEN connection to the database is up', registers });
  const elsewhere = new Gauge({ name: 'uplink_hub_tier_links_elsewhere', help: 'Cluster links held by the other replicas, as last read', registers });
  const draining = new Gauge({ name: 'uplink_hub_draining', help: '1 while this replica drains (stopping)', registers });
  return {
    claims: (outcome) => { claims.inc({ outcome }); },
    renewals: (outcome) => { renewals.inc({ outcome }); },
    newsSent: (count) => { sent.inc(count); },
    newsReceived: (topic) => { received.inc({ topic: topic === 'claimed' || topic === 'released' || topic === 'addons' || topic === 'access' ? topic : 'other' }); },
    listenerConnected: (up) => { listener.set(up ? 1 : 0); },
    heldElsewhere: (count) => { elsewhere.set(count); },
    draining,
  };
}
