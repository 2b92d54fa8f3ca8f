/** Defaults for concurrent kubectl requests per cluster. */
export const DEFAULT_MAX_UNARY = 64;
export const DEFAULT_MAX_STREAMING = 128;
/** Default percentage of a cluster's slots of each class that one user may hold. */
export const DEFAULT_USER_SHARE_PERCENT = 25;

export type RequestClass = 'unary' | 'streaming';

/** Why a slot was refused: the cluster is full, or the caller holds its share. */
export type LimitScope = 'cluster' | 'user';

export interface ClusterLimits {
  unary: number;
  streaming: number;
  /** Percentage (1-100) of each class's slots one user may hold at once; 100 means no share. */
  userSharePercent?: number;
}

type Counts = Record<RequestClass, number>;

/**
 * Bounds concurrent proxied requests per cluster, unary and streaming
 * separately, so watches cannot starve gets (or the other way round), and
 * per user within a cluster, so one user holding its share cannot take the
 * slots everyone else needs. Over a limit the caller answers 429 at once
 * instead of queueing.
 */
export class ClusterLimiter {
  private readonly limits: Counts;
  private readonly perUser: Counts;
  private readonly inFlight = new Map<string, Counts>();
  /** By `clusterId NUL userId`. */
  private readonly byUser = new Map<string, Counts>();

  constructor(limits: ClusterLimits) {
    this.limits = { unary: limits.unary, streaming: limits.streaming };
    const share = (limits.userSharePercent ?? 100) / 100;
    // At least one slot each: a share never locks a user out of a small limit.
    this.perUser = {
      unary: Math.max(1, Math.floor(limits.unary * share)),
      streaming: Math.max(1, Math.floor(limits.streaming * share)),
    };
  }

  /** Slots of a class one user may hold on one cluster. */
  userLimit(kind: RequestClass): number {
    return this.perUser[kind];
  }

  /**
   * Takes a slot, counted against `userId`'s share when given; returns a
   * release function, or undefined when the cluster or the user is at its
   * limit (see refusal).
   */
  tryAcquire(clusterId: string, kind: RequestClass, userId?: string): (() => void) | undefined {
    if (this.refusal(clusterId, kind, userId) !== undefined) return undefined;
    const counts = this.inFlight.get(clusterId) ?? { unary: 0, streaming: 0 };
    counts[kind] += 1;
    this.inFlight.set(clusterId, counts);
    const userKey = userId === undefined ? undefined : `${clusterId}\u0000${userId}`;
    const userCounts = userKey === undefined ? undefined : (this.byUser.get(userKey) ?? { unary: 0, streaming: 0 });
    if (userKey !== undefined && userCounts) {
      userCounts[kind] += 1;
      this.byUser.set(userKey, userCounts);
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      counts[kind] -= 1;
      if (counts.unary === 0 && counts.streaming === 0) this.inFlight.delete(clusterId);
      if (userKey !== undefined && userCounts) {
        userCounts[kind] -= 1;
        if (userCounts.unary === 0 && userCounts.streaming === 0) this.byUser.delete(userKey);
      }
    };
  }

  /** Why tryAcquire would refuse now: the user's share ('user'), the cluster's limit ('cluster'), or undefined. */
  refusal(clusterId: string, kind: RequestClass, userId?: string): LimitScope | undefined {
    if (userId !== undefined && this.userCount(clusterId, kind, userId) >= this.perUser[kind]) return 'user';
    if (this.count(clusterId, kind) >= this.limits[kind]) return 'cluster';
    return undefined;
  }

  count(clusterId: string, kind: RequestClass): number {
    return this.inFlight.get(clusterId)?.[kind] ?? 0;
  }

  userCount(clusterId: string, kind: RequestClass, userId: string): number {
    return this.byUser.get(`${clusterId}\u0000${userId}`)?.[kind] ?? 0;
  }
}
