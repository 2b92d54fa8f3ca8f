// `uplink hub`: one process, one port. HTTPS by default with a certificate it
// generates and keeps; the API, the agent endpoint, health and metrics.
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import { join } from 'node:path';
import http from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { DEFAULT_KEEPALIVE, type KeepaliveOptions } from '../link/keepalive.ts';
import type { HubSession } from '../link/hub-session.ts';
import { AGENT_CONNECT_PATH, HUB_CA_PATH, LINK_CLOSE } from '../link/protocol.ts';
import { caHashOf } from '../link/tls.ts';
import { ensureHubCertificates } from './tls-certificates.ts';
import { checkConnectionLimits, guardConnections, serverCreationOptions } from './connection-guard.ts';
import { createClientErrorHandler, ForwardedBodies } from './client-errors.ts';
import { RequestHeads } from './request-heads.ts';
import type { Logger } from '../util/logger.ts';
import { UplinkError } from '../util/errors.ts';
import { parseListen } from '../util/settings.ts';
import { UPLINK_VERSION } from '../version.ts';
import { AddonPusher, AddonStatusRecorder } from './addons/index.ts';
import { AgentGateway } from './agent-gateway.ts';
import { registerAddonRoutes } from './api/addons.ts';
import { registerAgentUpgradeRoutes } from './api/agent-upgrade.ts';
import { registerAuditRoutes } from './api/audit.ts';
import { registerExposureRoutes } from './api/exposures.ts';
import { startExposurePush } from './exposures/push.ts';
import { openGatewayStream } from './gateway/link-stream.ts';
import { checkGatewayDomain, startGateway } from './gateway/index.ts';
import { registerClusterRoutes } from './api/clusters.ts';
import { registerFleetWatchRoute } from './api/fleet-watch.ts';
import { registerResourceRoutes } from './api/resources.ts';
import { registerUserRoutes } from './api/users.ts';
import { AccessCache } from './access-cache.ts';
import { requireApiToken } from './auth.ts';
import type { HubSettings } from './config.ts';
import { FleetFeed } from './dashboard/fleet-feed.ts';
import { Fleet } from './fleet.ts';
import { startMemoryRelease } from './memory-release.ts';
import { ClusterLocator } from './geo/locate.ts';
import { clearMalformedFacts } from './stored-facts.ts';
import { ClusterLimiter } from './kube/limiter.ts';
import { certificateCoversKubeDomain, checkKubeDomain } from './kube/cluster-host.ts';
import { KubeProxy } from './kube/proxy.ts';
import { isStrayKubeRequest, strayKubeUpgradeAnswer } from './kube/stray-request.ts';
import { buildApiApp } from './api/app.ts';
import { registerKubectlEndpointRoute } from './api/kubectl-endpoint.ts';
import { LiveStreams } from './live-streams.ts';
import { ForwardRoute, isForwardRequest } from './forward/index.ts';
import { HubMetrics } from './metrics.ts';
import { openStore, postgresOf, type AuditRecord, type Store } from './store/index.ts';
import { migrateWhenReachable } from './store/wait-for-store.ts';
import { observePostgresStore } from './store/store-metrics.ts';
import { bootstrapAdminUser, startAuditRetention } from './users.ts';
import { AuditSink } from './audit-sink.ts';
import { AUDIT_PRUNE_INTERVAL_MS } from './audit-retention.ts';
import { AUDIT_SWEEP_EVERY_MS, startAuditSweeps } from './audit-sweep.ts';
import { StreamAudit } from './stream-audit.ts';
import { drainHub } from './drain.ts';
import type { ReplicaTier } from './tier/replica-tier.ts';
import { adoptSharedCa } from './tier/shared-ca.ts';
import { loadSecretsKey } from './tier/secret-box.ts';
import { peerUrlOf, startTier } from './tier/start-tier.ts';
import { tierMetrics } from './tier/tier-metrics.ts';
import { stripRelayHeaders } from './tier/peer-server.ts';
import { startReplicaNetwork, type ReplicaNetwork } from './tier/replica-network.ts';
import { registerDashboard } from './web/dashboard.ts';

