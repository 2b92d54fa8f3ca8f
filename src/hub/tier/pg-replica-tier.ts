// The tier of hub replicas sharing one PostgreSQL database. Claims on
// cluster links are rows with an expiry (taken with the database's clock, so
// replicas' clocks do not matter), renewed in one statement per round; news
// goes out as NOTIFY on one channel and comes in on a dedicated LISTEN
// connection that reconnects by itself; jobs that must run once across the
// tier take turns through a row per job. Replacements of live links are
// recorded per cluster, so agents sharing one token are told apart from a
// rolling update whichever replicas they link to.
import type pg from 'pg';
import { Backoff } from '../../link/backoff.ts';
import { background } from '../../util/background.ts';
import type { Logger } from '../../util/logger.ts';
import { LinkClaims } from './link-claims.ts';
import type { LinkLocation, ReplicaTier, TierNews, TierTopic } from './replica-tier.ts';
import { decodeNews, encodeNews, NewsBatcher, TIER_CHANNEL } from './tier-news.ts';

/** A claim not renewed for this long is void: its replica is gone or cut off from the database. */
export const CLAIM_TTL_MS = 20_000;
/** Claims are renewed, and other replicas' claims re-read, this often. */
export const RENEW_EVERY_MS = 5_000;
/** News is sent at most this often, batched. */
const NEWS_EVERY_MS = 100;
const NEWS_MAX_PENDING = 5_000;
/** After news of claims, other replicas' claims are re-read within this. */
const RELOAD_DEBOUNCE_MS = 100;
const LISTEN_RETRY = { initialMs: 500, maxMs: 5_000 };
/** A link released this recently is probably moving to another replica: requests for it wait rather than fail. */
const MOVING_FOR_MS = 30_000;
const MAX_RELEASED = 100_000;
/** Replacements kept per cluster (the newest), whatever the window asked about. */
const REPLACEMENTS_KEPT = 8;
/** How long replacement records are kept at most; a caller's window beyond it sees fewer. */
const REPLACEMENTS_KEPT_MS = 60 * 60_000;

export interface TierMetrics {
  claims(outcome: 'ok' | 'failed'): void;
  renewals(outcome: 'ok' | 'failed'): void;
  newsSent(count: number): void;
  newsReceived(topic: string): void;
  listenerConnected(up: boolean): void;
  heldElsewhere(count: number): void;
}

export interface PgReplicaTierOptions {
  replicaId: string;
  /** https://host:port of this replica's peer listener. */
  peerUrl: string;
  /** For claims, news and turns: a few connections are enough. */
  pool: pg.Pool;
  /** A new client for the LISTEN connection (the pool's clients come and go). */
  newClient: () => pg.Client;
  log: Logger;
  metrics: TierMetrics;
  claimTtlMs?: number;
  renewEveryMs?: number;
  /** close() ends the pool too. */
  ownsPool?: boolean;
}

export class PgReplicaTier implements ReplicaTier {
  readonly replicaId: string;
  readonly shared = true;
  readonly #options: PgReplicaTierOptions;
  readonly #ttlMs: number;
  /** Clusters whose links this replica holds (claimed, not released), with when each was claimed (the database's text). */
  readonly #held = new Map<string, string>();
  /** Other replicas' live claims, by cluster id, as last read. */
  #elsewhere = new Map<string, string>();
  /** When a cluster's link was last released or lost anywhere in the tier (by cluster id), for the moving window. */
  readonly #released = new Map<string, number>();
  readonly #newsListeners: ((news: TierNews) => void)[] = [];
  readonly #lostListeners: ((clusterIds: string[]) => void)[] = [];
  readonly #batcher: NewsBatcher;
  readonly #claims: LinkClaims;
  readonly #renewTimer: NodeJS.Timeout;
  #reloadTimer: NodeJS.Timeout | undefined;
  #listener: pg.Client | undefined;
  readonly #listenBackoff = new Backoff(LISTEN_RETRY);
  #closed = false;

