// How often a cluster's link may pass from one agent to another. The newest
// agent wins a cluster's link, which is what a rolling update needs (the new
// pod takes over, the old one is going away). Two agents that both keep
// running with one token would otherwise take the link from each other for
// ever, ending the cluster's open streams at each swap; after a few swaps in
// a short time the hub lets the agent holding the link keep it, and refuses
// the other until the holder goes away.

/** Swaps of one cluster's link allowed within REPLACEMENT_WINDOW_MS; more are refused while a link is held. */
export const MAX_REPLACEMENTS = 2;
/** The window over which swaps are counted. */
export const REPLACEMENT_WINDOW_MS = 10 * 60_000;
/** Clusters tracked at most (the oldest entries go first); bounds memory under churn. */
const MAX_TRACKED_CLUSTERS = 100_000;

/** Counts recent link replacements per cluster, with an injectable clock. */
export class LinkReplacements {
  private readonly times = new Map<string, number[]>();
  private readonly now: () => number;

  constructor(now: () => number = Date.now) {
    this.now = now;
  }

  /** Notes that a cluster's link went to another agent now. */
  record(clusterId: string): void {
    const recent = this.recent(clusterId);
    recent.push(this.now());
    this.times.delete(clusterId);
    this.times.set(clusterId, recent.slice(-MAX_REPLACEMENTS));
    if (this.times.size > MAX_TRACKED_CLUSTERS) {
      const oldest = this.times.keys().next().value;
      if (oldest !== undefined) this.times.delete(oldest);
    }
  }

  /** True once MAX_REPLACEMENTS swaps happened within the window: a further one should be refused. */
  exhausted(clusterId: string): boolean {
    return this.recent(clusterId).length >= MAX_REPLACEMENTS;
  }

  /** Forgets a cluster (deleted). */
  forget(clusterId: string): void {
    this.times.delete(clusterId);
  }

  private recent(clusterId: string): number[] {
    const since = this.now() - REPLACEMENT_WINDOW_MS;
    return (this.times.get(clusterId) ?? []).filter((at) => at > since);
  }
}
