// The hub's replicas as one tier: which replica holds each cluster's link,
// news between replicas, and work that must run once across the tier. A hub
// on SQLite is a tier of one (soloTier); a hub on PostgreSQL shares it with
// its sibling replicas through the database (pg-replica-tier.ts).

/** Where another replica takes relayed requests for the clusters it holds. */
export interface LinkOwner {
  replicaId: string;
  /** https://host:port of its peer listener. */
  peerUrl: string;
}

/**
 * What replicas tell each other:
 * - `claimed`: a replica now holds these clusters' links (an older link elsewhere is stale);
 * - `released`: a replica no longer holds them;
 * - `addons`: these clusters' desired add-ons changed (the holder pushes them);
 * - `access`: these users' tokens, account or grants changed (the ids are
 *   user ids): what other replicas remember of them is read again, and their
 *   open streams are checked at once.
 */
export interface LinkLocation {
  clusterId: string;
  /** The replica holding the link (this one included), while its claim is live. */
  holder: LinkOwner | undefined;
  /** A claim past its expiry is left: its replica stopped renewing (killed, or cut off from the database). */
  stale: boolean;
}

export type TierTopic = 'claimed' | 'released' | 'addons' | 'access' | 'exposures';

export interface TierNews {
  /** The replica that published it. */
  from: string;
  topic: TierTopic;
  /** Cluster ids; user ids for `access`. */
  clusterIds: string[];
}

export interface ReplicaTier {
  readonly replicaId: string;
  /** False for a tier of one: nothing to relay, nobody to tell. */
  readonly shared: boolean;
  /**
   * Records that this replica holds the cluster's link, taking it from any
   * other; renewed while held. Rejects when the database cannot record it:
   * the caller must then not keep the link.
   */
  claimLink(clusterId: string): Promise<void>;
  /**
   * Drops this replica's newest claim of the cluster (its link closed), once
   * that claim is written if it is still on its way; a claim made after this
   * call (a new link here), or by another replica, stays.
   */
  releaseLink(clusterId: string): Promise<void>;
  /**
   * Where the link of the cluster with this name or id is, read from the
   * database now; undefined when there is no such cluster.
   */
  locateLink(clusterRef: string): Promise<LinkLocation | undefined>;
  /** Whether the cluster's link was released or lost within the last few seconds (it is probably moving). */
  recentlyReleased(clusterId: string): boolean;
  /** The other replica holding the cluster's link, as last read (refreshed every few seconds and on news). */
  holderElsewhere(clusterId: string): string | undefined;
  /** Tells the other replicas; batched, best effort (claims are renewed and re-read anyway). */
  publish(topic: TierTopic, clusterId: string): void;
  /** Calls `listener` with news from the other replicas. */
  subscribe(listener: (news: TierNews) => void): void;
  /**
   * Calls `listener` with the clusters whose claims this replica lost to
   * another one (found at renewal), so their local links can close.
   */
  onClaimsLost(listener: (clusterIds: string[]) => void): void;
  /**
   * Records, tier-wide, that a live link of the cluster was just closed for a
   * newer one (another agent linked with its token, here or on another
   * replica). A failover is no replacement: the replica it leaves records nothing.
   */
  noteReplaced(clusterId: string): Promise<void>;
  /**
   * How many replacements were recorded for the cluster within the last
   * `windowMs`, counted only while a replica that is alive (its claim renewed
   * lately) holds the link; 0 when none does.
   */
  replacementsWhileHeld(clusterId: string, windowMs: number): Promise<number>;
  /**
   * True when this replica should run the job now: no replica has run it
   * within `everyMs`. Recorded as run by this one.
   */
  takeTurn(job: string, everyMs: number): Promise<boolean>;
  /**
   * The value every replica shares under `name`: the first `offer` made
   * wins and later ones get it back (a tier of one keeps its own).
   */
  shareSecret(name: string, offer: string): Promise<string>;
  /** Replaces a shared value if it is still `expected` (to seal one stored plain); false when another replica changed it first. */
  replaceSecret(name: string, expected: string, value: string): Promise<boolean>;
  close(): Promise<void>;
}

/** The tier of a hub alone on its database (SQLite): it holds every link it has. */
export function soloTier(replicaId: string): ReplicaTier {
  return {
    replicaId,
    shared: false,
    claimLink: () => Promise.resolve(),
    releaseLink: () => Promise.resolve(),
    locateLink: () => Promise.resolve(undefined),
    recentlyReleased: () => false,
    holderElsewhere: () => undefined,
    publish: () => undefined,
    subscribe: () => undefined,
    onClaimsLost: () => undefined,
    noteReplaced: () => Promise.resolve(),
    replacementsWhileHeld: () => Promise.resolve(0),
    takeTurn: () => Promise.resolve(true),
    shareSecret: (_name, offer) => Promise.resolve(offer),
    replaceSecret: () => Promise.resolve(true),
    close: () => Promise.resolve(),
  };
}
