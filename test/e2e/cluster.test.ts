// Proves the test cluster is a real Kubernetes control plane: controllers,
// scheduler and kwok at work, and the streaming paths (logs -f, exec with
// stdin, port-forward) that Uplink will later carry through its link.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import {
  REPO_ROOT, POD_FORWARD_TARGET_PORT, clusterBinDir, createTestNamespace, helm, kubeconfigPath,
  kubectl, kubectlJson, mintServiceAccountToken, writePodLogLine,
} from '../helpers/cluster.ts';

interface PodList {
  items: {
    metadata: { name: string };
    spec: { nodeName?: string };
    status: { phase?: string; conditions?: { type: string; status: string }[] };
  }[];
}

function deploymentManifest(name: string, replicas: number): string {
  return JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: 'main', image: 'registry.invalid/app:1', ports: [{ containerPort: 8080 }] }] },
      },
    },
  });
}

/** Applies a Deployment and waits until it is rolled out; returns its pods. */
async function runDeployment(namespace: string, name: string, replicas: number): Promise<PodList> {
  await kubectl(['-n', namespace, 'apply', '-f', '-'], { input: deploymentManifest(name, replicas) });
  await kubectl(['-n', namespace, 'rollout', 'status', `deployment/${name}`, '--timeout=90s'], { timeoutMs: 100_000 });
  return kubectlJson<PodList>(['-n', namespace, 'get', 'pods', '-l', `app=${name}`]);
}

async function onePod(t: TestContext): Promise<{ namespace: string; pod: string }> {
  const namespace = await createTestNamespace(t);
  const pods = await runDeployment(namespace, 'one', 1);
  const pod = pods.items[0]?.metadata.name;
  assert.ok(pod, 'the Deployment made a pod');
  return { namespace, pod };
}

/** Spawns kubectl with a long-lived stream and collects its stdout. */
async function spawnKubectl(t: TestContext, args: string[]): Promise<{ output: () => string; exited: Promise<unknown> }> {
  const child = spawn(join(await clusterBinDir(), 'kubectl'), ['--kubeconfig', await kubeconfigPath(), ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString(); });
  child.stderr.on('data', (chunk: Buffer) => { stdout += chunk.toString(); });
  t.after(() => { child.kill(); });
  return { output: () => stdout, exited: once(child, 'exit') };
}

