// `uplink kubeconfig CLUSTER [--merge] [--host-routing]`: a kubeconfig
// context that points plain kubectl at the hub's endpoint for one cluster
// (its path form, or with --host-routing its host form), with the hub CA and
// the user's own API token.
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import type { Command } from 'commander';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import type { KubectlEndpointView } from '../../hub/api/kubectl-endpoint.ts';
import type { ClusterView } from '../../hub/fleet.ts';
import { UplinkError } from '../../util/errors.ts';
import { loadCliConfig, type CliConfig } from '../cli-config.ts';
import { HubApiError, HubClient } from '../hub-client.ts';
import { print } from '../terminal-text.ts';

interface Named<T> {
  name: string;
  [key: string]: unknown;
  value?: T;
}

export interface Kubeconfig {
  apiVersion: string;
  kind: string;
  clusters: Named<unknown>[];
  users: Named<unknown>[];
  contexts: Named<unknown>[];
  'current-context'?: string;
  [key: string]: unknown;
}

/** The hub cannot give a host-routed server: it has no kube domain, or predates host routing. */
export class HostRoutingUnavailableError extends UplinkError {
  constructor(message: string) {
    super('HOST_ROUTING_UNAVAILABLE', message);
  }
}

/**
 * The host form's server for a cluster, `https://<cluster name>.<domain>[:port]`,
 * from what the hub says of its kubectl endpoint.
 */
export function hostRoutedServer(endpoint: KubectlEndpointView, cluster: { name: string }, hubUrl: string): string {
  const routing = endpoint.hostRouting;
  if (routing === null) {
    throw new HostRoutingUnavailableError(
      `the hub at ${hubUrl} has no kube domain, so it routes kubectl by path only: drop --host-routing, or ask its operator to set uplink hub --kube-domain`,
    );
  }
  return `${routing.scheme}://${cluster.name}.${routing.domain}${routing.port === null ? '' : `:${routing.port}`}`;
}

/** The kubeconfig entries for one cluster behind a hub; `server` replaces the path form's URL (the host form). */
export function kubeconfigFor(config: CliConfig, cluster: { id: string; name: string }, server?: string): Kubeconfig {
  const host = new URL(config.hubUrl).host;
  const name = `uplink-${cluster.name}`;
  const user = `uplink@${host}`;
  const clusterEntry: Record<string, unknown> = { server: server ?? `${config.hubUrl.replace(/\/+$/, '')}/k8s/clusters/${cluster.id}` };
  if (config.caPem) clusterEntry['certificate-authority-data'] = Buffer.from(config.caPem).toString('base64');
  if (config.insecureSkipTlsVerify) clusterEntry['insecure-skip-tls-verify'] = true;
  return {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name, cluster: clusterEntry }],
    users: [{ name: user, user: { token: config.token } }],
    contexts: [{ name, context: { cluster: name, user } }],
    'current-context': name,
  };
}

function upsert(list: Named<unknown>[] | undefined, entry: Named<unknown>): Named<unknown>[] {
  return [...(list ?? []).filter((e) => e.name !== entry.name), entry];
}

/** Merges `addition` into an existing kubeconfig, replacing entries of the same names. */
export function mergeKubeconfig(existing: Partial<Kubeconfig> | null, addition: Kubeconfig): Kubeconfig {
  const base: Kubeconfig = { apiVersion: 'v1', kind: 'Config', clusters: [], users: [], contexts: [], ...(existing ?? {}) };
  const [cluster] = addition.clusters;
  const [user] = addition.users;
  const [context] = addition.contexts;
  if (!cluster || !user || !context) throw new Error('nothing to merge');
  return {
    ...base,
    clusters: upsert(base.clusters, cluster),
    users: upsert(base.users, user),
    contexts: upsert(base.contexts, context),
    'current-context': context.name,
  };
}

export function defaultKubeconfigPath(env: NodeJS.ProcessEnv = process.env): string {
  const first = (env.KUBECONFIG ?? '').split(delimiter).find((p) => p !== '');
  return first ?? join(homedir(), '.kube', 'config');
}

/** What the hub says of its kubectl endpoint; a hub too old to say has no host routing. */
async function kubectlEndpoint(client: HubClient, hubUrl: string): Promise<KubectlEndpointView> {
  try {
    return await client.request<KubectlEndpointView>('GET', '/api/v1/kubectl');
  } catch (error) {
    if (error instanceof HubApiError && error.status === 404) {
      throw new HostRoutingUnavailableError(`the hub at ${hubUrl} is too old to route kubectl by host: drop --host-routing`);
    }
    throw error;
  }
}

export function registerKubeconfigCommand(program: Command): void {
  program
    .command('kubeconfig')
    .description('print (or --merge into your kubeconfig) a context that sends kubectl to CLUSTER through the hub')
    .argument('<cluster>', 'cluster name or id')
    .option('--merge', 'merge into $KUBECONFIG (first file) or ~/.kube/config and select the context')
    .option('--file <path>', 'kubeconfig file to merge into')
    .option('--host-routing', 'server https://CLUSTER.<kube domain> with the API server\'s own paths (the hub needs --kube-domain), '
      + 'instead of HUB/k8s/clusters/ID: for kubectl proxy without --append-server-path and clients that mishandle a server path')
    .action(async (ref: string, flags: { merge?: boolean; file?: string; hostRouting?: boolean }) => {
      const config = loadCliConfig();
      const client = new HubClient(config);
      const cluster = await client.request<ClusterView>('GET', `/api/v1/clusters/${encodeURIComponent(ref)}`);
      const server = flags.hostRouting === true ? hostRoutedServer(await kubectlEndpoint(client, config.hubUrl), cluster, config.hubUrl) : undefined;
      const generated = kubeconfigFor(config, cluster, server);
      if (flags.merge !== true && flags.file === undefined) {
        process.stdout.write(toYaml(generated));
        return;
      }
      const path = flags.file ?? defaultKubeconfigPath();
      const existing = existsSync(path) ? (parseYaml(readFileSync(path, 'utf8')) as Partial<Kubeconfig> | null) : null;
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      const temp = `${path}.${process.pid}.tmp`;
      writeFileSync(temp, toYaml(mergeKubeconfig(existing, generated)), { mode: 0o600 });
      chmodSync(temp, 0o600);
      renameSync(temp, path);
      print(`Context "${generated['current-context'] ?? ''}" written to ${path} and selected; try: kubectl get nodes`);
    });
}
