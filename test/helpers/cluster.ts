// Access to the real test cluster (test/cluster/cluster) for e2e tests: the
// kubeconfig, kubectl and helm as the real binaries, a namespace per test,
// ServiceAccount tokens with a chosen ClusterRole, and kwok's pod log file.
import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { TestContext } from 'node:test';
import { runChecked, type ProcessResult, type RunProcessOptions } from '../../src/util/run-process.ts';

export const REPO_ROOT = resolve(import.meta.dirname, '../..');
export const CLUSTER_SCRIPT = join(REPO_ROOT, 'test/cluster/cluster');
/** kwok forwards pod port 8080 to this host port (see the cluster script). */
export const POD_FORWARD_TARGET_PORT = Number(process.env.UPLINK_CLUSTER_FORWARD_PORT ?? 18080);

let cachedKubeconfig: string | undefined;
let cachedBinDir: string | undefined;

async function clusterScript(args: string[], options: RunProcessOptions = {}): Promise<string> {
  const result = await runChecked(CLUSTER_SCRIPT, args, { timeoutMs: 60_000, ...options });
  return result.stdout.trim();
}

/** Path of the admin kubeconfig of the running test cluster. */
export async function kubeconfigPath(): Promise<string> {
  cachedKubeconfig ??= process.env.UPLINK_TEST_KUBECONFIG ?? (await clusterScript(['kubeconfig']));
  return cachedKubeconfig;
}

/** Directory holding kubectl, helm and the control-plane binaries. */
export async function clusterBinDir(): Promise<string> {
  cachedBinDir ??= await clusterScript(['bin']);
  return cachedBinDir;
}

export interface ToolOptions extends RunProcessOptions {
  /** A kubeconfig other than the admin one, e.g. from a minted token. */
  kubeconfig?: string;
}

/** Runs the cluster's matching kubectl; throws with stderr when it fails. */
export async function kubectl(args: string[], options: ToolOptions = {}): Promise<ProcessResult> {
  const { kubeconfig, ...rest } = options;
  const file = join(await clusterBinDir(), 'kubectl');
  return runChecked(file, ['--kubeconfig', kubeconfig ?? (await kubeconfigPath()), ...args], rest);
}

/** kubectl with `-o json`, parsed. */
export async function kubectlJson<T>(args: string[], options: ToolOptions = {}): Promise<T> {
  const result = await kubectl([...args, '-o', 'json'], options);
  return JSON.parse(result.stdout) as T;
}

/** The environment helm needs: its own cache and config dirs, not the user's. */
export async function helmEnv(kubeconfig?: string): Promise<NodeJS.ProcessEnv> {
  const home = join(tmpdir(), `uplink-test-helm-${process.getuid?.() ?? 0}`);
  return {
    ...process.env,
    KUBECONFIG: kubeconfig ?? (await kubeconfigPath()),
    HELM_CACHE_HOME: join(home, 'cache'),
    HELM_CONFIG_HOME: join(home, 'config'),
    HELM_DATA_HOME: join(home, 'data'),
  };
}

/** Runs the real helm against the test cluster. */
export async function helm(args: string[], options: ToolOptions = {}): Promise<ProcessResult> {
  const { kubeconfig, ...rest } = options;
  const file = join(await clusterBinDir(), 'helm');
  return runChecked(file, args, { timeoutMs: 180_000, ...rest, env: await helmEnv(kubeconfig) });
}

/** A DNS-1123 name unique to this run, starting with `prefix`. */
export function uniqueName(prefix: string): string {
  const slug = prefix.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 40);
  return `${slug}-${randomBytes(3).toString('hex')}`;
}

/** A fresh temporary directory, removed when the test ends. */
export function testTempDir(t: TestContext, prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => { rmSync(dir, { recursive: true, force: true }); });
  return dir;
}

/**
 * Waits until the controller manager has made a namespace's "default"
 * ServiceAccount: pods are refused before, and it takes longer while the
 * controller manager reconnects (after an API server restart, say).
 */
