// The tier's per-link statements, batched (see store/keyed-batcher.ts): a
// replica's failover sends thousands of agents to the survivors within
// seconds, and each link is claimed, checked for replacements and, when it
// ends, released. One statement per batch keeps the tier's few connections
// from saturating. Each link's claim is a ticket, so a release that comes
// while its claim is still being written waits for it and removes exactly
// that claim, never a newer one of the same cluster.
import type pg from 'pg';
import { KeyedBatcher } from '../store/keyed-batcher.ts';

/** Links in one statement at most. */
const MAX_BATCH = 1_000;
/** Calls waiting beyond this are refused: a whole fleet linking at once. */
const MAX_QUEUED = 20_000;

/** One claim of a cluster's link by this replica. */
export interface ClaimTicket {
  /** The claim's time as the database wrote it (its text), or undefined when the cluster is gone or the write failed. */
  readonly written: Promise<string | undefined>;
  /** Set by a release that came before the claim was written: the claim is not to be held. */
  released: boolean;
}

export interface LinkClaimsOptions {
  pool: pg.Pool;
  replicaId: string;
  peerUrl: string;
  ttlMs: number;
}

export class LinkClaims {
  readonly #options: LinkClaimsOptions;
  readonly #claims: KeyedBatcher<null, string>;
  readonly #releases: KeyedBatcher<string>;
  readonly #replacements: KeyedBatcher<number, number>;
  /** The newest claim of each cluster, until it is released. */
  readonly #latest = new Map<string, ClaimTicket>();

  constructor(options: LinkClaimsOptions) {
    this.#options = options;
    const bounds = { windowMs: 0, maxBatch: MAX_BATCH, maxQueued: MAX_QUEUED };
    this.#claims = new KeyedBatcher({ ...bounds, what: 'link claims', write: (batch) => this.#writeClaims(batch) });
    this.#releases = new KeyedBatcher({ ...bounds, what: 'link releases', write: (batch) => this.#writeReleases(batch) });
    this.#replacements = new KeyedBatcher({ ...bounds, maxInFlight: 2, what: 'replacement checks', write: (batch) => this.#readReplacements(batch) });
  }

  /**
   * Claims the cluster's link for this replica. Resolves with the claim's
   * time, or undefined when a release came first (the claim is not held);
   * rejects when the claim cannot be written or the cluster is gone.
   */
  async claim(clusterId: string): Promise<string | undefined> {
    const written = this.#claims.add(clusterId, null);
    const ticket: ClaimTicket = { written: written.catch(() => undefined), released: false };
    this.#latest.set(clusterId, ticket);
    let claimedAt: string | undefined;
    try {
      claimedAt = await written;
    } finally {
      if (claimedAt === undefined && this.#latest.get(clusterId) === ticket) this.#latest.delete(clusterId);
    }
    if (claimedAt === undefined) throw new Error(`cluster ${clusterId} was deleted while its link was claimed`);
    return ticket.released || this.#latest.get(clusterId) !== ticket ? undefined : claimedAt;
  }

  /**
   * Releases the cluster's newest claim once it is written; nothing when a
   * newer claim of the cluster was made meanwhile (it owns the row now).
   * Resolves with the claim's time when one was released.
   */
  async release(clusterId: string): Promise<string | undefined> {
    const ticket = this.#latest.get(clusterId);
    if (ticket === undefined) return undefined;
    ticket.released = true;
    const claimedAt = await ticket.written;
    if (this.#latest.get(clusterId) !== ticket) return undefined;
    this.#latest.delete(clusterId);
    if (claimedAt !== undefined) await this.#releases.add(clusterId, claimedAt);
    return claimedAt;
  }

  /** Replacements of the cluster's link within `windowMs`, counted while a live replica holds it (0 otherwise). */
  async replacementsWhileHeld(clusterId: string, windowMs: number): Promise<number> {
    return (await this.#replacements.add(clusterId, windowMs)) ?? 0;
  }

  async close(): Promise<void> {
    await Promise.all([this.#claims.close(), this.#releases.close(), this.#replacements.close()]);
  }

  /** Rows are written in cluster id order, the same in every replica's batches, so batches cannot deadlock. */
  async #writeClaims(batch: ReadonlyMap<string, null>): Promise<Map<string, string>> {
    const { replicaId, peerUrl, ttlMs, pool } = this.#options;
    const { rows } = await pool.query<{ cluster_id: string; claimed_at: string }>(
      `INSERT INTO link_owners (cluster_id, replica_id, peer_url, claimed_at, expires_at)
       SELECT c.id, $2, $3, now(), now() + $4 * interval '1 millisecond' FROM clusters c WHERE c.id = ANY($1::text[]) ORDER BY c.id
       ON CONFLICT (cluster_id) DO UPDATE SET replica_id = EXCLUDED.replica_id, peer_url = EXCLUDED.peer_url,
         claimed_at = EXCLUDED.claimed_at, expires_at = EXCLUDED.expires_at
       RETURNING cluster_id, claimed_at::text`,
      [[...batch.keys()], replicaId, peerUrl, ttlMs],
    );
    return new Map(rows.map((row) => [row.cluster_id, row.claimed_at]));
  }

  /** Only the claims these releases are about: a new link of the cluster here may have claimed it again. */
  async #writeReleases(batch: ReadonlyMap<string, string>): Promise<undefined> {
    const ids = [...batch.keys()].sort();
    await this.#options.pool.query(
      `DELETE FROM link_owners o USING unnest($1::text[], $2::timestamptz[]) AS r (id, at)
       WHERE o.cluster_id = r.id AND o.replica_id = $3 AND o.claimed_at = r.at`,
      [ids, ids.map((id) => batch.get(id)), this.#options.replicaId],
    );
    return undefined;
  }

  /**
   * A claim renewed within the last half of its life (two rounds) is a live
   * replica's; a killed replica's claim stops counting soon after, so its
   * agent is not refused for long once it links to a survivor.
   */
  async #readReplacements(batch: ReadonlyMap<string, number>): Promise<Map<string, number>> {
    const ids = [...batch.keys()];
    const { rows } = await this.#options.pool.query<{ cluster_id: string; recent: number }>(
      `SELECT o.cluster_id, (SELECT count(*) FROM link_replacements r, unnest(r.replaced_at) AS t (at)
               WHERE r.cluster_id = o.cluster_id AND t.at > now() - q.window_ms * interval '1 millisecond')::int AS recent
       FROM unnest($1::text[], $2::double precision[]) AS q (id, window_ms)
       JOIN link_owners o ON o.cluster_id = q.id
       WHERE o.expires_at > now() + $3 * interval '1 millisecond'`,
      [ids, ids.map((id) => batch.get(id)), this.#options.ttlMs / 2],
    );
    return new Map(rows.map((row) => [row.cluster_id, row.recent]));
  }
}
