// The three places a Helm add-on's chart comes from, served on loopback for
// tests with the real tools: a chart repository (`helm package` + `helm repo
// index`, served by node:http), a Git repository (served by git's own
// git-http-backend as a CGI), and an OCI registry (CNCF distribution, built
// by test/cluster/cluster build). None of them needs the test cluster.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { cpSync, createReadStream, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type RequestListener, type ServerResponse } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { runChecked, type ProcessResult, type RunProcessOptions } from '../../src/util/run-process.ts';
import { clusterBinDir, helm } from './cluster.ts';

/** Bounds one helm or git command of these helpers. */
const TOOL_TIMEOUT_MS = 60_000;
/** Bounds one git-http-backend run (one request of a clone or fetch). */
const CGI_TIMEOUT_MS = 30_000;
/** Bounds the registry's start, from spawn to `/v2/` answering. */
const REGISTRY_START_TIMEOUT_MS = 20_000;
/** Time the registry gets to exit on SIGTERM before SIGKILL. */
const REGISTRY_STOP_GRACE_MS = 5_000;
/** Registry output kept for error messages. */
const REGISTRY_LOG_TAIL_BYTES = 8_192;
/**
 * Registry ports come from below Linux's ephemeral range (32768 and up), so
 * an outgoing connection cannot take the port between the check and the
 * registry's bind; the low end stays clear of the cluster's fixed ports.
 */
const REGISTRY_PORT_MIN = 24_000;
const REGISTRY_PORT_MAX = 32_767;
const REGISTRY_START_ATTEMPTS = 3;

/**
 * The kubeconfig handed to helm here: these helpers only package, index,
 * push, pull and render, none of which talks to a cluster, and an empty file
 * makes sure none is reached.
 */
export const NO_CLUSTER_KUBECONFIG = '/dev/null';

/** The real helm with helmEnv()'s temp dirs, for commands that need no cluster. */
export function helmOffline(args: string[], options: RunProcessOptions = {}): Promise<ProcessResult> {
  return helm(args, { timeoutMs: TOOL_TIMEOUT_MS, ...options, kubeconfig: NO_CLUSTER_KUBECONFIG });
}

/** An environment for the real git that ignores the user's and system's git config and never prompts. */
export function gitEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_TERMINAL_PROMPT: '0',
    GIT_ASKPASS: '',
    SSH_ASKPASS: '',
    GIT_AUTHOR_NAME: 'uplink-test',
    GIT_AUTHOR_EMAIL: 'test@uplink.invalid',
    GIT_COMMITTER_NAME: 'uplink-test',
    GIT_COMMITTER_EMAIL: 'test@uplink.invalid',
    ...extra,
  };
}

/** Runs the real git; throws with its stderr when it fails. */
export function git(args: string[], options: RunProcessOptions = {}): Promise<ProcessResult> {
  return runChecked('git', args, { timeoutMs: TOOL_TIMEOUT_MS, env: gitEnv(), ...options });
}

function tempDir(t: TestContext, prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => { rmSync(dir, { recursive: true, force: true }); });
  return dir;
}

/** Starts an HTTP server on 127.0.0.1 (random port), closed when the test ends; returns its base URL. */
async function listen(t: TestContext, handler: RequestListener): Promise<string> {
  const server = createServer(handler);
  server.requestTimeout = CGI_TIMEOUT_MS;
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(async () => {
    server.closeAllConnections();
    server.close();
    await once(server, 'close');
  });
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('the test HTTP server has no TCP address');
  return `http://127.0.0.1:${address.port}`;
}

/** Packages a chart directory into `destination` with `helm package`; returns the .tgz path. */
async function packageChart(chartDir: string, destination: string): Promise<string> {
  const result = await helmOffline(['package', chartDir, '--destination', destination]);
  const file = /saved it to: (.+\.tgz)\s*$/m.exec(result.stdout)?.[1];
  if (!file) throw new Error(`helm package of ${chartDir} printed no archive path: ${result.stdout}`);
  return file;
}

