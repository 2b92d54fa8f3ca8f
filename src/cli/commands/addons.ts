// `uplink addons`: declare the Helm add-ons a cluster should run. The hub
// validates and stores the spec; the agent does not install add-ons yet
// (issue 6 continues), so nothing reports a status back for now.
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { AddonView } from '../../hub/api/addons.ts';
import type { ChartSource } from '../../hub/addons/index.ts';
import { loadCliConfig } from '../cli-config.ts';
import { countFlag } from '../flags.ts';
import { HubClient } from '../hub-client.ts';
import { formatAge, formatData, formatList, parseOutputFormat } from '../output.ts';

/** The flags of `addons set`, as commander hands them over. */
export interface AddonSetFlags {
  chartRepo?: string;
  chart?: string;
  oci?: string;
  git?: string;
  gitPath?: string;
  gitRef?: string;
  gitTokenSecret?: string;
  chartVersion: string;
  namespace: string;
  values?: string;
  valuesInline?: string;
  historyLimit?: number;
  strictHealth?: boolean;
  dependsOn?: string;
  selfHeal?: boolean;
  autoPrune?: boolean;
  manual?: boolean;
}

const SOURCE_HELP = '--chart-repo URL --chart NAME, --oci REF, or --git URL --git-path PATH';

function client(): HubClient {
  return new HubClient(loadCliConfig());
}

function addonsPath(cluster: string, name?: string): string {
  const base = `/api/v1/clusters/${encodeURIComponent(cluster)}/addons`;
  return name === undefined ? base : `${base}/${encodeURIComponent(name)}`;
}

/** Refuses flags given without the one they belong with. */
function requireWith(flags: AddonSetFlags, owner: 'chartRepo' | 'git', dependents: readonly (keyof AddonSetFlags)[], ownerFlag: string): void {
  if (flags[owner] !== undefined) return;
  for (const key of dependents) {
    if (flags[key] !== undefined) throw new Error(`--${kebab(key)} goes with ${ownerFlag}`);
  }
}

function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);
}

/** A spec as the CLI sends it: fields the hub checks and completes. */
type SpecInput = Record<string, unknown>;

/** The chart source the flags name: exactly one of a repository, an OCI reference or a Git repository. */
export function sourceFromFlags(flags: AddonSetFlags): Record<string, Record<string, string>> {
  const given = [flags.chartRepo, flags.oci, flags.git].filter((value) => value !== undefined).length;
  if (given !== 1) throw new Error(`give exactly one chart source: ${SOURCE_HELP}`);
  requireWith(flags, 'chartRepo', ['chart'], '--chart-repo');
  requireWith(flags, 'git', ['gitPath', 'gitRef', 'gitTokenSecret'], '--git');
  if (flags.chartRepo !== undefined) {
    if (flags.chart === undefined) throw new Error('--chart-repo needs --chart NAME');
    return { repo: { url: flags.chartRepo, chart: flags.chart } };
  }
  if (flags.oci !== undefined) return { oci: { ref: flags.oci } };
  if (flags.git === undefined || flags.gitPath === undefined) throw new Error('--git needs --git-path PATH (the chart\'s directory in the repository)');
  // Absent, the hub fills in the ref (HEAD) and no token Secret.
  const git: Record<string, string> = { url: flags.git, path: flags.gitPath };
  if (flags.gitRef !== undefined) git.ref = flags.gitRef;
  if (flags.gitTokenSecret !== undefined) git.tokenSecret = flags.gitTokenSecret;
  return { git };
}

/**
 * The spec `addons set` sends for its flags. The hub validates every value
 * and fills in what is absent; `readFile` reads the -f values file.
 */
export function specFromFlags(flags: AddonSetFlags, readFile: (path: string) => string): SpecInput {
  if (flags.values !== undefined && flags.valuesInline !== undefined) throw new Error('give -f FILE or --values-inline YAML, not both');
  const spec: SpecInput = {
    source: sourceFromFlags(flags),
    version: flags.chartVersion,
    namespace: flags.namespace,
    strictHealthCheck: flags.strictHealth === true,
    dependsOn: (flags.dependsOn ?? '').split(',').map((name) => name.trim()).filter((name) => name !== ''),
    syncPolicy: { automated: flags.manual !== true, selfHeal: flags.selfHeal === true, autoPrune: flags.autoPrune === true },
  };
  if (flags.values !== undefined) spec.values = readValuesFile(flags.values, readFile);
  if (flags.valuesInline !== undefined) spec.values = flags.valuesInline;
  if (flags.historyLimit !== undefined) spec.revisionHistoryLimit = flags.historyLimit;
  return spec;
}

function readValuesFile(path: string, readFile: (path: string) => string): string {
  try {
    return readFile(path);
  } catch (error) {
    throw new Error(`cannot read the values file ${path}: ${(error as Error).message}`, { cause: error });
  }
}

/** The chart source in one short cell. */
export function describeSource(source: ChartSource): string {
  if ('repo' in source) return `${source.repo.chart} (${source.repo.url})`;
  if ('oci' in source) return source.oci.ref;
  return `${source.git.url}//${source.git.path}@${source.git.ref}`;
}

