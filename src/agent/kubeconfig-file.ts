// Kubeconfig files: parse, merge several the way kubectl does, and resolve
// one context into the cluster and user the agent connects with. Only the
// chosen context's entries are validated, so an unrelated entry kubectl
// tolerates does not stop the agent.
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse } from 'yaml';
import { UplinkError } from '../util/errors.ts';
import { EXEC_API_VERSIONS, type ExecClusterInfo, type ExecPluginConfig } from './kube-exec-credential.ts';

/** The Kubernetes client configuration is missing, unreadable or uses something unsupported. */
export class KubeConfigError extends UplinkError {
  constructor(message: string, options?: ErrorOptions) {
    super('KUBE_CONFIG_INVALID', message, options);
  }
}

/** The extension a cluster passes to exec plugins (KUBERNETES_EXEC_INFO spec.cluster.config). */
const EXEC_EXTENSION = 'client.authentication.k8s.io/exec';
const IMPERSONATION_FIELDS = ['as', 'as-uid', 'as-groups', 'as-user-extra'];

export interface ResolvedCluster {
  server: URL;
  /** PEM bundle to trust instead of the system CAs. */
  ca?: string;
  insecureSkipTlsVerify: boolean;
  tlsServerName?: string;
}

export interface ResolvedUser {
  cert?: string;
  key?: string;
  token?: string;
  /** A token file, re-read so rotated tokens are picked up. */
  tokenFile?: string;
  username?: string;
  password?: string;
  exec?: ExecPluginConfig;
}

export interface ResolvedKubeconfig {
  /** The file(s) read, for messages. */
  origin: string;
  context: string;
  cluster: ResolvedCluster;
  user: ResolvedUser;
}

type Fields = Record<string, unknown>;

/** A named entry and the file it came from: its relative paths resolve against that file's directory. */
interface Entry {
  file: string;
  body: Fields;
}

interface Merged {
  clusters: Map<string, Entry>;
  users: Map<string, Entry>;
  contexts: Map<string, Entry>;
  currentContext?: string;
}

/**
 * Loads kubeconfig files merged as kubectl merges $KUBECONFIG: for each
 * cluster, user and context name and for current-context, the first file
 * that sets it wins. `context` overrides current-context.
 */
export function loadKubeconfigFiles(files: readonly string[], context?: string): ResolvedKubeconfig {
  const origin = `kubeconfig ${files.join(', ')}`;
  const merged: Merged = { clusters: new Map(), users: new Map(), contexts: new Map() };
  for (const file of files) mergeFile(merged, file);
  const contextName = context ?? merged.currentContext;
  if (contextName === undefined) throw new KubeConfigError(`${origin}: current-context is not set; pick a context with --context`);
  const contextEntry = merged.contexts.get(contextName);
  if (contextEntry === undefined) {
    throw new KubeConfigError(`${origin}: context "${contextName}" not found (contexts: ${[...merged.contexts.keys()].join(', ') || 'none'})`);
  }
  const where = `kubeconfig ${contextEntry.file}: context "${contextName}"`;
  const clusterName = text(contextEntry.body, 'cluster', where);
  if (clusterName === undefined) throw new KubeConfigError(`${where}: cluster is missing`);
  const clusterEntry = merged.clusters.get(clusterName);
  if (clusterEntry === undefined) throw new KubeConfigError(`${where}: cluster "${clusterName}" not found`);
  const cluster = resolveCluster(clusterEntry, `kubeconfig ${clusterEntry.file}: cluster "${clusterName}"`);
  const userName = text(contextEntry.body, 'user', where);
  let user: ResolvedUser = {};
  if (userName !== undefined) {
    const userEntry = merged.users.get(userName);
    if (userEntry === undefined) throw new KubeConfigError(`${where}: user "${userName}" not found`);
    user = resolveUser(userEntry, cluster.info, `kubeconfig ${userEntry.file}: user "${userName}"`);
  }
  return { origin, context: contextName, cluster: cluster.resolved, user };
}

