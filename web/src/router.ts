// Hash routes, so the hub serves one page and a reload keeps the place:
//   #/                                   the fleet
//   #/clusters/NAME                      a cluster's overview
//   #/clusters/NAME/TAB[/ITEM][?query]   resources, events, logs, addons, services, audit
import { useEffect, useState } from 'preact/hooks';

export type ClusterTab = 'overview' | 'resources' | 'events' | 'logs' | 'addons' | 'services' | 'audit';
export const CLUSTER_TABS: readonly ClusterTab[] = ['overview', 'resources', 'events', 'logs', 'addons', 'services', 'audit'];

export type Route =
  | { page: 'fleet'; query: URLSearchParams }
  | { page: 'cluster'; cluster: string; tab: ClusterTab; item: string | undefined; query: URLSearchParams }
  | { page: 'missing'; path: string };

export function parseRoute(hash: string): Route {
  const [path = '', search = ''] = hash.replace(/^#/, '').split('?');
  const query = new URLSearchParams(search);
  const parts = path.split('/').filter((p) => p !== '').map((p) => decodeURIComponent(p));
  if (parts.length === 0) return { page: 'fleet', query };
  const [first, cluster, tab = 'overview', item] = parts;
  if (first === 'clusters' && cluster !== undefined && (CLUSTER_TABS as string[]).includes(tab)) {
    return { page: 'cluster', cluster, tab: tab as ClusterTab, item, query };
  }
  return { page: 'missing', path };
}

/** The href of a route. */
export function href(parts: string[], query: Record<string, string | undefined> = {}): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value !== undefined && value !== '') params.set(key, value);
  const qs = params.toString();
  return `#/${parts.map(encodeURIComponent).join('/')}${qs ? `?${qs}` : ''}`;
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const update = (): void => { setRoute(parseRoute(location.hash)); };
    addEventListener('hashchange', update);
    return () => { removeEventListener('hashchange', update); };
  }, []);
  return route;
}

/** Changes the query of the current route without adding a history entry per keystroke. */
export function replaceQuery(query: Record<string, string | undefined>): void {
  const [path = ''] = location.hash.split('?');
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value !== undefined && value !== '') params.set(key, value);
  const qs = params.toString();
  history.replaceState(null, '', `${path}${qs ? `?${qs}` : ''}`);
  dispatchEvent(new HashChangeEvent('hashchange'));
}
