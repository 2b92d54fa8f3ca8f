// Bad peers on the hub's agent endpoint: each is cut off alone, while a real
// agent linked to the same hub stays online and never relinks.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import tls from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import type { ClusterView } from '../../src/hub/fleet.ts';
import { MAX_REQUEST_HEAD_BYTES } from '../../src/hub/connection-guard.ts';
import { agentConnectUrl } from '../../src/link/dial.ts';
import { AGENT_HEADERS, LINK_CLOSE, LINK_SUBPROTOCOL } from '../../src/link/protocol.ts';
import { createTestNamespace, mintServiceAccountToken } from '../helpers/cluster.ts';
import { eventually, hubMetricsText, metricValue, startAgent, startHub, suiteContext, type AgentHandle, type HubHandle } from '../helpers/uplink.ts';

/** HTTP/2 frame header: 24-bit length, type, flags, 31-bit stream id. */
function frame(type: number, flags: number, streamId: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const header = Buffer.alloc(9);
  header.writeUIntBE(payload.length, 0, 3);
  header.writeUInt8(type, 3);
  header.writeUInt8(flags, 4);
  header.writeUInt32BE(streamId & 0x7fffffff, 5);
  return Buffer.concat([header, payload]);
}

const SETTINGS = 0x4;
const RST_STREAM = 0x3;
const CANCEL = Buffer.from([0, 0, 0, 8]);

