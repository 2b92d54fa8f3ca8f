// The agent's own endpoints on :8080: the kubelet's probes, Prometheus, and
// the read-only runtime endpoints of runtime/ for an operator who reaches
// the pod with `kubectl port-forward`.
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import { UPLINK_VERSION } from '../version.ts';
import type { AgentMetrics } from './metrics.ts';
import type { AgentRuntime } from './runtime/index.ts';

export interface ReadinessReport {
  ready: boolean;
  /** What is missing when not ready. */
  reasons: string[];
  /** leader, standby or unknown (who leads cannot be told now); always leader without leader election. */
  leader?: 'leader' | 'standby' | 'unknown';
  /** The lease's holder as last seen, with leader election. */
  holder?: string;
  /** While this agent leads with leader election: its term (the Lease's leaseTransitions when it took it), as its link tells the hub. */
  term?: number;
}

export interface HealthServerOptions {
  host: string;
  port: number;
  metrics: AgentMetrics;
  readiness: () => ReadinessReport;
  /** The runtime endpoints (/api/..., /dashboard); without it only the probes, /version and /metrics. */
  runtime?: Pick<AgentRuntime, 'handle'>;
}

/** The commit the running build was made from, when the image says (UPLINK_GIT_COMMIT, hex). */
export function gitCommit(env: NodeJS.ProcessEnv = process.env): string | null {
  const value = env.UPLINK_GIT_COMMIT?.trim() ?? '';
  return /^[0-9a-f]{7,40}$/i.test(value) ? value.toLowerCase() : null;
}

/** Starts the health server; resolves with it once listening. */
export async function startHealthServer(options: HealthServerOptions): Promise<Server> {
  const commit = gitCommit();
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const json = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(`${JSON.stringify(body)}\n`);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      json(405, { error: 'only GET' });
    } else if (path === '/livez') {
      json(200, { status: 'ok' });
    } else if (path === '/readyz') {
      const report = options.readiness();
      json(report.ready ? 200 : 503, { status: report.ready ? 'ok' : 'not ready', reasons: report.reasons, leader: report.leader, holder: report.holder });
    } else if (path === '/version') {
      json(200, { uplink: UPLINK_VERSION, node: process.versions.node, commit, platform: `${process.platform}/${process.arch}` });
    } else if (path === '/metrics') {
      options.metrics.registry.metrics().then((text) => {
        res.writeHead(200, { 'content-type': options.metrics.registry.contentType }).end(text);
      }, () => { json(500, { error: 'metrics unavailable' }); });
    } else if (path === '/favicon.ico') {
      res.writeHead(204).end();
    } else if (!options.runtime?.handle(req, res, path)) {
      // The path is not echoed: a client could put anything in it.
      json(404, { error: 'no such path' });
    }
  });
  server.listen(options.port, options.host);
  await once(server, 'listening');
  return server;
}