/** After a drain, requests relayed here from other replicas get this long to finish. */
const PEER_CLOSE_GRACE_MS = 1_000;
/** How long a stopping hub waits for the audit rows of streams that just ended to be completed. */
const STREAM_AUDIT_SETTLE_MS = 5_000;

/** What a draining replica answers an agent that tries to link: go to another one. */
const DRAINING_ANSWER = 'HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nConnection: close\r\nContent-Length: 0\r\n\r\n';

/** Where the first admin token is written, inside the data directory. */
export const ADMIN_TOKEN_FILE = 'admin-token';

export interface RunningHub {
  /** The URL agents and users reach the hub at. */
  publicUrl: string;
  /** The port actually bound (useful with port 0). */
  port: number;
  /** The CA pin agents use, when the hub serves TLS itself. */
  caHash: string | undefined;
  caPem: string | undefined;
  /** Set when this start created the first admin token. */
  adminTokenFile: string | undefined;
  /** The cluster's link, when this replica holds it: for a process that embeds the hub (tests of link-level primitives). */
  session(clusterId: string): HubSession | undefined;
  /** Stops taking work and hands agents to the other replicas (SIGTERM); close() after it. */
  drain(): Promise<void>;
  close(): Promise<void>;
}

export interface StartHubOptions {
  settings: HubSettings;
  log: Logger;
  /** Keepalive timing; tests shorten it. */
  keepalive?: KeepaliveOptions;
}

interface TlsMaterial {
  key: string;
  cert: string;
  caPem: string;
  caHash: string;
}

async function loadTls(settings: HubSettings, log: Logger, tier: ReplicaTier): Promise<TlsMaterial | undefined> {
  // Replicas authenticate each other with the generated CA even when TLS is someone else's.
  const generated = settings.insecureHttp && !tier.shared ? undefined : await generatedTls(settings, log, tier);
  if (settings.insecureHttp) return undefined;
  if (settings.tlsCertFile !== undefined || settings.tlsKeyFile !== undefined) {
    if (settings.tlsCertFile === undefined || settings.tlsKeyFile === undefined) {
      throw new Error('--tls-cert-file and --tls-key-file go together');
    }
    const cert = readFileSync(settings.tlsCertFile, 'utf8');
    const chain = cert.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
    const caPem = chain.at(-1);
    if (caPem === undefined) throw new Error(`${settings.tlsCertFile} holds no PEM certificate`);
    if (settings.kubeDomain !== undefined && certificateCoversKubeDomain(chain[0] ?? caPem, settings.kubeDomain) === false) {
      log.warn({ kubeDomain: settings.kubeDomain }, `the TLS certificate does not cover *.${settings.kubeDomain}: clients of host-routed kubeconfigs will refuse it`);
    }
    return { key: readFileSync(settings.tlsKeyFile, 'utf8'), cert, caPem, caHash: caHashOf(caPem) };
  }
  return generated;
}

/** The hub's generated CA and server certificate; replicas share the CA through the tier. */
async function generatedTls(settings: HubSettings, log: Logger, tier: ReplicaTier): Promise<TlsMaterial> {
  const names = [...settings.tlsSan];
  if (settings.publicUrl !== undefined) names.push(new URL(settings.publicUrl).hostname.replace(/^\[|\]$/g, ''));
  // Host-routed kubectl reaches <cluster>.<domain>; a certificate without the name is re-issued (see ensureHubCertificates).
  if (settings.kubeDomain !== undefined) names.push(`*.${settings.kubeDomain}`);
  if (settings.gatewayDomain !== undefined) names.push(`*.${settings.gatewayDomain}`);
  const dir = join(settings.dataDir, 'tls');
  const ensure = (): ReturnType<typeof ensureHubCertificates> => ensureHubCertificates({
    dir, dnsNames: names.filter((n) => isIP(n) === 0), ipAddresses: names.filter((n) => isIP(n) !== 0),
  });
  let certs = await ensure();
  const shared = tier.shared ? await adoptSharedCa(dir, tier, settings.secretsKeyFile === undefined ? undefined : await loadSecretsKey(settings.secretsKeyFile)) : undefined;
  if (shared?.sealedNow === true) log.info('sealed the hub CA stored in the database with --secrets-key-file');
  if (shared?.stored === 'plain') {
    log.warn('the hub CA\'s private key is stored in the database unsealed: anyone who can read the database can mint certificates agents trust; set --secrets-key-file on every replica');
  }
  if (shared?.replaced === true) {
    certs = await ensure();
    log.info({ caHash: certs.caHash }, 'adopted the CA the other hub replicas share');
  } else if (certs.created) {
    log.info({ dir }, 'generated TLS certificates');
  }
  return { key: certs.keyPem, cert: certs.certPem, caPem: certs.caPem, caHash: certs.caHash };
}