  constructor(options: PgReplicaTierOptions) {
    this.replicaId = options.replicaId;
    this.#options = options;
    this.#ttlMs = options.claimTtlMs ?? CLAIM_TTL_MS;
    this.#claims = new LinkClaims({ pool: options.pool, replicaId: options.replicaId, peerUrl: options.peerUrl, ttlMs: this.#ttlMs });
    this.#batcher = new NewsBatcher({
      everyMs: NEWS_EVERY_MS, maxPending: NEWS_MAX_PENDING,
      flush: (topic, ids) => { background(this.#send(topic, ids), options.log, 'could not send news to the other hub replicas'); },
    });
    this.#renewTimer = setInterval(() => { background(this.#round(), options.log, 'tier round failed'); }, options.renewEveryMs ?? RENEW_EVERY_MS);
    this.#renewTimer.unref();
    this.#listen();
    background(this.#reload(), options.log, 'could not read the other replicas\' claims');
  }

  async claimLink(clusterId: string): Promise<void> {
    let claimedAt: string | undefined;
    try {
      claimedAt = await this.#claims.claim(clusterId);
    } catch (error) {
      this.#options.metrics.claims('failed');
      throw error;
    }
    this.#options.metrics.claims('ok');
    // Released (the link closed) while the claim was written: release() removes it.
    if (claimedAt === undefined) return;
    this.#held.set(clusterId, claimedAt);
    this.#elsewhere.delete(clusterId);
    this.publish('claimed', clusterId);
  }

  async releaseLink(clusterId: string): Promise<void> {
    this.#noteReleased([clusterId]);
    const claimedAt = await this.#claims.release(clusterId);
    if (claimedAt !== undefined && this.#held.get(clusterId) === claimedAt) this.#held.delete(clusterId);
    this.publish('released', clusterId);
  }

  async locateLink(clusterRef: string): Promise<LinkLocation | undefined> {
    const { rows } = await this.#options.pool.query<{ id: string; replica_id: string | null; peer_url: string | null; live: boolean | null }>(
      `SELECT c.id, o.replica_id, o.peer_url, o.expires_at > now() AS live
       FROM clusters c LEFT JOIN link_owners o ON o.cluster_id = c.id
       WHERE c.name = $1 OR c.id = $1 LIMIT 1`,
      [clusterRef],
    );
    const row = rows[0];
    if (row === undefined) return undefined;
    const holder = row.live === true && row.replica_id !== null && row.peer_url !== null ? { replicaId: row.replica_id, peerUrl: row.peer_url } : undefined;
    return { clusterId: row.id, holder, stale: row.live === false };
  }

  recentlyReleased(clusterId: string): boolean {
    const at = this.#released.get(clusterId);
    return at !== undefined && Date.now() - at < MOVING_FOR_MS;
  }

  #noteReleased(ids: readonly string[]): void {
    const now = Date.now();
    for (const id of ids) {
      this.#released.delete(id);
      this.#released.set(id, now);
    }
    // Oldest first (Map order): drop what is past the window, and the oldest past the bound.
    for (const [id, at] of this.#released) {
      if (now - at < MOVING_FOR_MS && this.#released.size <= MAX_RELEASED) break;
      this.#released.delete(id);
    }
  }

  holderElsewhere(clusterId: string): string | undefined {
    return this.#elsewhere.get(clusterId);
  }

  publish(topic: TierTopic, clusterId: string): void {
    if (!this.#closed) this.#batcher.add(topic, clusterId);
  }

  subscribe(listener: (news: TierNews) => void): void {
    this.#newsListeners.push(listener);
  }

  onClaimsLost(listener: (clusterIds: string[]) => void): void {
    this.#lostListeners.push(listener);
  }

  async noteReplaced(clusterId: string): Promise<void> {
    // The newest REPLACEMENTS_KEPT within the hour, oldest first; nothing for a cluster deleted meanwhile.
    await this.#options.pool.query(
      `INSERT INTO link_replacements (cluster_id, replaced_at)
       SELECT id, ARRAY[now()] FROM clusters WHERE id = $1
       ON CONFLICT (cluster_id) DO UPDATE SET replaced_at = COALESCE((
         SELECT array_agg(at ORDER BY at) FROM (
           SELECT at FROM unnest(link_replacements.replaced_at) AS kept (at)
           WHERE at > now() - $2 * interval '1 millisecond' ORDER BY at DESC LIMIT $3
         ) AS newest
       ), '{}') || now()`,
      [clusterId, REPLACEMENTS_KEPT_MS, REPLACEMENTS_KEPT - 1],
    );
  }

  replacementsWhileHeld(clusterId: string, windowMs: number): Promise<number> {
    return this.#claims.replacementsWhileHeld(clusterId, windowMs);
  }

  async takeTurn(job: string, everyMs: number): Promise<boolean> {
    const { rowCount } = await this.#options.pool.query(
      `INSERT INTO tier_jobs (name, replica_id, ran_at) VALUES ($1, $2, now())
       ON CONFLICT (name) DO UPDATE SET replica_id = EXCLUDED.replica_id, ran_at = EXCLUDED.ran_at
       WHERE tier_jobs.ran_at <= now() - $3 * interval '1 millisecond'`,
      [job, this.replicaId, everyMs],
    );
    return rowCount === 1;
  }