function policyCell(view: AddonView): string {
  const policy = view.spec.syncPolicy;
  return [policy.automated ? 'auto' : 'manual', ...(policy.selfHeal ? ['self-heal'] : []), ...(policy.autoPrune ? ['prune'] : [])].join(',');
}

function addonRow(view: AddonView, wide: boolean): string[] {
  const updatedSeconds = (Date.now() - Date.parse(view.updatedAt)) / 1000;
  // STATUS stays '-' until agents report add-ons; 'deleting' means marked for uninstall.
  const row = [view.name, describeSource(view.spec.source), view.spec.version, view.spec.namespace, String(view.generation),
    view.deletedAt === null ? '-' : 'deleting', formatAge(updatedSeconds)];
  if (wide) row.push(view.spec.dependsOn.join(',') || '-', policyCell(view));
  return row;
}

function registerSetCommand(addons: Command): void {
  addons.command('set').description('create or replace an add-on of a cluster (the agent does not install it yet)')
    .argument('<cluster>', 'cluster name or id')
    .argument('<name>', 'add-on name, also the Helm release name (DNS label, at most 53 characters)')
    .option('--chart-repo <url>', 'a Helm chart repository (with --chart)')
    .option('--chart <name>', 'the chart in --chart-repo')
    .option('--oci <ref>', 'an OCI chart reference, oci://host/path/chart (no tag: use --chart-version)')
    .option('--git <url>', 'a Git repository over https (with --git-path)')
    .option('--git-path <path>', 'the chart directory inside the --git repository')
    .option('--git-ref <ref>', 'branch, tag or commit of --git (default HEAD)')
    .option('--git-token-secret <name>', 'a Secret in the agent\'s namespace holding a token for a private --git repository')
    .requiredOption('--chart-version <version>', 'an exact chart version (1.2.3) or a semver range (^1.2)')
    .requiredOption('-n, --namespace <namespace>', 'the namespace to install into')
    .option('-f, --values <file>', 'a YAML values file')
    .option('--values-inline <yaml>', 'values as YAML text')
    .option('--history-limit <n>', 'release revisions Helm keeps, 1..100 (default 10)', countFlag('--history-limit'))
    .option('--strict-health', 'count only Healthy as healthy')
    .option('--depends-on <names>', 'add-ons of the cluster to install first, comma-separated')
    .option('--self-heal', 'restore drifted objects')
    .option('--auto-prune', 'delete objects the chart no longer renders')
    .option('--manual', 'apply changes only on a manual sync')
    .action(async (cluster: string, name: string, flags: AddonSetFlags) => {
      const spec = specFromFlags(flags, (path) => readFileSync(path, 'utf8'));
      const view = await client().request<AddonView>('PUT', addonsPath(cluster, name), spec);
      console.log(`Add-on "${view.name}" of cluster "${view.cluster}" stored (generation ${view.generation}); the agent does not install add-ons yet.`);
    });
}

export function registerAddonsCommand(program: Command): void {
  const addons = program.command('addons').alias('addon').description('declare the Helm add-ons a cluster should run');
  registerSetCommand(addons);

  addons.command('list').alias('ls').description('list the add-ons of a cluster')
    .argument('<cluster>', 'cluster name or id')
    .option('-o, --output <format>', 'table, wide, json, yaml or name', 'table')
    .action(async (cluster: string, flags: { output: string }) => {
      const format = parseOutputFormat(flags.output);
      const answer = await client().request<{ items: AddonView[] }>('GET', addonsPath(cluster));
      const headers = ['NAME', 'SOURCE', 'VERSION', 'NAMESPACE', 'GENERATION', 'STATUS', 'UPDATED'];
      console.log(formatList({
        format, data: answer, items: answer.items, headers: format === 'wide' ? [...headers, 'DEPENDS-ON', 'POLICY'] : headers,
        row: (view) => addonRow(view, format === 'wide'), empty: `No add-ons on cluster "${cluster}" yet: uplink addons set ${cluster} NAME ...`,
      }));
    });

  addons.command('get').description('show one add-on with its whole spec')
    .argument('<cluster>', 'cluster name or id')
    .argument('<name>', 'add-on name')
    .option('-o, --output <format>', 'yaml or json', 'yaml')
    .action(async (cluster: string, name: string, flags: { output: string }) => {
      const format = parseOutputFormat(flags.output, ['yaml', 'json']);
      console.log(formatData(await client().request<AddonView>('GET', addonsPath(cluster, name)), format));
    });

  addons.command('delete').alias('rm').description('mark an add-on for uninstall (refused while others depend on it)')
    .argument('<cluster>', 'cluster name or id')
    .argument('<name>', 'add-on name')
    .action(async (cluster: string, name: string) => {
      const view = await client().request<AddonView>('DELETE', addonsPath(cluster, name));
      console.log(`Add-on "${view.name}" of cluster "${view.cluster}" marked for uninstall (generation ${view.generation}); the agent does not act on it yet.`);
    });
}