// ---------------------------------------------------------------- chart repository

/** Only plain file names directly in the repository directory are served. */
const REPO_FILE_NAME = /^[\w][\w.+-]*$/;

/**
 * Serves a Helm chart repository: each chart directory packaged by `helm
 * package`, an `index.yaml` from `helm repo index --url`, all over HTTP on
 * 127.0.0.1. Returns the repository URL (what `helm repo add` takes).
 */
export async function serveChartRepo(t: TestContext, chartDirs: string[]): Promise<string> {
  const dir = tempDir(t, 'uplink-chart-repo-');
  const url = await listen(t, (req, res) => { serveRepoFile(dir, req, res); });
  for (const chartDir of chartDirs) await packageChart(chartDir, dir);
  await helmOffline(['repo', 'index', dir, '--url', url]);
  return url;
}

function serveRepoFile(dir: string, req: IncomingMessage, res: ServerResponse): void {
  const name = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname.slice(1));
  const file = join(dir, name);
  if ((req.method !== 'GET' && req.method !== 'HEAD') || !REPO_FILE_NAME.test(name) || !statSync(file, { throwIfNoEntry: false })?.isFile()) {
    res.writeHead(404).end();
    return;
  }
  const type = name.endsWith('.yaml') ? 'application/x-yaml' : 'application/gzip';
  res.writeHead(200, { 'content-type': type, 'content-length': statSync(file).size });
  if (req.method === 'HEAD') res.end();
  else createReadStream(file).pipe(res);
}

// ---------------------------------------------------------------- git repository

export interface ServeGitRepoOptions {
  /**
   * Makes the repository private: a request needs `Authorization: Basic`
   * with this token as the password (any user name) or `Bearer <token>`,
   * else it gets 401 with `WWW-Authenticate: Basic`.
   */
  token?: string;
  /** An annotated tag to put on the commit, e.g. `v0.1.0`. */
  tag?: string;
}

/**
 * Creates a Git repository with one commit on `main` holding the given
 * directories (`files` maps a path in the repository to a local directory
 * copied there, e.g. `{ 'charts/webapp': 'examples/charts/webapp' }`) and
 * serves it read-only over HTTP through git's own git-http-backend. Returns
 * the clone URL.
 */
export async function serveGitRepo(t: TestContext, files: Record<string, string>, options: ServeGitRepoOptions = {}): Promise<string> {
  const root = tempDir(t, 'uplink-git-');
  const work = join(root, 'work');
  mkdirSync(work);
  await git(['init', '--quiet', '--initial-branch=main', work]);
  for (const [path, source] of Object.entries(files)) cpSync(source, join(work, path), { recursive: true });
  await git(['-C', work, 'add', '--all']);
  await git(['-C', work, 'commit', '--quiet', '--message', 'charts for a test']);
  if (options.tag !== undefined) await git(['-C', work, 'tag', '--annotate', '--message', `tag ${options.tag}`, options.tag]);
  const projectRoot = join(root, 'served');
  await git(['clone', '--quiet', '--bare', work, join(projectRoot, 'charts.git')]);
  const backend = join((await git(['--exec-path'])).stdout.trim(), 'git-http-backend');
  const url = await listen(t, (req, res) => {
    const user = authorizedUser(req, options.token);
    if (user === undefined) {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="uplink-test-git"', 'content-type': 'text/plain' }).end('authentication required\n');
      return;
    }
    runGitCgi({ backend, projectRoot, user }, req, res);
  });
  return `${url}/charts.git`;
}

/** The user a request authenticates as ('' when no token is required), or undefined when it must get 401. */
function authorizedUser(req: IncomingMessage, token: string | undefined): string | undefined {
  if (token === undefined) return '';
  const header = req.headers.authorization ?? '';
  const [scheme, value = ''] = header.split(' ', 2);
  if (scheme?.toLowerCase() === 'bearer') return value === token ? 'bearer' : undefined;
  if (scheme?.toLowerCase() !== 'basic') return undefined;
  const decoded = Buffer.from(value, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0 || decoded.slice(colon + 1) !== token) return undefined;
  return decoded.slice(0, colon) || 'token';
}

