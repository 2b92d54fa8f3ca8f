// The agent's metrics of Service gateway streams, on its registry.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { AddressRefusal } from '../forward/address-guard.ts';

/**
 * Why a gateway stream, or one endpoint of it, was refused; a closed set. For
 * a stream: `unknown` (an id the pushed set lacks), `malformed` (no id of the
 * right form), `limited`, `no_endpoint`, `unreachable`, `error`. For an
 * endpoint the address guard refused: its AddressRefusal (`link-local`,
 * `api-server`, `loopback`, ...), counted once per endpoint.
 */
export type GatewayRefusal = 'unknown' | 'malformed' | 'limited' | 'no_endpoint' | 'unreachable' | 'error' | 'withdrawn' | AddressRefusal;

export interface GatewayMetrics {
  open: Gauge;
  opened: Counter;
  refused: Counter<'reason'>;
  bytes: Counter<'direction'>;
}

/** Registers the gateway metrics on `registry`. */
export function createGatewayMetrics(registry: Registry): GatewayMetrics {
  const registers = [registry];
  return {
    open: new Gauge({ name: 'uplink_agent_gateway_streams_open', help: 'Service gateway streams open now', registers }),
    opened: new Counter({ name: 'uplink_agent_gateway_streams_total', help: 'Service gateway streams opened to an endpoint', registers }),
    refused: new Counter({
      name: 'uplink_agent_gateway_refused_total',
      help: 'Service gateway streams refused (unknown or malformed exposure id, limit, no endpoint, unreachable) and endpoints the address guard refused, by reason',
      labelNames: ['reason'] as const, registers,
    }),
    bytes: new Counter({
      name: 'uplink_agent_gateway_bytes_total', help: 'Bytes carried by Service gateway streams: to the endpoint (in) and back (out)', labelNames: ['direction'] as const, registers,
    }),
  };
}
