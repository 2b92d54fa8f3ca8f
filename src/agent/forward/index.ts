// TCP forwards over the link, agent side: the public surface of this folder.
export { createForwardHandler, MAX_OPEN_FORWARDS, FORWARD_IDLE_TIMEOUT_MS, type ForwardHandlerOptions } from './serve-forward.ts';
export { createForwardMetrics, type ForwardMetrics } from './forward-metrics.ts';
