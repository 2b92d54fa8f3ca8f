// The tier a hub starts with: a tier of one on SQLite; on PostgreSQL, the
// tier shared with every replica on that database, over a small pool of its
// own (claims, news and turns must not queue behind API queries) and one
// LISTEN connection.
import { hostname } from 'node:os';
import pg from 'pg';
import type { Logger } from '../../util/logger.ts';
import { parseListen } from '../../util/settings.ts';
import type { HubSettings } from '../config.ts';
import { PgReplicaTier, type TierMetrics } from './pg-replica-tier.ts';
import { soloTier, type ReplicaTier } from './replica-tier.ts';

const TIER_POOL_SIZE = 4;
/** A tier query that takes longer is cancelled: claims and turns must fail fast when the database is sick. */
const STATEMENT_TIMEOUT_MS = 5_000;

/** This replica's name: --replica-id, else the host name made into a DNS label. */
export function replicaIdOf(settings: Pick<HubSettings, 'replicaId'>): string {
  if (settings.replicaId !== undefined) return settings.replicaId;
  const host = hostname().toLowerCase().replace(/[^a-z0-9.-]/g, '-').replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '').slice(0, 63);
  return host === '' ? 'hub' : host;
}

/** Where the other replicas reach this one's peer listener: --peer-url, else https://<host name>:<peer port>. */
export function peerUrlOf(settings: Pick<HubSettings, 'peerUrl' | 'peerListen'>, boundPort?: number): string {
  if (settings.peerUrl !== undefined) return settings.peerUrl.replace(/\/$/, '');
  return `https://${hostname()}:${boundPort ?? parseListen(settings.peerListen).port}`;
}

export interface StartTierOptions {
  settings: HubSettings;
  /** The pg connection settings the store uses (URL and password), when the hub is on PostgreSQL. */
  connection: pg.ClientConfig | undefined;
  peerUrl: string;
  log: Logger;
  metrics: TierMetrics;
}

export function startTier(options: StartTierOptions): ReplicaTier {
  const replicaId = replicaIdOf(options.settings);
  if (options.connection === undefined) return soloTier(replicaId);
  const config: pg.ClientConfig = {
    ...options.connection,
    statement_timeout: STATEMENT_TIMEOUT_MS,
    query_timeout: STATEMENT_TIMEOUT_MS + 1_000,
    application_name: `uplink-hub-tier ${replicaId}`.slice(0, 63),
  };
  const pool = new pg.Pool({ ...config, max: TIER_POOL_SIZE });
  // An idle client's error (the database restarted) is the pool's to replace; it must not end the hub.
  pool.on('error', (error) => { options.log.warn({ err: error }, 'a tier database connection failed; it will be replaced'); });
  return new PgReplicaTier({
    replicaId, peerUrl: options.peerUrl, pool, log: options.log, metrics: options.metrics, ownsPool: true,
    newClient: () => new pg.Client(config),
  });
}