interface GitCgi {
  backend: string;
  projectRoot: string;
  user: string;
}

/** Runs git-http-backend for one request as a CGI (RFC 3875): request body in, headers and body out. */
function runGitCgi(cgi: GitCgi, req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://x');
  const env: NodeJS.ProcessEnv = {
    ...gitEnv(),
    GIT_PROJECT_ROOT: cgi.projectRoot,
    GIT_HTTP_EXPORT_ALL: '1',
    GATEWAY_INTERFACE: 'CGI/1.1',
    SERVER_PROTOCOL: `HTTP/${req.httpVersion}`,
    REQUEST_METHOD: req.method ?? 'GET',
    PATH_INFO: decodeURIComponent(url.pathname),
    QUERY_STRING: url.search.slice(1),
    CONTENT_TYPE: req.headers['content-type'] ?? '',
    REMOTE_ADDR: req.socket.remoteAddress ?? '127.0.0.1',
    REMOTE_USER: cgi.user,
  };
  if (req.headers['content-length'] !== undefined) env.CONTENT_LENGTH = req.headers['content-length'];
  // Every request header as HTTP_*, as CGI asks: git-http-backend reads
  // Content-Encoding (git gzips large POST bodies) and Git-Protocol (v2).
  for (const [name, value] of Object.entries(req.headers)) {
    if (typeof value === 'string') env[`HTTP_${name.toUpperCase().replace(/-/g, '_')}`] = value;
  }
  const child = spawn(cgi.backend, [], { env, stdio: ['pipe', 'pipe', 'pipe'], timeout: CGI_TIMEOUT_MS, killSignal: 'SIGKILL' });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => { stderr = (stderr + chunk.toString('utf8')).slice(-4096); });
  child.stdin.on('error', () => undefined);
  req.pipe(child.stdin);
  // A client that goes away leaves nothing running.
  res.on('close', () => { if (child.exitCode === null) child.kill('SIGKILL'); });
  relayCgiOutput(child, res, () => stderr);
}

/** Splits the CGI's output into its headers (incl. `Status:`) and the body, streamed to the client. */
function relayCgiOutput(child: ChildProcess, res: ServerResponse, stderr: () => string): void {
  let head = Buffer.alloc(0);
  let headersSent = false;
  const onData = (chunk: Buffer): void => {
    if (headersSent) return;
    head = Buffer.concat([head, chunk]);
    const text = head.toString('latin1');
    const match = /\r?\n\r?\n/.exec(text);
    if (!match) return;
    headersSent = true;
    let status = 200;
    const headers: Record<string, string> = {};
    for (const line of text.slice(0, match.index).split(/\r?\n/)) {
      const colon = line.indexOf(':');
      if (colon < 0) continue;
      const name = line.slice(0, colon).trim();
      const value = line.slice(colon + 1).trim();
      if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10) || 500;
      else headers[name] = value;
    }
    res.writeHead(status, headers);
    res.write(head.subarray(Buffer.byteLength(text.slice(0, match.index + match[0].length), 'latin1')));
    child.stdout?.off('data', onData);
    child.stdout?.pipe(res);
  };
  child.stdout?.on('data', onData);
  child.on('close', (code, signal) => {
    if (headersSent) return;
    res.writeHead(502, { 'content-type': 'text/plain' })
      .end(`git-http-backend ended (${code ?? signal ?? '?'}) without headers: ${stderr()}\n`);
  });
}

// ---------------------------------------------------------------- OCI registry

