// A real PostgreSQL server for tests: initdb into a temp dir, listening on
// 127.0.0.1 and a free port, its unix socket inside the data dir, fsync on
// (the server's default). PostgreSQL refuses to run as root, so as root the
// server runs as `nobody`. Loopback connections are trusted, except for one
// role that must give a password (for tests of password files). Servers
// this process started are killed by their pid file when it exits, and a
// later start sweeps servers a crashed test process left behind.
import { execFile } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

export interface RunningPostgres {
  /** `postgres://postgres@127.0.0.1:<port>/postgres` (the superuser, no password needed). */
  url: string;
  port: number;
  dataDir: string;
  /** A role that must log in with this password (scram-sha-256), even on loopback. */
  passwordRole: { user: string; password: string };
  /** Fast shutdown (clients are disconnected); the data dir stays. */
  stop(): Promise<void>;
  /** Starts the server again on the same data dir and port. */
  start(): Promise<void>;
  /** Stops the server and removes its directory. */
  destroy(): Promise<void>;
  /** Creates an empty database (owned by `owner`, default the superuser) and returns its URL for that owner, without password. */
  createDatabase(name: string, options?: { owner?: string }): Promise<string>;
}

export interface StartPostgresOptions {
  /** Extra server settings (`-c name=value`), e.g. `{ max_connections: '20' }`. */
  settings?: Record<string, string>;
  /** Another local address to listen on too, with the same client rules as 127.0.0.1 (a forward's target, say). */
  alsoListenOn?: string;
}

const ROOT_PREFIX = 'uplink-pg-';
const PASSWORD_ROLE = 'uplink_password_user';
const START_TIMEOUT_S = 60;
const running = new Set<string>();

/** The newest PostgreSQL's bin directory under /usr/lib/postgresql, or a clear error. */
function binDir(): string {
  const base = '/usr/lib/postgresql';
  const versions = existsSync(base) ? readdirSync(base).filter((v) => existsSync(join(base, v, 'bin/initdb'))) : [];
  const newest = versions.sort((a, b) => Number(b) - Number(a))[0];
  if (newest === undefined) throw new Error(`PostgreSQL server binaries not found under ${base}/*/bin: run scripts/setup.sh`);
  return join(base, newest, 'bin');
}

const asRoot = process.getuid?.() === 0;

/** Runs a PostgreSQL binary as the server's owner (nobody when we are root). */
async function runAs(bin: string, args: string[], cwd: string): Promise<void> {
  const [command, argv] = asRoot
    ? ['setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', bin, ...args]]
    : [bin, args];
  try {
    await promisify(execFile)(command, argv, { cwd, env: { ...process.env, LC_ALL: 'C' }, timeout: (START_TIMEOUT_S + 5) * 1000 });
  } catch (error) {
    const { stderr = '', stdout = '' } = error as { stderr?: string; stdout?: string };
    throw new Error(`${bin} ${args.join(' ')} failed: ${stderr}${stdout}`, { cause: error });
  }
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (typeof address !== 'object' || address === null) throw new Error('no free port');
  return address.port;
}

/** The postmaster's pid from its pid file, if the file is there. */
function postmasterPid(dataDir: string): number | undefined {
  try {
    const pid = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Synchronous fallback for process exit: immediate shutdown by pid file, then the directory goes. */
function killAndRemove(root: string): void {
  const pid = postmasterPid(join(root, 'data'));
  if (pid !== undefined && alive(pid)) {
    try { process.kill(pid, 'SIGQUIT'); } catch { /* already gone */ }
  }
  rmSync(root, { recursive: true, force: true });
}

/** Removes servers whose test process died without cleaning up (their owner pid is gone). */
function sweepOrphans(): void {
  for (const name of readdirSync(tmpdir()).filter((n) => n.startsWith(ROOT_PREFIX))) {
    const root = join(tmpdir(), name);
    let owner: number;
    try { owner = Number(readFileSync(join(root, 'owner.pid'), 'utf8')); } catch { continue; }
    // Another user's leftovers may not be ours to remove; they are not in our way either.
    if (Number.isInteger(owner) && owner > 0 && !alive(owner)) { try { killAndRemove(root); } catch { /* not ours */ } }
  }
}

process.on('exit', () => { for (const root of running) killAndRemove(root); });

/** Starts a fresh PostgreSQL; call `destroy()` in `after` (process exit kills it too, as a fallback). */
export async function startPostgres(options: StartPostgresOptions = {}): Promise<RunningPostgres> {
  const bin = binDir();
  sweepOrphans();
  const root = mkdtempSync(join(tmpdir(), ROOT_PREFIX));
  writeFileSync(join(root, 'owner.pid'), String(process.pid));
  running.add(root);
  if (asRoot) chownSync(root, 65534, 65534);
  const dataDir = join(root, 'data');
  const port = await freePort();
  const password = `pw-${process.pid}-${port}`;
  const addresses = ['127.0.0.1', ...(options.alsoListenOn === undefined ? [] : [options.alsoListenOn])];
  const settings = { listen_addresses: addresses.join(','), port: String(port), unix_socket_directories: dataDir, ...options.settings };
  const serverOptions = Object.entries(settings).map(([k, v]) => `-c ${k}=${v}`).join(' ');
  const start = async (): Promise<void> => {
    await runAs(join(bin, 'pg_ctl'), ['start', '-D', dataDir, '-w', '-t', String(START_TIMEOUT_S), '-l', join(root, 'server.log'), '-o', serverOptions], root);
  };
  const stop = async (mode = 'fast'): Promise<void> => {
    const pid = postmasterPid(dataDir);
    if (pid === undefined || !alive(pid)) return;
    await runAs(join(bin, 'pg_ctl'), ['stop', '-D', dataDir, '-m', mode, '-w', '-t', String(START_TIMEOUT_S)], root);
  };
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const admin = async <T>(work: (client: pg.Client) => Promise<T>): Promise<T> => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      return await work(client);
    } finally {
      await client.end();
    }
  };
  try {
    // initdb --no-sync only skips initdb's own final flush of a throwaway dir; the server keeps fsync on.
    await runAs(join(bin, 'initdb'), ['-D', dataDir, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--locale=C', '--no-sync'], root);
    writeFileSync(join(dataDir, 'pg_hba.conf'), [
      'local all all trust',
      ...addresses.flatMap((address) => [`host all ${PASSWORD_ROLE} ${address}/32 scram-sha-256`, `host all all ${address}/32 trust`]),
      '',
    ].join('\n'));
    await start();
    await admin((c) => c.query(`CREATE ROLE ${PASSWORD_ROLE} LOGIN PASSWORD '${password}'`));
  } catch (error) {
    killAndRemove(root);
    running.delete(root);
    throw error;
  }
  return {
    url, port, dataDir, start,
    stop: () => stop(),
    passwordRole: { user: PASSWORD_ROLE, password },
    destroy: async () => {
      // Immediate: no shutdown checkpoint for data about to be removed.
      await stop('immediate').catch(() => undefined);
      killAndRemove(root);
      running.delete(root);
    },
    createDatabase: async (name, createOptions = {}) => {
      const owner = createOptions.owner ?? 'postgres';
      if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name) || !/^[a-z_][a-z0-9_]{0,62}$/.test(owner)) {
        throw new Error(`createDatabase: '${name}' / '${owner}' is not a plain lower-case identifier`);
      }
      await admin((c) => c.query(`CREATE DATABASE ${name} OWNER ${owner}`));
      return `postgres://${owner}@127.0.0.1:${port}/${name}`;
    },
  };
}