function mergeFile(merged: Merged, file: string): void {
  let doc: unknown;
  try {
    doc = parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new KubeConfigError(`cannot read kubeconfig ${file}: ${(error as Error).message}`, { cause: error });
  }
  if (doc === null || doc === undefined) return; // an empty file, as kubectl allows
  const top = object(doc, `kubeconfig ${file}`);
  for (const [list, field, into] of [
    ['clusters', 'cluster', merged.clusters], ['users', 'user', merged.users], ['contexts', 'context', merged.contexts],
  ] as const) {
    const items = top[list] ?? [];
    if (!Array.isArray(items)) throw new KubeConfigError(`kubeconfig ${file}: ${list} must be a list`);
    items.forEach((item: unknown, index) => {
      const where = `kubeconfig ${file}: ${list}[${index}]`;
      const fields = object(item, where);
      const name = text(fields, 'name', where);
      if (name === undefined) throw new KubeConfigError(`${where}: name is missing`);
      if (!into.has(name)) into.set(name, { file, body: object(fields[field] ?? {}, `${where}.${field}`) });
    });
  }
  merged.currentContext ??= text(top, 'current-context', `kubeconfig ${file}`);
}

function resolveCluster(entry: Entry, where: string): { resolved: ResolvedCluster; info: ExecClusterInfo } {
  const { body } = entry;
  if (text(body, 'proxy-url', where) !== undefined) {
    throw new KubeConfigError(`${where}: proxy-url is not supported; the agent connects to the API server directly`);
  }
  const serverText = text(body, 'server', where);
  if (serverText === undefined) throw new KubeConfigError(`${where}: server is missing`);
  let server: URL;
  try {
    server = new URL(serverText);
  } catch (error) {
    throw new KubeConfigError(`${where}: server ${serverText} is not a URL`, { cause: error });
  }
  if (server.protocol !== 'https:' && server.protocol !== 'http:') throw new KubeConfigError(`${where}: server ${serverText} must be https:// or http://`);
  const ca = material(entry, 'certificate-authority', where);
  const insecureSkipTlsVerify = body['insecure-skip-tls-verify'] ?? false;
  if (typeof insecureSkipTlsVerify !== 'boolean') throw new KubeConfigError(`${where}: insecure-skip-tls-verify must be true or false`);
  if (insecureSkipTlsVerify && ca !== undefined) {
    throw new KubeConfigError(`${where}: insecure-skip-tls-verify and a certificate-authority are both set; use one`);
  }
  const tlsServerName = text(body, 'tls-server-name', where);
  const resolved: ResolvedCluster = {
    server, insecureSkipTlsVerify, ...(ca !== undefined ? { ca } : {}), ...(tlsServerName !== undefined ? { tlsServerName } : {}),
  };
  const extension = (Array.isArray(body.extensions) ? body.extensions as unknown[] : [])
    .find((item): item is Fields => isObject(item) && item.name === EXEC_EXTENSION)?.extension;
  const info: ExecClusterInfo = {
    server: serverText,
    ...(tlsServerName !== undefined ? { 'tls-server-name': tlsServerName } : {}),
    ...(insecureSkipTlsVerify ? { 'insecure-skip-tls-verify': true } : {}),
    ...(ca !== undefined ? { 'certificate-authority-data': Buffer.from(ca).toString('base64') } : {}),
    ...(extension !== undefined ? { config: extension } : {}),
  };
  return { resolved, info };
}

