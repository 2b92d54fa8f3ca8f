// Exec credential plugins (client.authentication.k8s.io v1 and v1beta1), the
// kubeconfig way to get short-lived credentials from cloud CLIs
// (aws eks get-token, gke-gcloud-auth-plugin, kubelogin): run a command that
// prints an ExecCredential with a token or a client certificate, and keep it
// until it expires. The agent never runs a plugin interactively.
import { UplinkError } from '../util/errors.ts';
import { ProcessStartError, runProcess, type ProcessResult } from '../util/run-process.ts';

export const EXEC_API_VERSIONS: readonly string[] = ['client.authentication.k8s.io/v1', 'client.authentication.k8s.io/v1beta1'];
/** Longest a plugin may run; cloud CLIs answer in seconds, a hang must not stall every request. */
export const EXEC_PLUGIN_TIMEOUT_MS = 30_000;
/** Output kept from a plugin; an ExecCredential is a few KiB. */
export const MAX_EXEC_OUTPUT_BYTES = 1024 * 1024;
/** Credentials are renewed this long before they expire, so a request does not race the expiry. */
export const EXEC_EXPIRY_MARGIN_MS = 10_000;
/** Stderr quoted in a failure message. */
const STDERR_IN_ERROR_CHARS = 500;

/** What the cluster tells a plugin through KUBERNETES_EXEC_INFO when provideClusterInfo is set. */
export interface ExecClusterInfo {
  server: string;
  'tls-server-name'?: string;
  'insecure-skip-tls-verify'?: boolean;
  'certificate-authority-data'?: string;
  /** The cluster's `client.authentication.k8s.io/exec` extension. */
  config?: unknown;
}

export interface ExecPluginConfig {
  apiVersion: string;
  command: string;
  args: string[];
  /** Added to the agent's own environment. */
  env: { name: string; value: string }[];
  installHint?: string;
  cluster?: ExecClusterInfo;
}

/** A credential from a plugin: a bearer token, or a client certificate and key (PEM). */
export interface ExecCredential {
  token?: string;
  cert?: string;
  key?: string;
}

/** A plugin could not produce a credential; the message names the command, never the credential. */
export class ExecCredentialError extends UplinkError {
  constructor(message: string, options?: ErrorOptions) {
    super('KUBE_CREDENTIALS_FAILED', message, options);
  }
}

interface ExecCredentialStatus {
  token?: unknown;
  clientCertificateData?: unknown;
  clientKeyData?: unknown;
  expirationTimestamp?: unknown;
}

/** One user's plugin: runs it when the cached credential is missing or about to expire. */
export class ExecCredentialPlugin {
  private readonly config: ExecPluginConfig;
  private readonly clock: () => number;
  private cached: { credential: ExecCredential; renewAt: number } | undefined;
  private running: Promise<ExecCredential> | undefined;

  constructor(config: ExecPluginConfig, clock: () => number = Date.now) {
    this.config = config;
    this.clock = clock;
  }

  /** The current credential; concurrent callers share one run of the plugin. */
  async credential(): Promise<ExecCredential> {
    if (this.cached !== undefined && this.clock() < this.cached.renewAt) return this.cached.credential;
    this.running ??= this.run().finally(() => { this.running = undefined; });
    return this.running;
  }

  private async run(): Promise<ExecCredential> {
    const { command, args, apiVersion } = this.config;
    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const { name, value } of this.config.env) env[name] = value;
    env.KUBERNETES_EXEC_INFO = JSON.stringify({
      apiVersion, kind: 'ExecCredential',
      spec: { interactive: false, ...(this.config.cluster ? { cluster: this.config.cluster } : {}) },
    });
    let result: ProcessResult;
    try {
      result = await runProcess(command, args, { env, timeoutMs: EXEC_PLUGIN_TIMEOUT_MS, maxOutputBytes: MAX_EXEC_OUTPUT_BYTES });
    } catch (error) {
      const hint = this.config.installHint ? ` (${this.config.installHint.trim()})` : '';
      const reason = error instanceof ProcessStartError && error.cause instanceof Error ? error.cause.message : (error as Error).message;
      throw new ExecCredentialError(`exec credential plugin ${command} could not be started: ${reason}${hint}`, { cause: error });
    }
    if (result.code !== 0 || result.timedOut) {
      const how = result.timedOut ? `timed out after ${EXEC_PLUGIN_TIMEOUT_MS / 1000} s` : `exited with ${result.code ?? result.signal ?? 'a signal'}`;
      const stderr = result.stderr.trim().slice(0, STDERR_IN_ERROR_CHARS);
      throw new ExecCredentialError(`exec credential plugin ${command} ${how}${stderr ? `: ${stderr}` : ''}`);
    }
    if (result.truncated) throw new ExecCredentialError(`exec credential plugin ${command} printed more than ${MAX_EXEC_OUTPUT_BYTES} bytes`);
    const { credential, expiresAt } = parseExecCredential(command, apiVersion, result.stdout);
    this.cached = { credential, renewAt: expiresAt - EXEC_EXPIRY_MARGIN_MS };
    return credential;
  }
}

/** Reads a plugin's output; messages never quote it, since it holds the credential. */
function parseExecCredential(command: string, apiVersion: string, stdout: string): { credential: ExecCredential; expiresAt: number } {
  const fail = (problem: string): never => {
    throw new ExecCredentialError(`exec credential plugin ${command} printed ${problem}`);
  };
  let parsed: unknown;
  try {
    parsed = JSON.parse(stdout);
  } catch {
    return fail('output that is not JSON');
  }
  if (typeof parsed !== 'object' || parsed === null) return fail('no ExecCredential');
  const output = parsed as { apiVersion?: unknown; kind?: unknown; status?: ExecCredentialStatus };
  if (output.kind !== 'ExecCredential') fail('no ExecCredential');
  if (output.apiVersion !== apiVersion) fail(`apiVersion ${String(output.apiVersion)}, not the configured ${apiVersion}`);
  const status = output.status ?? {};
  const text = (value: unknown, field: string): string | undefined => {
    if (value === undefined || value === null || value === '') return undefined;
    return typeof value === 'string' ? value : fail(`a status.${field} that is not a string`);
  };
  const token = text(status.token, 'token');
  const cert = text(status.clientCertificateData, 'clientCertificateData');
  const key = text(status.clientKeyData, 'clientKeyData');
  if ((cert === undefined) !== (key === undefined)) fail('only one of status.clientCertificateData and status.clientKeyData');
  if (token === undefined && cert === undefined) fail('neither status.token nor status.clientCertificateData');
  const expiry = text(status.expirationTimestamp, 'expirationTimestamp');
  const expiresAt = expiry === undefined ? Number.POSITIVE_INFINITY : Date.parse(expiry);
  if (Number.isNaN(expiresAt)) fail(`an invalid status.expirationTimestamp ${String(expiry)}`);
  return {
    credential: { ...(token !== undefined ? { token } : {}), ...(cert !== undefined ? { cert, key } : {}) },
    expiresAt,
  };
}
