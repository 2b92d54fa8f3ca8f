// How an add-on's reported status reads in the CLI: a summary for people
// (`uplink addons status`), the cells of the list's status columns, and the
// rows of `uplink addons history`.
import type { AddonDrift, AddonHealth, AddonOperationReport, AddonRevision, AddonStatus, AddonWindowState } from '../../link/addons.ts';
import type { AddonView } from '../../hub/api/addons.ts';
import { formatAge, formatTable } from '../output.ts';
import { formatDuration } from './audit.ts';

/** Unhealthy objects the summary lists; the rest are counted. */
const MAX_LISTED_OBJECTS = 10;
/** Width of the summary's labels. */
const LABEL_WIDTH = 16;

export const HISTORY_HEADERS = ['REVISION', 'UPDATED', 'STATUS', 'CHART', 'APP VERSION', 'DESCRIPTION'];

export function historyRow(revision: AddonRevision): string[] {
  return [String(revision.revision), shortTime(revision.updated), revision.status, revision.chart, revision.appVersion || '-', revision.description || '-'];
}

/**
 * The list's PHASE cell: the reported phase, `-` before any report, and
 * `deleting` for a deleted add-on until its agent reports the deletion's
 * generation Uninstalled (or Failed, which must stay visible).
 */
export function phaseCell(view: AddonView): string {
  const { status } = view;
  if (view.deletedAt === null) return status?.phase ?? '-';
  const settled = status !== null && status.generation >= view.generation && (status.phase === 'Uninstalled' || status.phase === 'Failed');
  return settled ? status.phase : 'deleting';
}

export function revisionCell(view: AddonView): string {
  const revision = view.status?.release?.revision;
  return revision === undefined ? '-' : String(revision);
}

export function healthCell(view: AddonView): string {
  return view.status?.health?.status ?? '-';
}

/** The deployed chart, like `webapp-0.1.0`. */
export function chartCell(view: AddonView): string {
  const release = view.status?.release;
  return release ? `${release.chart}-${release.chartVersion}` : '-';
}

/** What `uplink addons status` prints without -o: the status in labelled lines. */
export function formatAddonStatus(view: AddonView, now: number = Date.now()): string {
  const title = `${view.name} (cluster ${view.cluster}, generation ${view.generation}${view.deletedAt === null ? '' : ', deleted'})`;
  const { status } = view;
  if (status === null) return `${line('Add-on', title)}\n${line('Status', 'none reported yet: the agent reports once it acts on the add-on')}`;
  const lines = [
    line('Add-on', title),
    line('Phase', `${status.phase}, ${status.inSync ? 'in sync' : 'not in sync'}${status.generation < view.generation ? ` (reported for generation ${status.generation})` : ''}`),
  ];
  if (status.message !== '') lines.push(line('Message', status.message));
  lines.push(line('Release', releaseText(status)));
  lines.push(...healthLines(status.health));
  lines.push(...driftLines(status.drift ?? null));
  if (status.syncWindow) lines.push(line('Sync window', windowText(status.syncWindow)));
  lines.push(...operationLines(status.lastOperation));
  if (status.failures > 0 || status.nextRetryAt !== null) {
    lines.push(line('Failures', `${status.failures}${status.nextRetryAt === null ? ', no retry planned' : `, next retry at ${shortTime(status.nextRetryAt)}`}`));
  }
  const reportedAge = view.statusReportedAt === null ? null : (now - Date.parse(view.statusReportedAt)) / 1000;
  lines.push(line('Reported', `${formatAge(reportedAge)} ago (observed at ${shortTime(status.observedAt)})`));
  return lines.join('\n');
}

/** `Label:` and the text in its column; an empty label continues the line above. */
function line(label: string, text: string): string {
  return `${(label === '' ? '' : `${label}:`).padEnd(LABEL_WIDTH)}${text}`;
}

/** `2026-01-02T03:04:05Z` without the milliseconds. */
function shortTime(time: string): string {
  return time.replace(/\.\d+Z$/, 'Z');
}

function releaseText(status: AddonStatus): string {
  const release = status.release;
  if (release === null) return 'none';
  return `revision ${release.revision} ${release.status}, chart ${release.chart} ${release.chartVersion}`
    + `${release.appVersion === '' ? '' : `, app ${release.appVersion}`}, namespace ${release.namespace}, updated ${shortTime(release.updated)}`;
}

function healthLines(health: AddonHealth | null): string[] {
  if (health === null) return [line('Health', 'not checked yet')];
  const verdict = health.healthy ? 'healthy' : 'not healthy';
  const head = line('Health', `${health.status} (${verdict}), ${health.objectCount} objects${health.message === '' ? '' : `: ${health.message}`}`);
  const unhealthy = health.objects.filter((object) => object.status !== 'Healthy');
  if (unhealthy.length === 0) return [head];
  const rows = unhealthy.slice(0, MAX_LISTED_OBJECTS).map((o) => [
    o.kind, o.namespace === undefined ? o.name : `${o.namespace}/${o.name}`, o.status, o.message || '-',
  ]);
  const table = formatTable(['KIND', 'NAME', 'HEALTH', 'MESSAGE'], rows).split('\n').map((text) => `  ${text}`);
  const more = unhealthy.length > MAX_LISTED_OBJECTS ? [`  … and ${unhealthy.length - MAX_LISTED_OBJECTS} more not healthy`] : [];
  return [head, ...table, ...more];
}

function driftLines(drift: AddonDrift | null): string[] {
  if (drift === null) return [line('Drift', 'not checked yet')];
  const lines = [line('Drift', `${drift.state}, ${drift.inspected} objects compared at ${shortTime(drift.checkedAt)}`)];
  for (const object of drift.objects) {
    const where = [object.kind, object.namespace, object.name].filter((part) => part !== undefined).join('/');
    lines.push(line('', `${object.state} ${where}${object.paths.length > 0 ? ` ${object.paths.join(' ')}` : ''}${object.message === '' ? '' : ` (${object.message})`}`));
  }
  if (drift.pruned.length > 0) lines.push(line('', `pruned ${drift.pruned.join(', ')}`));
  return lines;
}

function windowText(window: AddonWindowState): string {
  if (window.open) return `open${window.closesAt === null ? '' : ` until ${shortTime(window.closesAt)}`}`;
  return `closed${window.opensAt === null ? '' : `, opens at ${shortTime(window.opensAt)}`}`;
}

function operationLines(operation: AddonOperationReport | null): string[] {
  if (operation === null) return [line('Last operation', 'none yet')];
  const target = operation.targetRevision === null ? '' : ` to revision ${operation.targetRevision}`;
  const by = operation.requestedBy === null ? operation.trigger : `${operation.trigger} by ${operation.requestedBy}`;
  const took = operation.durationSeconds === null ? '' : ` in ${formatDuration(operation.durationSeconds * 1000)}`;
  const produced = operation.revision === null ? '' : `, revision ${operation.revision}`;
  const lines = [line('Last operation', `${operation.action}${target} (${by}) ${operation.result}${took}${produced}, started ${shortTime(operation.startedAt)}`)];
  const detail = [operation.code, operation.message].filter((part) => part !== null && part !== '').join(': ');
  if (detail !== '') lines.push(line('', detail));
  if (operation.rolledBack) lines.push(line('', 'the failed upgrade was rolled back by helm'));
  return lines;
}
