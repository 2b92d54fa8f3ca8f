// The bytes of `uplink forward`: a listener per local port, and per accepted
// connection one HTTP/1.1 upgrade to the hub's forward route, spliced with
// the connection after the 101. A hub or link that is down (no answer, 502,
// 503, 429) is retried with a short backoff, so a connection made while the
// link reconnects still gets through; any other refusal (403, 404, 400) is
// printed and only that connection closes.
import { once } from 'node:events';
import http from 'node:http';
import https from 'node:https';
import { createServer, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { describeForwardTarget, FORWARD_UPGRADE, type ForwardTarget } from '../../link/forward.ts';
import { readLimited } from '../../util/read-limited.ts';
import type { CliConfig } from '../cli-config.ts';
import { withQuery } from '../hub-client.ts';
import { spliceTunnel } from './tunnel-splice.ts';

/** Waits before each retry of an upgrade the hub could not serve (then the connection is given up). */
export const UPGRADE_RETRY_DELAYS_MS: readonly number[] = [250, 500, 1_000, 2_000, 4_000, 4_000];
/** Time the hub gets to answer one upgrade. */
const UPGRADE_TIMEOUT_MS = 30_000;
/** Largest refusal body read from the hub. */
const MAX_REFUSAL_BYTES = 16 * 1024;
/** Answers that mean the hub or the link is not there now, rather than "no" (an endpoint that refused is not retried). */
const RETRYABLE_CODES = new Set(['CLUSTER_OFFLINE', 'LINK_CLOSED', 'LINK_TIMEOUT', 'TOO_MANY_REQUESTS', 'TOO_MANY_FORWARDS', 'STORE_UNAVAILABLE', 'PEER_UNREACHABLE', 'PEER_BUSY', 'PEER_TIMEOUT', 'CLUSTER_MOVED']);

/** One local port and what it reaches. */
export interface PortMapping {
  address: string;
  /** 0 for any free port. */
  localPort: number;
  target: ForwardTarget;
}

export interface ListenForwardsOptions {
  config: CliConfig;
  cluster: string;
  mappings: readonly PortMapping[];
  /** One line about a connection that could not be forwarded. */
  warn: (line: string) => void;
  /** Tests shorten the retries. */
  retryDelaysMs?: readonly number[];
}

/** A refused or failed upgrade; `retry` when the hub or link may be back shortly. */
class UpgradeError extends Error {
  readonly retry: boolean;

  constructor(message: string, retry: boolean) {
    super(message);
    this.retry = retry;
  }
}

/** Opens one forward: resolves with the hub's socket after its 101, rejects with UpgradeError. */
function openUpgrade(config: CliConfig, path: string, signal: AbortSignal): Promise<{ socket: Duplex; head: Buffer }> {
  const url = new URL(`${config.hubUrl.replace(/\/+$/, '')}${path}`);
  const transport = url.protocol === 'http:' ? http : https;
  return new Promise((resolve, reject) => {
    const req = transport.request(url, {
      method: 'GET', signal, timeout: UPGRADE_TIMEOUT_MS,
      headers: { authorization: `Bearer ${config.token}`, connection: 'Upgrade', upgrade: FORWARD_UPGRADE },
      rejectUnauthorized: config.insecureSkipTlsVerify !== true,
      ...(config.caPem ? { ca: config.caPem } : {}),
    });
    // Paused at once: the bytes after the 101 may arrive in the same read, before
    // whoever awaits this attaches, and a flowing socket with no reader drops them.
    req.on('upgrade', (_res, socket, head) => {
      socket.pause();
      // A hub that ends its side (the service hung up) must not end ours: we may still be sending.
      socket.allowHalfOpen = true;
      resolve({ socket, head });
    });
    req.on('response', (res) => {
      const status = res.statusCode ?? 0;
      readLimited(res, MAX_REFUSAL_BYTES).then((text) => {
        let error: { code?: unknown; message?: unknown } | undefined;
        try {
          error = (JSON.parse(text) as { error?: typeof error }).error;
        } catch { /* not JSON (a proxy's page): the text as is */ }
        const message = typeof error?.message === 'string' ? error.message : text.slice(0, 300);
        const retry = typeof error?.code === 'string' ? RETRYABLE_CODES.has(error.code) : status === 502 || status === 503;
        reject(new UpgradeError(`the hub answered ${status}: ${message}`, retry));
      }, () => { reject(new UpgradeError(`the hub answered ${status}`, status === 502 || status === 503)); });
    });
    req.on('timeout', () => { req.destroy(new Error('no answer in time')); });
    req.on('error', (error) => { reject(new UpgradeError(`cannot reach the hub at ${config.hubUrl}: ${error.message}`, !signal.aborted)); });
    req.end();
  });
}

/** Carries one local connection: upgrades (retrying while the hub or link is away), then splices. */
async function carry(options: ListenForwardsOptions, mapping: PortMapping, local: Socket): Promise<void> {
  local.pause(); // its bytes wait in the kernel until the forward is open
  const aborted = new AbortController();
  local.once('close', () => { aborted.abort(); });
  const gone = (): boolean => aborted.signal.aborted;
  local.on('error', () => undefined);
  const { target } = mapping;
  const path = withQuery(`/api/v1/clusters/${encodeURIComponent(options.cluster)}/forward`, {
    kind: target.kind, namespace: target.namespace, name: target.name, port: String(target.port),
  });
  const delays = options.retryDelaysMs ?? UPGRADE_RETRY_DELAYS_MS;
  for (let attempt = 0; ; attempt++) {
    try {
      const { socket, head } = await openUpgrade(options.config, path, aborted.signal);
      if (local.destroyed) {
        socket.destroy();
        return;
      }
      socket.on('error', () => { local.destroy(); });
      local.on('error', () => { socket.destroy(); });
      spliceTunnel({ local, remote: socket, head });
      return;
    } catch (error) {
      const delay = delays[attempt];
      if (gone()) return;
      if (!(error instanceof UpgradeError) || !error.retry || delay === undefined) {
        options.warn(`error: forward to ${describeForwardTarget(target)}: ${(error as Error).message}`);
        local.destroy();
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
      if (gone()) return;
    }
  }
}

export interface ListeningForwards {
  listening: { mapping: PortMapping; port: number }[];
  /** Stops listening and ends every forwarded connection. */
  close: () => void;
}

/** Listens on every mapping's local port at once; rejects (closing the ones opened) when one cannot listen. */
export async function listenForwards(options: ListenForwardsOptions): Promise<ListeningForwards> {
  const servers: Server[] = [];
  const connections = new Set<Socket>();
  const close = (): void => {
    for (const server of servers) server.close();
    for (const socket of connections) socket.destroy();
  };
  const listening: ListeningForwards['listening'] = [];
  try {
    for (const mapping of options.mappings) {
      // Half-open both ways: a client that has sent everything still reads the answer.
      const server = createServer({ allowHalfOpen: true }, (local) => {
        connections.add(local);
        local.once('close', () => { connections.delete(local); });
        carry(options, mapping, local).catch((error: unknown) => {
          options.warn(`error: forward to ${describeForwardTarget(mapping.target)}: ${(error as Error).message}`);
          local.destroy();
        });
      });
      servers.push(server);
      server.listen(mapping.localPort, mapping.address);
      await once(server, 'listening');
      const address = server.address();
      listening.push({ mapping, port: typeof address === 'object' && address !== null ? address.port : mapping.localPort });
    }
  } catch (error) {
    close();
    throw new Error(`cannot listen: ${(error as Error).message}`, { cause: error });
  }
  return { listening, close };
}
