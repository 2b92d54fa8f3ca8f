// Row mapping for both stores: the only code that knows column names. The
// PostgreSQL store reads values in the same shapes (postgres-driver.ts STORE_TYPES).
// JSON columns hold only what the store wrote, so their parsed shape is trusted.
import type { SQLOutputValue } from 'node:sqlite';
import type { AddonStatus } from '../../link/addons.ts';
import { storedFacts } from '../../link/heartbeat-schema.ts';
import type { ClusterFacts } from '../../link/protocol.ts';
import type { AddonSpec } from '../addons/index.ts';
import { parseStoredAddonSweep } from '../addons/sweeps.ts';
import {
  type AddonRecord,
  type AddonStatusRecord,
  type AddonSweepRecord,
  type ApiTokenRecord,
  type AuditRow,
  type AuditState,
  type ClusterRecord,
  type ClusterSummary,
  type GrantRecord,
  type Role,
  StoreError,
  type UserRecord,
} from './store.ts';

export type Row = Record<string, SQLOutputValue>;

const ROLES: readonly string[] = ['admin', 'edit', 'view'];

/** Columns of a ClusterSummary: the fleet list reads thousands at a time, and token hashes are no part of it. */
export const CLUSTER_SUMMARY_COLUMNS = [
  'id', 'name', 'labels', 'created_at', 'agent_version', 'connected_at', 'disconnected_at', 'last_heartbeat_at', 'facts', 'addon_sweep',
] as const;

export function toClusterSummary(row: Row): ClusterSummary {
  const factsJson = textOrNull(row, 'facts');
  let facts: ClusterFacts | null | undefined;
  const sweepJson = textOrNull(row, 'addon_sweep');
  let addonSweep: AddonSweepRecord | null | undefined;
  return {
    id: text(row, 'id'),
    name: text(row, 'name'),
    labels: JSON.parse(text(row, 'labels')) as Record<string, string>,
    createdAt: text(row, 'created_at'),
    agentVersion: textOrNull(row, 'agent_version'),
    connectedAt: textOrNull(row, 'connected_at'),
    disconnectedAt: textOrNull(row, 'disconnected_at'),
    lastHeartbeatAt: textOrNull(row, 'last_heartbeat_at'),
    factsJson,
    // Parsed on first read: the fleet list sends factsJson (or a linked
    // agent's newer facts) as they are, and token checks never read them.
    // Checked against the schema when parsed: facts stored by an older hub
    // that did not check heartbeats read as none rather than half.
    get facts(): ClusterFacts | null {
      if (facts === undefined) facts = factsJson === null ? null : parseStoredFacts(factsJson);
      return facts;
    },
    // Parsed on first read too (token checks never need it); one that does
    // not read as a report (written by hand, say) reads as none.
    get addonSweep(): AddonSweepRecord | null {
      if (addonSweep === undefined) addonSweep = sweepJson === null ? null : parseStoredAddonSweep(sweepJson);
      return addonSweep;
    },
  };
}

function parseStoredFacts(json: string): ClusterFacts | null {
  try {
    return storedFacts(JSON.parse(json));
  } catch {
    return null;
  }
}

export function toClusterRecord(row: Row): ClusterRecord {
  // Assigned onto the summary, so its lazy `facts` stays lazy.
  return Object.assign(toClusterSummary(row), {
    tokenHash: text(row, 'token_hash'),
    nextTokenHash: textOrNull(row, 'next_token_hash'),
    heartbeatIntervalSeconds: numberOrNull(row, 'heartbeat_interval_seconds'),
  });
}

export function toApiTokenRecord(row: Row): ApiTokenRecord {
  return {
    id: text(row, 'id'),
    userId: text(row, 'user_id'),
    name: text(row, 'name'),
    tokenHash: text(row, 'token_hash'),
    createdAt: text(row, 'created_at'),
    lastUsedAt: textOrNull(row, 'last_used_at'),
  };
}

export function toUserRecord(row: Row): UserRecord {
  return { id: text(row, 'id'), name: text(row, 'name'), createdAt: text(row, 'created_at') };
}

