// An agent-like peer for attack and fuzz tests: it links to a real hub with a
// real cluster token over the real link code, then sends whatever event lines
// a test hands it, where a real agent would only send what it computed. It
// lists no link features, as an agent from before them, and records the
// requests the hub makes of it.
import { readFileSync } from 'node:fs';
import type { Http2ServerResponse } from 'node:http2';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { AgentSession } from '../../src/link/agent-session.ts';
import { dialLink } from '../../src/link/dial-h2.ts';
import { DEFAULT_KEEPALIVE } from '../../src/link/keepalive.ts';
import { AGENT_PATHS, type ClusterFacts, type HeartbeatEvent } from '../../src/link/protocol.ts';
import { ADDON_PATHS } from '../../src/link/addons.ts';
import { createLogger } from '../../src/util/logger.ts';
import type { HubHandle } from './uplink.ts';

/** Requests a raw agent remembers; fuzz tests send many more. */
const MAX_RECORDED_REQUESTS = 1000;

/** Facts as a real agent sends them (every field, including the optional ones). */
export const REAL_FACTS: ClusterFacts = {
  kubernetesVersion: 'v1.36.4', platform: 'linux/amd64', distribution: 'kwok', cloud: 'aws', region: 'eu-west-1', zones: ['eu-west-1a'],
  nodes: { total: 3, ready: 3 }, pods: { total: 10, running: 8, pending: 1, succeeded: 1, failed: 0, unknown: 0 },
  apiServer: { livez: true, readyz: true },
  agent: { version: '0.1.0', nodeVersion: '24.21.0', uptimeSeconds: 5, memoryRssBytes: 80_000_000 },
  collectedAt: '2026-03-04T10:00:00.000Z',
  inventory: { synced: true, objects: 100, kinds: 26, syncedKinds: 26, stalenessSeconds: 0 },
  egressIp: '1.0.0.1',
};

/** A real heartbeat with the given facts' changes. */
export function heartbeat(changes: Partial<ClusterFacts> = {}): HeartbeatEvent {
  return { type: 'heartbeat', intervalSeconds: 1, facts: { ...REAL_FACTS, ...changes } };
}

export interface RawAgent {
  /** Writes one line on the events stream: a value as JSON, a string as it is. */
  send(event: unknown): void;
  /** The requests the hub made on the link (the last MAX_RECORDED_REQUESTS), `:method` and `:path`, in order. */
  readonly requests: readonly { method: string; path: string }[];
  /** True while the link is open. */
  readonly open: boolean;
  close(): void;
}

/** Links to `hub` as the cluster of `token` and waits until the hub opened the events stream. */
export async function linkRawAgent(t: Pick<TestContext, 'after'>, hub: HubHandle, token: string): Promise<RawAgent> {
  const ca = hub.caHash ? readFileSync(join(hub.dataDir, 'tls', 'ca.crt'), 'utf8') : undefined;
  const socket = await dialLink({ hubUrl: hub.url, token, agentVersion: '0.1.0', rejectUnauthorized: true, transport: 'h2', ...(ca ? { ca } : {}) });
  let events: Http2ServerResponse | undefined;
  let eventsOpened: () => void = () => undefined;
  const opened = new Promise<void>((resolve) => { eventsOpened = resolve; });
  let open = true;
  const requests: { method: string; path: string }[] = [];
  const session = new AgentSession({
    socket, log: createLogger({ name: 'raw-agent', level: 'silent' }), keepalive: DEFAULT_KEEPALIVE,
    handler: (req, res) => {
      if (requests.length >= MAX_RECORDED_REQUESTS) requests.shift();
      requests.push({ method: req.method, path: req.url });
      const path = req.url.split('?')[0];
      if (path === AGENT_PATHS.events) {
        res.writeHead(200, { 'content-type': 'application/x-ndjson' });
        events = res;
        eventsOpened();
      } else if (path === ADDON_PATHS.desired && req.method === 'PUT') {
        req.resume();
        req.on('end', () => { res.writeHead(204).end(); });
      } else {
        res.writeHead(404).end();
      }
    },
  });
  void session.closed.then(() => { open = false; });
  t.after(() => { session.destroy(); });
  await opened;
  return {
    send: (event) => { events?.write(`${typeof event === 'string' ? event : JSON.stringify(event)}\n`); },
    requests,
    get open() { return open; },
    close: () => { session.destroy(); },
  };
}
