// The Service gateway as the hub starts it: its sessions (pruned in the
// background), its kept-alive connections, its exposure reads (a second
// fresh) and its route, with the settings checks it needs at start.
import { ConfigError } from '../../util/settings.ts';
import { gatewayHostOf } from './address.ts';
import { GatewayRoute, type GatewayRouteOptions } from './gateway-route.ts';
import { GatewaySessions } from './sessions.ts';
import { LinkAgents } from './link-agents.ts';
import { cachedExposures } from './exposure-cache.ts';

export { GatewayRoute, type GatewayExposure } from './gateway-route.ts';
export { GATEWAY_PREFIX, gatewayAddressOf, isGatewayRequest } from './address.ts';

/** The route's options but the sessions, which the gateway makes, and the scheme browsers use (https). */
export type StartGatewayOptions = Omit<GatewayRouteOptions, 'sessions' | 'proto'>;

/** A started gateway; close() stops pruning its sessions and closes its kept-alive connections. */
export interface Gateway {
  route: GatewayRoute;
  close(): void;
}

/** Creates the sessions and the route, and starts pruning expired sessions. */
export function startGateway(options: StartGatewayOptions): Gateway {
  const sessions = new GatewaySessions({
    store: options.store, ...(options.access === undefined ? {} : { reads: options.access.reads }),
    onPruneFailed: (error) => { options.log.warn({ err: error }, 'could not delete expired gateway sessions; trying again later'); },
  });
  sessions.startPruning();
  // Browsers reach the hub over https, also through a TLS terminator in front of --insecure-http (the cookies are Secure).
  const linkAgents = new LinkAgents();
  const route = new GatewayRoute({ ...options, findExposure: cachedExposures(options.findExposure), sessions, linkAgents, proto: 'https' });
  return {
    route,
    close: () => {
      sessions.close();
      linkAgents.close();
    },
  };
}

/**
 * Refuses a gateway domain the hub's own host is inside (that host would
 * name an exposure, and the hub's routes could not be reached there) and one
 * equal to the kube domain (both would claim the same hosts).
 */
export function checkGatewayDomain(settings: { gatewayDomain?: string | undefined; kubeDomain?: string | undefined; publicUrl?: string | undefined }): void {
  const domain = settings.gatewayDomain;
  if (domain === undefined) return;
  if (domain === settings.kubeDomain) throw new ConfigError(`--gateway-domain and --kube-domain are both ${domain}: give each its own domain`);
  if (settings.publicUrl !== undefined && gatewayHostOf(new URL(settings.publicUrl).host, domain) !== undefined) {
    throw new ConfigError(`--public-url ${settings.publicUrl} is inside --gateway-domain ${domain}: give the gateway a domain the hub's host is not under`);
  }
}
