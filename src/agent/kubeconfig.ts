// Where the agent's Kubernetes credentials come from: an explicit kubeconfig,
// the pod's ServiceAccount when running in-cluster, or the default kubeconfig
// ($KUBECONFIG or ~/.kube/config). Our own loader rather than
// @kubernetes/client-node, whose import alone cost ~80 MiB of RSS
// (docs/decisions.md). The credentials never leave this module except as TLS
// and auth options of requests to the API server.
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { isIPv6 } from 'node:net';
import { homedir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { ExecCredentialPlugin } from './kube-exec-credential.ts';
import { KubeConfigError, loadKubeconfigFiles, type ResolvedCluster, type ResolvedKubeconfig } from './kubeconfig-file.ts';

export { KubeConfigError } from './kubeconfig-file.ts';

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
/**
 * Token files are re-read at most this often, as client-go does: projected
 * ServiceAccount tokens rotate hourly and the kubelet renews them well before
 * they expire, so a minute of staleness is safe and saves a read per request.
 */
export const TOKEN_REREAD_MS = 60_000;

export interface KubeConfigLoadOptions {
  /** A kubeconfig file; without it, in-cluster config when in a pod, else the default kubeconfig. */
  kubeconfig?: string;
  /** A context of the kubeconfig instead of its current-context. */
  context?: string;
  /** Where KUBECONFIG, HOME and KUBERNETES_SERVICE_HOST/PORT are read; process.env by default. */
  env?: NodeJS.ProcessEnv;
  /** The mounted ServiceAccount (token, ca.crt); the standard path by default. */
  serviceAccountDir?: string;
  clock?: () => number;
}

/** TLS and auth options for one request to the API server, in node:https terms. */
export interface KubeTlsAndAuth {
  ca?: string;
  cert?: string;
  key?: string;
  rejectUnauthorized: boolean;
  servername?: string;
  /** The Authorization header value, when the user authenticates with one. */
  authorization?: string;
}

/** The API server and how to authenticate to it, loaded once at start. */
export class KubeConfigSource {
  readonly server: URL;
  readonly inCluster: boolean;
  /** Where the configuration came from, for messages (never holds credentials). */
  readonly origin: string;
  private readonly tls: KubeTlsAndAuth;
  private readonly staticAuthorization: string | undefined;
  private readonly token: RereadTokenFile | undefined;
  private readonly exec: ExecCredentialPlugin | undefined;

  private constructor(config: ResolvedKubeconfig, inCluster: boolean, clock: () => number) {
    const { cluster, user } = config;
    this.server = cluster.server;
    this.inCluster = inCluster;
    this.origin = config.origin;
    this.tls = tlsOptions(cluster);
    if (user.cert !== undefined) Object.assign(this.tls, { cert: user.cert, key: user.key });
    if (user.token !== undefined) this.staticAuthorization = `Bearer ${user.token}`;
    else if (user.username !== undefined) {
      this.staticAuthorization = `Basic ${Buffer.from(`${user.username}:${user.password ?? ''}`).toString('base64')}`;
    }
    if (user.tokenFile !== undefined) this.token = new RereadTokenFile(user.tokenFile, `${config.origin}: tokenFile`, clock);
    if (user.exec !== undefined) this.exec = new ExecCredentialPlugin(user.exec, clock);
  }

  /** Loads the configuration; throws {@link KubeConfigError} naming the file and field at fault. */
  static load(options: KubeConfigLoadOptions = {}): KubeConfigSource {
    const env = options.env ?? process.env;
    const clock = options.clock ?? Date.now;
    if (options.kubeconfig !== undefined) {
      return new KubeConfigSource(loadKubeconfigFiles([resolve(options.kubeconfig)], options.context), false, clock);
    }
    if (env.KUBERNETES_SERVICE_HOST) {
      if (options.context !== undefined) {
        throw new KubeConfigError(`context "${options.context}" needs a kubeconfig, but none was given and the agent runs in-cluster`);
      }
      return new KubeConfigSource(inClusterConfig(env, options.serviceAccountDir ?? SERVICE_ACCOUNT_DIR), true, clock);
    }
    return new KubeConfigSource(loadKubeconfigFiles(defaultKubeconfigFiles(env), options.context), false, clock);
  }

  /**
   * Options for the next request: fresh credentials from a rotated token file
   * or an exec plugin, cached ones otherwise.
   */
  async tlsAndAuth(): Promise<KubeTlsAndAuth> {
    const options: KubeTlsAndAuth = { ...this.tls };
    if (this.staticAuthorization !== undefined) options.authorization = this.staticAuthorization;
    if (this.token !== undefined) options.authorization = `Bearer ${await this.token.current()}`;
    if (this.exec !== undefined) {
      const credential = await this.exec.credential();
      if (credential.token !== undefined) options.authorization = `Bearer ${credential.token}`;
      if (credential.cert !== undefined) Object.assign(options, { cert: credential.cert, key: credential.key });
    }
    return options;
  }
}

function tlsOptions(cluster: ResolvedCluster): KubeTlsAndAuth {
  return {
    rejectUnauthorized: !cluster.insecureSkipTlsVerify,
    ...(cluster.ca !== undefined ? { ca: cluster.ca } : {}),
    ...(cluster.tlsServerName !== undefined ? { servername: cluster.tlsServerName } : {}),
  };
}

/** The pod's ServiceAccount: the API server's service address, its token and the cluster CA. */
function inClusterConfig(env: NodeJS.ProcessEnv, dir: string): ResolvedKubeconfig {
  const origin = `in-cluster ServiceAccount ${dir}`;
  const host = env.KUBERNETES_SERVICE_HOST ?? '';
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!port) throw new KubeConfigError(`${origin}: KUBERNETES_SERVICE_HOST is set but KUBERNETES_SERVICE_PORT is not`);
  const caFile = join(dir, 'ca.crt');
  let ca: string;
  try {
    ca = readFileSync(caFile, 'utf8');
  } catch (error) {
    throw new KubeConfigError(`${origin}: cannot read the cluster CA ${caFile}: ${(error as Error).message}`, { cause: error });
  }
  return {
    origin,
    context: 'in-cluster',
    cluster: { server: new URL(`https://${isIPv6(host) ? `[${host}]` : host}:${port}`), ca, insecureSkipTlsVerify: false },
    user: { tokenFile: join(dir, 'token') },
  };
}

