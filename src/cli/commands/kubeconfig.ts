// `uplink kubeconfig CLUSTER [--merge]`: a kubeconfig context that points
// plain kubectl at the hub's endpoint for one cluster, with the hub CA and the
// user's own API token.
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import type { Command } from 'commander';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import type { ClusterView } from '../../hub/fleet.ts';
import { loadCliConfig, type CliConfig } from '../cli-config.ts';
import { HubClient } from '../hub-client.ts';
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

/** The kubeconfig entries for one cluster behind a hub. */
export function kubeconfigFor(config: CliConfig, cluster: { id: string; name: string }): Kubeconfig {
  const host = new URL(config.hubUrl).host;
  const name = `uplink-${cluster.name}`;
  const user = `uplink@${host}`;
  const clusterEntry: Record<string, unknown> = { server: `${config.hubUrl.replace(/\/+$/, '')}/k8s/clusters/${cluster.id}` };
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

export function registerKubeconfigCommand(program: Command): void {
  program
    .command('kubeconfig')
    .description('print (or --merge into your kubeconfig) a context that sends kubectl to CLUSTER through the hub')
    .argument('<cluster>', 'cluster name or id')
    .option('--merge', 'merge into $KUBECONFIG (first file) or ~/.kube/config and select the context')
    .option('--file <path>', 'kubeconfig file to merge into')
    .action(async (ref: string, flags: { merge?: boolean; file?: string }) => {
      const config = loadCliConfig();
      const cluster = await new HubClient(config).request<ClusterView>('GET', `/api/v1/clusters/${encodeURIComponent(ref)}`);
      const generated = kubeconfigFor(config, cluster);
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