/** On the first start, creates the admin user and writes its API token to a 0600 file. */
async function bootstrapAdminToken(store: Store, dataDir: string): Promise<string | undefined> {
  const token = await bootstrapAdminUser(store);
  if (token === undefined) return undefined;
  const file = join(dataDir, ADMIN_TOKEN_FILE);
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return file;
}

function defaultPublicUrl(settings: HubSettings, port: number): string {
  const { host } = parseListen(settings.listen);
  const scheme = settings.insecureHttp ? 'http' : 'https';
  const name = host === '0.0.0.0' || host === '::' ? hostname() : host;
  return `${scheme}://${isIP(name) === 6 ? `[${name}]` : name}:${port}`;
}

interface SystemRoutesOptions {
  store: Store;
  metrics: HubMetrics;
  caPem: string | undefined;
  /** True once the replica drains: not ready, so load balancers send elsewhere. */
  draining: () => boolean;
}

function registerSystemRoutes(app: FastifyInstance, options: SystemRoutesOptions): void {
  const { store, metrics, caPem } = options;
  app.get('/livez', (_req, reply) => reply.send({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    if (options.draining()) return reply.status(503).send({ status: 'draining', code: 'HUB_DRAINING', message: 'this hub replica is stopping' });
    try {
      await store.ping();
      return { status: 'ok' };
    } catch (error) {
      const code = error instanceof UplinkError ? error.code : 'STORE_FAILED';
      return reply.status(503).send({ status: 'store unavailable', code, message: error instanceof Error ? error.message : String(error) });
    }
  });
  app.get('/metrics', async (_req, reply) => reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()));
  app.get('/version', (_req, reply) => reply.send({ uplink: UPLINK_VERSION, node: process.versions.node }));
  app.get(HUB_CA_PATH, (_req, reply) => {
    if (caPem === undefined) return reply.status(404).send({ error: { code: 'NO_CA', message: 'this hub serves plain HTTP; its TLS is terminated elsewhere' } });
    return reply.type('application/x-pem-file').send(caPem);
  });
}

