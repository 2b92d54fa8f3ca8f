// A real forwarder in front of the test cluster's API server that records the
// headers of every request it relays: an agent pointed at it (through its
// kubeconfig) works as usual, and a test reads what the agent sent. Plain
// requests and upgrades (exec, attach, port-forward over SPDY or WebSocket)
// are relayed byte for byte after the headers.
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import https from 'node:https';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import type { TestContext } from 'node:test';
import { ensureHubCertificates } from '../../src/hub/tls-certificates.ts';
import { KUBE_MAX_HEAD_BYTES } from '../../src/kube/limits.ts';
import { kubectlJson, testTempDir } from './cluster.ts';

/** One relayed request as the proxy received it. */
export interface RecordedRequest {
  method: string;
  path: string;
  /** As received, names lowercased (raw casing is in rawHeaders). */
  headers: IncomingHttpHeaders;
  rawHeaders: string[];
}

export interface RecordingProxy {
  requests: RecordedRequest[];
  /** A kubeconfig that reaches the API server through the proxy with `token`. */
  kubeconfig: string;
}

interface AdminKubeconfig {
  clusters: { cluster: { server: string; 'certificate-authority-data': string } }[];
}

/** Starts the proxy on 127.0.0.1 and writes a token kubeconfig that uses it. */
export async function startRecordingProxy(t: TestContext, token: string): Promise<RecordingProxy> {
  const admin = await kubectlJson<AdminKubeconfig>(['config', 'view', '--raw']);
  const upstream = admin.clusters[0]?.cluster;
  if (!upstream) throw new Error('the admin kubeconfig has no cluster');
  const upstreamUrl = new URL(upstream.server);
  const upstreamCa = Buffer.from(upstream['certificate-authority-data'], 'base64').toString();
  const dir = testTempDir(t, 'uplink-recording-proxy-');
  const tls = await ensureHubCertificates({ dir, ipAddresses: ['127.0.0.1'] });
  const requests: RecordedRequest[] = [];
  // Everything opened upstream, destroyed at the end: a watch or an upgraded
  // stream left open to the API server would keep the test process alive.
  const upstreamSockets = new Set<Duplex>();
  const track = (socket: Duplex): void => {
    upstreamSockets.add(socket);
    socket.once('close', () => { upstreamSockets.delete(socket); });
  };
  const forward = (req: IncomingMessage): https.RequestOptions => {
    requests.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, rawHeaders: req.rawHeaders });
    const headers: Record<string, string | string[]> = {};
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      const name = req.rawHeaders[i] ?? '';
      if (name.toLowerCase() === 'host') continue;
      const value = req.rawHeaders[i + 1] ?? '';
      const prior = headers[name];
      headers[name] = prior === undefined ? value : [...(Array.isArray(prior) ? prior : [prior]), value];
    }
    return { host: upstreamUrl.hostname, port: upstreamUrl.port, method: req.method, path: req.url, headers, ca: upstreamCa, agent: false };
  };
  // The API server's header size, not Node's 16 KiB: long selectors pass through as they would to it.
  const server = https.createServer({ key: tls.keyPem, cert: tls.certPem, maxHeaderSize: KUBE_MAX_HEAD_BYTES }, (req, res) => {
    const upstreamReq = https.request(forward(req), (upstreamRes) => {
      res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
      upstreamRes.pipe(res);
    });
    upstreamReq.on('socket', track);
    upstreamReq.on('error', () => { res.destroy(); });
    res.on('close', () => { upstreamReq.destroy(); });
    req.pipe(upstreamReq);
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => undefined);
    const upstreamReq = https.request(forward(req));
    upstreamReq.on('socket', track);
    socket.on('close', () => { upstreamReq.destroy(); });
    upstreamReq.on('upgrade', (upstreamRes, upstreamSocket, upstreamHead) => {
      const lines = [`HTTP/1.1 101 ${upstreamRes.statusMessage ?? 'Switching Protocols'}`];
      for (let i = 0; i < upstreamRes.rawHeaders.length; i += 2) lines.push(`${upstreamRes.rawHeaders[i] ?? ''}: ${upstreamRes.rawHeaders[i + 1] ?? ''}`);
      socket.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (upstreamHead.length > 0) socket.write(upstreamHead);
      if (head.length > 0) upstreamSocket.write(head);
      upstreamSocket.pipe(socket).pipe(upstreamSocket);
      upstreamSocket.on('error', () => { socket.destroy(); });
      socket.on('close', () => { upstreamSocket.destroy(); });
    });
    upstreamReq.on('response', (upstreamRes) => {
      const lines = [`HTTP/1.1 ${upstreamRes.statusCode ?? 502} ${upstreamRes.statusMessage ?? ''}`];
      for (let i = 0; i < upstreamRes.rawHeaders.length; i += 2) lines.push(`${upstreamRes.rawHeaders[i] ?? ''}: ${upstreamRes.rawHeaders[i + 1] ?? ''}`);
      socket.write(`${lines.join('\r\n')}\r\n\r\n`);
      upstreamRes.pipe(socket);
    });
    upstreamReq.on('error', () => { socket.destroy(); });
    upstreamReq.end();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => {
    server.closeAllConnections();
    server.close();
    for (const socket of upstreamSockets) socket.destroy();
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, JSON.stringify({
    apiVersion: 'v1', kind: 'Config',
    clusters: [{ name: 'proxy', cluster: { server: `https://127.0.0.1:${port}`, 'certificate-authority-data': Buffer.from(tls.caPem).toString('base64') } }],
    users: [{ name: 'sa', user: { token } }],
    contexts: [{ name: 'sa', context: { cluster: 'proxy', user: 'sa' } }],
    'current-context': 'sa',
  }), { mode: 0o600 });
  return { requests, kubeconfig };
}