  async shareSecret(name: string, offer: string): Promise<string> {
    await this.#options.pool.query('INSERT INTO hub_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING', [name, offer]);
    const { rows } = await this.#options.pool.query<{ value: string }>('SELECT value FROM hub_secrets WHERE name = $1', [name]);
    const value = rows[0]?.value;
    if (value === undefined) throw new Error(`the shared value ${name} vanished while it was read`);
    return value;
  }

  async replaceSecret(name: string, expected: string, value: string): Promise<boolean> {
    const result = await this.#options.pool.query('UPDATE hub_secrets SET value = $3 WHERE name = $1 AND value = $2', [name, expected, value]);
    return result.rowCount === 1;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#renewTimer);
    clearTimeout(this.#reloadTimer);
    this.#batcher.flushAll();
    await this.#claims.close();
    const listener = this.#listener;
    this.#listener = undefined;
    await listener?.end().catch(() => undefined);
    if (this.#options.ownsPool === true) await this.#options.pool.end();
  }

  /** One renewal round: extend this replica's claims, then re-read everyone's. */
  async #round(): Promise<void> {
    await this.#renew();
    await this.#reload();
  }

  async #renew(): Promise<void> {
    if (this.#held.size === 0) return;
    const before = new Map(this.#held);
    const ids = [...before.keys()];
    let kept: Set<string>;
    try {
      const { rows } = await this.#options.pool.query<{ cluster_id: string }>(
        `UPDATE link_owners SET expires_at = now() + $3 * interval '1 millisecond'
         WHERE replica_id = $1 AND cluster_id = ANY($2::text[]) RETURNING cluster_id`,
        [this.replicaId, ids, this.#ttlMs],
      );
      kept = new Set(rows.map((row) => row.cluster_id));
    } catch (error) {
      this.#options.metrics.renewals('failed');
      throw error;
    }
    this.#options.metrics.renewals('ok');
    // A claim gone since (another replica took the link, or the cluster was deleted) ends the link here.
    const lost = this.#dropUnchanged(ids, kept, before);
    this.#noteReleased(lost);
    if (lost.length > 0) for (const listener of this.#lostListeners) listener(lost);
  }

  async #reload(): Promise<void> {
    const { rows } = await this.#options.pool.query<{ cluster_id: string; replica_id: string }>(
      'SELECT cluster_id, replica_id FROM link_owners WHERE expires_at > now() AND replica_id <> $1',
      [this.replicaId],
    );
    this.#elsewhere = new Map(rows.map((row) => [row.cluster_id, row.replica_id]));
    this.#options.metrics.heldElsewhere(this.#elsewhere.size);
  }

  #scheduleReload(): void {
    if (this.#closed || this.#reloadTimer !== undefined) return;
    this.#reloadTimer = setTimeout(() => {
      this.#reloadTimer = undefined;
      background(this.#reload(), this.#options.log, 'could not read the other replicas\' claims');
    }, RELOAD_DEBOUNCE_MS);
  }

