// The PostgreSQL store's statements, by name, with positional parameters in
// the order each comment or call site gives. They are not named prepared
// statements: a connection caches a named statement's result columns, and
// `SELECT *` would then fail on every old connection once a newer replica's
// migration adds a column during a rolling upgrade.
import { CLUSTER_SUMMARY_COLUMNS } from './rows.ts';

export const PG_SQL = {
  // $1 id, $2 name, $3 labels, $4 token hash, $5 created at
  insertCluster: `INSERT INTO clusters (id, name, labels, token_hash, created_at)
    VALUES ($1, $2, $3, $4, $5) RETURNING *`,
  selectClusterByName: 'SELECT * FROM clusters WHERE name = $1',
  selectClusters: 'SELECT * FROM clusters ORDER BY name',
  // Every name sorts after '' (names are DNS labels, never empty): one statement for the first page and the next.
  // $1 the name to start after, $2 how many
  selectClusterSummaries: `SELECT ${CLUSTER_SUMMARY_COLUMNS.join(', ')} FROM clusters WHERE name > $1 ORDER BY name LIMIT $2`,
  deleteCluster: 'DELETE FROM clusters WHERE id = $1',
  // $1 id, $2 token hash, $3 next token hash
  updateClusterTokens: 'UPDATE clusters SET token_hash = $2, next_token_hash = $3 WHERE id = $1',
  // $1 id, $2 name, $3 created at
  insertUser: 'INSERT INTO users (id, name, created_at) VALUES ($1, $2, $3) RETURNING *',
  selectUser: 'SELECT * FROM users WHERE id = $1',
  selectUserByName: 'SELECT * FROM users WHERE name = $1',
  selectUsers: 'SELECT * FROM users ORDER BY name',
  deleteUser: 'DELETE FROM users WHERE id = $1',

  // $1 user id, $2 role, $3 cluster id or null. DO NOTHING without a target
  // covers the (user, role, COALESCE(cluster)) index but still fails on a
  // CHECK or a foreign key.
  insertGrant: 'INSERT INTO grants (user_id, role, cluster_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING',
  deleteGrant: 'DELETE FROM grants WHERE user_id = $1 AND role = $2 AND cluster_id IS NOT DISTINCT FROM $3',
  selectGrants: 'SELECT * FROM grants WHERE user_id = $1 ORDER BY cluster_id IS NOT NULL, cluster_id, role',
  selectAllGrants: 'SELECT * FROM grants ORDER BY user_id, cluster_id IS NOT NULL, cluster_id, role',

  // $1 id, $2 user id, $3 name, $4 token hash, $5 created at
  insertApiToken: `INSERT INTO api_tokens (id, user_id, name, token_hash, created_at)
    VALUES ($1, $2, $3, $4, $5) RETURNING *`,
  selectApiToken: 'SELECT * FROM api_tokens WHERE id = $1',
  selectApiTokensOfUser: 'SELECT * FROM api_tokens WHERE user_id = $1 ORDER BY created_at, id',
  deleteApiToken: 'DELETE FROM api_tokens WHERE id = $1',
  touchApiToken: 'UPDATE api_tokens SET last_used_at = $2 WHERE id = $1',
  countApiTokens: 'SELECT COUNT(*) AS count FROM api_tokens',

  // $1 cluster id, $2 name
  selectAddon: 'SELECT * FROM addons WHERE cluster_id = $1 AND name = $2',
  // Locks the row for putAddon's compare-and-replace.
  selectAddonForUpdate: 'SELECT * FROM addons WHERE cluster_id = $1 AND name = $2 FOR UPDATE',
  // $1 cluster id, $2 name, $3 spec, $4 at. Nothing when another hub created it meanwhile.
  insertAddon: `INSERT INTO addons (cluster_id, name, spec, generation, created_at, updated_at)
    VALUES ($1, $2, $3, 1, $4, $4) ON CONFLICT (cluster_id, name) DO NOTHING RETURNING *`,
  // A deleted add-on put again starts a new life (created_at) but keeps counting generations.
  replaceAddon: `UPDATE addons SET spec = $3, generation = generation + 1, updated_at = $4,
      created_at = CASE WHEN deleted_at IS NULL THEN created_at ELSE $4 END, deleted_at = NULL
    WHERE cluster_id = $1 AND name = $2 RETURNING *`,
  // $1 cluster id, $2 name, $3 at. The marked row, or the row as it was when
  // it was deleted already (the outer SELECT reads the snapshot before the UPDATE).
  deleteAddon: `WITH marked AS (
      UPDATE addons SET deleted_at = $3, updated_at = $3, generation = generation + 1
      WHERE cluster_id = $1 AND name = $2 AND deleted_at IS NULL RETURNING *
    )
    SELECT * FROM marked
    UNION ALL SELECT * FROM addons WHERE cluster_id = $1 AND name = $2 AND NOT EXISTS (SELECT 1 FROM marked)`,

  // $1 cluster id, $2 name, $3 status, $4 reported at. Stores nothing (0 rows)
  // for a name without an add-on row.
  upsertAddonStatus: `INSERT INTO addon_status (cluster_id, name, status, reported_at)
    SELECT $1::text, $2::text, $3::json, $4::timestamptz WHERE EXISTS (SELECT 1 FROM addons WHERE cluster_id = $1 AND name = $2)
    ON CONFLICT (cluster_id, name) DO UPDATE SET status = excluded.status, reported_at = excluded.reported_at`,
  selectAddonStatus: 'SELECT * FROM addon_status WHERE cluster_id = $1 AND name = $2',
  selectAddonStatusesOfCluster: 'SELECT * FROM addon_status WHERE cluster_id = $1 ORDER BY name',

  insertAudit: `INSERT INTO audit_log (at, user_id, user_name, cluster_id, cluster_name, verb, resource,
      subresource, namespace, name, path, status, bytes_in, bytes_out, duration_ms, command, replica_id, state)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18) RETURNING id`,
  endAudit: `UPDATE audit_log SET state = 'complete', status = $2, bytes_in = $3, bytes_out = $4, duration_ms = $5,
    exit_code = $6, exit_reason = $7 WHERE id = $1`,
  interruptAllAudit: "UPDATE audit_log SET state = 'interrupted' WHERE state = 'in_progress'",
  interruptReplicaAudit: "UPDATE audit_log SET state = 'interrupted' WHERE state = 'in_progress' AND replica_id = $1",
  // A replica serves streams only on links it holds, and holds each by a
  // claim it renews (link_owners): an open row whose replica has no live
  // claim on its cluster any more was left by a replica that died, or whose
  // link moved (then its own end, if it comes, completes the row again).
  interruptUnclaimedAudit: `UPDATE audit_log a SET state = 'interrupted'
    WHERE a.state = 'in_progress' AND NOT EXISTS (
      SELECT 1 FROM link_owners o WHERE o.cluster_id = a.cluster_id AND o.replica_id = a.replica_id AND o.expires_at > now())`,
  pruneAudit: "DELETE FROM audit_log WHERE at < $1 AND state <> 'in_progress'",
} as const;

