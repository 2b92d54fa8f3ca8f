// Browser sessions of the gateway. Signing in with an API token makes a
// session bound to that token: its id (32 random bytes) goes to the browser
// as the `uplink_gw` cookie, only its hash is stored, with the token's id,
// the user's and an expiry at most SESSION_TTL_MS away. A request with the
// cookie acts as the token would: the token must still exist for the user
// and the user's grants are read as they are now, so revoking the token or
// deleting the user ends the session (the row goes with the token, by
// foreign key), and a removed grant takes effect on the next request.
import { storeReads, type AccessReads } from '../access-cache.ts';
import type { Principal } from '../auth.ts';
import type { GatewaySessionRecord, Store } from '../store/index.ts';
import { hashSessionId, isSecret, newSecret, SESSION_TTL_MS } from './cookies.ts';

/** How often expired sessions are deleted. */
export const SESSION_PRUNE_INTERVAL_MS = 10 * 60_000;

/** The store methods sessions use. */
export type SessionStore = Pick<Store, 'createGatewaySession' | 'getGatewaySession' | 'deleteGatewaySession' | 'pruneGatewaySessions' | 'getApiToken' | 'getUser' | 'listGrants'>;

export interface GatewaySessionsOptions {
  store: SessionStore;
  /** Token and user reads, through the hub's access cache when given. */
  reads?: AccessReads;
  ttlMs?: number;
  now?: () => number;
  /** A prune that failed (kept for the next round). */
  onPruneFailed?: (error: unknown) => void;
}

export class GatewaySessions {
  readonly #options: GatewaySessionsOptions;
  readonly #reads: AccessReads;
  readonly #now: () => number;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: GatewaySessionsOptions) {
    this.#options = options;
    this.#reads = options.reads ?? storeReads(options.store);
    this.#now = options.now ?? Date.now;
  }

  /** Stores a new session of the principal's token; resolves with the id for the cookie once it is stored. */
  async create(principal: Pick<Principal, 'tokenId' | 'userId'>): Promise<string> {
    const id = newSecret();
    const now = this.#now();
    const record: GatewaySessionRecord = {
      idHash: hashSessionId(id), userId: principal.userId, tokenId: principal.tokenId,
      createdAt: new Date(now).toISOString(), expiresAt: new Date(now + (this.#options.ttlMs ?? SESSION_TTL_MS)).toISOString(),
    };
    await this.#options.store.createGatewaySession(record);
    return id;
  }

  /** The principal of a session cookie, or null when it is malformed, unknown, expired, or its token or user is gone. */
  async principalOf(id: string | undefined): Promise<Principal | null> {
    if (!isSecret(id)) return null;
    const session = await this.#options.store.getGatewaySession(hashSessionId(id));
    if (session === undefined || Date.parse(session.expiresAt) <= this.#now()) return null;
    const token = await this.#reads.token(session.tokenId);
    if (token?.userId !== session.userId) return null;
    const access = await this.#reads.user(session.userId);
    if (access === undefined) return null;
    return { tokenId: token.id, userId: access.user.id, userName: access.user.name, grants: access.grants };
  }

  /** Ends a session (sign-out); a malformed or unknown id ends nothing. */
  async end(id: string | undefined): Promise<void> {
    if (isSecret(id)) await this.#options.store.deleteGatewaySession(hashSessionId(id));
  }

  /** Deletes expired sessions now and every SESSION_PRUNE_INTERVAL_MS. */
  startPruning(): void {
    const prune = (): void => {
      this.#options.store.pruneGatewaySessions(new Date(this.#now()).toISOString()).catch((error: unknown) => { this.#options.onPruneFailed?.(error); });
    };
    prune();
    this.#timer = setInterval(prune, SESSION_PRUNE_INTERVAL_MS);
    this.#timer.unref();
  }

  close(): void {
    clearInterval(this.#timer);
  }
}
