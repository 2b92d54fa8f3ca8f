// One cluster: its live state from the fleet feed, and a tab per view.
import { Notice, StatusBadge, Labels, AddonCell } from '../components/bits.tsx';
import { useTick } from '../fleet-state.ts';
import { age, localTime, secondsSince } from '../format.ts';
import { CLUSTER_TABS, href, type ClusterTab, type Route } from '../router.ts';
import { useSession } from '../session.ts';
import type { FleetItem } from '../types.ts';
import { AddonsTab } from './addons.tsx';
import { AuditTab } from './audit.tsx';
import { LogsTab } from './logs.tsx';
import { ResourcesTab } from './resources.tsx';
import { ServicesTab } from './services.tsx';

const TAB_NAMES: Record<ClusterTab, string> = {
  overview: 'Overview', resources: 'Resources', events: 'Events', logs: 'Logs', addons: 'Add-ons', services: 'Services', audit: 'Audit log',
};

type ClusterRoute = Extract<Route, { page: 'cluster' }>;

export function ClusterPage(props: { route: ClusterRoute }) {
  const { fleet } = useSession();
  const { route } = props;
  if (fleet.items === null) return <Notice kind="loading">Loading…</Notice>;
  const cluster = [...fleet.items.values()].find((c) => c.name === route.cluster || c.id === route.cluster);
  if (!cluster) {
    return <Notice kind="empty">There is no cluster “{route.cluster}” that you may see. <a href="#/">Back to the fleet</a>.</Notice>;
  }
  return (
    <section aria-labelledby="cluster-title">
      <nav class="crumbs" aria-label="Breadcrumb"><a href="#/">Fleet</a> / <span>{cluster.name}</span></nav>
      <div class="page-head">
        <h1 id="cluster-title">{cluster.name}</h1>
        <StatusBadge status={cluster.status} />
        <span class="muted">your role: <strong data-testid="role">{cluster.role}</strong></span>
      </div>
      <nav class="tabs" aria-label="Cluster views">
        {CLUSTER_TABS.map((tab) => (
          <a key={tab} href={href(['clusters', cluster.name, ...(tab === 'overview' ? [] : [tab])])} aria-current={route.tab === tab ? 'page' : undefined}>{TAB_NAMES[tab]}</a>
        ))}
      </nav>
      {cluster.status !== 'online' && route.tab !== 'overview' && route.tab !== 'audit' && route.tab !== 'addons' && route.tab !== 'services' && (
        <Notice kind="offline">Cluster {cluster.name} is {cluster.status === 'offline' ? 'offline: its agent is not linked to the hub' : 'not connected yet'}. Live views come back when its agent links again.</Notice>
      )}
      {route.tab === 'overview' && <Overview cluster={cluster} />}
      {route.tab === 'resources' && <ResourcesTab cluster={cluster} query={route.query} item={route.item} fixedKind={undefined} />}
      {route.tab === 'events' && <ResourcesTab cluster={cluster} query={route.query} item={route.item} fixedKind="events" />}
      {route.tab === 'logs' && <LogsTab cluster={cluster} query={route.query} />}
      {route.tab === 'addons' && <AddonsTab cluster={cluster} addon={route.item} />}
      {route.tab === 'services' && <ServicesTab cluster={cluster} />}
      {route.tab === 'audit' && <AuditTab cluster={cluster} />}
    </section>
  );
}

function Overview(props: { cluster: FleetItem }) {
  const { fleet } = useSession();
  const now = useTick() + fleet.clockOffsetMs;
  const c = props.cluster;
  const f = c.facts;
  const rows: [string, preact.ComponentChildren][] = [
    ['Status', <StatusBadge status={c.status} />],
    ['Last heartbeat', c.lastHeartbeatAt ? `${age(secondsSince(c.lastHeartbeatAt, now))} ago (${localTime(c.lastHeartbeatAt)})` : 'never'],
    ['Offline after', `${fleet.offlineAfterSeconds} s without a heartbeat`],
    ['Kubernetes', f?.kubernetesVersion ?? '—'],
    ['Distribution', f ? `${f.distribution}${f.cloud ? ` on ${f.cloud}` : ''}` : '—'],
    ['Region', f?.region ? `${f.region}${f.zones.length ? ` (${f.zones.join(', ')})` : ''}` : '—'],
    ['Location', c.location ? `${c.location.name} (by ${c.location.source === 'region' ? 'cloud region' : 'egress IP'})` : 'unknown'],
    ['Nodes ready', f ? <span data-testid="nodes">{f.nodes.ready}/{f.nodes.total}</span> : '—'],
    ['Pods', f ? `${f.pods.running} running, ${f.pods.pending} pending, ${f.pods.succeeded} succeeded, ${f.pods.failed} failed, ${f.pods.unknown} unknown` : '—'],
    ['API server', f ? `livez ${f.apiServer.livez ? 'ok' : 'failing'}, readyz ${f.apiServer.readyz ? 'ok' : 'failing'}` : '—'],
    ['Inventory', f?.inventory ? `${f.inventory.synced ? 'synced' : 'syncing'}: ${f.inventory.objects} objects in ${f.inventory.syncedKinds}/${f.inventory.kinds} kinds` : '—'],
    ['Agent', f ? `${f.agent.version} on Node ${f.agent.nodeVersion}, up ${age(f.agent.uptimeSeconds)}, ${Math.round(f.agent.memoryRssBytes / 1048576)} MiB` : c.agentVersion ?? '—'],
    ['Agent leader', f?.leader ? <span data-testid="leader">{f.leader.pod} (term {f.leader.term}, since {localTime(f.leader.since)})</span> : 'one agent (no leader election)'],
    ['Egress IP', f?.egressIp ?? '—'],
    ['Add-ons', <AddonCell summary={c.addons} />],
    ['Add-on sweeps', c.addonSweep ? `${c.addonSweep.stopped ? 'stopped' : 'running'}, every ${c.addonSweep.intervalSeconds} s, last ${localTime(c.addonSweep.lastSweepAt)}` : '—'],
    ['Labels', <Labels labels={c.labels} />],
    ['Connected since', c.connected ? localTime(c.connectedAt) : `disconnected ${localTime(c.disconnectedAt)}`],
    ['Registered', localTime(c.createdAt)],
  ];
  return (
    <dl class="facts">
      {rows.map(([term, value]) => <div key={term}><dt>{term}</dt><dd>{value}</dd></div>)}
    </dl>
  );
}
