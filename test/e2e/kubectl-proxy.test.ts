// kubectl proxy in front of the hub, and the kubectl endpoint's host form
// (`--kube-domain`): real kubectl, real kubectl proxy, the real test cluster.
//
// The host form needs `<cluster>.<domain>` to reach the hub, and there is no
// wildcard DNS here (nor may /etc/hosts be edited). Two stand-ins for DNS,
// never for a component: kubectl itself gets HTTPS_PROXY pointing at a real
// forward proxy (test/helpers/connect-proxy.ts) that tunnels only
// `*.<domain>:<hub port>` to the hub, bytes untouched, so TLS and the Host
// header are kubectl's own; `kubectl proxy` dials the server itself for
// upgrades, ignoring any proxy, so it runs with a private /etc/hosts in a mount
// namespace of its own (test/helpers/private-hosts.ts). Requests to the
// kubectl proxy go to 127.0.0.1, which Go never sends through a proxy.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import type { AuditRecord } from '../../src/hub/store/index.ts';
import { runProcess, type ProcessResult } from '../../src/util/run-process.ts';
import { clusterBinDir, createTestNamespace, kubeconfigPath, kubectl, mintServiceAccountToken, testTempDir } from '../helpers/cluster.ts';
import { startConnectProxy, type ConnectProxy } from '../helpers/connect-proxy.ts';
import { hubCa, rawExchange, type HubAnswer } from '../helpers/hub-http.ts';
import { createUserLogin, kubeconfigThroughHub } from '../helpers/kubectl-hub.ts';
import { withPrivateHosts } from '../helpers/private-hosts.ts';
import { eventually, freePort, startAgent, startHub, suiteContext, uplink, type HubHandle } from '../helpers/uplink.ts';

const DOMAIN = 'kube.uplink.test';
const CLUSTER = 'hostroute';
/** A cluster registered on the hub with no agent: its host names an existing cluster. */
const OTHER = 'hostroute-other';
const HINT = /this is the Uplink hub, not a Kubernetes API server: a cluster's API is at https:\/\/[^ ]+\/k8s\/clusters\/CLUSTER/;

interface Status {
  kind: string;
  status: string;
  reason: string;
  code: number;
  message: string;
  error?: { code: string };
}

type AuditRow = Pick<AuditRecord, 'userName' | 'clusterName' | 'verb' | 'resource' | 'path' | 'status'>;

const { t: suite, runCleanups } = suiteContext('kubectl-proxy');

