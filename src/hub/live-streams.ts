// Every long-lived answer the hub serves to a user (kubectl watches, logs,
// exec and port-forward; resource feeds and log streams; the fleet feed;
// TCP forwards, Service gateway requests),
// by who opened it. Authentication happens once, when a stream opens, so
// without this a revoked token, a deleted user or a removed grant would keep
// every stream it already had. Revocations through the API end the
// principal's streams at once; a periodic re-check of every open stream's
// token, user and grants catches changes made any other way (another hub on
// the same database, a direct store edit).
import type { Principal } from './auth.ts';
import { ROLES } from './rbac.ts';
import type { GrantRecord, Role, Store } from './store/index.ts';

/** How often open streams are re-authenticated against the store. */
export const STREAM_REAUTH_INTERVAL_MS = 5_000;

/** Which kind of stream, for the metric of streams ended by revocation. */
export type LiveStreamKind = 'kubectl' | 'resource-feed' | 'logs' | 'fleet-feed' | 'forward' | 'gateway';

/** Why a stream was ended. */
export type RevocationReason = 'token-revoked' | 'user-deleted' | 'access-changed';

const MESSAGES: Record<RevocationReason, string> = {
  'token-revoked': 'the API token of this stream was revoked',
  'user-deleted': 'the user of this stream was deleted',
  'access-changed': "the user's access to this cluster was reduced or removed",
};

/** The message a client is shown when its stream is ended for `reason`. */
export function revocationMessage(reason: RevocationReason): string {
  return MESSAGES[reason];
}

export interface LiveStream {
  kind: LiveStreamKind;
  principal: Pick<Principal, 'tokenId' | 'userId'>;
  /**
   * Whether the stream may go on under the principal's current grants. A
   * cluster stream holds while the user's role there is at least the one it
   * opened with (it runs impersonating that role); see requiresRole, requiresGrants.
   */
  stillAllowed: (grants: readonly GrantRecord[]) => boolean;
  /** Ends the stream with a message the client can show. Called at most once. */
  end: (reason: RevocationReason, message: string) => void;
}

export interface LiveStreamsOptions {
  store: Pick<Store, 'getApiToken' | 'getUser' | 'listGrants'>;
  /** Counts each stream ended by a revocation. */
  onRevoked?: (kind: LiveStreamKind, reason: RevocationReason) => void;
  /** A re-check that failed to read the store (streams are kept). */
  onCheckFailed?: (error: unknown) => void;
  intervalMs?: number;
}

function rank(role: Role | undefined): number {
  return role === undefined ? -1 : ROLES.indexOf(role);
}

function strongestOn(grants: readonly GrantRecord[], clusterId: string | null): Role | undefined {
  let best: Role | undefined;
  for (const grant of grants) {
    if (clusterId === null ? grant.clusterId !== null : grant.clusterId !== null && grant.clusterId !== clusterId) continue;
    if (rank(grant.role) > rank(best)) best = grant.role;
  }
  return best;
}

/** For a stream on one cluster opened with `role`: it holds while the user keeps at least that role there. */
export function requiresRole(clusterId: string, role: Role): LiveStream['stillAllowed'] {
  return (grants) => rank(strongestOn(grants, clusterId)) >= rank(role);
}

/** For a stream over many clusters (the fleet feed): it holds while no grant it was opened with has weakened. */
export function requiresGrants(opened: readonly GrantRecord[]): LiveStream['stillAllowed'] {
  return (grants) => opened.every((grant) => rank(strongestOn(grants, grant.clusterId)) >= rank(grant.role));
}

export class LiveStreams {
  private readonly options: LiveStreamsOptions;
  private readonly streams = new Set<LiveStream>();
  private timer: NodeJS.Timeout | undefined;
  private checking: Promise<void> | undefined;

  constructor(options: LiveStreamsOptions) {
    this.options = options;
  }

  get size(): number {
    return this.streams.size;
  }

  /** Registers an open stream; returns the function that forgets it (call it when the stream ends). */
  register(stream: LiveStream): () => void {
    this.streams.add(stream);
    // recheck() reports its own failures through onCheckFailed and never rejects.
    this.timer ??= setInterval(() => { this.recheck().catch(() => undefined); }, this.options.intervalMs ?? STREAM_REAUTH_INTERVAL_MS);
    return () => {
      this.streams.delete(stream);
      if (this.streams.size === 0) this.pause();
    };
  }

  /** Ends every stream opened with the token. */
  revokeToken(tokenId: string): number {
    return this.endWhere((s) => s.principal.tokenId === tokenId, 'token-revoked');
  }

  /** Ends every stream of the user. */
  revokeUser(userId: string): number {
    return this.endWhere((s) => s.principal.userId === userId, 'user-deleted');
  }

  /** Re-reads the user's grants and ends the streams they no longer allow (after a grant was removed). */
  async recheckUser(userId: string): Promise<number> {
    const grants = await this.options.store.listGrants(userId);
    return this.endWhere((s) => s.principal.userId === userId && !s.stillAllowed(grants), 'access-changed');
  }

  /**
   * One round of re-authentication: each open stream's token must still
   * exist for its user, the user must exist, and its grants must still allow
   * the stream. A store error keeps the streams (and is reported).
   */
  async recheck(): Promise<void> {
    this.checking ??= this.recheckAll().catch((error: unknown) => { this.options.onCheckFailed?.(error); }).finally(() => {
      this.checking = undefined;
    });
    await this.checking;
  }

  /** Stops the periodic re-check (hub shutdown); streams are ended by their own servers. */
  close(): void {
    this.pause();
  }

  /**
   * Re-authenticates the open streams of these users now, apart from the
   * periodic round (which may be midway and past them already): for news
   * that their access changed on another replica. Never rejects; a store
   * error is reported and the streams stay until the next round.
   */
  async recheckUsers(userIds: Iterable<string>): Promise<void> {
    const wanted = new Set(userIds);
    try {
      for (const [userId, tokenIds] of this.tokensByUser()) if (wanted.has(userId)) await this.recheckOne(userId, tokenIds);
    } catch (error) {
      this.options.onCheckFailed?.(error);
    }
  }

  private async recheckAll(): Promise<void> {
    for (const [userId, tokenIds] of this.tokensByUser()) await this.recheckOne(userId, tokenIds);
  }

  /** Each user with open streams, and the tokens they were opened with. */
  private tokensByUser(): Map<string, Set<string>> {
    const byUser = new Map<string, Set<string>>();
    for (const { principal } of this.streams) byUser.set(principal.userId, (byUser.get(principal.userId) ?? new Set()).add(principal.tokenId));
    return byUser;
  }

  private async recheckOne(userId: string, tokenIds: Set<string>): Promise<void> {
    const { store } = this.options;
    if (!(await store.getUser(userId))) {
      this.revokeUser(userId);
      return;
    }
    for (const tokenId of tokenIds) {
      const token = await store.getApiToken(tokenId);
      if (token?.userId !== userId) this.revokeToken(tokenId);
    }
    await this.recheckUser(userId);
  }

  private endWhere(match: (stream: LiveStream) => boolean, reason: RevocationReason): number {
    const ended = [...this.streams].filter(match);
    for (const stream of ended) {
      this.streams.delete(stream);
      this.options.onRevoked?.(stream.kind, reason);
      stream.end(reason, revocationMessage(reason));
    }
    if (this.streams.size === 0) this.pause();
    return ended.length;
  }

  private pause(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
