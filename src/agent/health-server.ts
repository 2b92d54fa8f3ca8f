// The agent's own endpoints on :8080 for the kubelet's probes and Prometheus.
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import { UPLINK_VERSION } from '../version.ts';
import type { AgentMetrics } from './metrics.ts';

export interface ReadinessReport {
  ready: boolean;
  /** What is missing when not ready. */
  reasons: string[];
  /** leader, standby or unknown (who leads cannot be told now); always leader without leader election. */
  leader?: 'leader' | 'standby' | 'unknown';
  /** The lease's holder as last seen, with leader election. */
  holder?: string;
}

export interface HealthServerOptions {
  host: string;
  port: number;
  metrics: AgentMetrics;
  readiness: () => ReadinessReport;
}

/** Starts the health server; resolves with it once listening. */
export async function startHealthServer(options: HealthServerOptions): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const json = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(`${JSON.stringify(body)}\n`);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      json(405, { error: 'only GET' });
    } else if (path === '/livez') {
      json(200, { status: 'ok' });
    } else if (path === '/readyz') {
      const report = options.readiness();
      json(report.ready ? 200 : 503, { status: report.ready ? 'ok' : 'not ready', reasons: report.reasons, leader: report.leader, holder: report.holder });
    } else if (path === '/version') {
      json(200, { uplink: UPLINK_VERSION, node: process.versions.node });
    } else if (path === '/metrics') {
      options.metrics.registry.metrics().then((text) => {
        res.writeHead(200, { 'content-type': options.metrics.registry.contentType }).end(text);
      }, () => { json(500, { error: 'metrics unavailable' }); });
    } else {
      json(404, { error: `no route for ${path ?? ''}` });
    }
  });
  server.listen(options.port, options.host);
  await once(server, 'listening');
  return server;
}
