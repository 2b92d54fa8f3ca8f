// Public surface of the agent: start it from validated settings.
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import type { Server } from 'node:http';
import { ConfigError, parseListen } from '../util/settings.ts';
import { background } from '../util/background.ts';
import type { Logger } from '../util/logger.ts';
import type { KeepaliveOptions } from '../link/keepalive.ts';
import { join } from 'node:path';
import {
  AddonEngine, ChartSources, DesiredAddons, desiredAddonsFileFor, FileDesiredAddonsStore, HelmRunner, KindResolver,
  isSopsEncrypted, parseManifest, readReleaseHealth, SecretDesiredAddonsStore, SopsDecrypter, SopsError, type DesiredAddonsStore, type ReleaseObjectRef,
} from './addons/index.ts';
import { Agent } from './agent.ts';
import { DEFAULT_STATE_SECRET, defaultStateFile, type AgentSettings } from './config.ts';
import { startHealthServer } from './health-server.ts';
import { Inventory } from './inventory/index.ts';
import { KubeClient } from './kube.ts';
import { AgentMetrics } from './metrics.ts';
import { ChildLedger } from './child-ledger.ts';
import { OwnSecret, stateSiblingFile } from './own-storage.ts';
import { publicIpLookupFor } from './public-ip.ts';
import { AgentSelfUpgrade, selfUpgradeSetup } from './self-upgrade.ts';
import { FileStateStore, SecretStateStore, type StateStore } from './state.ts';
import { watchLease } from './lease-watch.ts';
import { checkLeaderTimings, leaderIdentity, leaderPod, type LeaderElectionTimings } from './leader-election.ts';
import { KubeLeaseApi } from './lease-api.ts';
import { AgentRuntime } from './runtime/index.ts';

export { AGENT_SETTINGS, type AgentSettings } from './config.ts';

const SERVICE_ACCOUNT_NAMESPACE_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';
/** The agent's namespace when neither a flag, its state Secret nor its pod says. */
const DEFAULT_NAMESPACE = 'uplink-system';

export interface RunningAgent {
  healthPort: number;
  stop(): Promise<void>;
}

function configuredToken(settings: AgentSettings): string | undefined {
  if (settings.token !== undefined && settings.tokenFile !== undefined) {
    throw new ConfigError('use one of --token and --token-file, not both');
  }
  if (settings.tokenFile === undefined) return settings.token;
  try {
    return readFileSync(settings.tokenFile, 'utf8').trim();
  } catch (error) {
    throw new ConfigError(`cannot read --token-file ${settings.tokenFile}: ${(error as Error).message}`, { cause: error });
  }
}

/** Where the agent keeps what it remembers: a file, or Secrets of a namespace. */
type StateLocation = { file: string } | { namespace: string; secret: string };

function stateLocation(settings: AgentSettings, kube: KubeClient): StateLocation {
  if (settings.stateSecret !== undefined && settings.stateFile !== undefined) {
    throw new ConfigError('use one of --state-secret and --state-file, not both');
  }
  if (settings.stateSecret !== undefined) {
    const [namespace = '', secret = ''] = settings.stateSecret.split('/');
    return { namespace, secret };
  }
  if (settings.stateFile !== undefined || !kube.inCluster) return { file: settings.stateFile ?? defaultStateFile() };
  const namespace = process.env.POD_NAMESPACE ?? readFileSync(SERVICE_ACCOUNT_NAMESPACE_FILE, 'utf8').trim();
  return { namespace, secret: DEFAULT_STATE_SECRET };
}

function stateStore(location: StateLocation, kube: KubeClient): StateStore {
  return 'file' in location ? new FileStateStore(location.file) : new SecretStateStore(kube, location.namespace, location.secret);
}

/** The desired add-ons live beside the state: a file named after the state file, or the same namespace. */
function desiredAddonsStore(location: StateLocation, kube: KubeClient): DesiredAddonsStore {
  return 'file' in location
    ? new FileDesiredAddonsStore(desiredAddonsFileFor(location.file))
    : new SecretDesiredAddonsStore(kube, location.namespace);
}

/** The agent's namespace: --namespace, else the state Secret's, else DEFAULT_NAMESPACE. */
function ownNamespace(settings: AgentSettings, location: StateLocation): string {
  return settings.namespace ?? ('namespace' in location ? location.namespace : DEFAULT_NAMESPACE);
}

