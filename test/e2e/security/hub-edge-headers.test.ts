// What reaches the API server through the hub and the agent: a real agent,
// run outside a pod, talks to the real test cluster through a recording
// forwarder (test/helpers/recording-proxy.ts), so the test reads the headers
// the agent really sent. Identity headers an authenticating proxy would
// trust, smuggled in every casing, in plain requests and in raw upgrades
// (exec over WebSocket and SPDY), never arrive; the impersonation is the
// hub's alone. Also: oversize and deeply nested JSON bodies on the API get a
// 4xx and the hub keeps serving.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import tls from 'node:tls';
import { after, before, describe, it } from 'node:test';
import type { ClusterView } from '../../../src/hub/fleet.ts';
import { KUBE_ENVELOPE_THRESHOLD_BYTES } from '../../../src/link/kube-envelope.ts';
import { createTestNamespace, mintServiceAccountToken, uniqueName } from '../../helpers/cluster.ts';
import { startRecordingProxy, type RecordingProxy } from '../../helpers/recording-proxy.ts';
import { eventually, startAgent, startHub, suiteContext, type AgentHandle, type HubHandle } from '../../helpers/uplink.ts';

/** Headers a client must never get to the API server, each sent in several casings. */
const SMUGGLED = [
  'X-Remote-User', 'X-Remote-Group', 'X-Remote-Extra-Scopes', 'X-Forwarded-For', 'X-Forwarded-Host', 'X-Forwarded-Proto',
  'X-Forwarded-User', 'Forwarded', 'X-Real-Ip', 'Impersonate-User', 'Impersonate-Group', 'Impersonate-Uid', 'Impersonate-Extra-Scopes',
  'Cookie', 'Proxy-Authorization', 'X-Uplink-Upgrade',
];
const CASINGS = (name: string): string[] => [name, name.toLowerCase(), name.toUpperCase(), name.replace(/[a-z]/gi, (c, i: number) => (i % 2 ? c.toLowerCase() : c.toUpperCase()))];
/** Every header name the API server must not see from a client, lowercased. */
const FORBIDDEN = /^(x-remote-|x-forwarded-|forwarded$|x-real-ip$|cookie$|proxy-authorization$|x-uplink-|impersonate-(uid|extra-))/;