/** Finds a free port on 127.0.0.1 below the ephemeral range (see REGISTRY_PORT_MIN). */
async function freeLowPort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = REGISTRY_PORT_MIN + Math.floor(Math.random() * (REGISTRY_PORT_MAX - REGISTRY_PORT_MIN + 1));
    const server = createNetServer();
    const free = await new Promise<boolean>((resolve) => {
      server.once('error', () => { resolve(false); });
      server.listen(port, '127.0.0.1', () => { resolve(true); });
    });
    if (free) {
      server.close();
      await once(server, 'close');
      return port;
    }
  }
  throw new Error(`no free port on 127.0.0.1 between ${REGISTRY_PORT_MIN} and ${REGISTRY_PORT_MAX}`);
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), REGISTRY_STOP_GRACE_MS);
  await exited;
  clearTimeout(timer);
}

function registryConfig(port: number, storage: string): string {
  return [
    'version: 0.1',
    'log:',
    '  level: warn',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${JSON.stringify(storage)}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: 127.0.0.1:${port}`,
    // Set, so the registry does not warn about generating one.
    `  secret: ${JSON.stringify(`uplink-test-${port}`)}`,
    '',
  ].join('\n');
}

type RegistryStart = { host: string } | { exited: string };

async function tryStartRegistry(t: TestContext, binary: string, dir: string): Promise<RegistryStart> {
  const port = await freeLowPort();
  const config = join(dir, `config-${port}.yml`);
  writeFileSync(config, registryConfig(port, join(dir, 'storage')));
  // Tracing would export spans to an OTLP collector on localhost by default.
  const child = spawn(binary, ['serve', config], {
    env: { ...process.env, OTEL_TRACES_EXPORTER: 'none' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.after(() => stopProcess(child));
  let log = '';
  const keep = (chunk: Buffer): void => { log = (log + chunk.toString('utf8')).slice(-REGISTRY_LOG_TAIL_BYTES); };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const host = `127.0.0.1:${port}`;
  for (const deadline = Date.now() + REGISTRY_START_TIMEOUT_MS; Date.now() < deadline;) {
    if (child.exitCode !== null || child.signalCode !== null) return { exited: log };
    try {
      const response = await fetch(`http://${host}/v2/`, { signal: AbortSignal.timeout(1_000) });
      if (response.status === 200) return { host };
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the OCI registry on ${host} did not answer /v2/ within ${REGISTRY_START_TIMEOUT_MS} ms: ${log}`);
}

/**
 * Runs the OCI registry built by `test/cluster/cluster build` on 127.0.0.1
 * with filesystem storage in a temp dir, stopped when the test ends; returns
 * its `host:port`. Another process taking the chosen port first is retried
 * on a new one.
 */
export async function startOciRegistry(t: TestContext): Promise<string> {
  const binary = join(await clusterBinDir(), 'registry');
  if (!statSync(binary, { throwIfNoEntry: false })) throw new Error(`no registry at ${binary}; run: test/cluster/cluster build`);
  const dir = tempDir(t, 'uplink-oci-');
  let last = '';
  for (let attempt = 0; attempt < REGISTRY_START_ATTEMPTS; attempt++) {
    const started = await tryStartRegistry(t, binary, dir);
    if ('host' in started) return started.host;
    last = started.exited;
    if (!/address already in use/.test(last)) break;
  }
  throw new Error(`the OCI registry exited during start: ${last}`);
}

/**
 * Pushes a chart directory to `registry` (`host:port`) under `charts/` with
 * `helm package` and `helm push --plain-http`; returns the chart's reference
 * without version, e.g. `oci://127.0.0.1:29123/charts/webapp`.
 */
export async function pushChart(registry: string, chartDir: string): Promise<string> {
  const { name } = parseYaml(readFileSync(join(chartDir, 'Chart.yaml'), 'utf8')) as { name: string };
  const dir = mkdtempSync(join(tmpdir(), 'uplink-oci-push-'));
  try {
    const archive = await packageChart(chartDir, dir);
    await helmOffline(['push', archive, `oci://${registry}/charts`, '--plain-http']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return `oci://${registry}/charts/${name}`;
}
