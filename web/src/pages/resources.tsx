// Resources of one kind, live, with a namespace and name filter; a row opens
// the object as YAML with the events about it. The Events tab is this page
// fixed to kind `events`. A pod's page has a terminal (terminal/terminal-panel.tsx).
import { useEffect, useMemo, useState } from 'preact/hooks';
import { stringify } from 'yaml';
import { apiPath, describeError } from '../api.ts';
import { HealthBadge, Notice } from '../components/bits.tsx';
import { useTick } from '../fleet-state.ts';
import { age, secondsSince } from '../format.ts';
import { useLiveList } from '../live-watch.ts';
import { href, replaceQuery } from '../router.ts';
import { useSession } from '../session.ts';
import { TerminalPanel } from '../terminal/terminal-panel.tsx';
import type { FleetItem, ResourceEventsResponse, ResourceKindsResponse, ResourceObjectResponse, ResourceRow } from '../types.ts';

const MAX_ROWS = 1000;

export function ResourcesTab(props: { cluster: FleetItem; query: URLSearchParams; item: string | undefined; fixedKind: string | undefined }) {
  const { api, fleet } = useSession();
  const cluster = props.cluster.name;
  const kind = props.fixedKind ?? props.query.get('kind') ?? 'pods';
  const namespace = props.query.get('namespace') ?? '';
  const filter = props.query.get('name') ?? '';
  const online = props.cluster.status === 'online';
  const [kinds, setKinds] = useState<ResourceKindsResponse | null>(null);
  const [namespaces, setNamespaces] = useState<string[]>([]);
  useEffect(() => {
    if (!online) return;
    void api.get<ResourceKindsResponse>(apiPath(['clusters', cluster, 'resources'])).then(setKinds).catch(() => undefined);
    void api.get<{ items: ResourceRow[] }>(apiPath(['clusters', cluster, 'resources', 'namespaces'], { limit: 1000 }))
      .then((list) => { setNamespaces(list.items.map((row) => row.name).sort()); }).catch(() => undefined);
  }, [api, cluster, online]);
  const live = useLiveList(cluster, kind, namespace, online);
  const now = useTick() + fleet.clockOffsetMs;
  const rows = useMemo(() => {
    const needle = filter.toLowerCase();
    return live.rows.filter((row) => row.name.toLowerCase().includes(needle))
      .sort((a, b) => (a.namespace ?? '').localeCompare(b.namespace ?? '') || a.name.localeCompare(b.name));
  }, [live.rows, filter]);
  const columns = useMemo(() => [...new Set(rows.slice(0, 50).flatMap((row) => Object.keys(row.columns)))], [rows]);
  const setQuery = (change: Record<string, string>): void => { replaceQuery({ kind: props.fixedKind ? undefined : kind, namespace, name: filter, ...change }); };
  const tab = props.fixedKind ? 'events' : 'resources';

  if (props.item !== undefined) {
    const [ns, name] = props.item.includes('~') ? props.item.split('~') : ['', props.item];
    return <ObjectView cluster={cluster} kind={kind} namespace={ns ?? ''} name={name ?? ''} back={href(['clusters', cluster, tab], { kind: props.fixedKind ? undefined : kind, namespace, name: filter })} />;
  }
  return (
    <div>
      <form class="filters" onSubmit={(e) => { e.preventDefault(); }}>
        {!props.fixedKind && (
          <>
            <label for="kind">Kind</label>
            <select id="kind" value={kind} onChange={(e) => { setQuery({ kind: (e.target as HTMLSelectElement).value }); }}>
              {(kinds?.items ?? [{ resource: kind, kind }]).map((k) => <option key={k.resource} value={k.resource}>{k.kind} ({k.resource})</option>)}
            </select>
          </>
        )}
        <label for="namespace">Namespace</label>
        <select id="namespace" value={namespace} onChange={(e) => { setQuery({ namespace: (e.target as HTMLSelectElement).value }); }}>
          <option value="">All namespaces</option>
          {namespaces.map((ns) => <option key={ns} value={ns}>{ns}</option>)}
        </select>
        <label for="name-filter">Name</label>
        <input id="name-filter" type="search" value={filter} placeholder="part of a name" onInput={(e) => { setQuery({ name: (e.target as HTMLInputElement).value }); }} />
        <span class="muted" aria-live="polite">{live.synced ? `${rows.length} ${kind}` : online ? 'loading…' : ''}</span>
      </form>
      {live.error && <Notice kind={live.error.status === 403 ? 'forbidden' : 'error'}>{live.error.message}{live.error.retrying ? ' Reconnecting…' : ''}</Notice>}
      {online && !live.synced && !live.error && <Notice kind="loading">Loading {kind}…</Notice>}
      {live.synced && rows.length === 0 && <Notice kind="empty">No {kind}{namespace ? ` in namespace ${namespace}` : ''}{filter ? ` matching “${filter}”` : ''}.</Notice>}
      {rows.length > 0 && (
        <div class="table-wrap">
          <table class="grid" aria-label={`${kind} in ${cluster}`}>
            <thead>
              <tr>
                <th scope="col">Name</th><th scope="col">Namespace</th><th scope="col">Status</th><th scope="col">Health</th>
                {columns.map((c) => <th key={c} scope="col">{c}</th>)}
                <th scope="col">Age</th>
              </tr>
            </thead>
            <tbody>
              {rows.slice(0, MAX_ROWS).map((row) => (
                <tr key={row.uid} data-row={row.name}>
                  <th scope="row"><a href={href(['clusters', cluster, tab, `${row.namespace ?? ''}~${row.name}`], { kind: props.fixedKind ? undefined : kind, namespace, name: filter })}>{row.name}</a></th>
                  <td>{row.namespace ?? '—'}</td>
                  <td>{row.status}</td>
                  <td><HealthBadge health={row.health} /></td>
                  {columns.map((c) => <td key={c}>{row.columns[c] === null || row.columns[c] === undefined ? '—' : String(row.columns[c])}</td>)}
                  <td>{age(secondsSince(row.createdAt, now))}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {rows.length > MAX_ROWS && <p class="muted">Showing {MAX_ROWS} of {rows.length}; pick a namespace or filter by name.</p>}
        </div>
      )}
    </div>
  );
}

function ObjectView(props: { cluster: string; kind: string; namespace: string; name: string; back: string }) {
  const { api } = useSession();
  const [object, setObject] = useState<ResourceObjectResponse | null>(null);
  const [events, setEvents] = useState<ResourceEventsResponse | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    const query = { namespace: props.namespace || undefined };
    api.get<ResourceObjectResponse>(apiPath(['clusters', props.cluster, 'resources', props.kind, props.name], query))
      .then(setObject).catch((e: unknown) => { setError(describeError(e)); });
    api.get<ResourceEventsResponse>(apiPath(['clusters', props.cluster, 'resources', props.kind, props.name, 'events'], query))
      .then(setEvents).catch(() => undefined);
  }, [api, props.cluster, props.kind, props.namespace, props.name]);
  return (
    <div>
      <p><a href={props.back}>← All {props.kind}</a></p>
      <h2>{props.kind}/{props.name}{props.namespace && <span class="muted"> in {props.namespace}</span>}</h2>
      {error && <Notice kind="error">{error}</Notice>}
      {!object && !error && <Notice kind="loading">Loading…</Notice>}
      {object && (
        <div class="split">
          <section aria-label="YAML">
            <h3>YAML</h3>
            <pre class="yaml" tabIndex={0}>{stringify(object.object)}</pre>
          </section>
          <section aria-label="Events">
            <h3>Events</h3>
            {events === null || events.items.length === 0 ? <p class="muted">No events about this object.</p> : (
              <ul class="events">
                {events.items.map((e) => <li key={e.uid}><strong>{String(e.columns.reason ?? e.status)}</strong> {String(e.columns.message ?? '')}</li>)}
              </ul>
            )}
          </section>
        </div>
      )}
      {object && props.kind === 'pods' && props.namespace !== '' && (
        <TerminalPanel cluster={props.cluster} namespace={props.namespace} pod={props.name} containers={containersOf(object.object)} />
      )}
    </div>
  );
}

/** The names of a pod's containers, from its spec. */
function containersOf(pod: unknown): string[] {
  const spec = (pod as { spec?: { containers?: { name?: unknown }[] } }).spec;
  return (spec?.containers ?? []).map((c) => c.name).filter((name): name is string => typeof name === 'string');
}
