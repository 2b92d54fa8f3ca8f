// The network between a hub's replicas, for a hub on PostgreSQL: this
// replica's peer certificate (issued from the shared CA and renewed before it
// expires), the peer port other replicas relay to, the relay to them, and the
// router that decides which requests go where.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from '../../util/logger.ts';
import { parseListen } from '../../util/settings.ts';
import type { ForwardedBodies } from '../client-errors.ts';
import type { HubMetrics } from '../metrics.ts';
import { issuePeerCertificate, peerCertificateDue, type PeerCredentials } from './peer-certificates.ts';
import { PeerRelay } from './peer-relay.ts';
import { startPeerServer, type RunningPeerServer } from './peer-server.ts';
import type { ReplicaTier } from './replica-tier.ts';
import { ReplicaRouter } from './replica-router.ts';

/** How often the peer certificate is checked for renewal. */
const RENEW_CHECK_MS = 60 * 60 * 1000;

export interface ReplicaNetworkOptions {
  tier: ReplicaTier;
  /** The directory of the hub's generated (shared) CA: ca.crt and ca.key. */
  caDir: string;
  peerListen: string;
  peerUrl: string;
  kubeDomain: string | undefined;
  gatewayDomain: string | undefined;
  log: Logger;
  metrics: HubMetrics;
  /** Whether this replica holds an open link of the cluster (by id). */
  holdsLink: (clusterId: string) => boolean;
  /** How the public port serves a request or an upgrade; relayed ones are served the same way. */
  serveRequest: (req: IncomingMessage, res: ServerResponse) => void;
  serveUpgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
  /** Relayed kubectl bodies still arriving, left alone by --request-timeout (see PeerRelayOptions). */
  forwardedBodies?: ForwardedBodies;
}

export interface ReplicaNetwork {
  router: ReplicaRouter;
  peerPort: number;
  /** Closes the peer port, giving relayed requests in flight `graceMs`, and the relay's connections. */
  close(graceMs?: number): Promise<void>;
}

export async function startReplicaNetwork(options: ReplicaNetworkOptions): Promise<ReplicaNetwork> {
  const { tier, log } = options;
  const issue = (): Promise<PeerCredentials> => issuePeerCertificate({
    caPem: readFileSync(join(options.caDir, 'ca.crt'), 'utf8'),
    caKeyPem: readFileSync(join(options.caDir, 'ca.key'), 'utf8'),
    replicaId: tier.replicaId,
    peerUrl: options.peerUrl,
  });
  let credentials = await issue();
  const self = { replicaId: tier.replicaId, peerUrl: options.peerUrl };
  const relay: PeerRelay = new PeerRelay({
    credentials, log, kubeDomain: options.kubeDomain, gatewayDomain: options.gatewayDomain, metrics: options.metrics,
    ...(options.forwardedBodies === undefined ? {} : { forwardedBodies: options.forwardedBodies }),
    // Called only once a relayed watch breaks, long after the router below exists.
    locate: (cluster, locateOptions): ReturnType<ReplicaRouter['locate']> => router.locate(cluster, locateOptions),
  });
  const router: ReplicaRouter = new ReplicaRouter({ tier, relay, self, kubeDomain: options.kubeDomain, gatewayDomain: options.gatewayDomain, holdsLink: options.holdsLink, log });
  const { host, port } = parseListen(options.peerListen);
  let peerServer: RunningPeerServer;
  try {
    peerServer = await startPeerServer({
      host, port, credentials, log, onRequest: options.serveRequest, onUpgrade: options.serveUpgrade,
      onRefused: (reason) => { options.metrics.peerConnectionsRefused.inc({ reason }); },
    });
  } catch (error) {
    relay.close();
    throw error;
  }
  const renewal = setInterval(() => {
    if (!peerCertificateDue(credentials.certPem)) return;
    issue().then((renewed) => {
      credentials = renewed;
      relay.setCredentials(renewed);
      peerServer.setCredentials(renewed);
      log.info('renewed this replica\'s peer certificate');
    }, (error: unknown) => { log.error({ err: error }, 'could not renew this replica\'s peer certificate'); });
  }, RENEW_CHECK_MS);
  renewal.unref();
  log.info({ peerUrl: options.peerUrl, port: peerServer.port, replicaId: tier.replicaId }, 'peer port listening');
  return {
    router,
    peerPort: peerServer.port,
    close: async (graceMs = 0) => {
      clearInterval(renewal);
      await peerServer.close(graceMs);
      relay.close();
    },
  };
}