/**
 * helm with a private home (removed at stop), shared by the add-on engine and
 * the agent's self-upgrade. With a state file, the helm processes are
 * recorded beside it and what a killed previous run left running is stopped
 * first; in a pod, the container's end takes every child with it.
 */
async function privateHelm(settings: AgentSettings, location: StateLocation, log: Logger, mayWrite: () => boolean): Promise<{ helm: HelmRunner; helmDir: string }> {
  const helmDir = await mkdtemp(join(tmpdir(), 'uplink-helm-'));
  let children: ChildLedger | undefined;
  if ('file' in location) {
    children = new ChildLedger({ file: stateSiblingFile(location.file, 'helm-pids'), log });
    children.reapPrevious();
  }
  const helm = new HelmRunner({
    binary: settings.helm, stateDir: helmDir, mayWrite, ...(children ? { children } : {}),
    ...(settings.kubeconfig !== undefined ? { kubeconfig: settings.kubeconfig } : {}),
    ...(settings.context !== undefined ? { env: { HELM_KUBECONTEXT: settings.context } } : {}),
  });
  return { helm, helmDir };
}

interface AddonEngineOptions {
  settings: AgentSettings;
  helm: HelmRunner;
  helmDir: string;
  namespace: string;
  kube: KubeClient;
  log: Logger;
  metrics: AgentMetrics;
}

/**
 * The add-on engine: charts from their sources (Git tokens from Secrets of
 * the agent's namespace), and the health of release objects read through the
 * agent's own API client.
 */
function addonEngine(options: AddonEngineOptions): AddonEngine<ReleaseObjectRef[]> {
  const { settings, helm, helmDir, namespace, kube, log, metrics } = options;
  const charts = new ChartSources({
    workDir: helmDir,
    plainHttpRegistries: settings.addonsPlainHttpRegistries ?? [],
    readSecret: async (name) => {
      const data = await new OwnSecret(kube, namespace, name).read();
      return data && Object.fromEntries(Object.entries(data).map(([key, value]) => [key, value.toString('utf8')]));
    },
  });
  const sops = new SopsDecrypter({ binary: settings.sops, stateDir: join(helmDir, 'sops') });
  const sopsKey = async (): Promise<string> => {
    const data = await new OwnSecret(kube, namespace, settings.addonsSopsSecret).read();
    const key = data?.['age.agekey'] ?? data?.['keys.txt'];
    if (key === undefined) throw new SopsError('NO_KEY', `SOPS-encrypted values need an age key: Secret ${namespace}/${settings.addonsSopsSecret} with key age.agekey or keys.txt`);
    return key.toString('utf8');
  };
  const resolver = new KindResolver({ kube });
  return new AddonEngine<ReleaseObjectRef[]>({
    helm, log, metrics, kube, resolver,
    stuckAfterMs: settings.addonsStuckAfter * 1000,
    resolveChart: (source, version, signal) => charts.resolve(source, version, signal),
    prepareValues: async (values, signal) => (isSopsEncrypted(values) ? sops.decrypt(values, await sopsKey(), signal) : values),
    objects: {
      parse: (manifest) => parseManifest(manifest),
      health: (refs, options) => readReleaseHealth(refs, {
        kube, resolver, strict: options.strict, releaseNamespace: options.namespace, run: options.run, signal: options.signal,
      }),
    },
    readWorkers: settings.addonsReadWorkers,
    writeWorkers: settings.addonsWriteWorkers,
    sweepIntervalMs: settings.addonsSweepInterval * 1000,
    helmTimeoutSeconds: settings.addonsHelmTimeout,
  });
}