export async function waitForDefaultServiceAccount(namespace: string): Promise<void> {
  for (const deadline = Date.now() + 30_000; ;) {
    try {
      await kubectl(['-n', namespace, 'get', 'serviceaccount', 'default', '-o', 'name']);
      return;
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`namespace ${namespace} got no default ServiceAccount within 30 s`, { cause: error });
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/**
 * Creates a namespace for one test and deletes it when the test ends, so
 * tests never see each other's objects.
 */
export async function createTestNamespace(t: TestContext, prefix = 't'): Promise<string> {
  const name = uniqueName(`${prefix}-${t.name}`);
  await kubectl(['create', 'namespace', name]);
  await kubectl(['label', 'namespace', name, 'uplink.dev/test=true']);
  await waitForDefaultServiceAccount(name);
  t.after(async () => {
    await kubectl(['delete', 'namespace', name, '--wait=false', '--ignore-not-found']);
  });
  return name;
}

export interface MintedToken {
  serviceAccount: string;
  namespace: string;
  token: string;
  /** A kubeconfig that authenticates with the token (as a pod would). */
  kubeconfig: string;
}

export interface MintTokenOptions {
  namespace: string;
  /** The ClusterRole bound to the ServiceAccount cluster-wide, e.g. `view`. */
  clusterRole: string;
  name?: string;
  durationSeconds?: number;
}

/**
 * Creates a ServiceAccount bound to a ClusterRole and mints a token for it
 * through the TokenRequest API, the same kind of token a pod gets.
 */
export async function mintServiceAccountToken(t: TestContext, options: MintTokenOptions): Promise<MintedToken> {
  const serviceAccount = options.name ?? uniqueName(`sa-${options.clusterRole}`);
  const binding = `${options.namespace}-${serviceAccount}`.slice(0, 63);
  await kubectl(['-n', options.namespace, 'create', 'serviceaccount', serviceAccount]);
  await kubectl(['create', 'clusterrolebinding', binding, `--clusterrole=${options.clusterRole}`,
    `--serviceaccount=${options.namespace}:${serviceAccount}`]);
  t.after(async () => {
    await kubectl(['delete', 'clusterrolebinding', binding, '--ignore-not-found']);
  });
  const duration = `${options.durationSeconds ?? 3600}s`;
  const token = (await kubectl(['-n', options.namespace, 'create', 'token', serviceAccount, `--duration=${duration}`])).stdout.trim();
  const kubeconfig = await writeTokenKubeconfig(t, token);
  return { serviceAccount, namespace: options.namespace, token, kubeconfig };
}

/**
 * A kubeconfig that authenticates as an existing ServiceAccount (one a chart
 * created, say) with a token minted through the TokenRequest API, as its pod
 * would; the ServiceAccount keeps whatever RBAC it was given.
 */
export async function serviceAccountKubeconfig(t: TestContext, options: { namespace: string; serviceAccount: string; durationSeconds?: number }): Promise<string> {
  const duration = `${options.durationSeconds ?? 3600}s`;
  const token = (await kubectl(['-n', options.namespace, 'create', 'token', options.serviceAccount, `--duration=${duration}`])).stdout.trim();
  return writeTokenKubeconfig(t, token);
}

interface KubeconfigView {
  clusters: { cluster: { server: string; 'certificate-authority-data': string } }[];
}

async function writeTokenKubeconfig(t: TestContext, token: string): Promise<string> {
  const admin = await kubectlJson<KubeconfigView>(['config', 'view', '--raw']);
  const cluster = admin.clusters[0]?.cluster;
  if (!cluster) throw new Error('the admin kubeconfig has no cluster');
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'test', cluster }],
    users: [{ name: 'sa', user: { token } }],
    contexts: [{ name: 'sa', context: { cluster: 'test', user: 'sa' } }],
    'current-context': 'sa',
  };
  const file = join(testTempDir(t, 'uplink-sa-'), 'kubeconfig');
  writeFileSync(file, JSON.stringify(config), { mode: 0o600 });
  return file;
}

/** The file kwok serves as every pod's log (CRI format, followed). */
export async function podLogFile(): Promise<string> {
  return join(dirname(await kubeconfigPath()), 'pod.log');
}

/** Appends one line to every pod's log, in the CRI format kwok reads. */
export async function writePodLogLine(text: string): Promise<void> {
  appendFileSync(await podLogFile(), `${new Date().toISOString()} stdout F ${text}\n`);
}

/**
 * Compacts the test cluster's etcd at its current revision, as the API server
 * itself does every few minutes: a watch from any older resourceVersion then
 * meets 410 Gone. A fresh cluster has compacted nothing yet, so tests that
 * need a real 410 call this first.
 */
export async function compactEtcd(): Promise<number> {
  const base = `http://127.0.0.1:${process.env.UPLINK_CLUSTER_ETCD_PORT ?? '23790'}/v3/kv`;
  const post = async (path: string, body: unknown): Promise<Record<string, unknown>> => {
    const response = await fetch(`${base}/${path}`, { method: 'POST', body: JSON.stringify(body), signal: AbortSignal.timeout(10_000) });
    if (!response.ok) throw new Error(`etcd ${path}: HTTP ${response.status} ${await response.text()}`);
    return (await response.json()) as Record<string, unknown>;
  };
  const range = await post('range', { key: Buffer.from('/').toString('base64'), limit: 1, keys_only: true });
  const revision = Number((range.header as { revision?: string } | undefined)?.revision);
  if (!Number.isInteger(revision) || revision < 1) throw new Error(`etcd answered no revision: ${JSON.stringify(range)}`);
  await post('compaction', { revision, physical: true });
  return revision;
}
