// Optional discovery of further kinds to cache (--inventory-discover): every
// resource the API server serves with list and watch, in each group's
// preferred version, that is not a built-in kind or a subresource.
import type { KindInfo } from '../../link/resources.ts';

/** How often discovery runs again (new CRDs, removed ones). */
export const REDISCOVER_INTERVAL_MS = 5 * 60_000;
/**
 * Groups not cached though watchable: events.k8s.io serves the same Events as
 * the core group, so caching both would hold every Event twice.
 */
const SKIPPED_GROUPS = new Set(['events.k8s.io']);

interface ApiResource {
  name?: string;
  singularName?: string;
  namespaced?: boolean;
  kind?: string;
  verbs?: string[];
  shortNames?: string[];
}

interface ApiGroupList {
  groups?: { name?: string; preferredVersion?: { groupVersion?: string; version?: string } }[];
}

export interface DiscoveryResult {
  kinds: KindInfo[];
  /** Groups whose resource list failed (e.g. an aggregated API that is down): keep what was found before. */
  failedGroups: string[];
  failures: string[];
}

export type GetJson = (path: string) => Promise<unknown>;

async function resourcesOf(getJson: GetJson, path: string): Promise<ApiResource[]> {
  const list = await getJson(path) as { resources?: ApiResource[] } | undefined;
  return list?.resources ?? [];
}

/** Finds every further listable and watchable kind; `known` are the kinds cached anyway. */
export async function discoverKinds(getJson: GetJson, known: readonly KindInfo[]): Promise<DiscoveryResult> {
  const versions: { group: string; version: string; path: string }[] = [{ group: '', version: 'v1', path: '/api/v1' }];
  const groups = await getJson('/apis') as ApiGroupList | undefined;
  for (const group of groups?.groups ?? []) {
    const name = group.name;
    const version = group.preferredVersion?.version;
    if (!name || !version || SKIPPED_GROUPS.has(name)) continue;
    versions.push({ group: name, version, path: `/apis/${name}/${version}` });
  }
  const failedGroups: string[] = [];
  const failures: string[] = [];
  const lists = await Promise.all(versions.map(async (gv) => {
    try {
      return { gv, resources: await resourcesOf(getJson, gv.path) };
    } catch (error) {
      failedGroups.push(gv.group);
      failures.push(`${gv.path}: ${(error as Error).message}`);
      return { gv, resources: [] };
    }
  }));
  const builtin = new Set(known.map((k) => `${k.group}/${k.resource.split('.')[0] ?? ''}`));
  const taken = new Set(known.map((k) => k.resource));
  const kinds: KindInfo[] = [];
  for (const { gv, resources } of lists) {
    for (const r of resources) {
      const plural = r.name ?? '';
      if (plural === '' || plural.includes('/') || !r.kind) continue;
      const verbs = r.verbs ?? [];
      if (!verbs.includes('list') || !verbs.includes('watch')) continue;
      if (builtin.has(`${gv.group}/${plural}`)) continue;
      // Plural names are unique per group only: qualify the key when another group has it.
      const resource = taken.has(plural) && gv.group !== '' ? `${plural}.${gv.group}` : plural;
      if (taken.has(resource)) continue;
      taken.add(resource);
      kinds.push({
        resource, kind: r.kind, group: gv.group, version: gv.version, namespaced: r.namespaced === true, shortNames: r.shortNames ?? [],
      });
    }
  }
  return { kinds, failedGroups, failures };
}
