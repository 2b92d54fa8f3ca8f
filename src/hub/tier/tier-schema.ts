// The PostgreSQL tables of the replica tier, applied as one of the
// PostgreSQL store's migrations (SQLite hubs are a tier of one and have none).
// link_owners: which replica holds each cluster's link, until expires_at (the
// database's clock); the row goes with its cluster. tier_jobs: when each
// tier-wide job last ran, and where. hub_secrets: material every replica
// must share, such as the CA agents pin and replicas authenticate each other with.
export const TIER_SCHEMA_SQL = `
  CREATE TABLE link_owners (
    cluster_id TEXT PRIMARY KEY REFERENCES clusters (id) ON DELETE CASCADE,
    replica_id TEXT NOT NULL,
    peer_url TEXT NOT NULL,
    claimed_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
  );
  CREATE INDEX link_owners_replica ON link_owners (replica_id);

  CREATE TABLE tier_jobs (
    name TEXT PRIMARY KEY,
    replica_id TEXT NOT NULL,
    ran_at TIMESTAMPTZ NOT NULL
  );

  CREATE TABLE hub_secrets (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
  );
`;
