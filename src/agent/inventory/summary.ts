// What every per-kind row summary shares: the loose shape of a Kubernetes
// object as read from JSON, and small helpers for conditions and ratios.
// Summaries read API server output, so every field is optional: a missing
// field gives an empty column, never a throw.
import type { Health, ResourceRow } from '../../link/resources.ts';

export type ColumnValue = string | number | boolean | null;
export type Columns = Record<string, ColumnValue>;

/** A per-kind summary of one object, as `kubectl get` would print it. */
export interface RowSummary {
  status: string;
  health: Health;
  columns: Columns;
}

export type Summarize = (object: KubeObject) => RowSummary;

export interface ObjectMeta {
  name?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  managedFields?: unknown;
}

export interface Condition {
  type?: string;
  status?: string;
  reason?: string;
  message?: string;
}

/** An object as parsed from the API server; kinds cast it to the fields they read. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
  spec?: unknown;
  status?: unknown;
  [field: string]: unknown;
}

/** Longest string kept in a column; messages and lists are cut to it. */
export const MAX_COLUMN_CHARS = 256;

export function truncate(text: string, max = MAX_COLUMN_CHARS): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

export function findCondition(conditions: Condition[] | undefined, type: string): Condition | undefined {
  return Array.isArray(conditions) ? conditions.find((c) => c.type === type) : undefined;
}

export function conditionIs(conditions: Condition[] | undefined, type: string, status: 'True' | 'False'): boolean {
  return findCondition(conditions, type)?.status === status;
}

export function ratio(current: number | undefined, desired: number | undefined): string {
  return `${current ?? 0}/${desired ?? 0}`;
}

export function joinList(items: (string | undefined)[] | undefined): string {
  return truncate((items ?? []).filter((item): item is string => typeof item === 'string' && item !== '').join(','));
}

/** The spec's rollout has been seen by its controller (status.observedGeneration caught up). */
export function observed(metadata: ObjectMeta | undefined, status: { observedGeneration?: number } | undefined): boolean {
  const generation = metadata?.generation;
  return generation === undefined || (status?.observedGeneration ?? 0) >= generation;
}

/** No status to speak of: config-like kinds that exist or do not. */
export function plain(columns: Columns = {}, status = ''): RowSummary {
  return { status, health: 'healthy', columns };
}

/** Rows of discovered kinds, whose status conventions Uplink does not know. */
export const summarizeGeneric: Summarize = () => ({ status: '', health: 'unknown', columns: {} });

export interface RowIdentity {
  kind: string;
  namespaced: boolean;
}

/** Identity from metadata plus the kind's summary; a summary that throws gives an 'unknown' row. */
export function buildRow(identity: RowIdentity, summarize: Summarize, object: KubeObject): ResourceRow {
  const metadata = object.metadata ?? {};
  let summary: RowSummary;
  try {
    summary = summarize(object);
  } catch {
    summary = summarizeGeneric(object);
  }
  return {
    kind: identity.kind,
    namespace: identity.namespaced ? (metadata.namespace ?? '') : null,
    name: metadata.name ?? '',
    uid: metadata.uid ?? '',
    resourceVersion: metadata.resourceVersion ?? '',
    createdAt: metadata.creationTimestamp ?? null,
    labels: metadata.labels ?? {},
    status: summary.status,
    health: summary.health,
    columns: summary.columns,
  };
}
