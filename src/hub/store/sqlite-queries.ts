// The SQLite store's statements, by name, bound by named parameters only
// (objects listing exactly the parameters: the driver rejects unknown names).
import { CLUSTER_SUMMARY_COLUMNS } from './rows.ts';
import { SQLITE_EXPOSURE_SQL } from './store-exposures.ts';

export const SQL = {
  insertCluster: `INSERT INTO clusters (id, name, labels, token_hash, created_at)
    VALUES (:id, :name, :labels, :tokenHash, :createdAt) RETURNING *`,
  selectCluster: 'SELECT * FROM clusters WHERE id = :id',
  selectClusterByName: 'SELECT * FROM clusters WHERE name = :name',
  selectClusters: 'SELECT * FROM clusters ORDER BY name',
  // Every name sorts after '' (names are DNS labels, never empty): one statement for the first page and the next.
  selectClusterSummaries: `SELECT ${CLUSTER_SUMMARY_COLUMNS.join(', ')} FROM clusters WHERE name > :afterName ORDER BY name`,
  deleteCluster: 'DELETE FROM clusters WHERE id = :id',
  updateClusterTokens: `UPDATE clusters SET token_hash = :tokenHash, next_token_hash = :nextTokenHash
    WHERE id = :id`,
  recordConnected: `UPDATE clusters SET connected_at = :at, agent_version = COALESCE(:agentVersion, agent_version)
    WHERE id = :id`,
  recordDisconnected: `UPDATE clusters SET disconnected_at = :at, agent_version = COALESCE(:agentVersion, agent_version)
    WHERE id = :id`,
  recordHeartbeat: `UPDATE clusters SET last_heartbeat_at = :at, heartbeat_interval_seconds = :intervalSeconds,
    facts = :facts WHERE id = :id`,
  recordAddonSweep: 'UPDATE clusters SET addon_sweep = :sweep WHERE id = :id',

  insertUser: 'INSERT INTO users (id, name, created_at) VALUES (:id, :name, :createdAt) RETURNING *',
  selectUser: 'SELECT * FROM users WHERE id = :id',
  selectUserByName: 'SELECT * FROM users WHERE name = :name',
  selectUsers: 'SELECT * FROM users ORDER BY name',
  deleteUser: 'DELETE FROM users WHERE id = :id',

  // DO NOTHING without a target covers the (user, role, IFNULL(cluster)) index
  // but, unlike INSERT OR IGNORE, still fails on a CHECK or foreign key.
  insertGrant: `INSERT INTO grants (user_id, role, cluster_id) VALUES (:userId, :role, :clusterId)
    ON CONFLICT DO NOTHING`,
  // IS, not =, so a NULL cluster (fleet-wide) matches NULL.
  deleteGrant: 'DELETE FROM grants WHERE user_id = :userId AND role = :role AND cluster_id IS :clusterId',
  selectGrants: `SELECT * FROM grants WHERE user_id = :userId
    ORDER BY cluster_id IS NOT NULL, cluster_id, role`,
  selectAllGrants: 'SELECT * FROM grants ORDER BY user_id, cluster_id IS NOT NULL, cluster_id, role',

  insertApiToken: `INSERT INTO api_tokens (id, user_id, name, token_hash, created_at)
    VALUES (:id, :userId, :name, :tokenHash, :createdAt) RETURNING *`,
  selectApiToken: 'SELECT * FROM api_tokens WHERE id = :id',
  selectApiTokensOfUser: 'SELECT * FROM api_tokens WHERE user_id = :userId ORDER BY created_at, id',
  deleteApiToken: 'DELETE FROM api_tokens WHERE id = :id',
  touchApiToken: 'UPDATE api_tokens SET last_used_at = :at WHERE id = :id',
  countApiTokens: 'SELECT COUNT(*) AS count FROM api_tokens',

  selectAddon: 'SELECT * FROM addons WHERE cluster_id = :clusterId AND name = :name',
  selectAddonsOfCluster: 'SELECT * FROM addons WHERE cluster_id = :clusterId ORDER BY name',
  insertAddon: `INSERT INTO addons (cluster_id, name, spec, generation, created_at, updated_at)
    VALUES (:clusterId, :name, :spec, 1, :at, :at) RETURNING *`,
  // A deleted add-on put again starts a new life (created_at) but keeps counting generations.
  replaceAddon: `UPDATE addons SET spec = :spec, generation = generation + 1, updated_at = :at,
      created_at = CASE WHEN deleted_at IS NULL THEN created_at ELSE :at END, deleted_at = NULL
    WHERE cluster_id = :clusterId AND name = :name RETURNING *`,
  markAddonDeleted: `UPDATE addons SET deleted_at = :at, updated_at = :at, generation = generation + 1
    WHERE cluster_id = :clusterId AND name = :name AND deleted_at IS NULL RETURNING *`,

  // INSERT … SELECT … WHERE EXISTS stores nothing for a name without an add-on
  // row (changes = 0) instead of failing on the foreign key. The SELECT needs
  // its WHERE anyway: without one SQLite would read ON CONFLICT as a join's ON.
  upsertAddonStatus: `INSERT INTO addon_status (cluster_id, name, status, reported_at)
    SELECT :clusterId, :name, :status, :reportedAt
    WHERE EXISTS (SELECT 1 FROM addons WHERE cluster_id = :clusterId AND name = :name)
    ON CONFLICT (cluster_id, name) DO UPDATE SET status = excluded.status, reported_at = excluded.reported_at`,
  selectAddonStatus: 'SELECT * FROM addon_status WHERE cluster_id = :clusterId AND name = :name',
  selectAddonStatusesOfCluster: 'SELECT * FROM addon_status WHERE cluster_id = :clusterId ORDER BY name',

  insertAudit: `INSERT INTO audit_log (at, user_id, user_name, cluster_id, cluster_name, verb, resource,
      subresource, namespace, name, path, status, bytes_in, bytes_out, duration_ms, command, replica_id, state)
    VALUES (:at, :userId, :userName, :clusterId, :clusterName, :verb, :resource,
      :subresource, :namespace, :name, :path, :status, :bytesIn, :bytesOut, :durationMs, :command, :replica, :state)
    RETURNING id`,
  endAudit: `UPDATE audit_log SET state = 'complete', status = :status, bytes_in = :bytesIn, bytes_out = :bytesOut,
    duration_ms = :durationMs, exit_code = :exitCode, exit_reason = :exitReason WHERE id = :id`,
  interruptAllAudit: "UPDATE audit_log SET state = 'interrupted' WHERE state = 'in_progress'",
  interruptReplicaAudit: "UPDATE audit_log SET state = 'interrupted' WHERE state = 'in_progress' AND replica_id = :replicaId",
  pruneAudit: "DELETE FROM audit_log WHERE at < :olderThan AND state <> 'in_progress'",

  ...SQLITE_EXPOSURE_SQL,
} as const;

export type StatementName = keyof typeof SQL;