describe('hub edge: headers reaching the API server', () => {
  let hub: HubHandle;
  let agent: AgentHandle;
  let proxy: RecordingProxy;
  let saToken: string;
  let clusterId: string;
  let namespace: string;
  let caPem: string;
  const { t: setupContext, runCleanups } = suiteContext('hub-edge-headers');

  before(async () => {
    hub = await startHub(setupContext);
    caPem = readFileSync(join(hub.dataDir, 'tls', 'ca.crt'), 'utf8');
    namespace = await createTestNamespace(setupContext, 'edgeh');
    const minted = await mintServiceAccountToken(setupContext, { namespace, clusterRole: 'cluster-admin' });
    saToken = minted.token;
    proxy = await startRecordingProxy(setupContext, saToken);
    const created = await hub.client.request<{ token: string; cluster: { id: string } }>('POST', '/api/v1/clusters', { name: 'headers' });
    clusterId = created.cluster.id;
    agent = await startAgent(setupContext, { hubUrl: hub.url, caHash: hub.caHash, token: created.token, kubeconfig: proxy.kubeconfig });
    await eventually('the cluster online', 15_000, async () => (
      (await hub.client.request<ClusterView>('GET', '/api/v1/clusters/headers')).status === 'online' ? true : undefined));
  });

  after(async () => {
    await runCleanups();
  });

  /** Writes a request head by hand (every casing and duplicate kept) and resolves with the status line. */
  async function rawRequest(lines: string[], body = ''): Promise<string> {
    const socket = tls.connect({ host: '127.0.0.1', port: hub.port, ca: caPem, servername: 'localhost' });
    socket.on('error', () => undefined);
    await once(socket, 'secureConnect');
    socket.write(`${lines.join('\r\n')}\r\n\r\n${body}`);
    let text = '';
    socket.on('data', (chunk: Buffer) => { text += chunk.toString('latin1'); });
    await eventually('an answer', 30_000, () => (text.includes('\r\n') ? true : undefined));
    socket.destroy();
    return text.slice(0, text.indexOf('\r\n'));
  }

  function smuggledLines(): string[] {
    return SMUGGLED.flatMap((name) => CASINGS(name).map((casing) => `${casing}: system:masters`));
  }

  /** The requests the agent relayed whose path holds `marker`; waits for at least one. */
  async function relayed(marker: string): Promise<RecordingProxy['requests']> {
    return eventually(`the agent relaying ${marker}`, 15_000, () => {
      const found = proxy.requests.filter((r) => r.path.includes(marker));
      return found.length > 0 ? found : undefined;
    });
  }

  function assertClean(requests: RecordingProxy['requests']): void {
    for (const request of requests) {
      const names = request.rawHeaders.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
      assert.deepEqual(names.filter((n) => FORBIDDEN.test(n)), [], `${request.path}: forbidden headers reached the API server`);
      assert.deepEqual(names.filter((n) => n === 'impersonate-user'), ['impersonate-user'], 'exactly one Impersonate-User');
      assert.equal(request.headers['impersonate-user'], 'uplink:admin');
      assert.deepEqual(names.filter((n) => n === 'impersonate-group'), ['impersonate-group'], 'exactly one Impersonate-Group');
      assert.equal(request.headers['impersonate-group'], 'uplink:admin');
      assert.equal(request.headers.authorization, `Bearer ${saToken}`, 'the agent\'s own credential, nothing the client sent');
    }
  }

  it('hub edge - identity headers smuggled in every casing on a plain request never reach the API server', async () => {
    const marker = uniqueName('plain');
    const status = await rawRequest([
      `GET /k8s/clusters/${clusterId}/api/v1/namespaces/${namespace}/configmaps?labelSelector=m%3D${marker} HTTP/1.1`, 'Host: localhost',
      `Authorization: Bearer ${hub.adminToken}`, 'Accept: application/json', 'Connection: close, Kubectl-Session', 'Kubectl-Session: hop-only',
      'Kubectl-Command: kubectl get', ...smuggledLines(),
    ]);
    assert.match(status, /^HTTP\/1\.1 200 /);
    const requests = await relayed(marker);
    assertClean(requests);
    const [first] = requests;
    assert.ok(first);
    assert.equal(first.headers.accept, 'application/json', 'what kubectl needs still passes');
    assert.equal(first.headers['kubectl-command'], 'kubectl get');
    assert.equal(first.headers['kubectl-session'], undefined, 'a header named in Connection is for the hub alone');
  });

  it('hub edge - identity headers smuggled with a head long enough to travel in an envelope never reach the API server', async () => {
    const marker = uniqueName('enveloped');
    const selector = encodeURIComponent(`m=${marker},absent notin (${Array.from({ length: 4000 }, (_, i) => `v${i}`).join(',')})`);
    const status = await rawRequest([
      `GET /k8s/clusters/${clusterId}/api/v1/namespaces/${namespace}/configmaps?labelSelector=${selector} HTTP/1.1`, 'Host: localhost',
      `Authorization: Bearer ${hub.adminToken}`, 'Accept: application/json', 'Connection: close, Kubectl-Session', 'Kubectl-Session: hop-only',
      ...smuggledLines(),
    ]);
    assert.match(status, /^HTTP\/1\.1 200 /);
    const requests = await relayed(marker);
    assertClean(requests);
    assert.ok((requests[0]?.path.length ?? 0) > KUBE_ENVELOPE_THRESHOLD_BYTES, 'the head was long enough for an envelope');
    assert.equal(requests[0]?.headers['kubectl-session'], undefined);
  });

  it('hub edge - identity headers smuggled into raw upgrades (exec over WebSocket and over SPDY) never reach the API server', async () => {
    for (const upgrade of [
      ['Upgrade: websocket', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Version: 13', 'Sec-WebSocket-Protocol: v5.channel.k8s.io'],
      ['Upgrade: SPDY/3.1', 'X-Stream-Protocol-Version: v4.channel.k8s.io'],
    ]) {
      const marker = uniqueName('up');
      const status = await rawRequest([
        `GET /k8s/clusters/${clusterId}/api/v1/namespaces/${namespace}/pods/${marker}/exec?command=id&stdout=true HTTP/1.1`, 'Host: localhost',
        `Authorization: Bearer ${hub.adminToken}`, 'Connection: Upgrade', ...upgrade, ...smuggledLines(),
      ]);
      // No such pod: the API server's refusal comes back; what matters is what it was asked with.
      assert.match(status, /^HTTP\/1\.1 (101|4\d\d) /);
      const requests = await relayed(marker);
      assertClean(requests);
      const names = new Set(requests[0]?.rawHeaders.map((n) => n.toLowerCase()));
      for (const needed of upgrade.map((line) => line.split(':')[0]?.toLowerCase() ?? '')) {
        if (needed !== 'upgrade') assert.ok(names.has(needed), `${needed} reaches the API server for the handshake`);
      }
    }
  });

  it('hub edge - oversize and deeply nested JSON bodies on the API get a 4xx and the hub keeps serving', async () => {
    const post = (body: string): Promise<string> => rawRequest([
      'POST /api/v1/clusters HTTP/1.1', 'Host: localhost', `Authorization: Bearer ${hub.adminToken}`, 'Content-Type: application/json',
      `Content-Length: ${Buffer.byteLength(body)}`, 'Connection: close',
    ], body);
    const oversize = JSON.stringify({ name: 'big', labels: { pad: 'x'.repeat(2 * 1024 * 1024) } });
    assert.match(await post(oversize), /^HTTP\/1\.1 413 /);
    const deepArrays = `{"name":"deep","labels":${'['.repeat(400_000)}${']'.repeat(400_000)}}`;
    assert.match(await post(deepArrays), /^HTTP\/1\.1 4\d\d /);
    const deepObjects = `{"name":"deep2","labels":${'{"a":'.repeat(150_000)}1${'}'.repeat(150_000)}}`;
    assert.match(await post(deepObjects), /^HTTP\/1\.1 4\d\d /);
    assert.equal(hub.process.child.exitCode, null, 'the hub is still running');
    const view = await hub.client.request<ClusterView>('GET', '/api/v1/clusters/headers');
    assert.equal(view.status, 'online');
    const agentMetrics = await (await fetch(`${agent.healthUrl}/metrics`)).text();
    assert.match(agentMetrics, /uplink_agent_link_attempts_total\{result="linked"\} 1\b/);
  });
});