/** Starts the agent: health server at once, then the link loop in the background. */
export async function startAgent(options: { settings: AgentSettings; log: Logger; keepalive?: KeepaliveOptions }): Promise<RunningAgent> {
  const { settings, log } = options;
  if (settings.hubCaFile !== undefined && settings.hubCaHash !== undefined) {
    throw new ConfigError('use one of --hub-ca-hash and --hub-ca-file, not both');
  }
  const token = configuredToken(settings);
  const timings: LeaderElectionTimings = {
    leaseDurationMs: settings.leaderElectLeaseDuration * 1000, renewDeadlineMs: settings.leaderElectRenewDeadline * 1000,
    retryPeriodMs: settings.leaderElectRetryPeriod * 1000,
  };
  checkLeaderTimings(timings);
  const kube = new KubeClient({
    ...(settings.kubeconfig !== undefined ? { kubeconfig: settings.kubeconfig } : {}),
    ...(settings.context !== undefined ? { context: settings.context } : {}),
  });
  const location = stateLocation(settings, kube);
  const state = stateStore(location, kube);
  const desiredAddons = new DesiredAddons({ store: desiredAddonsStore(location, kube), log });
  if (token === undefined && (await state.load()).token === undefined) {
    throw new ConfigError(`no cluster token: pass --token or --token-file (none is stored in ${state.describe()})`);
  }
  if (settings.insecureSkipTlsVerify) log.warn('--insecure-skip-tls-verify is set: the hub certificate is not verified');
  const metrics = new AgentMetrics();
  const inventory = new Inventory({
    kube, log, metrics, discover: settings.inventoryDiscover, maxObjects: settings.inventoryMaxObjects,
    watchTimeoutSeconds: settings.watchTimeout, watchSilenceSeconds: settings.watchSilence,
  });
  const namespace = ownNamespace(settings, location);
  const upgradeSetup = selfUpgradeSetup({ ...settings, plainHttpRegistries: settings.addonsPlainHttpRegistries ?? [] }, namespace);
  // Bound once the agent (and its leader election) exists; helm writes nothing before that.
  let mayWrite = (): boolean => false;
  const { helm, helmDir } = await privateHelm(settings, location, log, () => mayWrite());
  const selfUpgrade = new AgentSelfUpgrade({ setup: upgradeSetup, helm, log });
  const egressIp = publicIpLookupFor(settings, log);
  const runtime = new AgentRuntime({ settings, log, metrics, inventory, kube, secrets: () => (token === undefined ? [] : [token]) });
  const agent = new Agent({
    runtime: runtime.hooks,
    settings, log, kube, state, desiredAddons, metrics, inventory, configuredToken: token, selfUpgrade, egressIp,
    addons: addonEngine({ settings, helm, helmDir, namespace, kube, log, metrics }),
    createAddons: () => addonEngine({ settings, helm, helmDir, namespace, kube, log, metrics }),
    leaderElection: settings.leaderElect
      ? { api: new KubeLeaseApi({ kube, namespace, name: settings.leaderElectLease }), lease: `${namespace}/${settings.leaderElectLease}`, identity: leaderIdentity(), pod: leaderPod(), timings,
        watch: (onReleased: () => void, signal: AbortSignal) => watchLease({
          kube, namespace, name: settings.leaderElectLease, log, onReleased, onRestart: (reason) => { metrics.leaseWatchRestarts.inc({ reason }); },
        }, signal) }
      : undefined,
    ...(options.keepalive ? { keepalive: options.keepalive } : {}),
  });
  mayWrite = () => agent.mayWrite;
  const { host, port } = parseListen(settings.healthListen);
  runtime.attach(agent);
  const health: Server = await startHealthServer({ host, port, metrics, readiness: () => agent.readiness(), runtime });
  const address = health.address();
  const healthPort = typeof address === 'object' && address ? address.port : port;
  log.info({ hub: settings.hubUrl, apiServer: kube.server.origin, state: state.describe(), healthPort, leaderElect: settings.leaderElect }, 'agent starting');
  const controller = new AbortController();
  background(selfUpgrade.recover(), log, 'could not read the last self-upgrade from the release');
  const running = agent.run(controller.signal).catch((error: unknown) => {
    log.fatal({ err: error }, 'agent stopped on an error');
    process.exitCode = 1;
    // Nothing serves the cache any more; its watches must not keep the process alive.
    background(inventory.stop(), log, 'could not stop the inventory');
  });
  return {
    healthPort,
    async stop(): Promise<void> {
      controller.abort();
      // A running self-upgrade gets its grace period while the link drains; the
      // agent stops its add-on engine, then releases the leader lease.
      await Promise.all([running, selfUpgrade.stop(), egressIp?.stop()]);
      await rm(helmDir, { recursive: true, force: true });
      await inventory.stop();
      runtime.close();
      health.close();
      kube.close();
    },
  };
}
