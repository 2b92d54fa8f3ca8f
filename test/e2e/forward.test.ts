// `uplink forward` end to end: the real CLI, hub and agent, and a real
// cluster whose selector-less Services have hand-made EndpointSlices (and
// whose hand-made pods have a status) pointing at servers on this machine's
// own non-loopback address, which the agent dials as it would a pod
// (test/helpers/service-endpoints.ts).
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import { connect, createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createTestNamespace, kubeconfigPath, kubectl } from '../helpers/cluster.ts';
import { createUserLogin, startHubCluster, type HubCluster } from '../helpers/kubectl-hub.ts';
import { applyPod, applyService, exchange, HOST, httpGet, listening, runForward } from '../helpers/service-endpoints.ts';
import { eventually, freePort, metricValue, startAgent, suiteContext } from '../helpers/uplink.ts';

async function agentMetric(env: HubCluster, name: string, labels = ''): Promise<number> {
  return metricValue(await (await fetch(`${env.agent.healthUrl}/metrics`)).text(), name, labels);
}

describe('uplink forward', () => {
  const suite = suiteContext('forward');
  const cleanups: (() => void)[] = [];
  let env: HubCluster;
  let namespace: string;
  let echoPort: number;
  let httpPort: number;
  let bannerPort: number;
  let closerPort: number;
  let agentToken: string;

  before(async () => {
    env = await startHubCluster(suite.t, 'fwd-e2e');
    agentToken = String(env.agent.process.child.spawnargs[env.agent.process.child.spawnargs.indexOf('--token') + 1]);
    namespace = await createTestNamespace(suite.t, 'fwd');
    const echo = createServer((socket) => { socket.on('error', () => undefined); socket.pipe(socket); });
    const web = http.createServer((req, res) => { res.end(`hello from ${req.url ?? ''}`); });
    // Speaks first, as SSH, SMTP and MySQL servers do, then echoes.
    const banner = createServer((socket) => { socket.on('error', () => undefined); socket.write('BANNER\n'); socket.pipe(socket); });
    // Speaks and hangs up at once: its bytes must arrive even when the client has already half-closed.
    const closer = createServer((socket) => { socket.on('error', () => undefined); socket.end('BYE\n'); });
    [echoPort, httpPort, bannerPort, closerPort] = await Promise.all([listening(echo), listening(web), listening(banner), listening(closer)]);
    cleanups.push(() => { echo.close(); web.close(); banner.close(); closer.close(); web.closeAllConnections(); });
    await applyService(namespace, 'multi', HOST, [
      { name: 'http', port: 80, target: httpPort }, { name: 'echo', port: 7000, target: echoPort }, { name: 'banner', port: 7001, target: bannerPort },
      { name: 'closer', port: 7002, target: closerPort },
    ]);
  });

  after(async () => {
    for (const cleanup of cleanups.reverse()) cleanup();
    await suite.runCleanups();
  });

  it('carries four ports at once, survives a link restart, and is audited', async () => {
    const locals = [await freePort(), await freePort(), await freePort(), await freePort()];
    const cli = runForward(env.hub.cliConfig, [env.clusterName, 'svc/multi', '-n', namespace, `${locals[0]}:80`, `${locals[1]}:echo`, `${locals[2]}:7001`, `${locals[3]}:closer`], cleanups);
    await eventually('the four mappings printed', 30_000, () => (cli.stdout().split('\n').filter((l) => l.startsWith('Forwarding')).length === 4 ? true : undefined));
    assert.match(cli.stdout(), new RegExp(`Forwarding 127\\.0\\.0\\.1:${locals[1]} -> svc/multi:echo`));

    const payload = Buffer.alloc(4 * 1024 * 1024, 'abcdefgh');
    const [web, echoed, banner] = await Promise.all([httpGet(locals[0] ?? 0, '/x'), exchange(locals[1] ?? 0, payload), exchange(locals[2] ?? 0, 'x')]);
    // The client half-closes before the forward opens; the service's line and end come in the read of the 101 now and then.
    for (let round = 0; round < 20; round++) assert.equal((await exchange(locals[3] ?? 0, '')).toString(), 'BYE\n', `round ${round}: ${cli.stderr()}`);
    assert.deepEqual(web, { status: 200, body: 'hello from /x' });
    assert.equal(echoed.length, payload.length, cli.stderr());
    assert.ok(echoed.equals(payload), 'the echo returned the bytes sent');
    assert.equal(banner.toString(), 'BANNER\nx', cli.stderr());
    assert.ok(await agentMetric(env, 'uplink_agent_forwards_total', 'result="opened"') >= 23);

    // The link dies with its agent; a new agent links and the same CLI process carries the next connection.
    await env.agent.process.stop('SIGKILL');
    const kubeconfig = env.agent.process.child.spawnargs[env.agent.process.child.spawnargs.indexOf('--kubeconfig') + 1] ?? await kubeconfigPath();
    env.agent = await startAgent(suite.t, { hubUrl: env.hub.url, caHash: env.hub.caHash, token: agentToken, kubeconfig, stateFile: env.agent.stateFile });
    assert.equal((await exchange(locals[1] ?? 0, 'after the restart')).toString(), 'after the restart');
    assert.equal(cli.child.exitCode, null, 'the CLI kept listening');

    const audit = await eventually('the forwards in the audit log', 30_000, async () => {
      const { items } = await env.hub.client.request<{ items: { subresource: string | null; name: string | null; bytesIn: number; bytesOut: number; status: number; command: string | null; userName: string }[] }>('GET', `/api/v1/audit?cluster=${env.clusterName}`);
      const rows = items.filter((row) => row.subresource === 'forward' && row.status === 101);
      return rows.some((row) => row.bytesIn === payload.length && row.bytesOut === payload.length) ? rows : undefined;
    });
    assert.ok(audit.every((row) => row.name === 'multi' && row.userName === 'admin'));
    assert.ok(audit.some((row) => row.command === 'uplink forward svc/multi:echo'));
  });

  it('reaches a pod and a Deployment\'s ready pod', async () => {
    await applyPod(namespace, 'fwdpod', HOST);
    const deployment = {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'fwdweb', namespace },
      spec: { replicas: 0, selector: { matchLabels: { app: 'fwdweb' } }, template: { metadata: { labels: { app: 'fwdweb' } }, spec: { containers: [{ name: 'c', image: 'registry.invalid/none:1' }] } } },
    };
    assert.equal((await kubectl(['apply', '-f', '-'], { input: JSON.stringify(deployment) })).code, 0);
    // Not the ReplicaSet's (no pod-template-hash label), so it is not scaled away; the Deployment's selector still picks it.
    await applyPod(namespace, 'fwdweb-by-hand', HOST, { app: 'fwdweb' });
    const [podLocal, deployLocal] = [await freePort(), await freePort()];
    const toPod = runForward(env.hub.cliConfig, [env.clusterName, 'pod/fwdpod', '-n', namespace, `${podLocal}:${echoPort}`], cleanups);
    const toDeploy = runForward(env.hub.cliConfig, [env.clusterName, 'deploy/fwdweb', '-n', namespace, `${deployLocal}:${httpPort}`], cleanups);
    await eventually('both listening', 30_000, () => (toPod.stdout().includes('Forwarding') && toDeploy.stdout().includes('Forwarding') ? true : undefined));
    const [echoed, web] = await Promise.all([exchange(podLocal, 'to the pod'), httpGet(deployLocal, '/deploy')]);
    assert.equal(echoed.toString(), 'to the pod', toPod.stderr());
    assert.deepEqual(web, { status: 200, body: 'hello from /deploy' }, toDeploy.stderr());
  });

  it('ends an open forward when its user is deleted', async () => {
    const editor = await createUserLogin(env.hub, 'fwd-editor', 'edit', env.clusterName);
    const local = await freePort();
    const cli = runForward(editor, [env.clusterName, 'svc/multi', '-n', namespace, `${local}:echo`], cleanups);
    await eventually('listening', 30_000, () => (cli.stdout().includes('Forwarding') ? true : undefined));
    const socket = connect(local, '127.0.0.1');
    socket.on('error', () => undefined);
    let echoed = '';
    socket.on('data', (chunk: Buffer) => { echoed += chunk.toString(); });
    const closed = once(socket, 'close');
    socket.write('still here');
    await eventually('the echo through the open forward', 30_000, () => (echoed === 'still here' ? true : undefined));
    await env.hub.client.request('DELETE', '/api/v1/users/fwd-editor');
    await closed;
    assert.equal(echoed, 'still here');
  });

  it('refuses users without pods/portforward, ports the target lacks, and addresses the agent never dials', async () => {
    const viewer = await createUserLogin(env.hub, 'fwd-viewer', 'view', env.clusterName);
    // The API server's Service address; a pod whose status says the metadata service; one whose status says the agent's own loopback.
    const kubernetes = JSON.parse((await kubectl(['-n', 'default', 'get', 'service', 'kubernetes', '-o', 'json'])).stdout) as { spec: { clusterIP: string } };
    await applyService(namespace, 'apiserver', kubernetes.spec.clusterIP, [{ name: 'https', port: 443, target: 443 }]);
    await applyPod(namespace, 'metadata', '169.254.169.254');
    await applyPod(namespace, 'loopback', '127.0.0.1');
    const healthPort = new URL(env.agent.healthUrl).port;
    const cases: { login: string; target: string; port: string; refusal: RegExp }[] = [
      { login: viewer, target: 'svc/multi', port: '80', refusal: /answered 403: .*may not create pods\/portforward/ },
      { login: env.hub.cliConfig, target: 'svc/multi', port: '9999', refusal: /answered 404: .*no TCP port 9999/ },
      { login: env.hub.cliConfig, target: 'svc/nothing', port: '80', refusal: /answered 404: .*not found/ },
      { login: env.hub.cliConfig, target: 'svc/apiserver', port: '443', refusal: /answered 502: .*no address the agent dials/ },
      { login: env.hub.cliConfig, target: 'pod/metadata', port: '80', refusal: /answered 502: .*no address the agent dials/ },
      { login: env.hub.cliConfig, target: 'pod/loopback', port: healthPort, refusal: /answered 502: .*no address the agent dials/ },
      { login: env.hub.cliConfig, target: 'svc/169.254.169.254', port: '80', refusal: /answered 400: name must be a DNS label/ },
    ];
    const refused = async (reason: string): Promise<number> => agentMetric(env, 'uplink_agent_forward_refused_addresses_total', `reason="${reason}"`);
    const before = { linkLocal: await refused('link-local'), apiServer: await refused('api-server'), loopback: await refused('loopback') };
    for (const { login, target, port, refusal } of cases) {
      const local = await freePort();
      const cli = runForward(login, [env.clusterName, target, '-n', namespace, `${local}:${port}`], cleanups);
      await eventually(`${target} listening`, 30_000, () => (cli.stdout().includes('Forwarding') ? true : undefined));
      const got = await exchange(local, 'hello');
      assert.equal(got.length, 0, `${target}:${port} carried nothing`);
      await eventually(`the refusal of ${target}:${port}`, 30_000, () => (refusal.test(cli.stderr()) ? true : undefined))
        .catch((error: unknown) => { throw new Error(`${(error as Error).message}; stderr: ${cli.stderr()}`); });
      cli.child.kill('SIGINT');
      await once(cli.child, 'exit');
    }
    // Asserted where it matters: the agent refused to dial these, whatever the hub did.
    assert.equal(await refused('link-local'), before.linkLocal + 1);
    assert.equal(await refused('api-server'), before.apiServer + 1);
    assert.equal(await refused('loopback'), before.loopback + 1);
    assert.ok(await agentMetric(env, 'uplink_agent_forwards_total', 'result="forbidden"') >= 1);
    assert.ok(await agentMetric(env, 'uplink_agent_forwards_total', 'result="not_found"') >= 2);
  });
});

