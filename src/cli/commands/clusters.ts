import { setTimeout as sleep } from 'node:timers/promises';
import type { Command } from 'commander';
import { CLUSTER_LIST_MAX_LIMIT } from '../../hub/api/cluster-pages.ts';
import type { CallerClusterView } from '../../hub/api/clusters.ts';
import type { InstallCommands } from '../../hub/install-command.ts';
import type { AgentUpgradeAccepted } from '../../link/protocol.ts';
import { loadCliConfig } from '../cli-config.ts';
import { durationFlag } from '../flags.ts';
import { HubApiError, HubClient } from '../hub-client.ts';
import { formatAge, formatData, formatTable, parseOutputFormat } from '../output.ts';
import { DEFAULT_WAIT_SECONDS, formatWaitTime, POLL_INTERVAL_MS, type WaitOptions, type WaitOutcome } from './addons-wait.ts';
import { print, printError } from '../terminal-text.ts';

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
const WIDE_HELP = 'wide (adds role, id, cloud, region, egress IP, agent, add-on sweep lag, labels)';

/** Every cluster the caller may see, page after page. */
export function listClusters(hub: HubClient): Promise<CallerClusterView[]> {
  return hub.listAll<CallerClusterView>('/api/v1/clusters', CLUSTER_LIST_MAX_LIMIT);
}

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

/** The AGENT cell: the agent's version, with its self-upgrade while one runs or after one failed. */
export function agentCell(c: CallerClusterView): string {
  const version = c.agentVersion ?? '-';
  const upgrade = c.facts?.agentUpgrade;
  if (upgrade === undefined || upgrade.state === 'succeeded') return version;
  return `${version} (upgrade to ${upgrade.version} ${upgrade.state})`;
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
    row.push(c.role, c.id, f?.cloud ?? '-', f?.region ?? '-', f?.egressIp ?? '-', agentCell(c), f?.leader?.pod ?? '-', sweepCell(c.addonSweep),
      Object.entries(c.labels).map(([k, v]) => `${k}=${v}`).join(',') || '-');
  }
  return row;
}

function printClusters(items: CallerClusterView[], output: string | undefined): void {
  const format = parseOutputFormat(output);
  if (format === 'json' || format === 'yaml') {
    print(formatData({ items }, format));
  } else if (format === 'name') {
    for (const c of items) print(c.name);
  } else {
    const headers = ['NAME', 'STATUS', 'VERSION', 'DISTRIBUTION', 'NODES', 'PODS', 'HEARTBEAT'];
    if (format === 'wide') headers.push('ROLE', 'ID', 'CLOUD', 'REGION', 'EGRESS-IP', 'AGENT', 'LEADER', 'SWEEP', 'LABELS');
    print(items.length === 0 ? 'No clusters yet: uplink clusters create NAME'
      : formatTable(headers, items.map((c) => clusterRow(c, format === 'wide'))));
  }
}

function printToken(token: string, install: InstallCommands): void {
  print(`\nCluster token (shown once, keep it secret):\n  ${token}\n`);
  print(`Install the agent in the cluster:\n  ${install.helm}\n`);
  print(`Or run it outside the cluster:\n  ${install.agent}`);
}

/** Done once the cluster's agent reports the upgrade `operationId` finished: its outcome; undefined until then. */
export function agentUpgradeOutcome(view: CallerClusterView, operationId: string): WaitOutcome | undefined {
  const upgrade = view.facts?.agentUpgrade;
  if (upgrade?.operationId !== operationId || upgrade.state === 'running') return undefined;
  const what = `the upgrade of the agent of cluster "${view.name}" to chart version ${upgrade.version}`;
  return upgrade.state === 'succeeded' ? { ok: true, message: `${what} succeeded: ${upgrade.message}` } : { ok: false, message: `${what} failed: ${upgrade.message}` };
}

/** The timing of an add-on wait; `fetch` gets the cluster now (a GET of it). */
export type AgentUpgradeWait = Omit<WaitOptions, 'fetch' | 'check' | 'what'> & { fetch: () => Promise<CallerClusterView>; operationId: string };

/**
 * Polls the cluster until its agent reports the upgrade's outcome, or the
 * timeout passes (not ok). The hub being briefly unreachable or failing is
 * waited out; the cluster going offline too, as the upgrade replaces the
 * agent's pod.
 */
