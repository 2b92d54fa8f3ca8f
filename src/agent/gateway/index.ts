// The Service gateway, agent side: the public surface of this folder.
export { createGatewayHandler, GATEWAY_IDLE_TIMEOUT_MS, MAX_OPEN_GATEWAY_STREAMS, type GatewayHandlerOptions } from './serve-gateway.ts';
export { createGatewayMetrics, type GatewayMetrics, type GatewayRefusal } from './gateway-metrics.ts';
export { HeldExposures, receiveExposures, serveExposures } from './held-exposures.ts';
