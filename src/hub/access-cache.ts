// What the kubectl endpoint reads from the store for every request (the
// token, its user and grants, the cluster), remembered for a moment: on
// PostgreSQL each read is a round trip, and a kubectl request made five of
// them in turn before it was forwarded. Nothing a revocation depends on waits
// for the age to run out where the hub knows of the change:
// - a change through this hub's API (token revoked, user deleted, grant
//   added or removed) forgets the user's entries before it is answered;
// - one through another replica arrives as tier news (`access`, sent within
//   100 ms) and forgets them there (server.ts);
// - what neither sees (an edit straight in the database, news lost while the
//   LISTEN connection was down) is read again within ACCESS_FRESH_MS.
// A cluster is trusted from here only while its link is open on this replica
// (the kube proxy reads it again otherwise), so a cluster deleted through
// this replica, whose link it closed, is not found a moment later; one
// deleted through another replica while this one holds its link is found
// for at most ACCESS_FRESH_MS more.
import type { ApiTokenRecord, ClusterRecord, GrantRecord, Store, UserRecord } from './store/index.ts';

/** How long a read is used without asking the store again. */
export const ACCESS_FRESH_MS = 1_000;
/** Entries kept per kind; the oldest go first. */
const MAX_ENTRIES = 10_000;

/** A user and the grants they had when read. */
export interface UserAccess {
  user: UserRecord;
  grants: GrantRecord[];
}

/** The reads authenticateToken makes (auth.ts), cached or not. */
export interface AccessReads {
  token(tokenId: string): Promise<ApiTokenRecord | undefined>;
  user(userId: string): Promise<UserAccess | undefined>;
}

export interface AccessCacheOptions {
  store: Pick<Store, 'getApiToken' | 'getUser' | 'listGrants' | 'getCluster' | 'getClusterByName'>;
  freshMs?: number;
  maxEntries?: number;
  now?: () => number;
}

/** The reads straight from the store, every time. */
export function storeReads(store: Pick<Store, 'getApiToken' | 'getUser' | 'listGrants'>): AccessReads {
  return {
    token: (tokenId) => store.getApiToken(tokenId),
    // Side by side: on PostgreSQL two round trips at once take about as long as one.
    user: async (userId) => {
      const [user, grants] = await Promise.all([store.getUser(userId), store.listGrants(userId)]);
      return user === undefined ? undefined : { user, grants };
    },
  };
}

/** A cluster by id, else by name, straight from the store. */
export async function readCluster(store: Pick<Store, 'getCluster' | 'getClusterByName'>, ref: string): Promise<ClusterRecord | undefined> {
  return (await store.getCluster(ref)) ?? (await store.getClusterByName(ref));
}

interface Entry<T> {
  at: number;
  value: Promise<T>;
  /** Set once the read is done. */
  read?: { value: T };
}

/**
 * Reads by key, each shared by the callers that ask while it is fresh (one
 * round trip for a burst of requests). A read that fails is forgotten at
 * once, so the next caller asks again.
 */
class FreshMap<T> {
  readonly #entries = new Map<string, Entry<T>>();
  readonly #options: Required<Pick<AccessCacheOptions, 'freshMs' | 'maxEntries' | 'now'>>;

  constructor(options: Required<Pick<AccessCacheOptions, 'freshMs' | 'maxEntries' | 'now'>>) {
    this.#options = options;
  }

  get(key: string, read: () => Promise<T>): Promise<T> {
    const now = this.#options.now();
    const entry = this.#entries.get(key);
    if (entry !== undefined && now - entry.at < this.#options.freshMs) return entry.value;
    this.#entries.delete(key);
    const value = read();
    const created: Entry<T> = { at: now, value };
    this.#entries.set(key, created);
    value.then((read) => { created.read = { value: read }; }, () => { if (this.#entries.get(key) === created) this.#entries.delete(key); });
    // Map order is insertion order: the first entries are the oldest.
    for (const oldest of this.#entries.keys()) {
      if (this.#entries.size <= this.#options.maxEntries) break;
      this.#entries.delete(oldest);
    }
    return value;
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }

  /** Forgets the entries whose value `match`es, and every read still under way (its value is not known yet). */
  deleteWhere(match: (value: T) => boolean): void {
    for (const [key, entry] of this.#entries) {
      if (entry.read === undefined || match(entry.read.value)) this.#entries.delete(key);
    }
  }

  get size(): number {
    return this.#entries.size;
  }
}

export class AccessCache {
  readonly #store: AccessCacheOptions['store'];
  readonly #direct: AccessReads;
  readonly #tokens: FreshMap<ApiTokenRecord | undefined>;
  readonly #users: FreshMap<UserAccess | undefined>;
  readonly #clusters: FreshMap<ClusterRecord | undefined>;

  constructor(options: AccessCacheOptions) {
    this.#store = options.store;
    this.#direct = storeReads(options.store);
    const settings = { freshMs: options.freshMs ?? ACCESS_FRESH_MS, maxEntries: options.maxEntries ?? MAX_ENTRIES, now: options.now ?? Date.now };
    this.#tokens = new FreshMap(settings);
    this.#users = new FreshMap(settings);
    this.#clusters = new FreshMap(settings);
  }

  /** The reads for authenticateToken, through the cache. */
  readonly reads: AccessReads = {
    token: (tokenId) => this.#tokens.get(tokenId, () => this.#direct.token(tokenId)),
    user: (userId) => this.#users.get(userId, () => this.#direct.user(userId)),
  };

  /** A cluster by id or name; a cluster found is remembered, none found is asked again next time. */
  async cluster(ref: string): Promise<ClusterRecord | undefined> {
    const found = await this.#clusters.get(ref, () => readCluster(this.#store, ref));
    if (found === undefined) this.#clusters.delete(ref);
    return found;
  }

  /** The user's token, account or grants changed: the next request reads their entries from the store again. */
  forgetUser(userId: string): void {
    this.#users.delete(userId);
    this.#tokens.deleteWhere((record) => record?.userId === userId);
  }

  /** Entries held now, by kind (tests). */
  get sizes(): { tokens: number; users: number; clusters: number } {
    return { tokens: this.#tokens.size, users: this.#users.size, clusters: this.#clusters.size };
  }
}