  async #send(topic: TierTopic, ids: string[]): Promise<void> {
    const payloads = encodeNews(this.replicaId, topic, ids);
    for (const payload of payloads) await this.#options.pool.query('SELECT pg_notify($1, $2)', [TIER_CHANNEL, payload]);
    this.#options.metrics.newsSent(payloads.length);
  }

  #receive(payload: string | undefined): void {
    const news = decodeNews(payload);
    if (news === undefined || news.from === this.replicaId) return;
    this.#options.metrics.newsReceived(news.topic);
    if (news.topic === 'claimed') {
      const mine = news.clusterIds.filter((id) => this.#held.has(id));
      for (const id of news.clusterIds) if (!this.#held.has(id)) this.#elsewhere.set(id, news.from);
      // Links another replica took from this one end here now rather than at the next renewal.
      if (mine.length > 0) background(this.#confirmLost(mine, news.from), this.#options.log, 'could not check claims another replica announced');
    } else if (news.topic === 'released') {
      this.#noteReleased(news.clusterIds);
      this.#scheduleReload();
    }
    for (const listener of this.#newsListeners) listener(news);
  }

  /**
   * News of a claim can arrive after this replica claimed the cluster again
   * (the link moved there and straight back): only the claims the database no
   * longer gives this replica are lost.
   */
  async #confirmLost(ids: string[], claimant: string): Promise<void> {
    const before = new Map(ids.map((id) => [id, this.#held.get(id)]));
    const { rows } = await this.#options.pool.query<{ cluster_id: string }>(
      'SELECT cluster_id FROM link_owners WHERE cluster_id = ANY($1::text[]) AND replica_id = $2',
      [ids, this.replicaId],
    );
    const kept = new Set(rows.map((row) => row.cluster_id));
    const lost = this.#dropUnchanged(ids, kept, before);
    for (const id of lost) this.#elsewhere.set(id, claimant);
    if (lost.length > 0) for (const listener of this.#lostListeners) listener(lost);
  }

  /**
   * Forgets the claims among `ids` that the database did not keep, unless
   * this replica claimed the cluster again while the query ran (its claim
   * time changed): the answer then predates the new claim. Returns those
   * forgotten.
   */
  #dropUnchanged(ids: string[], kept: Set<string>, before: Map<string, string | undefined>): string[] {
    return ids.filter((id) => !kept.has(id) && this.#held.has(id) && this.#held.get(id) === before.get(id) && this.#held.delete(id));
  }

  /** Keeps one LISTEN connection up; after a reconnect, claims are re-read because news may have been missed. */
  #listen(): void {
    if (this.#closed) return;
    const client = this.#options.newClient();
    this.#listener = client;
    let failed = false;
    const retry = (error: unknown): void => {
      if (failed) return;
      failed = true;
      this.#options.metrics.listenerConnected(false);
      if (this.#closed) return;
      this.#options.log.warn({ err: error }, 'lost the LISTEN connection to the database; reconnecting');
      client.end().catch(() => undefined);
      setTimeout(() => { this.#listen(); }, this.#listenBackoff.next()).unref();
    };
    client.on('error', retry);
    client.on('end', () => { retry(new Error('connection ended')); });
    client.on('notification', (message) => { if (message.channel === TIER_CHANNEL) this.#receive(message.payload); });
    client.connect()
      .then(() => client.query(`LISTEN ${TIER_CHANNEL}`))
      .then(() => {
        this.#listenBackoff.reset();
        this.#options.metrics.listenerConnected(true);
        this.#scheduleReload();
      }, retry);
  }
}