function resolveUser(entry: Entry, clusterInfo: ExecClusterInfo, where: string): ResolvedUser {
  const { body } = entry;
  if (body['auth-provider'] !== undefined) {
    throw new KubeConfigError(`${where}: legacy auth-provider plugins are not supported; use an exec credential plugin (client.authentication.k8s.io/v1)`);
  }
  const impersonation = IMPERSONATION_FIELDS.filter((field) => body[field] !== undefined);
  if (impersonation.length > 0) throw new KubeConfigError(`${where}: impersonation (${impersonation.join(', ')}) is not supported`);
  const user: ResolvedUser = {};
  const cert = material(entry, 'client-certificate', where);
  const key = material(entry, 'client-key', where);
  if ((cert === undefined) !== (key === undefined)) throw new KubeConfigError(`${where}: client-certificate and client-key must be set together`);
  if (cert !== undefined && key !== undefined) Object.assign(user, { cert, key });
  const tokenFile = text(body, 'tokenFile', where);
  const token = text(body, 'token', where);
  // As in client-go, a token file wins over an inline token.
  if (tokenFile !== undefined) user.tokenFile = resolve(dirname(entry.file), tokenFile);
  else if (token !== undefined) user.token = token;
  const username = text(body, 'username', where);
  const password = text(body, 'password', where);
  if (username !== undefined || password !== undefined) {
    if (tokenFile !== undefined || token !== undefined) throw new KubeConfigError(`${where}: username/password and a token are both set; use one`);
    Object.assign(user, { username: username ?? '', password: password ?? '' });
  }
  if (body.exec !== undefined && body.exec !== null) user.exec = execConfig(entry, clusterInfo, `${where}: exec`);
  return user;
}

function execConfig(entry: Entry, clusterInfo: ExecClusterInfo, where: string): ExecPluginConfig {
  const exec = object(entry.body.exec, where);
  const apiVersion = text(exec, 'apiVersion', where) ?? '';
  if (!EXEC_API_VERSIONS.includes(apiVersion)) {
    throw new KubeConfigError(`${where}: apiVersion ${apiVersion || '(missing)'} is not supported; use ${EXEC_API_VERSIONS.join(' or ')}`);
  }
  let command = text(exec, 'command', where);
  if (command === undefined) throw new KubeConfigError(`${where}: command is missing`);
  // As kubectl does: a relative path (not a bare name looked up in PATH) is relative to the kubeconfig.
  if (command.includes('/') && !isAbsolute(command)) command = resolve(dirname(entry.file), command);
  if (exec.interactiveMode === 'Always') throw new KubeConfigError(`${where}: interactiveMode Always cannot work in the agent, which has no terminal`);
  const args: unknown = exec.args ?? [];
  if (!Array.isArray(args) || !args.every((arg): arg is string => typeof arg === 'string')) {
    throw new KubeConfigError(`${where}: args must be a list of strings`);
  }
  const envList: unknown = exec.env ?? [];
  if (!Array.isArray(envList)) throw new KubeConfigError(`${where}: env must be a list`);
  const env = envList.map((item: unknown, index) => {
    if (!isObject(item) || typeof item.name !== 'string' || typeof item.value !== 'string') {
      throw new KubeConfigError(`${where}: env[${index}] must have string name and value`);
    }
    return { name: item.name, value: item.value };
  });
  const installHint = text(exec, 'installHint', where);
  return {
    apiVersion, command, args, env,
    ...(installHint !== undefined ? { installHint } : {}),
    ...(exec.provideClusterInfo === true ? { cluster: clusterInfo } : {}),
  };
}

/** PEM from `<field>-data` (base64) or the file `<field>` names, relative to the kubeconfig's directory. */
function material(entry: Entry, field: string, where: string): string | undefined {
  const data = text(entry.body, `${field}-data`, where);
  if (data !== undefined) return Buffer.from(data, 'base64').toString('utf8');
  const file = text(entry.body, field, where);
  if (file === undefined) return undefined;
  const path = resolve(dirname(entry.file), file);
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new KubeConfigError(`${where}: cannot read ${field} ${path}: ${(error as Error).message}`, { cause: error });
  }
}

function text(fields: Fields, key: string, where: string): string | undefined {
  const value = fields[key];
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') throw new KubeConfigError(`${where}: ${key} must be a string`);
  return value;
}

function isObject(value: unknown): value is Fields {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function object(value: unknown, where: string): Fields {
  if (!isObject(value)) throw new KubeConfigError(`${where} must be a mapping`);
  return value;
}
