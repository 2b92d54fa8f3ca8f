import type { Command } from 'commander';
import type { AuditView } from '../../hub/api/audit.ts';
import { loadCliConfig } from '../cli-config.ts';
import { HubClient } from '../hub-client.ts';
import { formatData, formatTable, parseOutputFormat } from '../output.ts';
import { print } from '../terminal-text.ts';

interface AuditFlags {
  cluster?: string;
  user?: string;
  since?: string;
  until?: string;
  limit?: string;
  output: string;
}

/** A row as a hub answers it; hubs before exit codes were recorded answer none. */
type AuditLine = Omit<AuditView, 'exitCode' | 'exitReason'> & Partial<Pick<AuditView, 'exitCode' | 'exitReason'>>;

const HEADERS = ['TIME', 'USER', 'CLUSTER', 'VERB', 'RESOURCE', 'NAMESPACE', 'NAME', 'STATUS', 'DURATION', 'IN', 'OUT'];

/** The query string for the flags given; the hub validates the values. */
export function auditQueryString(flags: Omit<AuditFlags, 'output'>): string {
  const params = new URLSearchParams();
  for (const key of ['cluster', 'user', 'since', 'until', 'limit'] as const) {
    const value = flags[key];
    if (value !== undefined) params.set(key, value);
  }
  const text = params.toString();
  return text === '' ? '' : `?${text}`;
}

/** "512", "1.5Ki", "3.2Mi": short enough for a table column. */
export function formatBytes(bytes: number): string {
  const units = ['Ki', 'Mi', 'Gi', 'Ti'];
  if (bytes < 1024) return String(bytes);
  let value = bytes;
  let unit = '';
  for (const next of units) {
    if (value < 1024) break;
    value /= 1024;
    unit = next;
  }
  return `${value < 10 ? value.toFixed(1) : Math.round(value)}${unit}`;
}

/** "850ms", "12.3s", "4m5s". */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  return `${Math.floor(ms / 60_000)}m${Math.round((ms % 60_000) / 1000)}s`;
}

/**
 * The STATUS and DURATION cells: a stream still running, or one whose hub
 * died with it open, has neither a status nor a duration yet, so its state
 * stands in their place.
 */
export function statusCells(row: Pick<AuditView, 'state' | 'status' | 'durationMs'>): [string, string] {
  if (row.state === 'in_progress') return ['in progress', '-'];
  if (row.state === 'interrupted') return ['interrupted', '-'];
  return [String(row.status), formatDuration(row.durationMs)];
}

/** Longest failure reason an EXIT cell shows; `-o json` has it whole. */
const EXIT_CELL_CHARS = 40;

/** The EXIT cell of an exec: its exit code, or why it has none (cut short); `-` for other rows. */
export function exitCell(row: Pick<AuditLine, 'exitCode' | 'exitReason'>): string {
  const { exitCode = null, exitReason = null } = row;
  if (exitCode !== null) return String(exitCode);
  if (exitReason === null) return '-';
  return exitReason.length > EXIT_CELL_CHARS ? `${exitReason.slice(0, EXIT_CELL_CHARS - 1)}…` : exitReason;
}

interface Columns {
  exit: boolean;
  command: boolean;
}

function auditRow(row: AuditLine, columns: Columns): string[] {
  const cells = [
    row.at.replace(/\.\d+Z$/, 'Z'), row.userName, row.clusterName, row.verb,
    row.subresource === null ? row.resource : `${row.resource}/${row.subresource}`,
    row.namespace ?? '-', row.name ?? '-', ...statusCells(row),
    formatBytes(row.bytesIn), formatBytes(row.bytesOut),
  ];
  if (columns.exit) cells.push(exitCell(row));
  if (columns.command) cells.push(row.command ?? '-');
  return cells;
}

function printAudit(items: AuditLine[], output: string): void {
  const format = parseOutputFormat(output, ['table', 'json', 'yaml']);
  if (format === 'json' || format === 'yaml') {
    print(formatData({ items }, format));
    return;
  }
  if (items.length === 0) {
    print('No audit records match.');
    return;
  }
  const columns = { exit: items.some((row) => exitCell(row) !== '-'), command: items.some((row) => row.command !== null) };
  const headers = [...HEADERS, ...(columns.exit ? ['EXIT'] : []), ...(columns.command ? ['COMMAND'] : [])];
  print(formatTable(headers, items.map((row) => auditRow(row, columns))));
}

export function registerAuditCommand(program: Command): void {
  program.command('audit').description('show what users did in clusters through the hub, newest first (fleet admins)')
    .option('--cluster <cluster>', 'only this cluster (name or id)')
    .option('--user <user>', 'only this user (name)')
    .option('--since <time>', 'only since this time: ISO 8601 or a duration ago, like 30m, 2h or 7d')
    .option('--until <time>', 'only before this time: ISO 8601 or a duration ago')
    .option('--limit <n>', 'at most this many records (default 100, at most 1000)')
    .option('-o, --output <format>', 'table, json or yaml', 'table')
    .action(async (flags: AuditFlags) => {
      const { items } = await new HubClient(loadCliConfig()).request<{ items: AuditLine[] }>('GET', `/api/v1/audit${auditQueryString(flags)}`);
      printAudit(items, flags.output);
    });
}
