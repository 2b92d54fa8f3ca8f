// GET /api/v1/fleet/watch: the live fleet as server-sent events, for the
// dashboard. `snapshot` first (every cluster the caller may see), then
// `changed` and `removed` as the fleet moves, with a keepalive comment every
// 15 s. Bounded: at most MAX_FLEET_WATCHERS at once (429 beyond), and a
// client that lets more than 4 MiB pile up is ended with an ERROR event.
import type { FastifyInstance } from 'fastify';
import { principalOf } from '../auth.ts';
import type { FleetFeed, FleetFeedEvent } from '../dashboard/fleet-feed.ts';
import { HttpError } from '../errors.ts';
import { requiresGrants, type LiveStreams } from '../live-streams.ts';
import type { HubMetrics } from '../metrics.ts';
import { encodeSseEvent, SSE_HEADERS, SSE_KEEPALIVE } from '../resources/sse.ts';

export const MAX_FLEET_WATCHERS = 256;
const MAX_BACKLOG_BYTES = 4 * 1024 * 1024;
const KEEPALIVE_MS = 15_000;

export interface FleetWatchOptions {
  feed: FleetFeed;
  metrics: HubMetrics;
  /** A watch registers here, so revoking its token, user or a grant ends it (it would go on showing clusters). */
  liveStreams: Pick<LiveStreams, 'register'>;
}

export function registerFleetWatchRoute(app: FastifyInstance, options: FleetWatchOptions): void {
  const { feed, metrics, liveStreams } = options;
  app.get('/api/v1/fleet/watch', async (req, reply) => {
    const principal = principalOf(req);
    if (feed.subscriberCount >= MAX_FLEET_WATCHERS) {
      void reply.header('retry-after', '5');
      throw new HttpError(429, 'TOO_MANY_WATCHERS', `this hub serves at most ${MAX_FLEET_WATCHERS} fleet watches at once; retry later`);
    }
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