export type PgStatementName = keyof typeof PG_SQL;

/**
 * The statements of postgres-batches.ts: one for a whole batch, with one
 * array parameter per field and one element per cluster.
 */
export const PG_BATCH_SQL = {
  // $1 ids
  selectClustersById: 'SELECT * FROM clusters WHERE id = ANY($1::text[])',
  selectAddonsOfClusters: 'SELECT * FROM addons WHERE cluster_id = ANY($1::text[]) ORDER BY cluster_id, name',
  // $1 ids, $2 times, $3 intervals, $4 facts
  recordHeartbeats: `UPDATE clusters SET last_heartbeat_at = beat.at, heartbeat_interval_seconds = beat.interval, facts = beat.facts
    FROM unnest($1::text[], $2::timestamptz[], $3::double precision[], $4::json[]) AS beat (id, at, interval, facts)
    WHERE clusters.id = beat.id`,
  // $1 ids, $2 connected at (or null), $3 disconnected at (or null), $4 agent versions (or null): a null keeps what is stored
  recordConnections: `UPDATE clusters SET connected_at = COALESCE(change.connected_at, clusters.connected_at),
      disconnected_at = COALESCE(change.disconnected_at, clusters.disconnected_at),
      agent_version = COALESCE(change.agent_version, clusters.agent_version)
    FROM unnest($1::text[], $2::timestamptz[], $3::timestamptz[], $4::text[]) AS change (id, connected_at, disconnected_at, agent_version)
    WHERE clusters.id = change.id`,
  // $1 ids, $2 the reports as JSON
  recordAddonSweeps: `UPDATE clusters SET addon_sweep = sweep.report
    FROM unnest($1::text[], $2::json[]) AS sweep (id, report) WHERE clusters.id = sweep.id`,
} as const;
