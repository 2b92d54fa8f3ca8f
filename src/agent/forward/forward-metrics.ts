// The agent's metrics of TCP forwards, on its registry.
import { Counter, Gauge, type Registry } from 'prom-client';

/** How a forward request ended up; a closed set keeps the label bounded. */
export type ForwardResult = 'opened' | 'bad_request' | 'forbidden' | 'not_found' | 'unreachable' | 'limited' | 'review_failed' | 'error';

export interface ForwardMetrics {
  open: Gauge;
  total: Counter<'result'>;
  bytes: Counter<'direction'>;
  refusedAddresses: Counter<'reason'>;
}

/** Registers the forward metrics on `registry`. */
export function createForwardMetrics(registry: Registry): ForwardMetrics {
  const registers = [registry];
  return {
    open: new Gauge({ name: 'uplink_agent_forwards_open', help: 'TCP forwards open now', registers }),
    total: new Counter({ name: 'uplink_agent_forwards_total', help: 'TCP forward requests from the hub, by result', labelNames: ['result'] as const, registers }),
    bytes: new Counter({
      name: 'uplink_agent_forward_bytes_total', help: 'Bytes carried by TCP forwards: to the endpoint (in) and back (out)', labelNames: ['direction'] as const, registers,
    }),
    refusedAddresses: new Counter({
      name: 'uplink_agent_forward_refused_addresses_total',
      help: 'Endpoints a forward resolved to but the agent refused to dial (link-local, unspecified, multicast, the API server), by reason',
      labelNames: ['reason'] as const, registers,
    }),
  };
}

