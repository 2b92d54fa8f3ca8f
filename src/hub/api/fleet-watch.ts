// GET /api/v1/fleet/watch: the live fleet as server-sent events, for the
// dashboard. `snapshot` first (every cluster the caller may see), then
// `changed` and `removed` as the fleet moves, with a keepalive comment every
// 15 s. Bounded: at most MAX_FLEET_WATCHERS at once and `maxPerUser` per
// user (429 beyond), none for a user without any grant (403: there is
// nothing to show it), and a client that lets more than 4 MiB pile up is
// ended with an ERROR event.
import type { FastifyInstance } from 'fastify';
import { principalOf } from '../auth.ts';
import type { FleetFeed, FleetFeedEvent } from '../dashboard/fleet-feed.ts';
import { HttpError } from '../errors.ts';
import { requiresGrants, type LiveStreams } from '../live-streams.ts';
import type { HubMetrics } from '../metrics.ts';
import { encodeSseEvent, SSE_HEADERS, SSE_KEEPALIVE } from '../resources/sse.ts';

export const MAX_FLEET_WATCHERS = 256;
/** Default feeds one user may hold, so that no one user can take every slot. */
export const DEFAULT_FLEET_WATCHERS_PER_USER = 8;
const MAX_BACKLOG_BYTES = 4 * 1024 * 1024;
const KEEPALIVE_MS = 15_000;

export interface FleetWatchOptions {
  feed: FleetFeed;
  metrics: HubMetrics;
  /** A watch registers here, so revoking its token, user or a grant ends it (it would go on showing clusters). */
  liveStreams: Pick<LiveStreams, 'register'>;
  /** Feeds one user may hold at once. */
  maxPerUser?: number;
}

export function registerFleetWatchRoute(app: FastifyInstance, options: FleetWatchOptions): void {
  const { feed, metrics, liveStreams } = options;
  const maxPerUser = options.maxPerUser ?? DEFAULT_FLEET_WATCHERS_PER_USER;
  /** Open feeds by user id. */
  const perUser = new Map<string, number>();
  /** Feeds taken here, counted before the feed's (async) subscribe so a burst cannot overshoot. */
  let open = 0;
  app.get('/api/v1/fleet/watch', async (req, reply) => {
    const principal = principalOf(req);
    if (principal.grants.length === 0) {
      metrics.fleetWatchRefused.inc({ reason: 'no_grant' });
      throw new HttpError('FORBIDDEN', 'the fleet feed needs a grant on at least one cluster');
    }
    const held = perUser.get(principal.userId) ?? 0;
    if (held >= maxPerUser) {
      metrics.fleetWatchRefused.inc({ reason: 'user_limit' });
      void reply.header('retry-after', '5');
      throw new HttpError('TOO_MANY_WATCHERS', `a user may hold at most ${maxPerUser} fleet watches at once; close one first`);
    }
    if (Math.max(open, feed.subscriberCount) >= MAX_FLEET_WATCHERS) {
      metrics.fleetWatchRefused.inc({ reason: 'hub_limit' });
      void reply.header('retry-after', '5');
      throw new HttpError('TOO_MANY_WATCHERS', `this hub serves at most ${MAX_FLEET_WATCHERS} fleet watches at once; retry later`);
    }
    perUser.set(principal.userId, held + 1);
    open += 1;
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, SSE_HEADERS);
    res.flushHeaders();
    metrics.fleetWatchers.inc();
    let unsubscribe: (() => void) | undefined;
    let ended = false;
    // Read through a function: the connection can close while subscribe() is awaited.
    const isEnded = (): boolean => ended;
    const end = (message?: string): void => {
      if (ended) return;
      ended = true;
      clearInterval(keepalive);
      forget();
      unsubscribe?.();
      const left = (perUser.get(principal.userId) ?? 1) - 1;
      if (left > 0) perUser.set(principal.userId, left);
      else perUser.delete(principal.userId);
      open -= 1;
      metrics.fleetWatchers.dec();
      if (!res.writableEnded && !res.destroyed) {
        if (message !== undefined) res.write(encodeSseEvent('ERROR', { type: 'ERROR', message }));
        res.end();
      }
    };
    const write = (text: string): void => {
      if (ended || res.writableEnded || res.destroyed) return;
      res.write(text);
      if (res.writableLength > MAX_BACKLOG_BYTES) end('client too slow: reconnect to resync');
    };
    const keepalive = setInterval(() => { write(SSE_KEEPALIVE); }, KEEPALIVE_MS);
    const forget = liveStreams.register({
      kind: 'fleet-feed', principal, stillAllowed: requiresGrants(principal.grants), end: (_reason, message) => { end(message); },
    });
    res.on('close', () => { end(); });
    try {
      const stop = await feed.subscribe({
        principal,
        send: (event: FleetFeedEvent) => { write(encodeSseEvent(event.type, event)); },
        close: () => { end('the hub is shutting down'); },
      });
      if (isEnded()) stop();
      else unsubscribe = stop;
    } catch (error) {
      end(`the hub could not read the fleet: ${(error as Error).message}`);
    }
    return undefined;
  });
}