async function waitFor(what: string, timeoutMs: number, check: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('test cluster', () => {
  it('cluster - a Deployment of 3 replicas gets 3 Running and Ready pods', async (t) => {
    const namespace = await createTestNamespace(t);
    const pods = await runDeployment(namespace, 'web', 3);
    assert.equal(pods.items.length, 3);
    for (const pod of pods.items) {
      assert.equal(pod.status.phase, 'Running', `${pod.metadata.name} is Running`);
      const ready = pod.status.conditions?.find((c) => c.type === 'Ready');
      assert.equal(ready?.status, 'True', `${pod.metadata.name} is Ready`);
      assert.match(pod.spec.nodeName ?? '', /^kwok-node-\d+$/, 'the scheduler placed it on a kwok node');
    }
  });

  it('cluster - has 3 Ready nodes', async () => {
    const nodes = await kubectlJson<{ items: { status: { conditions: { type: string; status: string }[] } }[] }>(
      ['get', 'nodes', '-l', 'type=kwok']);
    assert.equal(nodes.items.length, 3);
    for (const node of nodes.items) {
      assert.equal(node.status.conditions.find((c) => c.type === 'Ready')?.status, 'True');
    }
  });

  it('cluster - kubectl logs -f streams a line as it is written', async (t) => {
    const { namespace, pod } = await onePod(t);
    const logs = await spawnKubectl(t, ['-n', namespace, 'logs', '-f', pod]);
    const marker = `uplink-log-line-${Date.now()}`;
    // The stream only shows lines written after it opened once kwok follows
    // the file; write until the line arrives, bounded by the wait below.
    const writer = setInterval(() => { void writePodLogLine(marker); }, 500);
    t.after(() => { clearInterval(writer); });
    await waitFor('the log line through kubectl logs -f', 20_000, () => logs.output().includes(marker));
    assert.ok(logs.output().includes(marker));
  });

  it('cluster - kubectl exec runs a command with stdin and returns its output', async (t) => {
    const { namespace, pod } = await onePod(t);
    const result = await kubectl(['-n', namespace, 'exec', '-i', pod, '--', 'sh', '-c', 'read line; echo "got: $line in_kwok=$IN_KWOK"'],
      { input: 'hello through exec\n', timeoutMs: 30_000 });
    assert.equal(result.stdout.trim(), 'got: hello through exec in_kwok=1');
    // The end of stdin reaches the command (kwok patch 0001) and its exit status comes back (0002).
    const cat = await kubectl(['-n', namespace, 'exec', '-i', pod, '--', 'cat'], { input: 'one\ntwo\n', timeoutMs: 30_000 });
    assert.equal(cat.stdout, 'one\ntwo\n');
    await assert.rejects(kubectl(['-n', namespace, 'exec', pod, '--', 'sh', '-c', 'exit 3'], { timeoutMs: 30_000 }),
      (error: Error & { result?: { code: number | null } }) => error.result?.code === 3);
  });

  it('cluster - kubectl port-forward relays bytes to a test server', async (t) => {
    const accepted = new Set<Socket>();
    const server: Server = createServer((socket) => {
      accepted.add(socket);
      socket.pipe(socket);
    });
    server.listen(POD_FORWARD_TARGET_PORT, '127.0.0.1');
    await once(server, 'listening');
    // kwok keeps its side of the forwarded connection open; close ours so
    // the test process can exit.
    t.after(() => {
      for (const socket of accepted) socket.destroy();
      server.close();
    });
    const { namespace, pod } = await onePod(t);
    const forward = await spawnKubectl(t, ['-n', namespace, 'port-forward', `pod/${pod}`, ':8080']);
    await waitFor('port-forward to listen', 20_000, () => /Forwarding from 127\.0\.0\.1:\d+/.test(forward.output()));
    const localPort = Number(/Forwarding from 127\.0\.0\.1:(\d+)/.exec(forward.output())?.[1]);
    const socket = connect(localPort, '127.0.0.1');
    t.after(() => { socket.destroy(); });
    await once(socket, 'connect');
    const payload = `bytes-through-port-forward-${Date.now()}`;
    socket.write(payload);
    let echoed = '';
    socket.on('data', (chunk: Buffer) => { echoed += chunk.toString(); });
    await waitFor('the echo through port-forward', 10_000, () => echoed.length >= payload.length);
    assert.equal(echoed, payload);
  });

  it('cluster - helm install creates the chart objects and history shows revision 1', async (t) => {
    const namespace = await createTestNamespace(t);
    const chart = join(REPO_ROOT, 'test/fixtures/charts/hello');
    await helm(['install', 'demo', chart, '-n', namespace, '--wait', '--timeout=90s']);
    const objects = await kubectlJson<{ items: { kind: string; metadata: { name: string } }[] }>(
      ['-n', namespace, 'get', 'deployment,service,configmap', '-l', 'app.kubernetes.io/instance=demo']);
    assert.deepEqual(objects.items.map((o) => `${o.kind}/${o.metadata.name}`).sort(),
      ['ConfigMap/demo-hello', 'Deployment/demo-hello', 'Service/demo-hello']);
    const history = JSON.parse((await helm(['history', 'demo', '-n', namespace, '-o', 'json'])).stdout) as
      { revision: number; status: string }[];
    assert.deepEqual(history.map((h) => [h.revision, h.status]), [[1, 'deployed']]);
  });

  it('cluster - a minted ServiceAccount token carries only its ClusterRole', async (t) => {
    const namespace = await createTestNamespace(t);
    const minted = await mintServiceAccountToken(t, { namespace, clusterRole: 'view' });
    assert.match(minted.token, /^eyJ/, 'a JWT from the TokenRequest API');
    const canList = await kubectl(['auth', 'can-i', 'list', 'pods', '-n', namespace], { kubeconfig: minted.kubeconfig });
    assert.equal(canList.stdout.trim(), 'yes');
    const whoami = await kubectlJson<{ status: { userInfo: { username: string } } }>(
      ['auth', 'whoami'], { kubeconfig: minted.kubeconfig });
    assert.equal(whoami.status.userInfo.username, `system:serviceaccount:${namespace}:${minted.serviceAccount}`);
    await assert.rejects(
      kubectl(['-n', namespace, 'create', 'configmap', 'nope'], { kubeconfig: minted.kubeconfig }),
      /forbidden/i,
    );
  });
});
