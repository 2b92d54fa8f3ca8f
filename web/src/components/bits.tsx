// Small pieces used across pages.
import type { ComponentChildren } from 'preact';
import type { AddonSummary, FleetItem } from '../types.ts';

const STATUS_TEXT: Record<FleetItem['status'], string> = { online: 'Online', offline: 'Offline', 'never-connected': 'Never connected' };

export function StatusBadge(props: { status: FleetItem['status'] }) {
  return <span class={`badge status-${props.status}`} data-status={props.status}>{STATUS_TEXT[props.status]}</span>;
}

/** Healthy, Progressing, Degraded… as a coloured word. */
export function HealthBadge(props: { health: string | null | undefined }) {
  const health = props.health ?? 'Unknown';
  return <span class={`badge health-${health.toLowerCase()}`}>{health}</span>;
}

export function Labels(props: { labels: Record<string, string> }) {
  const entries = Object.entries(props.labels);
  if (entries.length === 0) return <span class="muted">—</span>;
  return <ul class="chips" aria-label="labels">{entries.map(([k, v]) => <li key={k}>{k}={v}</li>)}</ul>;
}

export function AddonCell(props: { summary: AddonSummary }) {
  const { total, healthy, unhealthy, progressing, drifted } = props.summary;
  if (total === 0) return <span class="muted">none</span>;
  const parts = [`${healthy}/${total} healthy`];
  if (unhealthy > 0) parts.push(`${unhealthy} failing`);
  if (progressing > 0) parts.push(`${progressing} in progress`);
  if (drifted > 0) parts.push(`${drifted} drifted`);
  return <span class={unhealthy > 0 ? 'bad' : drifted > 0 || progressing > 0 ? 'warn' : 'good'}>{parts.join(', ')}</span>;
}

/** A region of the page that says what is wrong (or that it is loading, or empty) instead of a blank. */
export function Notice(props: { kind: 'loading' | 'empty' | 'error' | 'forbidden' | 'offline'; children: ComponentChildren }) {
  return <div class={`notice notice-${props.kind}`} role={props.kind === 'error' || props.kind === 'offline' ? 'alert' : 'status'}>{props.children}</div>;
}
