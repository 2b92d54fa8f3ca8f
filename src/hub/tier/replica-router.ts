// Where a request that needs a cluster's agent link is served: here when this
// replica holds the link, relayed to the replica that does otherwise. A
// cluster whose link is moving (its replica drained or died moments ago) is
// waited for, so a rolling upgrade or a lost replica does not turn into
// failed requests. Requests that need no link never come here. Where a link
// was found is remembered for a moment (location-cache.ts), so a steady
// stream of requests does not wait on the database for each.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../../util/logger.ts';
import type { PeerRelay } from './peer-relay.ts';
import type { PeerTarget } from './peer-connections.ts';
import { isRelayed } from './peer-server.ts';
import type { LinkLocation, ReplicaTier } from './replica-tier.ts';
import type { LocateCluster } from './relay-resume.ts';
import { LocationCache } from './location-cache.ts';
import { clusterMoved, refuseRequest, refuseUpgrade } from './relay-answers.ts';
import { relayRouteFor, type RouteDomains } from './relay-route.ts';

/** How long a request for a cluster whose link is moving waits for it to be linked again. */
export const MOVING_WAIT_MS = 15_000;
/** How often the database is asked where a moving link went. */
const LOCATE_POLL_MS = 200;
/** Requests waiting for moving links at once; past it they are served (refused) at once. */
const MAX_WAITING = 10_000;

export interface ReplicaRouterOptions {
  tier: ReplicaTier;
  relay: PeerRelay;
  /** This replica's own peer address: a resumed watch whose cluster linked back here is sent to it. */
  self: PeerTarget;
  kubeDomain: string | undefined;
  /** The hub's --gateway-domain: host-form gateway requests are relayed too. */
  gatewayDomain?: string | undefined;
  /** Whether this replica holds an open link of the cluster (by id). */
  holdsLink: (clusterId: string) => boolean;
  log: Logger;
  movingWaitMs?: number;
  /** Where links were last found; one of its own unless given (tests). */
  locations?: LocationCache;
}

type Target = { kind: 'local' } | { kind: 'relay'; target: PeerTarget };

export class ReplicaRouter {
  readonly #options: ReplicaRouterOptions;
  readonly #locations: LocationCache;
  /** The host-routing domains relayRouteFor reads requests with. */
  readonly #domains: RouteDomains;
  #waiting = 0;

  constructor(options: ReplicaRouterOptions) {
    this.#options = options;
    this.#domains = { kube: options.kubeDomain, gateway: options.gatewayDomain };
    this.#locations = options.locations ?? new LocationCache();
  }

  /** For the relay's watch resume: the replica holding the cluster's link, once it is not `failed`. */
  readonly locate: LocateCluster = async (cluster, { signal, failed }) => {
    while (!signal.aborted) {
      const found = await this.#options.tier.locateLink(cluster).catch(() => undefined);
      const holder = found?.holder;
      if (holder !== undefined && holder.replicaId !== failed.replicaId) {
        this.#locations.remember(cluster, found);
        return holder.replicaId === this.#options.tier.replicaId ? this.#options.self : holder;
      }
      await sleep(LOCATE_POLL_MS, undefined, { signal }).catch(() => undefined);
    }
    return undefined;
  };

  /** Whether the request needs a cluster's link and this replica must decide where it goes. */
  routes(req: IncomingMessage): boolean {
    return this.#options.tier.shared && relayRouteFor(req, this.#domains) !== undefined;
  }

