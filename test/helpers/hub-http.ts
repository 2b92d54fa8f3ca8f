// Speaking to a real hub below the CLI for attack and fuzz tests: requests
// whose path goes out byte for byte, raw bytes on a TLS socket (so malformed
// HTTP reaches Node's parser), and the dashboard's fleet feed.
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import tls from 'node:tls';
import { SseReader, type SseEvent } from '../../src/cli/sse-reader.ts';
import type { ClusterView } from '../../src/hub/fleet.ts';
import type { HubHandle } from './uplink.ts';

export interface HubAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** The hub's CA certificate (PEM). */
export function hubCa(hub: HubHandle): string {
  return readFileSync(join(hub.dataDir, 'tls', 'ca.crt'), 'utf8');
}

/** One request with `path` sent exactly as given; rejects only when the connection fails. */
export function hubRequest(hub: HubHandle, request: { method?: string; path: string; headers?: Record<string, string>; body?: string | Buffer; timeoutMs?: number }): Promise<HubAnswer> {
  const url = new URL(hub.url);
  return new Promise((resolve, reject) => {
    const req = https.request({
      host: url.hostname, port: url.port, method: request.method ?? 'GET', path: request.path, ca: hubCa(hub), agent: false,
      headers: request.headers ?? {}, timeout: request.timeoutMs ?? 15_000,
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => { chunks.push(chunk); });
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }); });
      res.on('error', reject);
    });
    req.on('timeout', () => { req.destroy(new Error('the hub did not answer in time')); });
    req.on('error', reject);
    req.end(request.body);
  });
}

/**
 * Writes `bytes` on a fresh TLS connection and collects what the hub sends
 * until it closes the connection or `timeoutMs` passes; never rejects.
 */
export function rawExchange(hub: HubHandle, bytes: Buffer, timeoutMs = 5_000): Promise<string> {
  const url = new URL(hub.url);
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const socket = tls.connect({ host: url.hostname, port: Number(url.port), ca: hubCa(hub), servername: 'localhost' }, () => { socket.end(bytes); });
    const done = (): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(Buffer.concat(chunks).toString('latin1'));
    };
    const timer = setTimeout(done, timeoutMs);
    socket.on('data', (chunk: Buffer) => { chunks.push(chunk); });
    socket.on('error', done);
    socket.on('close', done);
  });
}

/** The status of GET /livez, or 0 when the hub does not answer. */
export async function livez(hub: HubHandle): Promise<number> {
  try {
    return (await hubRequest(hub, { path: '/livez', timeoutMs: 5_000 })).status;
  } catch {
    return 0;
  }
}

export interface FleetWatch {
  events: SseEvent[];
  readonly ended: boolean;
  close(): void;
}

/** Opens the dashboard's fleet feed as the holder of `token`; resolves once its snapshot arrived. */
export function openFleetWatch(hub: HubHandle, token: string): Promise<FleetWatch> {
  const url = new URL(hub.url);
  return new Promise((resolve, reject) => {
    const reader = new SseReader();
    let ended = false;
    const req = https.request({
      host: url.hostname, port: url.port, path: '/api/v1/fleet/watch', ca: hubCa(hub), agent: false,
      headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' },
    }, (res) => {
      if (res.statusCode !== 200) {
        reject(new Error(`the fleet watch answered ${res.statusCode ?? 0}`));
        res.resume();
        return;
      }
      const watch: FleetWatch = { events: [], get ended() { return ended; }, close: () => { req.destroy(); } };
      res.setEncoding('utf8');
      res.on('data', (text: string) => {
        watch.events.push(...reader.push(text));
        if (watch.events.some((e) => e.event === 'snapshot')) resolve(watch);
      });
      res.on('close', () => { ended = true; });
      res.on('error', () => { ended = true; });
    });
    req.on('error', (error) => { ended = true; reject(error); });
    req.end();
  });
}

/**
 * Polls, every half second until stopped, what other clients of `hub` see
 * while an attack runs: /livez, and an admin reading `cluster`, which must
 * stay online (its agent keeps heartbeating). `stop` returns the problems seen.
 */
export function watchOtherClients(hub: HubHandle, cluster: string): { stop: () => Promise<string[]> } {
  const problems: string[] = [];
  const state = { running: true };
  const loop = (async () => {
    while (state.running) {
      const live = await livez(hub);
      if (live !== 200) problems.push(`/livez answered ${live}`);
      try {
        const view = await hub.client.request<ClusterView>('GET', `/api/v1/clusters/${cluster}`);
        if (view.status !== 'online') problems.push(`cluster ${cluster} was ${view.status}`);
      } catch (error) {
        problems.push(`an admin could not read cluster ${cluster}: ${(error as Error).message}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  })();
  return { stop: async () => { state.running = false; await loop; return problems; } };
}