export async function waitForAgentUpgrade(wait: AgentUpgradeWait): Promise<WaitOutcome> {
  const now = wait.now ?? Date.now;
  const pause = wait.sleep ?? ((ms: number) => sleep(ms));
  const giveUpAt = now() + wait.timeoutSeconds * 1000;
  let seen: CallerClusterView['facts'] = null;
  for (;;) {
    const view = await wait.fetch().catch((error: unknown) => {
      if (error instanceof HubApiError && (error.status === 0 || error.status >= 500)) return undefined;
      throw error;
    });
    seen = view?.facts ?? seen;
    const outcome = view && agentUpgradeOutcome(view, wait.operationId);
    if (outcome) return outcome;
    if (now() >= giveUpAt) break;
    await pause(wait.intervalMs ?? POLL_INTERVAL_MS);
  }
  const last = seen?.agentUpgrade?.operationId === wait.operationId ? `still ${seen.agentUpgrade.state}: ${seen.agentUpgrade.message}` : 'no report of it from the agent yet';
  return { ok: false, message: `gave up waiting for the agent upgrade after ${formatWaitTime(wait.timeoutSeconds)} (${last}); the agent goes on, see uplink clusters get` };
}

/** `clusters upgrade-agent`: asks the hub, then waits for the outcome unless --no-wait. */
async function upgradeAgent(ref: string, flags: { version: string; wait: boolean; timeout?: number }): Promise<void> {
  const hub = client();
  const path = `/api/v1/clusters/${encodeURIComponent(ref)}`;
  const { operationId } = await hub.request<AgentUpgradeAccepted>('POST', `${path}/agent/upgrade`, { version: flags.version });
  print(`Asked the agent of cluster "${ref}" to upgrade to chart version ${flags.version} (operation ${operationId}).`);
  if (!flags.wait) return;
  const timeoutSeconds = flags.timeout ?? DEFAULT_WAIT_SECONDS;
  printError(`Waiting up to ${formatWaitTime(timeoutSeconds)} for the outcome (interrupting stops the wait, not the upgrade)...`);
  const outcome = await waitForAgentUpgrade({ fetch: () => hub.request<CallerClusterView>('GET', path), operationId, timeoutSeconds });
  if (!outcome.ok) throw new Error(outcome.message);
  print(outcome.message);
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
        print(formatData(response, 'json'));
        return;
      }
      print(`Cluster "${response.cluster.name}" created (id ${response.cluster.id}).`);
      printToken(response.token, response.install);
    });

  clusters.command('list').alias('ls').description('list clusters with their live status')
    .option('-o, --output <format>', `table, ${WIDE_HELP}, json, yaml or name`, 'table')
    .action(async (flags: { output: string }) => {
      printClusters(await listClusters(client()), flags.output);
    });

  clusters.command('get').description('show one cluster: its live status, facts and last add-on sweep')
    .argument('<cluster>', 'name or id')
    .option('-o, --output <format>', `table, ${WIDE_HELP}, json or yaml`, 'yaml')
    .action(async (ref: string, flags: { output: string }) => {
      const view = await client().request<CallerClusterView>('GET', `/api/v1/clusters/${encodeURIComponent(ref)}`);
      const format = parseOutputFormat(flags.output, ['table', 'wide', 'json', 'yaml']);
      if (format === 'json' || format === 'yaml') print(formatData(view, format));
      else printClusters([view], format);
    });

  clusters.command('delete').alias('rm').description('delete a cluster; its agent is disconnected and its token stops working')
    .argument('<cluster>', 'name or id')
    .action(async (ref: string) => {
      await client().request('DELETE', `/api/v1/clusters/${encodeURIComponent(ref)}`);
      print(`Cluster "${ref}" deleted.`);
    });

  clusters.command('upgrade-agent').description("upgrade a cluster's agent: it runs helm upgrade of its own release with --reuse-values (needs admin on the cluster)")
    .argument('<cluster>', 'name or id')
    .requiredOption('--version <version>', 'the agent chart version to upgrade to, like 1.4.0')
    .option('--no-wait', 'return once the agent has started the upgrade, without waiting for the outcome')
    .option('--timeout <duration>', `how long to wait, like 30s, 5m or 1h (default ${formatWaitTime(DEFAULT_WAIT_SECONDS)})`, durationFlag('--timeout'))
    .action(upgradeAgent);

  clusters.command('rotate-token').description('issue a new cluster token; a linked agent receives and stores it')
    .argument('<cluster>', 'name or id')
    .action(async (ref: string) => {
      const response = await client().request<RotateResponse>('POST', `/api/v1/clusters/${encodeURIComponent(ref)}/rotate-token`);
      print(response.message);
      if (!response.delivered) printToken(response.token, response.install);
    });
}
