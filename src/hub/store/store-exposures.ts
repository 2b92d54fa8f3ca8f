// The exposures part of the Store (the Service gateway's published Service
// ports): the interface, the statements of both stores and the row mapping,
// kept beside each other so the two stores stay alike.
import { CodedError } from '../../domain/error-codes.ts';
import type { Exposure, ExposureRole } from '../../domain/exposure.ts';
import type { Row } from './rows.ts';
import { StoreConflictError, StoreError } from './store.ts';

/** A cluster's exposures with the set's generation, read together (one statement: the two always match). */
export interface ExposureSet {
  /** Counts every put and delete of the cluster's exposures; 0 before the first. Never goes back. */
  generation: number;
  /** Ordered by name. */
  exposures: Exposure[];
}

/**
 * What the store keeps of exposures. Each put and delete adds one to the
 * cluster's exposure generation in the same transaction; deleting a cluster
 * deletes its exposures and generation.
 */
export interface ExposureStore {
  /** The cluster's exposures, ordered by name. */
  listExposures(clusterId: string): Promise<Exposure[]>;
  getExposure(clusterId: string, name: string): Promise<Exposure | undefined>;
  /** The exposures with their generation, for the push to the agent. */
  getExposureSet(clusterId: string): Promise<ExposureSet>;
  /** Stores a new exposure; rejects with CodedError EXPOSURE_EXISTS when the cluster has one of that name. */
  putExposure(exposure: Exposure): Promise<Exposure>;
  /** Whether an exposure was deleted. */
  deleteExposure(clusterId: string, name: string): Promise<boolean>;
}

/** SQLite statements, named parameters. Ports are text: a number's decimal digits or a port name. */
export const SQLITE_EXPOSURE_SQL = {
  selectExposures: 'SELECT * FROM exposures WHERE cluster_id = :clusterId ORDER BY name',
  selectExposure: 'SELECT * FROM exposures WHERE cluster_id = :clusterId AND name = :name',
  // The LEFT JOIN keeps the generation row of a cluster whose exposures are all deleted.
  selectExposureSet: `SELECT g.generation AS set_generation, e.* FROM exposure_generations g
    LEFT JOIN exposures e ON e.cluster_id = g.cluster_id WHERE g.cluster_id = :clusterId ORDER BY e.name`,
  insertExposure: `INSERT INTO exposures (id, cluster_id, name, namespace, service, port, min_role, created_by, created_at)
    VALUES (:id, :clusterId, :name, :namespace, :service, :port, :minRole, :createdBy, :createdAt) RETURNING *`,
  deleteExposure: 'DELETE FROM exposures WHERE cluster_id = :clusterId AND name = :name',
  bumpExposureGeneration: `INSERT INTO exposure_generations (cluster_id, generation) VALUES (:clusterId, 1)
    ON CONFLICT (cluster_id) DO UPDATE SET generation = generation + 1`,
} as const;

/** PostgreSQL statements, positional parameters as each comment says. */
export const PG_EXPOSURE_SQL = {
  // $1 cluster id
  selectExposures: 'SELECT * FROM exposures WHERE cluster_id = $1 ORDER BY name',
  // $1 cluster id, $2 name
  selectExposure: 'SELECT * FROM exposures WHERE cluster_id = $1 AND name = $2',
  // $1 cluster ids: several sets in one round trip (postgres-batches.ts); cluster_id is the set's even where it has no exposure.
  selectExposureSets: `SELECT g.generation AS set_generation, e.*, g.cluster_id FROM exposure_generations g
    LEFT JOIN exposures e ON e.cluster_id = g.cluster_id WHERE g.cluster_id = ANY($1) ORDER BY g.cluster_id, e.name`,
  // $1 id, $2 cluster id, $3 name, $4 namespace, $5 service, $6 port, $7 min role, $8 created by, $9 created at
  insertExposure: `INSERT INTO exposures (id, cluster_id, name, namespace, service, port, min_role, created_by, created_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING *`,
  // $1 cluster id, $2 name
  deleteExposure: 'DELETE FROM exposures WHERE cluster_id = $1 AND name = $2',
  // $1 cluster id
  bumpExposureGeneration: `INSERT INTO exposure_generations (cluster_id, generation) VALUES ($1, 1)
    ON CONFLICT (cluster_id) DO UPDATE SET generation = exposure_generations.generation + 1`,
} as const;

/** The insert's values, by the SQLite statement's parameter names. */
export function exposureParams(exposure: Exposure): Record<string, string> {
  const { id, clusterId, name, namespace, service, minRole, createdBy, createdAt } = exposure;
  return { id, clusterId, name, namespace, service, port: String(exposure.port), minRole, createdBy, createdAt };
}

/** The insert's values in PG_EXPOSURE_SQL.insertExposure's order. */
export function exposureValues(exposure: Exposure): string[] {
  return Object.values(exposureParams(exposure));
}

function textOf(row: Row, column: string): string {
  const value = row[column];
  if (typeof value !== 'string') throw new StoreError(`store: column ${column} of an exposure holds ${value === null ? 'null' : typeof value}, expected text`);
  return value;
}

export function toExposure(row: Row): Exposure {
  const port = textOf(row, 'port');
  return {
    id: textOf(row, 'id'),
    clusterId: textOf(row, 'cluster_id'),
    name: textOf(row, 'name'),
    namespace: textOf(row, 'namespace'),
    service: textOf(row, 'service'),
    port: /^[0-9]+$/.test(port) ? Number(port) : port,
    minRole: textOf(row, 'min_role') as ExposureRole,
    createdBy: textOf(row, 'created_by'),
    createdAt: textOf(row, 'created_at'),
  };
}

/** The rows of selectExposureSet as a set; no rows is generation 0 and no exposures. */
export function toExposureSet(rows: readonly Row[]): ExposureSet {
  const generation = rows[0]?.set_generation;
  return {
    generation: typeof generation === 'number' ? generation : 0,
    exposures: rows.filter((row) => row.id !== null).map(toExposure),
  };
}

/** The error of a put whose name (or id) the cluster already has. */
export function exposureExists(exposure: Exposure): CodedError {
  return new CodedError('EXPOSURE_EXISTS', `cluster ${exposure.clusterId} already has an exposure named "${exposure.name}"`);
}

/** A put's conflict (a race lost at the constraint) as EXPOSURE_EXISTS; anything else as it is. */
export function asExposureExists(exposure: Exposure): (error: unknown) => never {
  return (error) => {
    throw error instanceof StoreConflictError ? exposureExists(exposure) : error;
  };
}
