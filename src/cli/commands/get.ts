// `uplink get`, `uplink events` and `uplink kinds`: live resources of a
// cluster, answered from its agent's inventory through the hub. Every answer
// that is stale, incomplete or from a cluster that is not online comes with
// a warning on stderr.
import type { Command } from 'commander';
import type { ClusterSummary, WithCluster } from '../../hub/resources/index.ts';
import {
  MAX_LIST_LIMIT, type InventoryFreshness, type KindStatus, type ResourceEventsResponse, type ResourceKindsResponse,
  type ResourceListResponse, type ResourceObjectResponse, type ResourceRow,
} from '../../link/resources.ts';
import { loadCliConfig } from '../cli-config.ts';
import { countFlag } from '../flags.ts';
import { HubClient, withQuery } from '../hub-client.ts';
import { formatData, formatList, parseOutputFormat } from '../output.ts';
import { cellText, eventColumns, freshnessWarnings, resourceColumns } from '../resource-view.ts';
import { watchResources } from './get-watch.ts';
import { print, printError } from '../terminal-text.ts';

type ListAnswer = WithCluster<ResourceListResponse>;

/** Pages a list follows before giving up: far beyond any inventory (a bound, not a limit anyone meets). */
const MAX_PAGES = 10_000;

interface GetFlags {
  namespace?: string;
  allNamespaces?: boolean;
  selector?: string;
  name?: string;
  limit?: number;
  continue?: string;
  watch?: boolean;
  output: string;
}

function clusterPath(cluster: string, rest: string): string {
  return `/api/v1/clusters/${encodeURIComponent(cluster)}${rest}`;
}

function warn(cluster: ClusterSummary, inventory: InventoryFreshness | undefined): void {
  for (const warning of freshnessWarnings(cluster, inventory)) printError(warning);
}

/** One page, or (without --limit) every page from the first or --continue on, as one answer. */
async function fetchList(client: HubClient, path: string, flags: GetFlags): Promise<ListAnswer> {
  const follow = flags.limit === undefined;
  const query = {
    namespace: flags.namespace, labelSelector: flags.selector, name: flags.name, limit: flags.limit ?? MAX_LIST_LIMIT, continue: flags.continue,
  };
  let answer = await client.request<ListAnswer>('GET', withQuery(path, query));
  for (let pages = 1; follow && answer.continue !== null && pages < MAX_PAGES; pages += 1) {
    const next = await client.request<ListAnswer>('GET', withQuery(path, { ...query, continue: answer.continue }));
    answer = { ...next, items: [...answer.items, ...next.items] };
  }
  return answer;
}

async function listResources(client: HubClient, path: string, flags: GetFlags, format: 'table' | 'wide' | 'json' | 'yaml'): Promise<void> {
  const answer = await fetchList(client, path, flags);
  const columns = resourceColumns({ withNamespace: answer.kind.namespaced && flags.namespace === undefined, wide: format === 'wide', rows: answer.items });
  const where = flags.namespace !== undefined && answer.kind.namespaced ? ` in namespace ${flags.namespace}` : '';
  print(formatList({
    format, data: answer, items: answer.items, headers: columns.headers, row: columns.cells, empty: `No ${answer.kind.resource} found${where}.`,
  }));
  warn(answer.cluster, answer.inventory);
  if (flags.limit !== undefined && answer.continue !== null) {
    printError(`more ${answer.kind.resource} match (${answer.total} in all): continue with --continue ${answer.continue}`);
  }
}

/** The object's row as a list shows it; a row made from its metadata if the list no longer has it. */
async function rowOf(client: HubClient, path: string, answer: WithCluster<ResourceObjectResponse>): Promise<ResourceRow> {
  const metadata = (answer.object.metadata ?? {}) as { name?: string; namespace?: string; uid?: string; creationTimestamp?: string };
  const name = metadata.name ?? '';
  const list = await client.request<ListAnswer>('GET', withQuery(path, { namespace: metadata.namespace, name, limit: MAX_LIST_LIMIT }));
  const row = list.items.find((r) => r.name === name && r.namespace === (metadata.namespace ?? null));
  return row ?? {
    kind: answer.kind.kind, namespace: metadata.namespace ?? null, name, uid: metadata.uid ?? '', resourceVersion: '',
    createdAt: metadata.creationTimestamp ?? null, labels: {}, status: '', health: 'unknown', columns: {},
  };
}

async function getOne(client: HubClient, path: string, name: string, flags: GetFlags, format: 'table' | 'wide' | 'json' | 'yaml'): Promise<void> {
  const answer = await client.request<WithCluster<ResourceObjectResponse>>('GET', withQuery(`${path}/${encodeURIComponent(name)}`, { namespace: flags.namespace }));
  if (format === 'json' || format === 'yaml') {
    print(formatData(answer.object, format));
  } else {
    const row = await rowOf(client, path, answer);
    const columns = resourceColumns({ withNamespace: false, wide: format === 'wide', rows: [row] });
    print(formatList({ format, data: answer, items: [row], headers: columns.headers, row: columns.cells, empty: '' }));
  }
  warn(answer.cluster, answer.inventory);
}

