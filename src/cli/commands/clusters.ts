import type { Command } from 'commander';
import type { CallerClusterView } from '../../hub/api/clusters.ts';
import type { InstallCommands } from '../../hub/install-command.ts';
import { loadCliConfig } from '../cli-config.ts';
import { HubClient } from '../hub-client.ts';
import { formatAge, formatData, formatTable, parseOutputFormat } from '../output.ts';

interface CreateResponse {
  cluster: CallerClusterView;
  token: string;
  install: InstallCommands;
}

interface RotateResponse {
  token: string;
  delivered: boolean;
  message: string;
  install: InstallCommands;
}

/** What -o wide adds, for --help. */
const WIDE_HELP = 'wide (adds role, id, cloud, region, agent, add-on sweep lag, labels)';

function client(): HubClient {
  return new HubClient(loadCliConfig());
}

/** Parses repeated `--label k=v` flags. */
export function parseLabels(values: readonly string[]): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const value of values) {
    const index = value.indexOf('=');
    if (index <= 0) throw new Error(`--label must be key=value, got '${value}'`);
    labels[value.slice(0, index)] = value.slice(index + 1);
  }
  return labels;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/**
 * The add-on sweep lag for the SWEEP column: `-` before the first report
 * (undefined from a hub that predates sweep reports), marked when sweeps stopped.
 */
export function sweepCell(sweep: CallerClusterView['addonSweep'] | undefined): string {
  if (sweep === null || sweep === undefined) return '-';
  return sweep.stopped ? `${formatAge(sweep.lagSeconds)} (sweeps stopped)` : formatAge(sweep.lagSeconds);
}

export function clusterRow(c: CallerClusterView, wide: boolean): string[] {
  const f = c.facts;
  const row = [
    c.name, c.status, f?.kubernetesVersion ?? '-', f?.distribution ?? '-',
    f ? `${f.nodes.ready}/${f.nodes.total}` : '-',
    f ? `${f.pods.running}/${f.pods.total}` : '-',
    formatAge(c.lastHeartbeatAgeSeconds),
  ];
  if (wide) {
    row.push(c.role, c.id, f?.cloud ?? '-', f?.region ?? '-', c.agentVersion ?? '-', sweepCell(c.addonSweep),
      Object.entries(c.labels).map(([k, v]) => `${k}=${v}`).join(',') || '-');
  }
  return row;
}

function printClusters(items: CallerClusterView[], output: string | undefined): void {
  const format = parseOutputFormat(output);
  if (format === 'json' || format === 'yaml') {
    console.log(formatData({ items }, format));
  } else if (format === 'name') {
    for (const c of items) console.log(c.name);
  } else {
    const headers = ['NAME', 'STATUS', 'VERSION', 'DISTRIBUTION', 'NODES', 'PODS', 'HEARTBEAT'];
    if (format === 'wide') headers.push('ROLE', 'ID', 'CLOUD', 'REGION', 'AGENT', 'SWEEP', 'LABELS');
    console.log(items.length === 0 ? 'No clusters yet: uplink clusters create NAME'
      : formatTable(headers, items.map((c) => clusterRow(c, format === 'wide'))));
  }
}

function printToken(token: string, install: InstallCommands): void {
  console.log(`\nCluster token (shown once, keep it secret):\n  ${token}\n`);
  console.log(`Install the agent in the cluster:\n  ${install.helm}\n`);
  console.log(`Or run it outside the cluster:\n  ${install.agent}`);
}

export function registerClustersCommand(program: Command): void {
  const clusters = program.command('clusters').alias('cluster').description('register and inspect clusters');

  clusters.command('create').description('register a cluster and print its token and install command once')
    .argument('<name>', 'cluster name (lowercase letters, digits and -)')
    .option('-l, --label <key=value>', 'a label (repeatable)', collect, [])
    .option('-o, --output <format>', 'text or json', 'text')
    .action(async (name: string, flags: { label: string[]; output: string }) => {
      const response = await client().request<CreateResponse>('POST', '/api/v1/clusters', { name, labels: parseLabels(flags.label) });
      if (flags.output === 'json') {
        console.log(JSON.stringify(response, null, 2));
        return;
      }
      console.log(`Cluster "${response.cluster.name}" created (id ${response.cluster.id}).`);
      printToken(response.token, response.install);
    });

  clusters.command('list').alias('ls').description('list clusters with their live status')
    .option('-o, --output <format>', `table, ${WIDE_HELP}, json, yaml or name`, 'table')
    .action(async (flags: { output: string }) => {
      const { items } = await client().request<{ items: CallerClusterView[] }>('GET', '/api/v1/clusters');
      printClusters(items, flags.output);
    });

  clusters.command('get').description('show one cluster: its live status, facts and last add-on sweep')
    .argument('<cluster>', 'name or id')
    .option('-o, --output <format>', `table, ${WIDE_HELP}, json or yaml`, 'yaml')
    .action(async (ref: string, flags: { output: string }) => {
      const view = await client().request<CallerClusterView>('GET', `/api/v1/clusters/${encodeURIComponent(ref)}`);
      const format = parseOutputFormat(flags.output, ['table', 'wide', 'json', 'yaml']);
      if (format === 'json' || format === 'yaml') console.log(formatData(view, format));
      else printClusters([view], format);
    });

  clusters.command('delete').alias('rm').description('delete a cluster; its agent is disconnected and its token stops working')
    .argument('<cluster>', 'name or id')
    .action(async (ref: string) => {
      await client().request('DELETE', `/api/v1/clusters/${encodeURIComponent(ref)}`);
      console.log(`Cluster "${ref}" deleted.`);
    });

  clusters.command('rotate-token').description('issue a new cluster token; a linked agent receives and stores it')
    .argument('<cluster>', 'name or id')
    .action(async (ref: string) => {
      const response = await client().request<RotateResponse>('POST', `/api/v1/clusters/${encodeURIComponent(ref)}/rotate-token`);
      console.log(response.message);
      if (!response.delivered) printToken(response.token, response.install);
    });
}