describe('agent endpoint under abuse', () => {
  let hub: HubHandle;
  let good: AgentHandle;
  let attackerToken: string;
  let caPem: string;
  const { t: setupContext, runCleanups } = suiteContext('abuse');

  before(async () => {
    hub = await startHub(setupContext);
    caPem = readFileSync(join(hub.dataDir, 'tls', 'ca.crt'), 'utf8');
    const namespace = await createTestNamespace(setupContext, 'abuse');
    const { kubeconfig } = await mintServiceAccountToken(setupContext, { namespace, clusterRole: 'cluster-admin' });
    const goodCluster = await hub.client.request<{ token: string }>('POST', '/api/v1/clusters', { name: 'good' });
    const badCluster = await hub.client.request<{ token: string }>('POST', '/api/v1/clusters', { name: 'attacker' });
    attackerToken = badCluster.token;
    good = await startAgent(setupContext, { hubUrl: hub.url, caHash: hub.caHash, token: goodCluster.token, kubeconfig });
    // Linked is not yet online: that takes the first heartbeat.
    await eventually('the good cluster online', 10_000, async () => (
      (await hub.client.request<ClusterView>('GET', '/api/v1/clusters/good')).status === 'online' ? true : undefined));
  });

  after(async () => {
    await runCleanups();
  });

  async function assertGoodAgentUndisturbed(): Promise<void> {
    const view = await hub.client.request<ClusterView>('GET', '/api/v1/clusters/good');
    assert.equal(view.status, 'online');
    const text = await (await fetch(`${good.healthUrl}/metrics`)).text();
    assert.equal(metricValue(text, 'uplink_agent_link_attempts_total', 'result="linked"'), 1, 'the good agent never relinked');
    assert.equal(hub.process.child.exitCode, null, 'the hub is still running');
  }

  /** An authenticated WebSocket to the agent endpoint that the test drives by hand. */
  async function attackerSocket(onMessage?: (ws: WebSocket, data: Buffer) => void): Promise<WebSocket> {
    const ws = new WebSocket(agentConnectUrl(hub.url), [LINK_SUBPROTOCOL], {
      headers: { authorization: `Bearer ${attackerToken}` }, ca: caPem, perMessageDeflate: false,
    });
    if (onMessage) ws.on('message', (data: Buffer) => { onMessage(ws, data); });
    ws.on('error', () => undefined);
    await once(ws, 'open');
    return ws;
  }

  it('abuse - bytes that are not HTTP/2 close that connection only', async () => {
    const ws = await attackerSocket();
    const closed = once(ws, 'close');
    ws.send(Buffer.from('GET / HTTP/1.1\r\nthis is not an http/2 server preface\r\n\r\n'.repeat(20)));
    const [code] = await closed as [number];
    assert.equal(code, LINK_CLOSE.protocolError);
    await assertGoodAgentUndisturbed();
  });

  it('abuse - a flood of stream resets closes that connection only', async () => {
    let flooded = false;
    const ws = await attackerSocket((socket, data) => {
      // The hub's first bytes are its client preface and SETTINGS; answer as an
      // HTTP/2 server would, then reset thousands of streams it never opened.
      if (flooded || !data.includes(Buffer.from('PRI * HTTP/2.0'))) return;
      flooded = true;
      socket.send(Buffer.concat([frame(SETTINGS, 0, 0), frame(SETTINGS, 0x1, 0)]));
      const resets = Array.from({ length: 5000 }, (_, i) => frame(RST_STREAM, 0, 2 * i + 3, CANCEL));
      socket.send(Buffer.concat(resets));
    });
    const [code] = await once(ws, 'close') as [number];
    assert.ok(flooded, 'the fake agent got the hub preface');
    assert.equal(code, LINK_CLOSE.protocolError);
    await assertGoodAgentUndisturbed();
  });

  it('abuse - oversized upgrade headers are refused and the connection closed', async () => {
    const url = new URL(hub.url);
    const socket = tls.connect({ host: url.hostname, port: Number(url.port), ca: caPem, servername: 'localhost' });
    await once(socket, 'secureConnect');
    let answer = '';
    socket.on('data', (chunk: Buffer) => { answer += chunk.toString(); });
    // The hub answers 431, then drains what is still coming for a moment before it closes, so no reset overtakes the answer.
    socket.on('error', () => undefined);
    const closed = new Promise((resolve) => { socket.on('close', resolve); });
    socket.write(`GET /api/v1/agent/connect HTTP/1.1\r\nHost: hub\r\nUpgrade: websocket\r\nX-Pad: ${'a'.repeat(MAX_REQUEST_HEAD_BYTES)}\r\n\r\n`);
    await closed;
    assert.ok(answer.startsWith('HTTP/1.1 431'), `unexpected answer: ${answer.slice(0, 80)}`);
    assert.doesNotMatch(answer, /101 Switching Protocols/);
    await assertGoodAgentUndisturbed();
  });

  it('abuse - unknown paths and a missing subprotocol are refused over HTTP', async () => {
    const statusOf = (url: string, protocols: string[], headers: Record<string, string> = {}): Promise<number> => new Promise((resolve, reject) => {
      const ws = new WebSocket(url, protocols, { headers: { authorization: `Bearer ${attackerToken}`, ...headers }, ca: caPem });
      ws.on('unexpected-response', (_req, res) => { resolve(res.statusCode ?? 0); ws.terminate(); });
      ws.on('open', () => { reject(new Error('the upgrade was accepted')); });
      ws.on('error', () => undefined);
    });
    assert.equal(await statusOf(agentConnectUrl(hub.url).replace('/connect', '/nope'), [LINK_SUBPROTOCOL]), 404);
    assert.equal(await statusOf(agentConnectUrl(hub.url), ['other.v9']), 400);
    assert.equal(await statusOf(agentConnectUrl(hub.url).replace('/api/v1/agent/connect', '/api/v1/clusters'), [LINK_SUBPROTOCOL]), 404);
    for (const leader of ['x', '-1 pod_ab', '99999999999 pod_ab', '3 POD_ab', `3 ${'a'.repeat(300)}_ab`]) {
      assert.equal(await statusOf(agentConnectUrl(hub.url), [LINK_SUBPROTOCOL], { [AGENT_HEADERS.leader]: leader }), 400, `leader header ${leader.slice(0, 20)}`);
    }
    await assertGoodAgentUndisturbed();
  });

  it('abuse - the hub counts what it cut off', async () => {
    const text = await hubMetricsText(hub);
    assert.ok(metricValue(text, 'uplink_hub_link_errors_total', 'reason="protocol"') >= 2);
    assert.ok(metricValue(text, 'uplink_hub_link_errors_total', 'reason="bad_request"') >= 1);
    assert.equal(metricValue(text, 'uplink_hub_agents_connected'), 1, 'only the good agent is connected');
    await assertGoodAgentUndisturbed();
  });
});
