// Several hub replicas on one real PostgreSQL behind a real HAProxy, for the
// tests of a hub that has no single point of failure. HAProxy passes TLS
// through (agents pin the hub's CA, which the replicas share) and checks each
// replica's /readyz every second, as a load balancer in front of a rolling
// upgrade would.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { HubClient } from '../../src/cli/hub-client.ts';
import { startPostgres, type RunningPostgres } from './postgres.ts';
import { testTempDir } from './cluster.ts';
import { freePort, uplink, UplinkProcess } from './uplink.ts';

const HAPROXY = '/usr/sbin/haproxy';

export interface Replica {
  id: string;
  port: number;
  peerPort: number;
  url: string;
  dataDir: string;
  process: UplinkProcess;
  /** Starts it again after a stop or a kill, on the same ports and data dir. */
  restart(): Promise<void>;
}

export interface HubTier {
  postgres: RunningPostgres;
  databaseUrl: string;
  replicas: Replica[];
  /** HAProxy's URL: what users and kubectl are given. */
  lbUrl: string;
  /** lbUrl, then the round-robin endpoint of each extra HAProxy (HubTierOptions.extraBalancers). */
  balancerUrls: string[];
  /**
   * HAProxy's endpoint for agents: the last replica first, the others when it
   * is down, so a test knows where its agent links and sees it move.
   */
  agentUrl: string;
  caHash: string;
  adminToken: string;
  /** CLI settings logged in through the load balancer. */
  cliConfig: string;
  client: HubClient;
  /** A client for one replica directly. */
  clientOf(replica: Replica): HubClient;
  /** CLI settings logged in to one replica directly. */
  cliConfigOf(replica: Replica): Promise<string>;
}

function replicaArgs(r: Pick<Replica, 'id' | 'port' | 'peerPort' | 'dataDir'>, databaseUrl: string, lbUrl: string, extra: string[]): string[] {
  return [
    'hub', '--listen', `127.0.0.1:${r.port}`, '--data-dir', r.dataDir, '--database-url', databaseUrl,
    '--replica-id', r.id, '--peer-listen', `127.0.0.1:${r.peerPort}`, '--peer-url', `https://127.0.0.1:${r.peerPort}`,
    '--public-url', lbUrl, '--offline-after', '10', '--drain-timeout', '20', ...extra,
  ];
}

async function startReplica(t: TestContext, r: Omit<Replica, 'process' | 'restart'>, databaseUrl: string, lbUrl: string, extra: string[]): Promise<Replica> {
  const replica = r as Replica;
  const launch = async (): Promise<void> => {
    replica.process = new UplinkProcess(replicaArgs(r, databaseUrl, lbUrl, extra));
    const current = replica.process;
    t.after(() => current.stop('SIGKILL'));
    await current.waitForLog((l) => l.msg === 'hub listening', 60_000);
  };
  replica.restart = launch;
  await launch();
  return replica;
}

/** Options of startHubTier beyond the replica count and their extra flags. */
export interface HubTierOptions {
  /** HAProxy's connection limit, for each frontend and in all (default 4000); it needs twice that in open files. */
  maxconn?: number;
  /**
   * More HAProxy processes with the same configuration on their own ports,
   * as a site runs a pair of load balancers; for fleets whose connections
   * would not fit one process's open files limit. Default none.
   */
  extraBalancers?: number;
}

function haproxyConfig(ports: { lb: number; agents: number }, replicas: readonly Replica[], dir: string, maxconn: number): string {
  // Each replica again as an unchecked backup: when every check fails at once (all replicas busy in a
  // reconnect storm), connections still go to them rather than being closed (docs/ha.md).
  const servers = (list: readonly Replica[]): string[] => [
    ...list.map((r) => `  server ${r.id} 127.0.0.1:${r.port} check check-ssl verify none inter 1s fall 2 rise 2`),
    '  option allbackups', ...list.map((r) => `  server ${r.id}-open 127.0.0.1:${r.port} backup`),
  ];
  return [
    'global', `  pidfile ${join(dir, 'haproxy.pid')}`, `  maxconn ${maxconn}`,
    'defaults', '  mode tcp', `  maxconn ${maxconn}`, '  timeout connect 5s', '  timeout client 1h', '  timeout server 1h', '  timeout tunnel 1h', '  timeout check 2s',
    '  option redispatch 1', '  retries 3',
    'frontend hub', `  bind 127.0.0.1:${ports.lb}`, '  default_backend replicas',
    'backend replicas', '  balance roundrobin', '  option httpchk GET /readyz', ...servers(replicas),
    'frontend agents', `  bind 127.0.0.1:${ports.agents}`, '  default_backend agent-replicas',
    'backend agent-replicas', '  balance first', '  option httpchk GET /readyz', ...servers([...replicas].reverse()),
    '',
  ].join('\n');
}

