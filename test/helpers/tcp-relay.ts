// A TCP relay on loopback that a test can cut, to partition one process from
// a server (the API server, say) while others keep reaching it: cut() drops
// every open connection and holds new ones without an answer, as a dead
// route does; heal() relays again.
import { once } from 'node:events';
import { createServer, connect, type Socket } from 'node:net';
import type { TestContext } from 'node:test';

export interface TcpRelay {
  /** The relay's port on 127.0.0.1. */
  port: number;
  cut(): void;
  heal(): void;
}

/** Starts a relay to `host:port`, closed when the test ends. */
export async function startTcpRelay(t: TestContext, target: { host: string; port: number }): Promise<TcpRelay> {
  const sockets = new Set<Socket>();
  let cut = false;
  const track = (socket: Socket): void => {
    sockets.add(socket);
    socket.on('close', () => { sockets.delete(socket); });
    socket.on('error', () => { socket.destroy(); });
  };
  const server = createServer((client) => {
    track(client);
    // Cut: accepted, never answered (a timeout for the client, not a refusal).
    if (cut) return;
    const upstream = connect(target.port, target.host);
    track(upstream);
    client.pipe(upstream);
    upstream.pipe(client);
    client.on('close', () => { upstream.destroy(); });
    upstream.on('close', () => { client.destroy(); });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(async () => {
    for (const socket of sockets) socket.destroy();
    server.close();
    await once(server, 'close');
  });
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : 0,
    cut: () => {
      cut = true;
      for (const socket of sockets) socket.destroy();
    },
    heal: () => { cut = false; },
  };
}
