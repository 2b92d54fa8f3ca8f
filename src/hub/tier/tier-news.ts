// News between replicas travels as PostgreSQL NOTIFY payloads on one
// channel. A payload is at most 8,000 bytes, so a batch of cluster ids is cut
// into several; a payload that does not parse is dropped, never thrown.
import type { TierNews, TierTopic } from './replica-tier.ts';

export const TIER_CHANNEL = 'uplink_tier';
/** PostgreSQL refuses payloads of 8,000 bytes or more; room is kept for the envelope. */
export const MAX_PAYLOAD_BYTES = 7_900;
/** Cluster and user ids are a letter and 12 characters; anything much longer is not ours. */
const MAX_ID_LENGTH = 64;
const MAX_REPLICA_ID_LENGTH = 63;
const TOPICS: ReadonlySet<string> = new Set<TierTopic>(['claimed', 'released', 'addons', 'access', 'exposures']);

/** The payloads that carry `ids` under `topic`, each below MAX_PAYLOAD_BYTES. */
export function encodeNews(from: string, topic: TierTopic, ids: readonly string[]): string[] {
  const payloads: string[] = [];
  const head = JSON.stringify({ from, topic, clusterIds: [] }).length;
  let batch: string[] = [];
  let size = head;
  for (const id of ids) {
    const cost = JSON.stringify(id).length + 1;
    if (batch.length > 0 && size + cost > MAX_PAYLOAD_BYTES) {
      payloads.push(JSON.stringify({ from, topic, clusterIds: batch }));
      batch = [];
      size = head;
    }
    batch.push(id);
    size += cost;
  }
  if (batch.length > 0) payloads.push(JSON.stringify({ from, topic, clusterIds: batch }));
  return payloads;
}

/** The news in a payload, or undefined when it is not one of ours. */
export function decodeNews(payload: string | undefined): TierNews | undefined {
  if (payload === undefined || payload.length > MAX_PAYLOAD_BYTES) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(payload);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { from, topic, clusterIds } = value as Record<string, unknown>;
  if (typeof from !== 'string' || from.length === 0 || from.length > MAX_REPLICA_ID_LENGTH) return undefined;
  if (typeof topic !== 'string' || !TOPICS.has(topic)) return undefined;
  if (!Array.isArray(clusterIds)) return undefined;
  const ids = clusterIds.filter((id): id is string => typeof id === 'string' && id.length > 0 && id.length <= MAX_ID_LENGTH);
  if (ids.length !== clusterIds.length) return undefined;
  return { from, topic: topic as TierTopic, clusterIds: ids };
}

/**
 * Collects ids per topic and hands them over at most once per `everyMs`, so
 * ten thousand links opening at once make a few NOTIFYs, not ten thousand.
 * Bounded: past `maxPending` ids a topic is flushed at once.
 */
export class NewsBatcher {
  readonly #pending = new Map<TierTopic, Set<string>>();
  readonly #flush: (topic: TierTopic, ids: string[]) => void;
  readonly #everyMs: number;
  readonly #maxPending: number;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: { everyMs: number; maxPending: number; flush: (topic: TierTopic, ids: string[]) => void }) {
    this.#flush = options.flush;
    this.#everyMs = options.everyMs;
    this.#maxPending = options.maxPending;
  }

  add(topic: TierTopic, id: string): void {
    let ids = this.#pending.get(topic);
    if (ids === undefined) {
      ids = new Set();
      this.#pending.set(topic, ids);
    }
    ids.add(id);
    if (ids.size >= this.#maxPending) {
      this.#pending.delete(topic);
      this.#flush(topic, [...ids]);
      return;
    }
    this.#timer ??= setTimeout(() => { this.flushAll(); }, this.#everyMs);
  }

  /** Hands over everything pending now. */
  flushAll(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const pending = [...this.#pending];
    this.#pending.clear();
    for (const [topic, ids] of pending) this.#flush(topic, [...ids]);
  }
}