/** $KUBECONFIG's files that exist (kubectl skips missing ones), else ~/.kube/config. */
function defaultKubeconfigFiles(env: NodeJS.ProcessEnv): string[] {
  const listed = (env.KUBECONFIG ?? '').split(delimiter).filter((file) => file !== '');
  if (listed.length > 0) {
    const present = listed.filter((file) => existsSync(file)).map((file) => resolve(file));
    if (present.length === 0) throw new KubeConfigError(`none of the files in KUBECONFIG exists: ${listed.join(', ')}`);
    return present;
  }
  const file = join(env.HOME ?? homedir(), '.kube', 'config');
  if (!existsSync(file)) {
    throw new KubeConfigError(`no Kubernetes configuration: not in a pod (KUBERNETES_SERVICE_HOST is unset), KUBECONFIG is unset and ${file} does not exist; pass --kubeconfig`);
  }
  return [file];
}

/** A bearer token file, read at load (so a missing one fails at start) and re-read every {@link TOKEN_REREAD_MS}. */
class RereadTokenFile {
  private readonly path: string;
  private readonly clock: () => number;
  private token: string;
  private readAt: number;
  private reading: Promise<void> | undefined;

  constructor(path: string, where: string, clock: () => number) {
    this.path = path;
    this.clock = clock;
    let token: string;
    try {
      token = readFileSync(path, 'utf8').trim();
    } catch (error) {
      throw new KubeConfigError(`${where}: cannot read ${path}: ${(error as Error).message}`, { cause: error });
    }
    if (token === '') throw new KubeConfigError(`${where}: ${path} is empty`);
    this.token = token;
    this.readAt = clock();
  }

  async current(): Promise<string> {
    if (this.clock() - this.readAt >= TOKEN_REREAD_MS) {
      // A failed or empty read (mid-rotation) keeps the last token: it is
      // still valid for a while, and the next minute reads again.
      this.reading ??= readFile(this.path, 'utf8').then((text) => {
        if (text.trim() !== '') this.token = text.trim();
      }, () => undefined).finally(() => {
        this.readAt = this.clock();
        this.reading = undefined;
      });
      await this.reading;
    }
    return this.token;
  }
}