function kindRow(kind: KindStatus): string[] {
  return [
    kind.resource, kind.kind, kind.group || '(core)', kind.shortNames.join(',') || '-', String(kind.namespaced),
    kind.synced ? 'yes' : 'no', String(kind.objects), cellText(kind.error),
  ];
}

export function registerGetCommands(program: Command): void {
  program.command('get')
    .description('list the live resources of a cluster from its agent\'s inventory, show one, or watch them change')
    .argument('<cluster>', 'cluster name or id')
    .argument('<kind>', 'kind: plural, singular, Kind or short name (pods, deploy, svc, ...); see uplink kinds CLUSTER')
    .argument('[name]', 'one object: a table row, or the whole object with -o yaml|json (with -w: watch just it)')
    .option('-n, --namespace <namespace>', 'only this namespace (default: all namespaces; with NAME: default)')
    .option('-A, --all-namespaces', 'every namespace (the default without -n; as in kubectl, it wins over -n)')
    .option('-l, --selector <selector>', 'label selector, like app=web,tier!=db')
    .option('--name <substring>', 'only objects whose name contains this (case-insensitive)')
    .option('--limit <n>', `one page of at most N objects (1-${MAX_LIST_LIMIT}); the next --continue token goes to stderr`, countFlag('--limit'))
    .option('--continue <token>', 'go on from where a --limit page stopped')
    .option('-w, --watch', 'print the objects, then one line per change as it happens, until interrupted or the feed fails')
    .option('-o, --output <format>', 'table, wide (adds the kind\'s columns), json or yaml', 'table')
    .addHelpText('after', '\nWithout --limit, every page is fetched. A warning goes to stderr when the cluster is not online or its inventory is syncing or stale.')
    .action(async (cluster: string, kind: string, name: string | undefined, given: GetFlags) => {
      if (given.allNamespaces === true && name !== undefined) throw new Error('a resource cannot be retrieved by name across all namespaces');
      const flags: GetFlags = given.allNamespaces === true ? { ...given, namespace: undefined } : given;
      const format = parseOutputFormat(flags.output, ['table', 'wide', 'json', 'yaml']);
      const client = new HubClient(loadCliConfig());
      if (flags.watch) {
        const query = { namespace: flags.namespace, labelSelector: flags.selector, name: name ?? flags.name };
        await watchResources({
          client, path: withQuery(clusterPath(cluster, `/watch/${encodeURIComponent(kind)}`), query), format,
          allNamespaces: flags.namespace === undefined, exactName: name,
        });
        return;
      }
      const path = clusterPath(cluster, `/resources/${encodeURIComponent(kind)}`);
      if (name === undefined) await listResources(client, path, flags, format);
      else await getOne(client, path, name, flags, format);
    });

  program.command('events')
    .description('show the Events about one object, oldest first')
    .argument('<cluster>', 'cluster name or id')
    .argument('<kind>', 'kind of the object (pods, deploy, ...)')
    .argument('<name>', 'name of the object')
    .option('-n, --namespace <namespace>', 'namespace of the object (default: default)')
    .option('-o, --output <format>', 'table, json or yaml', 'table')
    .action(async (cluster: string, kind: string, name: string, flags: { namespace?: string; output: string }) => {
      const format = parseOutputFormat(flags.output, ['table', 'json', 'yaml']);
      const answer = await new HubClient(loadCliConfig()).request<WithCluster<ResourceEventsResponse>>('GET',
        withQuery(clusterPath(cluster, `/resources/${encodeURIComponent(kind)}/${encodeURIComponent(name)}/events`), { namespace: flags.namespace }));
      const columns = eventColumns();
      print(formatList({ format, data: answer, items: answer.items, headers: columns.headers, row: columns.cells, empty: `No events about ${kind} ${name}.` }));
      warn(answer.cluster, answer.inventory);
    });

  program.command('kinds')
    .description('list the kinds of resources a cluster\'s inventory holds, with their sync state')
    .argument('<cluster>', 'cluster name or id')
    .option('-o, --output <format>', 'table, json or yaml', 'table')
    .action(async (cluster: string, flags: { output: string }) => {
      const format = parseOutputFormat(flags.output, ['table', 'json', 'yaml']);
      const answer = await new HubClient(loadCliConfig()).request<WithCluster<ResourceKindsResponse>>('GET', clusterPath(cluster, '/resources'));
      const headers = ['RESOURCE', 'KIND', 'GROUP', 'SHORT NAMES', 'NAMESPACED', 'SYNCED', 'OBJECTS', 'ERROR'];
      print(formatList({ format, data: answer, items: answer.items, headers, row: kindRow, empty: 'The inventory holds no kinds yet.' }));
      warn(answer.cluster, answer.inventory);
    });
}