describe('uplink forward limits', () => {
  const suite = suiteContext('forward-limits');
  const cleanups: (() => void)[] = [];

  after(async () => {
    for (const cleanup of cleanups.reverse()) cleanup();
    await suite.runCleanups();
  });

  it('holds each user to their share of the cluster\'s streams, and audits the refusal', async () => {
    // Two streams per cluster, half of them per user: one forward each.
    const env = await startHubCluster(suite.t, 'fwd-limits', ['--kube-max-streams', '2', '--kube-user-share', '50']);
    const namespace = await createTestNamespace(suite.t, 'fwdlim');
    const echo = createServer((socket) => { socket.on('error', () => undefined); socket.pipe(socket); });
    const echoPort = await listening(echo);
    cleanups.push(() => { echo.close(); });
    await applyService(namespace, 'echo', HOST, [{ name: 'echo', port: 7000, target: echoPort }]);
    const [first, second] = [await freePort(), await freePort()];
    const cli = runForward(env.hub.cliConfig, [env.clusterName, 'svc/echo', '-n', namespace, `${first}:7000`, `${second}:7000`], cleanups);
    await eventually('listening', 30_000, () => (cli.stdout().split('\n').filter((l) => l.startsWith('Forwarding')).length === 2 ? true : undefined));
    const held = connect(first, '127.0.0.1');
    held.on('error', () => undefined);
    let echoed = '';
    held.on('data', (chunk: Buffer) => { echoed += chunk.toString(); });
    held.write('held');
    await eventually('the first forward open', 30_000, () => (echoed === 'held' ? true : undefined));
    // The second connection is over the user's share: retried a few times, then refused.
    assert.equal((await exchange(second, 'x')).length, 0);
    assert.match(cli.stderr(), /answered 429: you hold your share of 1 concurrent streams/);
    await eventually('the refusal in the audit log', 30_000, async () => {
      const { items } = await env.hub.client.request<{ items: { subresource: string | null; status: number }[] }>('GET', `/api/v1/audit?cluster=${env.clusterName}`);
      return items.some((row) => row.subresource === 'forward' && row.status === 429) ? true : undefined;
    });
    held.destroy();
  });
});
