// The agent's runtime endpoints on its health port, read-only and without a
// secret: detailed health, features, process metrics, a connectivity check,
// SSE streams of events and of its own log lines, and a small dashboard.
// health-server.ts routes to handle(); the agent feeds `hooks`.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../../util/logger.ts';
import type { AgentSettings } from '../config.ts';
import type { Inventory } from '../inventory/index.ts';
import type { KubeClient } from '../kube.ts';
import type { AgentMetrics } from '../metrics.ts';
import { ConnectivityChecker } from './connectivity.ts';
import { runConnectivityCheck, type HubTrust } from './connectivity-steps.ts';
import { DASHBOARD_CSP, DASHBOARD_HTML } from './dashboard-page.ts';
import { RuntimeEventBus, type RuntimeEvent } from './event-bus.ts';
import { LogRing } from './log-ring.ts';
import { ProcessStats } from './process-stats.ts';
import { RuntimeState, type AgentRuntimeHooks } from './runtime-state.ts';
import { SseChannel, type SseChannelOptions } from './sse-channel.ts';
import { agentFeatures, detailedHealth, hubTrustMode, type AgentStatusSource } from './status.ts';

export type { AgentRuntimeHooks } from './runtime-state.ts';
export type { AgentStatusSource } from './status.ts';

/** The paths handle() answers. */
export const RUNTIME_PATHS = {
  detailedHealth: '/api/health/detailed',
  features: '/api/status/features',
  runtimeMetrics: '/api/metrics/runtime',
  connectivity: '/api/status/connectivity',
  events: '/api/realtime/events',
  logs: '/api/realtime/logs',
  dashboard: '/dashboard',
} as const;

export interface AgentRuntimeOptions {
  settings: AgentSettings;
  log: Logger;
  metrics: AgentMetrics;
  inventory: Pick<Inventory, 'freshness' | 'kinds'>;
  kube: Pick<KubeClient, 'request'>;
  /** Secrets this process knows (the configured token), scrubbed from the log stream besides every token-shaped text. */
  secrets: () => readonly string[];
  /** Bounds of the SSE streams; defaults otherwise. */
  sse?: Pick<SseChannelOptions<unknown>, 'maxClients' | 'heartbeatMs' | 'maxBufferedBytes'>;
}

function hubTrust(settings: AgentSettings): HubTrust {
  const mode = hubTrustMode(settings);
  if (mode === 'pin' && settings.hubCaHash !== undefined) return { mode, caHash: settings.hubCaHash };
  if (mode === 'caFile' && settings.hubCaFile !== undefined) return { mode, file: settings.hubCaFile };
  return { mode: mode === 'insecure' ? 'insecure' : 'system' };
}

const JSON_HEADERS = { 'content-type': 'application/json', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' };

/** The runtime endpoints; see the file comment. */
export class AgentRuntime {
  readonly events = new RuntimeEventBus();
  readonly state = new RuntimeState({ events: this.events });
  private readonly options: AgentRuntimeOptions;
  private readonly logs: LogRing;
  private readonly eventStream: SseChannel<RuntimeEvent>;
  private readonly logStream: SseChannel<string>;
  private readonly stats = new ProcessStats();
  private readonly connectivity: ConnectivityChecker;
  private readonly startedAt = Date.now();
  private agent: AgentStatusSource | undefined;

  constructor(options: AgentRuntimeOptions) {
    this.options = options;
    const { metrics } = options;
    this.logs = new LogRing({ log: options.log, secrets: options.secrets });
    const bounds = (stream: string): Omit<SseChannelOptions<unknown>, 'buffer' | 'format'> => ({
      ...options.sse, name: stream, log: options.log,
      onClients: (count) => { metrics.runtimeSseClients.set({ stream }, count); },
      onDrop: (reason) => { metrics.runtimeSseDropped.inc({ stream, reason }); },
    });
    this.eventStream = new SseChannel<RuntimeEvent>({ ...bounds('events'), buffer: this.events.buffer, format: (event) => ({ event: event.type, data: JSON.stringify(event) }) });
    this.logStream = new SseChannel<string>({ ...bounds('logs'), buffer: this.logs.buffer, format: (line) => ({ event: 'log', data: line }) });
    metrics.runtimeSseClients.set({ stream: 'events' }, 0);
    metrics.runtimeSseClients.set({ stream: 'logs' }, 0);
    this.connectivity = new ConnectivityChecker({
      run: async () => {
        const report = await runConnectivityCheck({ hubUrl: options.settings.hubUrl, trust: hubTrust(options.settings), kube: options.kube });
        metrics.runtimeConnectivityChecks.inc({ result: report.ok ? 'ok' : 'failed' });
        return report;
      },
    });
  }

  /** The calls the agent makes as its state changes. */
  get hooks(): AgentRuntimeHooks {
    return this.state;
  }

  /** The agent's own report (readiness, the API server's last answer); until set, health says the agent is starting. */
  attach(agent: AgentStatusSource): void {
    this.agent = agent;
  }

  /** Answers `path` if it is one of RUNTIME_PATHS; false otherwise. Only GET and HEAD reach here. */
  handle(req: IncomingMessage, res: ServerResponse, path: string): boolean {
    const json = (status: number, body: unknown): void => { res.writeHead(status, JSON_HEADERS).end(`${JSON.stringify(body)}\n`); };
    switch (path) {
      case RUNTIME_PATHS.detailedHealth: {
        const agent = this.agent;
        if (!agent) json(503, { status: 'starting' });
        else json(200, detailedHealth({ settings: this.options.settings, state: this.state, agent, inventory: this.options.inventory, startedAt: this.startedAt }));
        return true;
      }
      case RUNTIME_PATHS.features:
        json(200, agentFeatures(this.options.settings, this.options.inventory));
        return true;
      case RUNTIME_PATHS.runtimeMetrics:
        json(200, this.stats.snapshot());
        return true;
      case RUNTIME_PATHS.connectivity:
        this.connectivity.check().then((report) => { json(200, report); }, (error: unknown) => {
          this.options.log.warn({ err: error }, 'the connectivity check failed');
          json(500, { error: 'the connectivity check failed' });
        });
        return true;
      case RUNTIME_PATHS.events:
      case RUNTIME_PATHS.logs:
        if (req.method === 'HEAD') res.writeHead(200, { 'content-type': 'text/event-stream' }).end();
        else (path === RUNTIME_PATHS.events ? this.eventStream : this.logStream).serve(res, req.headers);
        return true;
      case RUNTIME_PATHS.dashboard:
        res.writeHead(200, {
          'content-type': 'text/html; charset=utf-8', 'content-security-policy': DASHBOARD_CSP, 'cache-control': 'no-store',
          'x-content-type-options': 'nosniff', 'x-frame-options': 'DENY', 'referrer-policy': 'no-referrer',
        }).end(DASHBOARD_HTML);
        return true;
      default:
        return false;
    }
  }

  /** Ends the streams and the samplers (shutdown). */
  close(): void {
    this.eventStream.close();
    this.logStream.close();
    this.logs.stop();
    this.stats.stop();
  }
}
