// A forward proxy (HTTP CONNECT) standing in for wildcard DNS in tests of
// host-routed kubectl: there is no DNS for `*.<kube domain>` here, Go's
// resolver does not map `*.localhost` to loopback, and /etc/hosts is not
// ours to edit. Clients given `HTTPS_PROXY=<proxy url>` (or a kubeconfig's
// `proxy-url`) ask it to CONNECT `<cluster>.<domain>:<port>`; it opens a TCP
// tunnel to the hub on 127.0.0.1 and relays bytes untouched, so TLS (SNI,
// certificate check) and the Host header are the client's own, end to end,
// as behind a corporate proxy. Bounded: only names inside the domain, only
// the hub's port; anything else is refused 403 and counted.
import { once } from 'node:events';
import http from 'node:http';
import { connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TestContext } from 'node:test';

export interface ConnectProxy {
  /** `http://127.0.0.1:<port>`, for HTTPS_PROXY or a kubeconfig's proxy-url. */
  url: string;
  /** The CONNECT targets tunnelled, as asked (`prod.kube.test:8443`). */
  tunnelled: string[];
  /** The CONNECT targets refused. */
  refused: string[];
  close(): Promise<void>;
}

/** Starts a CONNECT proxy that tunnels `*.<domain>:<hubPort>` to 127.0.0.1:<hubPort>; closed when the test ends. */
export async function startConnectProxy(t: TestContext, options: { domain: string; hubPort: number }): Promise<ConnectProxy> {
  const sockets = new Set<Duplex>();
  const tunnelled: string[] = [];
  const refused: string[] = [];
  const track = (socket: Duplex): void => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
  };
  const server = http.createServer((_req, res) => { res.writeHead(405, { connection: 'close' }).end('only CONNECT\n'); });
  server.on('connection', track);
  server.on('connect', (req: http.IncomingMessage, client: Duplex, head: Buffer) => {
    const target = req.url ?? '';
    const match = /^([^:]+):(\d+)$/.exec(target);
    const host = match?.[1]?.toLowerCase().replace(/\.$/, '') ?? '';
    if (!host.endsWith(`.${options.domain}`) || Number(match?.[2]) !== options.hubPort) {
      refused.push(target);
      client.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    tunnelled.push(target);
    const upstream: Socket = connect(options.hubPort, '127.0.0.1');
    track(upstream);
    upstream.once('connect', () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.once('error', () => { client.destroy(); });
    client.once('close', () => { upstream.destroy(); });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    for (const socket of sockets) socket.destroy();
    server.close();
    await once(server, 'close');
  };
  t.after(close);
  return { url: `http://127.0.0.1:${port}`, tunnelled, refused, close };
}
