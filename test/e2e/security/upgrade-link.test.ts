// An upgrade request that declares an empty body and then sends bytes (what
// kubectl's SPDY exec does after the 101, and what a hostile client can do at
// once) must not end the cluster's link: the link stream of an upgrade
// carries the upgraded bytes, so the hub never declares a Content-Length on it.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import tls from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { runProcess } from '../../../src/util/run-process.ts';
import { clusterBinDir, createTestNamespace, kubectl } from '../../helpers/cluster.ts';
import { createUserLogin, startHubCluster, type HubCluster } from '../../helpers/kubectl-hub.ts';
import { eventually, metricValue, suiteContext } from '../../helpers/uplink.ts';

const { t: suite, runCleanups } = suiteContext('upgrade-link');

/** How many times the agent has linked: 1 while the link never dropped. */
async function linkCount(env: HubCluster): Promise<number> {
  const text = await (await fetch(`${env.agent.healthUrl}/metrics`)).text();
  return metricValue(text, 'uplink_agent_link_attempts_total', 'result="linked"');
}

describe('upgrade bodies and the link', () => {
  let env: HubCluster;
  let namespace: string;
  let pod: string;

  before(async () => {
    env = await startHubCluster(suite, 'upgrade-link');
    namespace = await createTestNamespace(suite, 'upgrade');
    await kubectl(['-n', namespace, 'create', 'deployment', 'app', '--image=registry.invalid/app:1']);
    await kubectl(['-n', namespace, 'rollout', 'status', 'deployment/app', '--timeout=120s'], { timeoutMs: 130_000 });
    pod = (await kubectl(['-n', namespace, 'get', 'pods', '-l', 'app=app', '-o', 'jsonpath={.items[0].metadata.name}'])).stdout;
  });

  after(async () => {
    await runCleanups();
  });

  it('upgrade-link - a view user\'s upgrade with Content-Length: 0 and early bytes gets the API server\'s 403; the link stays', async () => {
    const login = await createUserLogin(env.hub, 'viewer', 'view', env.clusterName);
    const token = (JSON.parse(readFileSync(login, 'utf8')) as { token: string }).token;
    const socket = tls.connect({ host: '127.0.0.1', port: env.hub.port, ca: readFileSync(`${env.hub.dataDir}/tls/ca.crt`, 'utf8'), servername: 'localhost' });
    try {
      await new Promise((resolve, reject) => { socket.once('secureConnect', resolve).once('error', reject); });
      let answer = '';
      socket.on('data', (chunk: Buffer) => { answer += chunk.toString(); });
      socket.write([
        `POST /k8s/clusters/${env.clusterId}/api/v1/namespaces/${namespace}/pods/${pod}/exec?command=true&stdout=true HTTP/1.1`,
        'Host: hub', `Authorization: Bearer ${token}`, 'Connection: Upgrade', 'Upgrade: SPDY/3.1',
        'X-Stream-Protocol-Version: v4.channel.k8s.io', 'Content-Length: 0', '', 'bytes before any answer',
      ].join('\r\n'));
      const status = await eventually('the answer', 30_000, () => (answer.includes('\r\n') ? answer.split('\r\n')[0] : undefined));
      assert.equal(status, 'HTTP/1.1 403 Forbidden', answer);
    } finally {
      socket.destroy();
    }
    assert.equal(await linkCount(env), 1, 'the link never dropped');
  });

  it('upgrade-link - kubectl exec over SPDY (a POST with Content-Length: 0) works and leaves the link up', async () => {
    const exec = await runProcess(join(await clusterBinDir(), 'kubectl'), ['--kubeconfig', env.adminKubeconfig, '-n', namespace, 'exec', '-i', pod, '--', 'sh', '-c', 'cat; exit 5'], {
      input: 'over spdy\n', env: { ...process.env, KUBECTL_REMOTE_COMMAND_WEBSOCKETS: 'false' }, timeoutMs: 60_000,
    });
    assert.deepEqual([exec.code, exec.stdout], [5, 'over spdy\n'], exec.stderr);
    assert.equal(await linkCount(env), 1, 'the link never dropped');
  });
});
