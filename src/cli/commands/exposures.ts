// `uplink expose` and `uplink exposures`: publish a Service port of a
// cluster through the hub's Service gateway, list and delete what is
// published. The hub checks and stores each exposure and pushes the set to
// the cluster's agent, which reaches only what it holds.
import type { Command } from 'commander';
import type { ExposureView } from '../../hub/api/exposures.ts';
import { loadCliConfig } from '../cli-config.ts';
import { HubClient } from '../hub-client.ts';
import { formatAge, formatList, parseOutputFormat } from '../output.ts';
import { print } from '../terminal-text.ts';

/** SERVICE prefixes, as kubectl spells them. */
const SERVICE_PREFIXES: ReadonlySet<string> = new Set(['svc', 'service', 'services']);

/** The flags of `uplink expose`, as commander hands them over. */
export interface ExposeFlags {
  namespace: string;
  port: string;
  name?: string;
  minRole?: string;
}

/** SERVICE as `svc/NAME` (or `service/NAME`): the Service's name; the hub checks the name itself. */
export function parseServiceArgument(text: string): string {
  const slash = text.indexOf('/');
  const prefix = slash === -1 ? '' : text.slice(0, slash).toLowerCase();
  if (!SERVICE_PREFIXES.has(prefix) || slash === text.length - 1) throw new Error(`SERVICE must be svc/NAME, got ${JSON.stringify(text)}`);
  return text.slice(slash + 1);
}

/** The body of POST …/exposures for the command line; a decimal --port goes as a number, a port name as text. */
export function exposureBody(service: string, flags: ExposeFlags): Record<string, unknown> {
  const body: Record<string, unknown> = {
    namespace: flags.namespace, service: parseServiceArgument(service), port: /^[0-9]+$/.test(flags.port) ? Number(flags.port) : flags.port,
  };
  if (flags.name !== undefined) body.name = flags.name;
  if (flags.minRole !== undefined) body.minRole = flags.minRole;
  return body;
}

function exposuresPath(cluster: string, name?: string): string {
  const base = `/api/v1/clusters/${encodeURIComponent(cluster)}/exposures`;
  return name === undefined ? base : `${base}/${encodeURIComponent(name)}`;
}

/** The exposure's full address on the hub. */
export function exposureUrl(hubUrl: string, view: Pick<ExposureView, 'url'>): string {
  return new URL(view.url, hubUrl).toString();
}

const HEADERS = ['NAME', 'SERVICE', 'PORT', 'MIN-ROLE', 'URL', 'CREATED-BY', 'AGE'];

/** One row of `exposures list`. */
export function exposureRow(view: ExposureView, hubUrl: string, now = Date.now()): string[] {
  return [view.name, `${view.namespace}/${view.service}`, String(view.port), view.minRole, exposureUrl(hubUrl, view), view.createdBy,
    formatAge((now - Date.parse(view.createdAt)) / 1000)];
}

function registerExposeCommand(program: Command): void {
  program.command('expose')
    .description('publish a Service port of a cluster through the hub\'s Service gateway, and print its URL')
    .argument('<cluster>', 'cluster name or id')
    .argument('<service>', 'svc/NAME: the Service to publish')
    .requiredOption('-n, --namespace <namespace>', 'the Service\'s namespace')
    .requiredOption('--port <port>', 'the Service\'s port: its number or its name')
    .option('--name <name>', 'the exposure\'s name in its URL, a DNS label of at most 40 characters (default: the Service\'s name)')
    .option('--min-role <role>', 'the least role on the cluster that may open it: view, edit or admin (default view)')
    .addHelpText('after', `
Needs the admin role on the cluster. The hub serves the Service at
HUB/gw/CLUSTER/NAME/ to users whose role on the cluster is --min-role or
above; browsers sign in once, API clients send their token. The agent dials
only the Services published this way, at their ready endpoints, and refuses
loopback, link-local (cloud metadata) and API server addresses.

Example:
  uplink expose prod-eu svc/grafana -n monitoring --port 80`)
    .action(async (cluster: string, service: string, flags: ExposeFlags) => {
      const config = loadCliConfig();
      const view = await new HubClient(config).request<ExposureView>('POST', exposuresPath(cluster), exposureBody(service, flags));
      print(`Exposed ${view.namespace}/svc/${view.service}:${view.port} of cluster "${cluster}" as "${view.name}" (min role ${view.minRole}):`);
      print(exposureUrl(config.hubUrl, view));
    });
}

export function registerExposuresCommand(program: Command): void {
  registerExposeCommand(program);
  const exposures = program.command('exposures').alias('exposure').description('list and delete the Services a cluster publishes through the hub\'s Service gateway');

  exposures.command('list').alias('ls').description('list the exposures of a cluster with their URLs')
    .argument('<cluster>', 'cluster name or id')
    .option('-o, --output <format>', 'table, json, yaml or name', 'table')
    .action(async (cluster: string, flags: { output: string }) => {
      const format = parseOutputFormat(flags.output, ['table', 'json', 'yaml', 'name']);
      const config = loadCliConfig();
      const answer = await new HubClient(config).request<{ items: ExposureView[] }>('GET', exposuresPath(cluster));
      print(formatList({
        format, data: answer, items: answer.items, headers: HEADERS, row: (view) => exposureRow(view, config.hubUrl),
        empty: `No exposures on cluster "${cluster}" yet: uplink expose ${cluster} svc/NAME -n NAMESPACE --port PORT`,
      }));
    });

  exposures.command('delete').alias('rm').description('stop publishing an exposure; its URL stops working at once')
    .argument('<cluster>', 'cluster name or id')
    .argument('<name>', 'the exposure\'s name')
    .action(async (cluster: string, name: string) => {
      await new HubClient(loadCliConfig()).request('DELETE', exposuresPath(cluster, name));
      print(`Exposure "${name}" of cluster "${cluster}" deleted.`);
    });
}
