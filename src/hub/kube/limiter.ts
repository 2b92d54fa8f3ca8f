/** Defaults for concurrent kubectl requests per cluster. */
export const DEFAULT_MAX_UNARY = 64;
export const DEFAULT_MAX_STREAMING = 128;

export type RequestClass = 'unary' | 'streaming';

/**
 * Bounds concurrent proxied requests per cluster, unary and streaming
 * separately, so watches cannot starve gets (or the other way round). Over a
 * limit the caller answers 429 at once instead of queueing.
 */
export class ClusterLimiter {
  private readonly limits: Record<RequestClass, number>;
  private readonly inFlight = new Map<string, Record<RequestClass, number>>();

  constructor(limits: { unary: number; streaming: number }) {
    this.limits = { ...limits };
  }

  /** Takes a slot; returns a release function, or undefined when the cluster is at its limit. */
  tryAcquire(clusterId: string, kind: RequestClass): (() => void) | undefined {
    const counts = this.inFlight.get(clusterId) ?? { unary: 0, streaming: 0 };
    if (counts[kind] >= this.limits[kind]) return undefined;
    counts[kind] += 1;
    this.inFlight.set(clusterId, counts);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      counts[kind] -= 1;
      if (counts.unary === 0 && counts.streaming === 0) this.inFlight.delete(clusterId);
    };
  }

  count(clusterId: string, kind: RequestClass): number {
    return this.inFlight.get(clusterId)?.[kind] ?? 0;
  }
}