describe('kubectl proxy and host-routed kubeconfigs', () => {
  let hub: HubHandle;
  let proxy: ConnectProxy;
  let namespace: string;
  let pod: string;
  let pathKubeconfig: string;
  let hostKubeconfig: string;
  let noDomainAnswer: ProcessResult;
  let emptyKubeconfig: string;
  let kubectlBin: string;

  before(async () => {
    kubectlBin = join(await clusterBinDir(), 'kubectl');
    const agentNamespace = await createTestNamespace(suite, 'hostroute-agent');
    const { kubeconfig: agentKubeconfig } = await mintServiceAccountToken(suite, { namespace: agentNamespace, clusterRole: 'cluster-admin' });
    // First without a kube domain: the CLI refuses the host form, and the certificate generated lacks *.<domain>.
    const dataDir = testTempDir(suite, 'uplink-hub-');
    const port = await freePort();
    const plain = await startHub(suite, { port, dataDir });
    const created = await plain.client.request<{ token: string }>('POST', '/api/v1/clusters', { name: CLUSTER });
    await plain.client.request('POST', '/api/v1/clusters', { name: OTHER });
    noDomainAnswer = await uplink(['kubeconfig', CLUSTER, '--host-routing'], plain.cliConfig);
    await plain.process.stop();
    // The same data directory with one: the certificate must be re-issued for the host form's TLS to verify.
    hub = await startHub(suite, { port, dataDir, args: ['--kube-domain', DOMAIN] });
    await startAgent(suite, { hubUrl: hub.url, caHash: hub.caHash, token: created.token, kubeconfig: agentKubeconfig });
    proxy = await startConnectProxy(suite, { domain: DOMAIN, hubPort: hub.port });

    namespace = await createTestNamespace(suite, 'hostroute-work');
    await kubectl(['-n', namespace, 'create', 'deployment', 'app', '--image=registry.invalid/app:1', '--replicas=1']);
    await kubectl(['-n', namespace, 'create', 'configmap', 'keep', '--from-literal=a=1']);
    await kubectl(['-n', namespace, 'rollout', 'status', 'deployment/app', '--timeout=60s'], { timeoutMs: 70_000 });
    pod = (await kubectl(['-n', namespace, 'get', 'pods', '-l', 'app=app', '-o', 'jsonpath={.items[0].metadata.name}'])).stdout;

    pathKubeconfig = await kubeconfigThroughHub(hub.cliConfig, CLUSTER);
    hostKubeconfig = await hostRoutedKubeconfig(hub.cliConfig);
    emptyKubeconfig = join(testTempDir(suite, 'uplink-empty-kubeconfig-'), 'config');
    writeFileSync(emptyKubeconfig, 'apiVersion: v1\nkind: Config\n');
  });

  after(async () => {
    await runCleanups();
  });

  async function hostRoutedKubeconfig(cliConfig: string): Promise<string> {
    const file = join(testTempDir(suite, 'uplink-kubeconfig-'), 'config');
    const result = await uplink(['kubeconfig', CLUSTER, '--host-routing', '--file', file], cliConfig);
    assert.equal(result.code, 0, result.stderr);
    return file;
  }

  /** kubectl with a kubeconfig, through the CONNECT proxy for `*.<domain>`. Never throws on a non-zero exit. */
  function viaHub(kubeconfig: string, args: string[], input?: string): Promise<ProcessResult> {
    return runProcess(kubectlBin, ['--kubeconfig', kubeconfig, ...args], {
      env: { ...process.env, HTTPS_PROXY: proxy.url, https_proxy: proxy.url, NO_PROXY: '', no_proxy: '' }, timeoutMs: 60_000,
      ...(input === undefined ? {} : { input }),
    });
  }

  /** kubectl against a kubectl proxy at `server`, with no credentials of its own. */
  function viaKubectlProxy(server: string, args: string[]): Promise<ProcessResult> {
    return runProcess(kubectlBin, ['--kubeconfig', emptyKubeconfig, '--server', server, ...args], { timeoutMs: 60_000 });
  }

  /** A request to the hub with a Host header of our choosing (TLS checked for localhost, whatever the Host). */
  function onHost(host: string, path: string, token?: string): Promise<HubAnswer> {
    return new Promise((resolve, reject) => {
      const req = https.request({
        host: '127.0.0.1', port: hub.port, path, servername: 'localhost', ca: hubCa(hub), agent: false, timeout: 15_000,
        headers: { host, ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) },
      }, (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => { body += chunk.toString(); });
        res.on('end', () => { resolve({ status: res.statusCode ?? 0, headers: res.headers, body }); });
        res.on('error', reject);
      });
      req.on('timeout', () => { req.destroy(new Error('the hub did not answer in time')); });
      req.on('error', reject);
      req.end();
    });
  }

  /** Starts `kubectl proxy --port=0`; resolves with its URL once it serves. */
  async function startKubectlProxy(kubeconfig: string, flags: string[], hosts: string[] = []): Promise<string> {
    const args = ['--kubeconfig', kubeconfig, 'proxy', '--port=0', ...flags];
    const { command, args: argv } = hosts.length === 0 ? { command: kubectlBin, args } : await withPrivateHosts(suite, hosts, kubectlBin, args);
    const child: ChildProcess = spawn(command, argv, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, HTTPS_PROXY: '', https_proxy: '' } });
    suite.after(async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    });
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => { output += chunk.toString(); });
    child.stderr?.on('data', (chunk: Buffer) => { output += chunk.toString(); });
    const port = await eventually('kubectl proxy to serve', 30_000, () => {
      if (child.exitCode !== null) throw new Error(`kubectl proxy exited ${child.exitCode}: ${output}`);
      return /Starting to serve on 127\.0\.0\.1:(\d+)/.exec(output)?.[1];
    });
    return `http://127.0.0.1:${port}`;
  }

  /**
   * Compares kubectl through a kubectl proxy in front of the hub with kubectl
   * through a kubectl proxy with the same flags straight to the API server:
   * discovery, a list, an exec (which kubectl proxy refuses unless
   * --reject-paths says otherwise, both ways alike).
   */
  async function assertSameAsDirect(kubeconfig: string, flags: string[], hosts: string[] = []): Promise<void> {
    const direct = await startKubectlProxy(await kubeconfigPath(), ['--reject-paths=^$']);
    const server = await startKubectlProxy(kubeconfig, [...flags, '--reject-paths=^$'], hosts);
    const api = await fetch(`${server}/api`);
    assert.equal(api.status, 200, await api.clone().text());
    const directApi = (await (await fetch(`${direct}/api`)).json()) as { versions: string[] };
    assert.deepEqual(((await api.json()) as { versions: string[] }).versions, directApi.versions);
    const same = async (args: string[]): Promise<string> => {
      const [through, straight] = [await viaKubectlProxy(server, args), await viaKubectlProxy(direct, args)];
      assert.equal(through.code, 0, `${args.join(' ')}: ${through.stderr}`);
      assert.equal(straight.code, 0, `${args.join(' ')} directly: ${straight.stderr}`);
      assert.equal(through.stdout, straight.stdout, args.join(' '));
      return through.stdout;
    };
    assert.match(await same(['-n', namespace, 'get', 'pods', '-o', 'name']), new RegExp(`^pod/${pod}\n$`));
    assert.equal(await same(['-n', namespace, 'exec', pod, '--', 'echo', 'hi']), 'hi\n');
    // kubectl proxy's own default refuses exec; through the hub as directly.
    const defaults = await startKubectlProxy(kubeconfig, flags, hosts);
    const refused = await viaKubectlProxy(defaults, ['-n', namespace, 'exec', pod, '--', 'echo', 'hi']);
    assert.match(refused.stderr, /unable to upgrade connection: Forbidden/);
  }

  it('host routing - uplink kubeconfig --host-routing writes https://<cluster>.<domain>:<port> with the hub CA, and says when the hub has no domain', () => {
    assert.equal(noDomainAnswer.code, 1);
    assert.match(noDomainAnswer.stderr, /has no kube domain, so it routes kubectl by path only: drop --host-routing, or ask its operator to set uplink hub --kube-domain/);
    const config = parseYaml(readFileSync(hostKubeconfig, 'utf8')) as { clusters: { cluster: Record<string, unknown> }[]; users: { user: { token: string } }[] };
    const cluster = config.clusters[0]?.cluster ?? {};
    assert.equal(cluster.server, `https://${CLUSTER}.${DOMAIN}:${hub.port}`);
    assert.equal(Buffer.from(String(cluster['certificate-authority-data']), 'base64').toString(), readFileSync(join(hub.dataDir, 'tls', 'ca.crt'), 'utf8'));
    assert.equal(cluster['insecure-skip-tls-verify'], undefined);
    assert.equal(config.users[0]?.user.token, hub.adminToken);
  });

  it('host routing - kubectl with the host-routed kubeconfig reads, lists and execs as directly, TLS verified', async () => {
    const pods = await viaHub(hostKubeconfig, ['-n', namespace, 'get', 'pods', '-o', 'name']);
    assert.equal(pods.code, 0, pods.stderr);
    assert.equal(pods.stdout, (await kubectl(['-n', namespace, 'get', 'pods', '-o', 'name'])).stdout);
    const version = await viaHub(hostKubeconfig, ['get', '--raw', '/version']);
    assert.equal(version.code, 0, version.stderr);
    assert.equal((JSON.parse(version.stdout) as { gitVersion: string }).gitVersion, (JSON.parse((await kubectl(['get', '--raw', '/version'])).stdout) as { gitVersion: string }).gitVersion);
    const exec = await viaHub(hostKubeconfig, ['-n', namespace, 'exec', '-i', pod, '--', 'sh', '-c', 'read line; echo "got:$line"'], 'hello\n');
    assert.equal(exec.code, 0, exec.stderr);
    assert.equal(exec.stdout, 'got:hello\n');
    assert.ok(proxy.tunnelled.includes(`${CLUSTER}.${DOMAIN}:${hub.port}`), `tunnelled: ${proxy.tunnelled.join(', ')}`);
    assert.deepEqual(proxy.refused, []);
  });

  it('kubectl proxy - with the host-routed kubeconfig and no flag it serves /api, and get and exec through it work as directly', async () => {
    await assertSameAsDirect(hostKubeconfig, [], [`${CLUSTER}.${DOMAIN}`]);
  });

  it('kubectl proxy - with the path-form kubeconfig and --append-server-path it serves /api, and get and exec through it work as directly', async () => {
    await assertSameAsDirect(pathKubeconfig, ['--append-server-path']);
  });

  it('kubectl proxy - with the path form and no flag, /api is the hub\'s hint, and kubectl prints it', async () => {
    const server = await startKubectlProxy(pathKubeconfig, []);
    const api = await fetch(`${server}/api`);
    const status = (await api.json()) as Status;
    assert.equal(api.status, 404);
    assert.deepEqual([status.kind, status.status, status.reason, status.code], ['Status', 'Failure', 'NotFound', 404]);
    assert.match(status.message, HINT);
    assert.match(status.message, /--append-server-path/);
    assert.match(status.message, new RegExp(`uplink kubeconfig CLUSTER --host-routing\` \\(server https://CLUSTER\\.${DOMAIN.replace(/\./g, '\\.')}, no path\\)`));
    assert.match(api.headers.get('warning') ?? '', /^299 - "this is the Uplink hub/);
    for (const args of [['-n', namespace, 'get', 'pods'], ['-n', namespace, 'exec', pod, '--', 'echo', 'hi']]) {
      const result = await viaKubectlProxy(server, args);
      assert.notEqual(result.code, 0, args.join(' '));
      assert.match(result.stderr, /Warning: this is the Uplink hub, not a Kubernetes API server/, args.join(' '));
    }
  });

  it('hub host - a stray Kubernetes request gets the hint whatever the token; the hub\'s own routes keep their answers', async () => {
    const hubHost = new URL(hub.url).host;
    for (const [path, token] of [['/api', undefined], ['/api/', hub.adminToken], ['/apis/apps/v1', 'upk_not_a_token'], ['/openapi/v3', undefined], ['/api/v1/namespaces/default/pods', hub.adminToken]] as const) {
      const answer = await onHost(hubHost, path, token);
      assert.equal(answer.status, 404, path);
      const status = JSON.parse(answer.body) as Status;
      assert.equal(status.reason, 'NotFound', path);
      assert.match(status.message, HINT, path);
      assert.equal(status.error?.code, 'NOT_FOUND', `${path}: the hub's error shape beside the Status`);
    }
    // Real hub routes: unchanged, whoever asks.
    assert.equal((await onHost(hubHost, '/api/v1/clusters', hub.adminToken)).status, 200);
    assert.equal((JSON.parse((await onHost(hubHost, '/api/v1/clusters')).body) as Status).error?.code, 'UNAUTHORIZED');
    assert.ok('uplink' in (JSON.parse((await onHost(hubHost, '/version')).body) as object));
    // A stray upgrade (exec) gets the same answer as raw HTTP/1.1.
    const upgrade = await rawExchange(hub, Buffer.from(`GET /api/v1/namespaces/${namespace}/pods/${pod}/exec?command=id HTTP/1.1\r\nHost: ${hubHost}\r\n`
      + 'Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n'));
    assert.match(upgrade, /^HTTP\/1\.1 404 Not Found\r\n/);
    assert.match(upgrade, /\r\nwarning: 299 - "this is the Uplink hub/);
    assert.match(upgrade, /"kind":"Status".*"reason":"NotFound"/);
  });

  it('cluster host - serves only the API server\'s paths: never the hub\'s routes, refusing a host that names no cluster', async () => {
    const host = `${CLUSTER}.${DOMAIN}:${hub.port}`;
    const version = await onHost(host, '/version', hub.adminToken);
    assert.equal(version.status, 200, version.body);
    assert.ok('gitVersion' in (JSON.parse(version.body) as object), 'the API server\'s /version, not the hub\'s');
    const clusters = await onHost(host, '/api/v1/clusters', hub.adminToken);
    assert.equal(clusters.status, 404, 'the API server has no /api/v1/clusters');
    assert.equal((JSON.parse(clusters.body) as Status).message, 'the server could not find the requested resource');
    const root = await onHost(`${CLUSTER.toUpperCase()}.${DOMAIN}.:${hub.port}`, '/', hub.adminToken);
    assert.ok((JSON.parse(root.body) as { paths?: string[] }).paths?.includes('/api/v1'), 'the API server\'s root, not the dashboard, in any case, with a trailing dot');
    const pathForm = await onHost(host, `/k8s/clusters/${CLUSTER}/api`, hub.adminToken);
    assert.equal(pathForm.status, 400, 'the path form is not an API server path');
    const agentEndpoint = await onHost(host, '/api/v1/agent/connect');
    assert.equal((JSON.parse(agentEndpoint.body) as Status).reason, 'Unauthorized', 'nor is the agent endpoint there');
    for (const bad of [`a_b.${DOMAIN}`, `a.b.${DOMAIN}`, `.${DOMAIN}`, `${CLUSTER}.${DOMAIN}:84x3`]) {
      const answer = await onHost(bad, '/api', hub.adminToken);
      assert.equal(answer.status, 400, bad);
      assert.equal((JSON.parse(answer.body) as Status).reason, 'BadRequest', bad);
    }
    const unknown = await viaHub(hostKubeconfig, ['--server', `https://nosuch.${DOMAIN}:${hub.port}`, 'get', '--raw', '/api']);
    assert.match(unknown.stderr, /NotFound.*cluster "nosuch" not found/);
    const noToken = await onHost(host, '/api');
    assert.equal(noToken.status, 401);
    assert.equal((JSON.parse(noToken.body) as Status).reason, 'Unauthorized');
  });

  it('cluster host - role-limited, audited and revocable as the path form', async () => {
    const login = await createUserLogin(hub, 'viewer', 'view', CLUSTER);
    const kubeconfig = await hostRoutedKubeconfig(login);
    const read = await viaHub(kubeconfig, ['-n', namespace, 'get', 'configmap', 'keep', '-o', 'name']);
    assert.equal(read.stdout, 'configmap/keep\n', read.stderr);
    const del = await viaHub(kubeconfig, ['-n', namespace, 'delete', 'configmap', 'keep']);
    assert.notEqual(del.code, 0);
    assert.match(del.stderr, /Forbidden.*User "uplink:viewer" cannot delete resource "configmaps"/);
    // A cluster that exists but the viewer has no role on: 404 as for no cluster at all (the admin sees it offline).
    const other = await viaHub(kubeconfig, ['--server', `https://${OTHER}.${DOMAIN}:${hub.port}`, 'get', '--raw', '/api']);
    assert.match(other.stderr, new RegExp(`NotFound.*cluster "${OTHER}" not found`));
    const otherAsAdmin = JSON.parse((await onHost(`${OTHER}.${DOMAIN}`, '/version', hub.adminToken)).body) as Status;
    assert.match(otherAsAdmin.message, /is offline: its agent is not linked to the hub/);

    // A watch open on the cluster host ends when the token is revoked; a new request gets 401.
    const watch = spawn(kubectlBin, ['--kubeconfig', kubeconfig, '-n', namespace, 'get', 'configmaps', '-w'], {
      stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, HTTPS_PROXY: proxy.url, https_proxy: proxy.url, NO_PROXY: '', no_proxy: '' },
    });
    suite.after(() => { watch.kill('SIGKILL'); });
    let watched = '';
    watch.stdout.on('data', (chunk: Buffer) => { watched += chunk.toString(); });
    watch.stderr.on('data', (chunk: Buffer) => { watched += chunk.toString(); });
    const exited = once(watch, 'close');
    await eventually('the watch to list', 30_000, () => (watched.includes('keep') ? true : undefined));
    const { items } = await hub.client.request<{ items: { id: string }[] }>('GET', '/api/v1/users/viewer/tokens');
    for (const token of items) await hub.client.request('DELETE', `/api/v1/tokens/${token.id}`);
    await Promise.race([exited, new Promise((_, reject) => setTimeout(() => { reject(new Error(`the watch outlived its token: ${watched}`)); }, 30_000))]);
    const revoked = await viaHub(kubeconfig, ['-n', namespace, 'get', 'configmap', 'keep']);
    assert.notEqual(revoked.code, 0);
    assert.match(revoked.stderr, /You must be logged in to the server|Unauthorized/);

    const rows = await eventually('the audit rows', 10_000, async () => {
      const { items: found } = await hub.client.request<{ items: AuditRow[] }>('GET', '/api/v1/audit?limit=1000');
      const has = (match: (row: AuditRow) => boolean): boolean => found.some(match);
      return has((r) => r.userName === 'viewer' && r.verb === 'delete' && r.status === 403)
        && has((r) => r.userName === 'viewer' && r.verb === 'watch' && r.clusterName === CLUSTER)
        ? found : undefined;
    });
    const find = (match: (row: AuditRow) => boolean): AuditRow | undefined => rows.find(match);
    assert.ok(find((r) => r.userName === 'viewer' && r.clusterName === CLUSTER && r.verb === 'get' && r.resource === 'configmaps' && r.status === 200), 'the read');
    assert.ok(find((r) => r.userName === 'viewer' && r.clusterName === OTHER && r.status === 404), 'the refused other cluster');
    assert.ok(find((r) => r.userName === '(unauthenticated)' && r.clusterName === CLUSTER && r.status === 401 && r.path === `/api/v1/namespaces/${namespace}/configmaps/keep`), 'the revoked token');
    assert.ok(find((r) => r.clusterName === 'nosuch' && r.status === 404), 'the unknown cluster host');
  });
});