/** Starts the hub and resolves once it is listening. */
export async function startHub(options: StartHubOptions): Promise<RunningHub> {
  const { settings, log } = options;
  checkConnectionLimits(settings);
  checkKubeDomain(settings);
  checkGatewayDomain(settings);
  mkdirSync(settings.dataDir, { recursive: true, mode: 0o700 });
  const store = openStore(settings, log);
  await migrateWhenReachable(store, { log });
  await clearMalformedFacts(store, log);
  const metrics = new HubMetrics();
  const replicaMetrics = tierMetrics(metrics.registry);
  const postgres = postgresOf(store);
  if (postgres) observePostgresStore(metrics.registry, () => postgres.stats());
  const tier = startTier({ settings, connection: postgres?.clientConfig, peerUrl: peerUrlOf(settings), log, metrics: replicaMetrics });
  const tls = await loadTls(settings, log, tier);
  const adminTokenFile = await bootstrapAdminToken(store, settings.dataDir);
  const fleet = new Fleet({ store, log, metrics, tier, offlineAfterMs: settings.offlineAfter * 1000 });
  let draining = false;
  const addonPusher = new AddonPusher({
    listAddons: (clusterId) => store.listAddons(clusterId),
    sessionOf: (clusterId) => fleet.session(clusterId),
    log,
    onOutcome: (outcome) => { metrics.addonPushes.inc({ outcome }); },
  });
  fleet.onLinked((clusterId) => { addonPusher.notify(clusterId); });
  const exposurePusher = startExposurePush({
    readSet: (clusterId) => store.getExposureSet(clusterId), fleet, log, onOutcome: (outcome) => { metrics.exposurePushes.inc({ outcome }); },
  });
  const addonStatuses = new AddonStatusRecorder({
    putAddonStatus: (record) => store.putAddonStatus(record),
    onOutcome: (outcome) => { metrics.addonStatusEvents.inc({ outcome }); },
  });
  const gateway = new AgentGateway({
    store, fleet, log, metrics, addonStatuses,
    keepalive: options.keepalive ?? DEFAULT_KEEPALIVE,
    maxPendingHandshakes: settings.maxPendingHandshakes,
  });

  // One limiter for the kubectl endpoint and the resource routes, one audit sink for those, add-on operations and agent upgrades.
  const limiter = new ClusterLimiter({ unary: settings.kubeMaxRequests, streaming: settings.kubeMaxStreams, userSharePercent: settings.kubeUserShare });
  const replica = tier.shared ? tier.replicaId : null;
  const auditSink = new AuditSink({
    write: (record) => {
      store.insertAudit({ ...record, replica }).catch((error: unknown) => {
        metrics.auditWriteFailures.inc();
        log.error({ err: error }, 'could not write an audit record');
      });
    },
    onSuppressed: () => { metrics.auditRowsSuppressed.inc(); },
  });
  const audit = (record: AuditRecord): void => { auditSink.record(record); };
  // Streams are audited from their start; rows a stopped or dead hub left open are marked interrupted (audit-sweep.ts).
  const streamAudit = new StreamAudit({
    store, replica,
    onEndLost: (error) => {
      metrics.auditWriteFailures.inc();
      log.error({ err: error }, 'could not complete the audit row of a stream; it stays in progress until this hub starts again');
    },
  });
  const stopAuditSweeps = await startAuditSweeps({
    store, log, onInterrupted: (count) => { metrics.auditRowsInterrupted.inc(count); },
    ...(tier.shared ? { shared: { replicaId: tier.replicaId, takeTurn: () => tier.takeTurn('audit-sweep', AUDIT_SWEEP_EVERY_MS * 0.9) } } : {}),
  });
  // Users' open streams, ended when their token, user or grant is revoked.
  const liveStreams = new LiveStreams({
    store,
    onRevoked: (kind, reason) => { metrics.streamsRevoked.inc({ kind, reason }); },
    onCheckFailed: (error) => { log.warn({ err: error }, 'could not re-check the access of open streams; they stay open until the next check'); },
  });
  const forwardedBodies = new ForwardedBodies();
  const requestHeads = new RequestHeads({ metrics, audit });
  // What the kubectl endpoint reads per request, remembered a moment; changes through any replica's API forget it (access-cache.ts).
  const access = new AccessCache({ store });
  const accessChanged = (userId: string): void => {
    access.forgetUser(userId);
    tier.publish('access', userId);
  };
  const kubeProxy = new KubeProxy({ store, fleet, metrics, log, limiter, audit, streamAudit, liveStreams, forwardedBodies, access, kubeDomain: settings.kubeDomain });
  const forwardRoute = new ForwardRoute({ store, fleet, limiter, log, audit, streamAudit, liveStreams, access });
  // Exposed Services at /gw/<cluster>/<name>/ (and <name>--<cluster>.<gateway domain>); streams share the cluster's streaming limit.
  const serviceGateway = startGateway({
    store, fleet, limiter, metrics, log, audit, streamAudit, liveStreams, access, forwardedBodies, domain: settings.gatewayDomain,
    findExposure: (clusterId, name) => store.getExposure(clusterId, name), openStream: openGatewayStream,
  });
  const stopRetention = startAuditRetention({
    store, retentionDays: settings.auditRetentionDays, log,
    // Replicas take turns: the log is pruned once an interval, by whichever replica comes first.
    ...(tier.shared ? { takeTurn: () => tier.takeTurn('audit-retention', AUDIT_PRUNE_INTERVAL_MS * 0.9) } : {}),
  });
  const stopMemoryRelease = startMemoryRelease({ connectedCount: () => fleet.connectedCount, log });
  let publicUrl = settings.publicUrl ?? '';
  // Requests that need a cluster's link go through the router when the hub has sibling replicas (see network below).
  let fastifyHandler: http.RequestListener | undefined;
  let network: ReplicaNetwork | undefined;
  const serveHere: http.RequestListener = (req, res) => {
    if (kubeProxy.serves(req)) kubeProxy.handleRequest(req, res);
    else if (serviceGateway.route.serves(req)) serviceGateway.route.handleRequest(req, res);
    else fastifyHandler?.(req, res);
  };
  const serveRequest: http.RequestListener = (req, res) => {
    if (network?.router.routes(req) === true) network.router.request(req, res, () => { serveHere(req, res); });
    else serveHere(req, res);
  };
  const serveUpgrade = (req: http.IncomingMessage, socket: Duplex, head: Buffer): void => {
    if (network?.router.routes(req) === true) network.router.upgrade(req, socket, head, () => { serveUpgradeHere(req, socket, head); });
    else serveUpgradeHere(req, socket, head);
  };
  const strayHint = (): { publicUrl: string; kubeDomain: string | undefined } => ({ publicUrl, kubeDomain: settings.kubeDomain });
  const app = buildApiApp({
    log, strayHint, onRefusedBody: (outcome) => { metrics.refusedBodies.inc({ outcome }); },
    // The kubectl endpoint bypasses fastify: its requests stream for as long as
    // a watch lives and their bodies belong to the API server, not to us.
    serverFactory: (handler) => {
      fastifyHandler = handler;
      // Only the peer port may say a request was relayed, and from whom.
      const route: http.RequestListener = (req, res) => { stripRelayHeaders(req); serveRequest(req, res); };
      const { handshakeTimeout, connectionsCheckingInterval, maxHeaderSize } = serverCreationOptions(settings);
      return tls
        ? https.createServer({ key: tls.key, cert: tls.cert, handshakeTimeout, connectionsCheckingInterval, maxHeaderSize }, route)
        : http.createServer({ connectionsCheckingInterval, maxHeaderSize }, route);
    },
    clientErrorHandler: createClientErrorHandler({ metrics, audit, forwardedBodies, heads: requestHeads }),
  });
  guardConnections({ server: app.server, limits: settings, metrics, heads: requestHeads, warn: (message, fields) => { log.warn(fields, message); } });
  app.server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    stripRelayHeaders(req);
    serveUpgrade(req, socket, head);
  });
  function serveUpgradeHere(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = req.url ?? '';
    // Before the agent endpoint: a cluster's host serves only that cluster's API.
    if (kubeProxy.serves(req)) kubeProxy.handleUpgrade(req, socket, head);
    else if (serviceGateway.route.serves(req)) serviceGateway.route.handleUpgrade(req, socket, head);
    else if (url.split('?')[0] === AGENT_CONNECT_PATH && draining) socket.end(DRAINING_ANSWER);
    else if (url.split('?')[0] === AGENT_CONNECT_PATH) gateway.handleUpgrade(req, socket, head);
    else if (isForwardRequest(url)) forwardRoute.handleUpgrade(req, socket, head);
    else if (isStrayKubeRequest(url)) socket.end(strayKubeUpgradeAnswer(strayHint(), req.method ?? 'GET', url));
    else socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
  }
  registerSystemRoutes(app, { store, metrics, caPem: tls?.caPem, draining: () => draining });
  registerDashboard(app);
  const fleetFeed = new FleetFeed({ store, fleet, log, locator: new ClusterLocator(), offlineAfterSeconds: settings.offlineAfter });
  // News from the other replicas: add-ons changed there are pushed by whoever holds the link; links moved show at once.
  tier.subscribe((news) => {
    if (news.topic === 'addons') for (const id of news.clusterIds) addonPusher.notify(id);
    else if (news.topic === 'exposures') for (const id of news.clusterIds) exposurePusher.notify(id);
    else if (news.topic === 'access') {
      for (const id of news.clusterIds) access.forgetUser(id);
      // Only these users, and now: the periodic round may be midway and past them already.
      void liveStreams.recheckUsers(news.clusterIds);
    } else fleetFeed.refreshSoon();
  });
  await app.register((api, _options, done) => {
    requireApiToken(api, store);
    registerClusterRoutes(api, {
      store, fleet, log,
      install: () => ({ chart: settings.agentChart, hubUrl: publicUrl, caHash: tls?.caHash }),
    });
    registerUserRoutes(api, { store, log, liveStreams, onAccessChange: accessChanged });
    registerAuditRoutes(api, { store });
    registerKubectlEndpointRoute(api, { kubeDomain: settings.kubeDomain, publicUrl: () => publicUrl });
    registerAddonRoutes(api, {
      store, log, audit,
      onChange: (clusterId) => { addonPusher.notify(clusterId); tier.publish('addons', clusterId); },
      sessionOf: (clusterId) => fleet.session(clusterId),
      onOperation: (action, outcome) => { metrics.addonOperations.inc({ action, outcome }); },
    });
    registerExposureRoutes(api, {
      store, log, audit,
      onChange: (clusterId) => { exposurePusher.notify(clusterId); tier.publish('exposures', clusterId); },
    });
    registerResourceRoutes(api, { store, fleet, log, metrics, limiter, audit, streamAudit, liveStreams });
    registerAgentUpgradeRoutes(api, { store, log, audit, sessionOf: (clusterId) => fleet.session(clusterId) });
    registerFleetWatchRoute(api, { feed: fleetFeed, metrics, liveStreams, maxPerUser: settings.fleetWatchMaxPerUser });
    done();
  });

  if (tier.shared) {
    network = await startReplicaNetwork({
      tier, caDir: join(settings.dataDir, 'tls'), peerListen: settings.peerListen, peerUrl: peerUrlOf(settings),
      kubeDomain: settings.kubeDomain, gatewayDomain: settings.gatewayDomain, log, metrics, holdsLink: (clusterId) => fleet.session(clusterId) !== undefined,
      serveRequest, serveUpgrade, forwardedBodies,
    });
  }
  const { host, port } = parseListen(settings.listen);
  await app.listen({ host, port });
  const address = app.server.address();
  const boundPort = typeof address === 'object' && address ? address.port : port;
  publicUrl ||= defaultPublicUrl(settings, boundPort);
  log.info({ publicUrl, caHash: tls?.caHash, tls: tls !== undefined }, 'hub listening');

  return {
    publicUrl,
    port: boundPort,
    caHash: tls?.caHash,
    caPem: tls?.caPem,
    adminTokenFile,
    session: (clusterId) => fleet.session(clusterId),
    async drain(): Promise<void> {
      // A hub alone has nobody to hand its agents to: it just closes.
      if (!tier.shared) return;
      await drainHub({
        servers: [app.server], fleet, log, graceMs: settings.drainTimeout * 1000,
        onDraining: () => { draining = true; replicaMetrics.draining.set(1); },
      });
      // Its links are handed over: nothing is relayed here any more but what is still in flight.
      await network?.close(PEER_CLOSE_GRACE_MS);
    },
    async close(): Promise<void> {
      stopRetention();
      stopAuditSweeps();
      stopMemoryRelease();
      liveStreams.close();
      auditSink.close();
      fleetFeed.close();
      addonPusher.close();
      exposurePusher.close();
      serviceGateway.close();
      fleet.closeAll(LINK_CLOSE.hubShutdown, 'hub shutting down');
      gateway.close();
      await network?.close();
      await app.close();
      await tier.close();
      // Rows of streams that ended on the way down are completed before the store closes.
      await streamAudit.settle(STREAM_AUDIT_SETTLE_MS);
      streamAudit.close();
      await store.close();
    },
  };
}

/** Reads the first admin token, for tests and the demo. */
export function readAdminToken(dataDir: string): string | undefined {
  const file = join(dataDir, ADMIN_TOKEN_FILE);
  return existsSync(file) ? readFileSync(file, 'utf8').trim() : undefined;
}