async function startHaproxy(t: TestContext, ports: { lb: number; agents: number }, replicas: readonly Replica[], dir: string, maxconn: number): Promise<ChildProcess> {
  if (!existsSync(HAPROXY)) throw new Error(`${HAPROXY} not found: run scripts/setup.sh`);
  const config = join(dir, 'haproxy.cfg');
  writeFileSync(config, haproxyConfig(ports, replicas, dir, maxconn));
  const child = spawn(HAPROXY, ['-db', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
  const reap = (): void => { child.kill('SIGKILL'); };
  process.once('exit', reap);
  t.after(async () => {
    process.off('exit', reap);
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, 500);
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`haproxy exited (${code}): ${stderr}`)); });
  });
  return child;
}

/** Starts PostgreSQL, `count` replicas at once on its empty database, and HAProxy in front; logs the CLI in through HAProxy. */
export async function startHubTier(t: TestContext, count = 3, extraArgs: string[] = [], options: HubTierOptions = {}): Promise<HubTier> {
  const postgres = await startPostgres();
  t.after(() => postgres.destroy());
  const databaseUrl = await postgres.createDatabase('uplink');
  const lbPort = await freePort();
  const lbUrl = `https://127.0.0.1:${lbPort}`;
  const specs = await Promise.all(Array.from({ length: count }, async (_, i) => {
    const port = await freePort();
    const peerPort = await freePort();
    const id = `hub-${String.fromCharCode(97 + i)}`;
    return { id, port, peerPort, url: `https://127.0.0.1:${port}`, dataDir: testTempDir(t, `uplink-${id}-`) };
  }));
  // The CA's key is sealed in the database, as docs/ha.md has production run it.
  const secretsKeyFile = join(testTempDir(t, 'uplink-secrets-'), 'secrets-key');
  writeFileSync(secretsKeyFile, randomBytes(48).toString('base64'), { mode: 0o600 });
  const replicas = await Promise.all(specs.map((spec) => startReplica(t, spec, databaseUrl, lbUrl, ['--secrets-key-file', secretsKeyFile, ...extraArgs])));
  const caHashes = new Set(replicas.map((r) => r.process.lines.find((l) => l.msg === 'hub listening')?.caHash));
  if (caHashes.size !== 1) throw new Error(`the replicas serve different CAs: ${[...caHashes].join(', ')}`);
  const caHash = [...caHashes][0] as string;
  const tokenFile = replicas.map((r) => join(r.dataDir, 'admin-token')).find((file) => existsSync(file));
  if (tokenFile === undefined) throw new Error('no replica wrote the first admin token');
  const adminToken = readFileSync(tokenFile, 'utf8').trim();
  const agentPort = await freePort();
  await startHaproxy(t, { lb: lbPort, agents: agentPort }, replicas, testTempDir(t, 'uplink-haproxy-'), options.maxconn ?? 4000);
  const balancerUrls = [lbUrl];
  for (let i = 0; i < (options.extraBalancers ?? 0); i++) {
    const ports = { lb: await freePort(), agents: await freePort() };
    await startHaproxy(t, ports, replicas, testTempDir(t, 'uplink-haproxy-'), options.maxconn ?? 4000);
    balancerUrls.push(`https://127.0.0.1:${ports.lb}`);
  }
  const login = async (url: string): Promise<string> => {
    const cliConfig = join(testTempDir(t, 'uplink-cli-'), 'cli.json');
    const result = await uplink(['login', url, '--token-file', tokenFile, '--ca-hash', caHash], cliConfig);
    if (result.code !== 0) throw new Error(`uplink login ${url} failed: ${result.stderr}`);
    return cliConfig;
  };
  const cliConfig = await login(lbUrl);
  const caPem = (JSON.parse(readFileSync(cliConfig, 'utf8')) as { caPem: string }).caPem;
  const clientFor = (url: string): HubClient => new HubClient({ hubUrl: url, token: adminToken, caPem });
  return {
    postgres, databaseUrl, replicas, lbUrl, balancerUrls, agentUrl: `https://127.0.0.1:${agentPort}`, caHash, adminToken, cliConfig,
    client: clientFor(lbUrl),
    clientOf: (replica) => clientFor(replica.url),
    cliConfigOf: (replica) => login(replica.url),
  };
}