export function toGrantRecord(row: Row): GrantRecord {
  const role = text(row, 'role');
  // The table's CHECK constraint allows only these; this narrows the type.
  if (!ROLES.includes(role)) throw new StoreError(`store: column role holds '${role}', expected admin, edit or view`);
  return { userId: text(row, 'user_id'), role: role as Role, clusterId: textOrNull(row, 'cluster_id') };
}

const AUDIT_STATES: readonly string[] = ['complete', 'in_progress', 'interrupted'] satisfies AuditState[];

export function toAuditRecord(row: Row): AuditRow {
  const state = text(row, 'state');
  // The table's CHECK constraint allows only these; this narrows the type.
  if (!AUDIT_STATES.includes(state)) throw new StoreError(`store: column state holds '${state}', expected ${AUDIT_STATES.join(', ')}`);
  return {
    id: integer(row, 'id'),
    at: text(row, 'at'),
    userId: text(row, 'user_id'),
    userName: text(row, 'user_name'),
    clusterId: text(row, 'cluster_id'),
    clusterName: text(row, 'cluster_name'),
    verb: text(row, 'verb'),
    resource: text(row, 'resource'),
    subresource: textOrNull(row, 'subresource'),
    namespace: textOrNull(row, 'namespace'),
    name: textOrNull(row, 'name'),
    path: text(row, 'path'),
    status: integer(row, 'status'),
    bytesIn: integer(row, 'bytes_in'),
    bytesOut: integer(row, 'bytes_out'),
    durationMs: number(row, 'duration_ms'),
    command: textOrNull(row, 'command'),
    replica: textOrNull(row, 'replica_id'),
    state: state as AuditState,
    exitCode: integerOrNull(row, 'exit_code'),
    exitReason: textOrNull(row, 'exit_reason'),
  };
}

export function toAddonRecord(row: Row): AddonRecord {
  return {
    clusterId: text(row, 'cluster_id'),
    name: text(row, 'name'),
    spec: JSON.parse(text(row, 'spec')) as AddonSpec,
    generation: integer(row, 'generation'),
    createdAt: text(row, 'created_at'),
    updatedAt: text(row, 'updated_at'),
    deletedAt: textOrNull(row, 'deleted_at'),
  };
}

export function toAddonStatusRecord(row: Row): AddonStatusRecord {
  return {
    clusterId: text(row, 'cluster_id'),
    name: text(row, 'name'),
    status: JSON.parse(text(row, 'status')) as AddonStatus,
    reportedAt: text(row, 'reported_at'),
  };
}

export function mapOptional<T, R>(value: T | undefined, map: (value: T) => R): R | undefined {
  return value === undefined ? undefined : map(value);
}

export function required(row: Row | undefined): Row {
  if (row === undefined) throw new StoreError('store: expected a row, the query returned none');
  return row;
}

function text(row: Row, column: string): string {
  const value = row[column];
  if (typeof value !== 'string') throw columnTypeError(column, 'text', value);
  return value;
}

function textOrNull(row: Row, column: string): string | null {
  return row[column] === null ? null : text(row, column);
}

function numberOrNull(row: Row, column: string): number | null {
  const value = row[column];
  if (value === null) return null;
  if (typeof value !== 'number') throw columnTypeError(column, 'a number', value);
  return value;
}

function number(row: Row, column: string): number {
  const value = numberOrNull(row, column);
  if (value === null) throw columnTypeError(column, 'a number', value);
  return value;
}

function integerOrNull(row: Row, column: string): number | null {
  return row[column] === null ? null : integer(row, column);
}

export function integer(row: Row, column: string): number {
  const value = numberOrNull(row, column);
  if (value === null || !Number.isInteger(value)) throw columnTypeError(column, 'an integer', value);
  return value;
}

function columnTypeError(column: string, expected: string, value: SQLOutputValue | undefined): StoreError {
  const actual = value === null ? 'null' : typeof value;
  return new StoreError(`store: column ${column} holds ${actual}, expected ${expected}`);
}
