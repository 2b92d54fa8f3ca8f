// `uplink addons`: declare the Helm add-ons a cluster should run, and follow
// what its agent reports about them. The hub validates and stores the spec
// and the agent's statuses, and forwards rollback and sync to the agent;
// commands that wait poll the add-on's status (addons-wait.ts).
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { AddonRevision } from '../../link/addons.ts';
import type { AddonOperationAnswer, AddonView } from '../../hub/api/addons.ts';
import type { AddonAction, ChartSource } from '../../hub/addons/index.ts';
import { loadCliConfig } from '../cli-config.ts';
import { countFlag, durationFlag } from '../flags.ts';
import { HubClient } from '../hub-client.ts';
import { formatAge, formatData, formatList, parseOutputFormat } from '../output.ts';
import {
  chartCell, formatAddonStatus, healthCell, HISTORY_HEADERS, historyRow, phaseCell, revisionCell,
} from './addons-status.ts';
import {
  DEFAULT_WAIT_SECONDS, formatWaitTime, generationCheck, operationCheck, waitForAddon, type WaitCheck,
} from './addons-wait.ts';
import { print, printError } from '../terminal-text.ts';

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
  const row = [view.name, view.spec.version, phaseCell(view), revisionCell(view), healthCell(view), formatAge(updatedSeconds)];
  if (wide) {
    row.push(describeSource(view.spec.source), chartCell(view), view.spec.namespace, String(view.generation),
      view.spec.dependsOn.join(',') || '-', policyCell(view));
  }
  return row;
}

const LIST_HEADERS = ['NAME', 'VERSION', 'PHASE', 'REVISION', 'HEALTH', 'UPDATED'];
const WIDE_HEADERS = [...LIST_HEADERS, 'SOURCE', 'CHART', 'NAMESPACE', 'GENERATION', 'DEPENDS-ON', 'POLICY'];

/** The wait flags of set, delete, uninstall, rollback and sync. */
interface WaitFlags {
  wait?: boolean;
  /** Seconds. */
  timeout?: number;
}

/** --wait (or --no-wait where waiting is the default) and --timeout; `until` says what the wait is for. */
function addWaitFlags(command: Command, options: { byDefault: boolean; until: string }): Command {
  const timeout = `how long to wait, like 30s, 5m or 1h (default ${formatWaitTime(DEFAULT_WAIT_SECONDS)})`;
  return options.byDefault
    ? command.option('--no-wait', `return at once instead of waiting until ${options.until}`).option('--timeout <duration>', timeout, durationFlag('--timeout'))
    : command.option('--wait', `wait until ${options.until}`).option('--timeout <duration>', `with --wait: ${timeout}`, durationFlag('--timeout'));
}

/** Polls the add-on until `check` is done; prints the outcome, or throws it (exit 1) when it is a failure or a timeout. */
async function waitAndReport(hub: HubClient, cluster: string, name: string, wait: { check: WaitCheck; what: string; flags: WaitFlags }): Promise<void> {
  const timeoutSeconds = wait.flags.timeout ?? DEFAULT_WAIT_SECONDS;
  printError(`Waiting up to ${formatWaitTime(timeoutSeconds)} for ${wait.what} (interrupting stops the wait, not the agent)...`);
  const outcome = await waitForAddon({ fetch: () => hub.request<AddonView>('GET', addonsPath(cluster, name)), check: wait.check, timeoutSeconds, what: wait.what });
  if (!outcome.ok) throw new Error(outcome.message);
  print(outcome.message);
}

function registerSetCommand(addons: Command): void {
  const set = addons.command('set').description('create or replace an add-on of a cluster; its agent installs or upgrades it')
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
    .option('--manual', 'apply changes only on a manual sync');
  addWaitFlags(set, { byDefault: false, until: 'the agent reports it deployed (or failed)' }).action(async (cluster: string, name: string, flags: AddonSetFlags & WaitFlags) => {
    const spec = specFromFlags(flags, (path) => readFileSync(path, 'utf8'));
    const hub = client();
    const view = await hub.request<AddonView>('PUT', addonsPath(cluster, name), spec);
    print(`Add-on "${view.name}" of cluster "${view.cluster}" stored (generation ${view.generation}).`);
    if (flags.wait !== true) return;
    if (!view.spec.syncPolicy.automated) {
      print(`Automated sync is off for "${view.name}": nothing to wait for until uplink addons sync ${cluster} ${name}`);
      return;
    }
    const what = `${view.name} to be deployed at generation ${view.generation}`;
    await waitAndReport(hub, cluster, name, { check: generationCheck(view.generation, 'Deployed'), what, flags });
  });
}

/** delete (no wait unless --wait) and uninstall (waits unless --no-wait): the hub's DELETE. */
function registerDeleteCommands(addons: Command): void {
  const run = async (cluster: string, name: string, flags: WaitFlags): Promise<void> => {
    const hub = client();
    const view = await hub.request<AddonView>('DELETE', addonsPath(cluster, name));
    print(`Add-on "${view.name}" of cluster "${view.cluster}" marked for uninstall (generation ${view.generation}).`);
    if (flags.wait !== true) return;
    await waitAndReport(hub, cluster, name, { check: generationCheck(view.generation, 'Uninstalled'), what: `${view.name} to be uninstalled`, flags });
  };
  for (const [command, waits] of [['delete', false], ['uninstall', true]] as const) {
    const described = addons.command(command)
      .description(`mark an add-on for uninstall (refused while others depend on it)${waits ? ' and wait until its release is gone' : ''}`)
      .argument('<cluster>', 'cluster name or id')
      .argument('<name>', 'add-on name');
    if (command === 'delete') described.alias('rm');
    addWaitFlags(described, { byDefault: waits, until: 'the agent reports the release gone (or failed)' }).action(run);
  }
}