  request(req: IncomingMessage, res: ServerResponse, local: () => void): void {
    if (isRelayed(req)) {
      this.#relayedHere(req).then((moved) => {
        if (moved === undefined) local();
        else refuseRequest(res, clusterMoved(moved), relayRouteFor(req, this.#domains)?.form ?? 'api');
      }, () => { local(); });
      return;
    }
    this.#decide(req).then((where) => {
      if (where.kind === 'relay') this.#options.relay.relayRequest(req, res, where.target);
      else local();
    }, (error: unknown) => {
      this.#options.log.warn({ err: error }, 'could not find which replica holds the link; serving the request here');
      local();
    });
  }

  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, local: () => void): void {
    if (isRelayed(req)) {
      this.#relayedHere(req).then((moved) => {
        if (moved === undefined) local();
        else refuseUpgrade(socket, clusterMoved(moved));
      }, () => { local(); });
      return;
    }
    this.#decide(req).then((where) => {
      if (where.kind === 'relay') this.#options.relay.relayUpgrade(req, socket, head, where.target);
      else local();
    }, (error: unknown) => {
      this.#options.log.warn({ err: error }, 'could not find which replica holds the link; serving the upgrade here');
      local();
    });
  }

  async #decide(req: IncomingMessage): Promise<Target> {
    const route = relayRouteFor(req, this.#domains);
    if (route === undefined) return { kind: 'local' };
    const known = this.#known(route.cluster);
    if (known !== undefined) return known;
    let found = await this.#locate(route.cluster);
    // No such cluster, or its link is here: the local routes answer.
    if (found === undefined || this.#options.holdsLink(found.clusterId)) return { kind: 'local' };
    if (found.holder === undefined && this.#moving(found)) found = await this.#waitForHolder(route.cluster, found);
    const holder = found?.holder;
    if (holder === undefined || holder.replicaId === this.#options.tier.replicaId) return { kind: 'local' };
    return { kind: 'relay', target: holder };
  }

  /**
   * A request another replica relayed here: served here while this replica
   * holds the link; else the cluster's name, to refuse it as moved (never
   * relayed again, so stale records cannot bounce it between replicas).
   */
  async #relayedHere(req: IncomingMessage): Promise<string | undefined> {
    const route = relayRouteFor(req, this.#domains);
    if (route === undefined) return undefined;
    const cached = this.#locations.fresh(route.cluster);
    if (cached !== undefined && this.#options.holdsLink(cached.clusterId)) return undefined;
    const found = await this.#locate(route.cluster);
    if (found === undefined || this.#options.holdsLink(found.clusterId)) return undefined;
    return route.cluster;
  }

  /**
   * Where a request goes by a fresh location and what this replica knows
   * live, when that settles it; undefined when the database must be asked.
   * A link held here is served here. One held elsewhere is relayed there
   * while the tier's news still has it at that replica: a claim by another
   * replica, or a release, changes that at once.
   */
  #known(ref: string): Target | undefined {
    const cached = this.#locations.fresh(ref);
    if (cached === undefined) return undefined;
    if (this.#options.holdsLink(cached.clusterId)) return { kind: 'local' };
    const { holder } = cached;
    const { tier } = this.#options;
    if (holder === undefined || holder.replicaId === tier.replicaId || tier.holderElsewhere(cached.clusterId) !== holder.replicaId) return undefined;
    return { kind: 'relay', target: holder };
  }

  /** Reads where the cluster's link is from the database, and remembers it. */
  async #locate(ref: string): Promise<LinkLocation | undefined> {
    const found = await this.#options.tier.locateLink(ref);
    this.#locations.remember(ref, found);
    return found;
  }

  #moving(found: LinkLocation): boolean {
    return found.stale || this.#options.tier.recentlyReleased(found.clusterId);
  }

  /** Polls until the cluster is linked somewhere again, or the wait is over (then the local routes answer: offline). */
  async #waitForHolder(cluster: string, found: LinkLocation): Promise<LinkLocation | undefined> {
    if (this.#waiting >= MAX_WAITING) return found;
    this.#waiting++;
    try {
      const deadline = Date.now() + (this.#options.movingWaitMs ?? MOVING_WAIT_MS);
      let current: LinkLocation | undefined = found;
      while (current !== undefined && current.holder === undefined && !this.#options.holdsLink(current.clusterId) && Date.now() < deadline) {
        await sleep(LOCATE_POLL_MS);
        current = await this.#locate(cluster);
      }
      return current;
    } finally {
      this.#waiting--;
    }
  }
}
