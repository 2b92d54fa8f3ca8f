// The real kubectl against the real test cluster, only through the hub:
// reads, writes, watch, logs -f, exec, attach, port-forward and cp, then the
// audit log of it all.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createTestNamespace, kubectl, writePodLogLine } from '../helpers/cluster.ts';
import { KubectlStream, connectThroughPortForward, createUserLogin, kubeconfigThroughHub, kubectlVia, startForwardEcho, startHubCluster, type HubCluster } from '../helpers/kubectl-hub.ts';
import { eventually, suiteContext } from '../helpers/uplink.ts';

interface AuditRow {
  id: number;
  state: 'complete' | 'in_progress' | 'interrupted';
  userName: string;
  verb: string;
  resource: string;
  subresource: string | null;
  namespace: string | null;
  name: string | null;
  status: number;
  command: string | null;
  bytesIn: number;
  bytesOut: number;
  exitCode: number | null;
  exitReason: string | null;
}

const { t: suite, runCleanups } = suiteContext('kubectl');

describe('kubectl through the hub', () => {
  let env: HubCluster;
  let namespace: string;
  let pod: string;

  before(async () => {
    env = await startHubCluster(suite, 'kubectl-e2e');
    namespace = await createTestNamespace(suite, 'kubectl');
    await kubectl(['-n', namespace, 'create', 'deployment', 'app', '--image=registry.invalid/app:1', '--replicas=1']);
    await kubectl(['-n', namespace, 'rollout', 'status', 'deployment/app', '--timeout=60s'], { timeoutMs: 70_000 });
    pod = (await kubectl(['-n', namespace, 'get', 'pods', '-l', 'app=app', '-o', 'jsonpath={.items[0].metadata.name}'])).stdout;
  });

  after(async () => {
    await runCleanups();
  });

  const k = (args: string[], input?: string): ReturnType<typeof kubectlVia> => kubectlVia(env.adminKubeconfig, args, input);

  it('kubectl - get and list across all namespaces', async () => {
    const nodes = await k(['get', 'nodes', '-o', 'name']);
    assert.equal(nodes.code, 0, nodes.stderr);
    assert.deepEqual(nodes.stdout.trim().split('\n').sort(), ['node/kwok-node-0', 'node/kwok-node-1', 'node/kwok-node-2']);
    const pods = await k(['get', 'pods', '-A', '-o', 'json']);
    assert.equal(pods.code, 0, pods.stderr);
    const items = (JSON.parse(pods.stdout) as { items: { metadata: { namespace: string; name: string } }[] }).items;
    assert.ok(items.some((p) => p.metadata.namespace === namespace && p.metadata.name === pod));
  });

  it('kubectl - apply -f and delete', async () => {
    const manifest = JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'applied', namespace }, data: { a: '1' } });
    const applied = await k(['apply', '-f', '-'], manifest);
    assert.equal(applied.code, 0, applied.stderr);
    assert.match(applied.stdout, /configmap\/applied created/);
    assert.equal((await kubectl(['-n', namespace, 'get', 'configmap', 'applied', '-o', 'jsonpath={.data.a}'])).stdout, '1');
    const deleted = await k(['-n', namespace, 'delete', 'configmap', 'applied']);
    assert.match(deleted.stdout, /configmap "applied" deleted/);
  });

  it('kubectl - get -w sees a change', async (t) => {
    const watch = await KubectlStream.start(t, env.adminKubeconfig, ['-n', namespace, 'get', 'configmaps', '-w', '-o', 'name']);
    await eventually('the watch to list', 10_000, () => (watch.output.includes('configmap/kube-root-ca.crt') ? true : undefined));
    const started = Date.now();
    await kubectl(['-n', namespace, 'create', 'configmap', 'watched', '--from-literal=x=1']);
    await eventually('the change in the watch', 60_000, () => (watch.output.includes('configmap/watched') ? true : undefined));
    // A figure, not a check: bench/kubectl.ts measures watch latency.
    console.log(`# watch through the hub saw the change ${Date.now() - started} ms after kubectl create returned`);
    assert.equal(watch.child.exitCode, null, 'the watch is still open');
    // Audited from its start: the open watch has its row, in progress, completed in place when it ends.
    const watchRows = async (): Promise<AuditRow[]> => (await env.hub.client.request<{ items: AuditRow[] }>('GET', `/api/v1/audit?cluster=${env.clusterName}&limit=1000`))
      .items.filter((r) => r.verb === 'watch' && r.resource === 'configmaps' && r.namespace === namespace);
    const [open, ...more] = await watchRows();
    assert.ok(open !== undefined && more.length === 0, 'one row for the open watch');
    assert.equal(open.state, 'in_progress');
    watch.child.kill('SIGTERM');
    await watch.exited;
    const done = await eventually('the watch row completed', 30_000, async () => {
      const rows = await watchRows();
      return rows.length === 1 && rows[0]?.state === 'complete' ? rows[0] : undefined;
    });
    assert.equal(done.id, open.id, 'the same row, completed in place');
    assert.equal(done.status, 200);
    assert.ok(done.bytesOut > 0, 'the bytes the watch carried');
  });

  it('kubectl - logs -f streams lines as they are written', async (t) => {
    const logs = await KubectlStream.start(t, env.adminKubeconfig, ['-n', namespace, 'logs', '-f', pod]);
    const marker = `through-the-hub-${Date.now()}`;
    const writer = setInterval(() => { void writePodLogLine(marker); }, 300);
    t.after(() => { clearInterval(writer); });
    await eventually('the log line', 15_000, () => (logs.output.includes(marker) ? true : undefined));
    assert.equal(logs.child.exitCode, null, 'still following');
  });

  it('kubectl - exec with stdin returns output and the exit code', async () => {
    const result = await k(['-n', namespace, 'exec', '-i', pod, '--', 'sh', '-c', 'read line; echo "got:$line"; exit 3'], 'hello hub\n');
    assert.equal(result.stdout.trim(), 'got:hello hub');
    assert.equal(result.code, 3, result.stderr);
  });

  it('kubectl - a refused upgrade (a view user\'s exec) comes back as the API server\'s Forbidden', async () => {
    const login = await createUserLogin(env.hub, 'viewer', 'view', env.clusterName);
    const kubeconfig = await kubeconfigThroughHub(login, env.clusterName);
    const exec = await kubectlVia(kubeconfig, ['-n', namespace, 'exec', pod, '--', 'true']);
    assert.notEqual(exec.code, 0);
    assert.match(exec.stderr, /forbidden.*User "uplink:viewer" cannot create resource "pods\/exec"/i);
  });

  it('kubectl - attach streams the container output', async (t) => {
    const attach = await KubectlStream.start(t, env.adminKubeconfig, ['-n', namespace, 'attach', pod, '-c', 'app']);
    const marker = `attached-${Date.now()}`;
    const writer = setInterval(() => { void writePodLogLine(marker); }, 300);
    t.after(() => { clearInterval(writer); });
    await eventually('the attached output', 15_000, () => (attach.output.includes(marker) ? true : undefined));
    assert.ok(attach.output.includes(marker));
  });

  it('kubectl - port-forward relays bytes both ways', async (t) => {
    await startForwardEcho(t);
    const { client, received } = await connectThroughPortForward(t, { kubeconfig: env.adminKubeconfig, namespace, pod });
    client.write('ping-1');
    await eventually('the first answer', 10_000, () => (received() === 'pong:ping-1' ? true : undefined));
    client.write('ping-2');
    await eventually('the second answer', 10_000, () => (received() === 'pong:ping-1pong:ping-2' ? true : undefined));
  });

  it('kubectl - cp both ways', async () => {
    // kwok runs exec on this host, so the pod's filesystem is this host's.
    const local = mkdtempSync(join(tmpdir(), 'uplink-cp-local-'));
    const remote = mkdtempSync(join(tmpdir(), 'uplink-cp-remote-'));
    const content = `copied through the hub ${Date.now()}\n`.repeat(200);
    writeFileSync(join(local, 'up.txt'), content);
    const up = await k(['cp', join(local, 'up.txt'), `${namespace}/${pod}:${remote}/up.txt`]);
    assert.equal(up.code, 0, up.stderr);
    assert.equal(readFileSync(join(remote, 'up.txt'), 'utf8'), content);
    writeFileSync(join(remote, 'down.txt'), `${content}down`);
    const down = await k(['cp', `${namespace}/${pod}:${remote}/down.txt`, join(local, 'down.txt')]);
    assert.equal(down.code, 0, down.stderr);
    assert.equal(readFileSync(join(local, 'down.txt'), 'utf8'), `${content}down`);
  });

  it('kubectl - the audit log holds a record per request with user and verb', async () => {
    const { items } = await env.hub.client.request<{ items: AuditRow[] }>('GET', `/api/v1/audit?cluster=${env.clusterName}&limit=1000`);
    const find = (match: (r: AuditRow) => boolean): AuditRow | undefined => items.find(match);
    assert.ok(items.every((r) => r.userName === 'admin' || r.userName === 'viewer'), 'only the admin and the viewer');
    assert.ok(find((r) => r.userName === 'viewer' && r.subresource === 'exec' && r.status === 403), 'the refused exec');
    assert.ok(find((r) => r.verb === 'list' && r.resource === 'nodes' && r.status === 200));
    assert.ok(find((r) => r.verb === 'delete' && r.resource === 'configmaps' && r.name === 'applied' && r.namespace === namespace));
    assert.ok(find((r) => r.verb === 'watch' && r.resource === 'configmaps'));
    assert.ok(find((r) => r.subresource === 'log' && r.name === pod));
    const exec = find((r) => r.subresource === 'exec' && r.command === 'sh -c read line; echo "got:$line"; exit 3');
    assert.ok(exec, 'the exec with its command');
    assert.ok(exec.bytesIn > 0 && exec.bytesOut > 0, 'bytes both ways');
    assert.deepEqual([exec.exitCode, exec.exitReason], [3, null], 'the exit code, read from the API server\'s final Status');
    assert.equal(find((r) => r.userName === 'viewer' && r.subresource === 'exec')?.exitCode, null, 'a refused exec has none');
    assert.ok(find((r) => r.subresource === 'attach'));
    assert.ok(find((r) => r.subresource === 'portforward'));
    const tars = items.filter((r) => r.subresource === 'exec' && (r.command ?? '').startsWith('tar'));
    assert.equal(tars.length, 2, 'kubectl cp ran tar, once each way');
    assert.ok(tars.every((r) => r.exitCode === 0), 'and tar exited 0');
  });
});
