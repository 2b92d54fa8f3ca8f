// How `uplink get`, `uplink events` and `uplink get -w` show live resources:
// the table columns of resource rows and events, one line per change, and
// the warnings that make a stale or offline answer impossible to miss.
import type { ClusterSummary } from '../hub/resources/index.ts';
import type { InventoryFreshness, ResourceChange, ResourceRow } from '../link/resources.ts';
import { formatAge } from './output.ts';

/** Inventory staleness beyond which `get` warns: a healthy watch hears from the API server within a minute. */
export const STALE_AFTER_SECONDS = 60;

export interface RowColumns {
  headers: string[];
  cells: (row: ResourceRow) => string[];
}

export interface ResourceColumnsOptions {
  /** Show NAMESPACE: rows of a namespaced kind from every namespace. */
  withNamespace: boolean;
  /** Add the kind's own columns, in the order the rows first name them. */
  wide: boolean;
  rows: readonly ResourceRow[];
  now?: number;
}

/** `nominatedNode` → `NOMINATED NODE`, as kubectl spells its column headers. */
export function columnHeader(key: string): string {
  return key.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toUpperCase();
}

export function cellText(value: string | number | boolean | null | undefined): string {
  if (value === null || value === undefined || value === '') return '-';
  return String(value);
}

/** Age of a timestamp, like kubectl's AGE column; '-' when unknown. */
export function ageOf(timestamp: string | number | boolean | null | undefined, now: number = Date.now()): string {
  if (typeof timestamp !== 'string') return '-';
  const at = Date.parse(timestamp);
  return Number.isNaN(at) ? '-' : formatAge(Math.max(0, (now - at) / 1000));
}

/** NAMESPACE (optional), NAME, STATUS, HEALTH, AGE, then with `wide` the kind's columns. */
export function resourceColumns(options: ResourceColumnsOptions): RowColumns {
  const now = options.now ?? Date.now();
  const extra: string[] = [];
  if (options.wide) {
    for (const row of options.rows) for (const key of Object.keys(row.columns)) if (!extra.includes(key)) extra.push(key);
  }
  return {
    headers: [...(options.withNamespace ? ['NAMESPACE'] : []), 'NAME', 'STATUS', 'HEALTH', 'AGE', ...extra.map(columnHeader)],
    cells: (row) => [
      ...(options.withNamespace ? [row.namespace ?? '-'] : []),
      row.name, cellText(row.status), row.health, ageOf(row.createdAt, now),
      ...extra.map((key) => cellText(row.columns[key])),
    ],
  };
}

/** Events about an object: LAST SEEN, TYPE, REASON, MESSAGE. */
export function eventColumns(now: number = Date.now()): RowColumns {
  return {
    headers: ['LAST SEEN', 'TYPE', 'REASON', 'MESSAGE'],
    cells: (row) => [
      ageOf(row.columns.lastSeen ?? row.createdAt, now),
      cellText(row.columns.type), cellText(row.columns.reason ?? row.status), cellText(row.columns.message),
    ],
  };
}

/** A watch line: the change type, then the row's cells. */
export function changeCells(change: Extract<ResourceChange, { row: ResourceRow }>, columns: RowColumns): string[] {
  return [change.type, ...columns.cells(change.row)];
}

/**
 * What a reader must know before trusting an answer: the cluster is not
 * online, the inventory is still syncing, or it has not heard from the API
 * server for over STALE_AFTER_SECONDS. Empty when all is well.
 */
export function freshnessWarnings(cluster: ClusterSummary, inventory: InventoryFreshness | undefined): string[] {
  const warnings: string[] = [];
  if (cluster.status !== 'online') {
    const heartbeat = cluster.lastHeartbeatAgeSeconds === null ? 'no heartbeat yet' : `last heartbeat ${formatAge(cluster.lastHeartbeatAgeSeconds)} ago`;
    warnings.push(`cluster "${cluster.name}" is ${cluster.status} (${heartbeat})`);
  }
  if (inventory && !inventory.synced) {
    warnings.push(`the inventory of "${cluster.name}" is still syncing (${inventory.syncedKinds}/${inventory.kinds} kinds): the answer may be incomplete`);
  }
  if (inventory && inventory.stalenessSeconds > STALE_AFTER_SECONDS) {
    warnings.push(`the inventory of "${cluster.name}" last heard from its API server ${formatAge(inventory.stalenessSeconds)} ago: the answer may be stale`);
  }
  return warnings.map((w) => `warning: ${w}`);
}