/** rollback and sync: forwarded to the agent by the hub (edit or admin); they wait for the outcome unless --no-wait. */
function registerOperationCommands(addons: Command): void {
  const run = async (cluster: string, name: string, action: AddonAction, revision: number | undefined, flags: WaitFlags & { outsideWindow?: boolean }): Promise<void> => {
    const hub = client();
    const body = revision === undefined ? (flags.outsideWindow === true ? { allowOutsideWindow: true } : {}) : { revision };
    const { operationId } = await hub.request<AddonOperationAnswer>('POST', `${addonsPath(cluster, name)}/${action}`, body);
    const what = revision === undefined ? `the sync of ${name}` : `the rollback of ${name} to revision ${revision}`;
    if (flags.wait === false) {
      print(`Queued ${what} (operation ${operationId}); see uplink addons status ${cluster} ${name}`);
      return;
    }
    const success = revision === undefined ? `synced ${name}` : `rolled back ${name} to revision ${revision}`;
    await waitAndReport(hub, cluster, name, { check: operationCheck(operationId, what, success), what, flags });
  };
  const rollback = addons.command('rollback').description('roll an add-on\'s release back to an earlier revision and wait for the outcome')
    .argument('<cluster>', 'cluster name or id')
    .argument('<name>', 'add-on name')
    .argument('<revision>', 'the release revision to return to (see uplink addons history)', countFlag('REVISION'));
  addWaitFlags(rollback, { byDefault: true, until: 'the agent reports the outcome' }).action((cluster: string, name: string, revision: number, flags: WaitFlags) => run(cluster, name, 'rollback', revision, flags));
  const sync = addons.command('sync').description('apply an add-on\'s desired spec now (also with a manual sync policy) and wait for the outcome')
    .argument('<cluster>', 'cluster name or id')
    .argument('<name>', 'add-on name')
    .option('--outside-window', 'run even outside the add-on\'s sync window');
  addWaitFlags(sync, { byDefault: true, until: 'the agent reports the outcome' })
    .action((cluster: string, name: string, flags: WaitFlags & { outsideWindow?: boolean }) => run(cluster, name, 'sync', undefined, flags));
}

/** status and history: what the agent last reported. */
function registerStatusCommands(addons: Command): void {
  addons.command('status').description('show what the agent last reported about an add-on: phase, release, health, last operation')
    .argument('<cluster>', 'cluster name or id')
    .argument('<name>', 'add-on name')
    .option('-o, --output <format>', 'yaml or json (default: a summary)')
    .action(async (cluster: string, name: string, flags: { output?: string }) => {
      const view = await client().request<AddonView>('GET', addonsPath(cluster, name));
      if (flags.output === undefined) {
        print(formatAddonStatus(view));
        return;
      }
      const { generation, deletedAt, statusReportedAt, status } = view;
      const data = { cluster: view.cluster, name: view.name, generation, deletedAt, statusReportedAt, status };
      print(formatData(data, parseOutputFormat(flags.output, ['yaml', 'json'])));
    });

  addons.command('history').description('list the release revisions of an add-on, oldest first, as the agent last reported them')
    .argument('<cluster>', 'cluster name or id')
    .argument('<name>', 'add-on name')
    .option('-o, --output <format>', 'table, json or yaml', 'table')
    .action(async (cluster: string, name: string, flags: { output: string }) => {
      const format = parseOutputFormat(flags.output, ['table', 'json', 'yaml']);
      const answer = await client().request<{ items: AddonRevision[] }>('GET', `${addonsPath(cluster, name)}/history`);
      print(formatList({
        format, data: answer, items: answer.items, headers: HISTORY_HEADERS, row: historyRow,
        empty: `No revisions of add-on "${name}" reported yet: see uplink addons status ${cluster} ${name}`,
      }));
    });
}

export function registerAddonsCommand(program: Command): void {
  const addons = program.command('addons').alias('addon').description('declare the Helm add-ons a cluster should run, and follow them');
  registerSetCommand(addons);

  addons.command('list').alias('ls').description('list the add-ons of a cluster with what their agent reported')
    .argument('<cluster>', 'cluster name or id')
    .option('-o, --output <format>', 'table, wide, json, yaml or name', 'table')
    .action(async (cluster: string, flags: { output: string }) => {
      const format = parseOutputFormat(flags.output);
      const answer = await client().request<{ items: AddonView[] }>('GET', addonsPath(cluster));
      print(formatList({
        format, data: answer, items: answer.items, headers: format === 'wide' ? WIDE_HEADERS : LIST_HEADERS,
        row: (view) => addonRow(view, format === 'wide'), empty: `No add-ons on cluster "${cluster}" yet: uplink addons set ${cluster} NAME ...`,
      }));
    });

  addons.command('get').description('show one add-on with its whole spec and status')
    .argument('<cluster>', 'cluster name or id')
    .argument('<name>', 'add-on name')
    .option('-o, --output <format>', 'yaml or json', 'yaml')
    .action(async (cluster: string, name: string, flags: { output: string }) => {
      const format = parseOutputFormat(flags.output, ['yaml', 'json']);
      print(formatData(await client().request<AddonView>('GET', addonsPath(cluster, name)), format));
    });

  registerStatusCommands(addons);
  registerOperationCommands(addons);
  registerDeleteCommands(addons);
}
