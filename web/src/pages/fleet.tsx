// The fleet: every cluster the user may see, live, with a map and a filter.
import { useMemo } from 'preact/hooks';
import { AddonCell, Labels, Notice, StatusBadge } from '../components/bits.tsx';
import { WorldMap } from '../components/world-map.tsx';
import { useTick } from '../fleet-state.ts';
import { age, secondsSince } from '../format.ts';
import { href, replaceQuery } from '../router.ts';
import { useSession } from '../session.ts';
import type { FleetItem } from '../types.ts';

/** Rows drawn at most; a narrower search shows the rest. */
const MAX_ROWS = 500;

function matches(item: FleetItem, words: string[]): boolean {
  const facts = item.facts;
  const hay = [
    item.name, item.id, item.status, item.agentVersion ?? '',
    facts?.kubernetesVersion ?? '', facts?.distribution ?? '', facts?.cloud ?? '', facts?.region ?? '', item.location?.name ?? '',
    ...Object.entries(item.labels).map(([k, v]) => `${k}=${v}`),
  ].join(' ').toLowerCase();
  return words.every((word) => hay.includes(word));
}

export function FleetPage(props: { query: URLSearchParams }) {
  const { fleet } = useSession();
  const now = useTick() + fleet.clockOffsetMs;
  const search = props.query.get('q') ?? '';
  const status = props.query.get('status') ?? '';
  const place = props.query.get('place') ?? '';
  const all = useMemo(() => [...(fleet.items?.values() ?? [])].sort((a, b) => a.name.localeCompare(b.name)), [fleet.items]);
  const shown = useMemo(() => {
    const words = search.toLowerCase().split(/\s+/).filter((w) => w !== '');
    return all.filter((item) => (status === '' || item.status === status) && (place === '' || item.location?.name === place) && matches(item, words));
  }, [all, search, status, place]);
  const setQuery = (change: Record<string, string>): void => { replaceQuery({ q: search, status, place, ...change }); };

  if (fleet.items === null) return <Notice kind={fleet.problem ? 'error' : 'loading'}>{fleet.problem ? fleet.problem.message : 'Loading the fleet…'}</Notice>;
  const online = all.filter((c) => c.status === 'online').length;
  return (
    <section aria-labelledby="fleet-title">
      <div class="page-head">
        <h1 id="fleet-title">Fleet</h1>
        <p class="summary" aria-live="polite">
          <span><strong data-testid="cluster-count">{all.length}</strong> {all.length === 1 ? 'cluster' : 'clusters'}</span>
          <span class="good"><strong>{online}</strong> online</span>
          <span class={all.length - online > 0 ? 'bad' : ''}><strong>{all.length - online}</strong> not online</span>
        </p>
      </div>
      {all.length === 0 ? (
        <Notice kind="empty">No clusters yet. Register one with <code>uplink clusters create NAME</code> and run the install command it prints.</Notice>
      ) : (
        <>
          <WorldMap items={all} selected={place} onSelect={(name) => { setQuery({ place: name === place ? '' : name }); }} />
          <form class="filters" role="search" onSubmit={(e) => { e.preventDefault(); }}>
            <label for="fleet-search">Search</label>
            <input id="fleet-search" type="search" placeholder="name, label=value, version, region…" value={search}
              onInput={(e) => { setQuery({ q: (e.target as HTMLInputElement).value }); }} />
            <label for="fleet-status">Status</label>
            <select id="fleet-status" value={status} onChange={(e) => { setQuery({ status: (e.target as HTMLSelectElement).value }); }}>
              <option value="">All</option>
              <option value="online">Online</option>
              <option value="offline">Offline</option>
              <option value="never-connected">Never connected</option>
            </select>
            {place && <button type="button" class="quiet" onClick={() => { setQuery({ place: '' }); }}>Clear place: {place}</button>}
            <span class="muted" aria-live="polite">{shown.length === all.length ? `${all.length} shown` : `${shown.length} of ${all.length} match`}</span>
          </form>
          {shown.length === 0 ? <Notice kind="empty">No cluster matches this filter.</Notice> : <FleetTable items={shown.slice(0, MAX_ROWS)} now={now} />}
          {shown.length > MAX_ROWS && <p class="muted">Showing the first {MAX_ROWS} of {shown.length}; narrow the search to see the rest.</p>}
        </>
      )}
    </section>
  );
}

function FleetTable(props: { items: FleetItem[]; now: number }) {
  return (
    <div class="table-wrap">
      <table class="grid" aria-label="Clusters">
        <thead>
          <tr>
            <th scope="col">Cluster</th><th scope="col">Status</th><th scope="col">Heartbeat</th><th scope="col">Kubernetes</th>
            <th scope="col">Distribution</th><th scope="col">Nodes</th><th scope="col">Pods</th><th scope="col">Location</th>
            <th scope="col">Labels</th><th scope="col">Add-ons</th>
          </tr>
        </thead>
        <tbody>
          {props.items.map((item) => <FleetRow key={item.id} item={item} now={props.now} />)}
        </tbody>
      </table>
    </div>
  );
}

function FleetRow(props: { item: FleetItem; now: number }) {
  const { item } = props;
  const facts = item.facts;
  const beat = secondsSince(item.lastHeartbeatAt, props.now);
  return (
    <tr data-cluster-row={item.name} data-status={item.status}>
      <th scope="row"><a href={href(['clusters', item.name])}>{item.name}</a></th>
      <td><StatusBadge status={item.status} /></td>
      <td>{beat === null ? <span class="muted">never</span> : `${age(beat)} ago`}</td>
      <td>{facts?.kubernetesVersion ?? '—'}</td>
      <td>{facts ? `${facts.distribution}${facts.cloud ? ` · ${facts.cloud}` : ''}` : '—'}</td>
      <td data-nodes>{facts ? `${facts.nodes.ready}/${facts.nodes.total}` : '—'}</td>
      <td>{facts ? <PodCounts pods={facts.pods} /> : '—'}</td>
      <td>{item.location?.name ?? <span class="muted">unknown</span>}</td>
      <td><Labels labels={item.labels} /></td>
      <td><AddonCell summary={item.addons} /></td>
    </tr>
  );
}

function PodCounts(props: { pods: NonNullable<FleetItem['facts']>['pods'] }) {
  const { pods } = props;
  return (
    <span class="pods" title={`running ${pods.running}, pending ${pods.pending}, succeeded ${pods.succeeded}, failed ${pods.failed}, unknown ${pods.unknown}`}>
      <span class="good">{pods.running} running</span>
      {pods.pending > 0 && <span class="warn"> · {pods.pending} pending</span>}
      {pods.failed > 0 && <span class="bad"> · {pods.failed} failed</span>}
    </span>
  );
}
