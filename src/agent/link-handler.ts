// Serves what the hub asks of this agent over the link (AGENT_PATHS).
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import { ADDON_PATHS } from '../link/addons.ts';
import type { LinkRequestHandler } from '../link/agent-session.ts';
import { ndjsonLine } from '../link/ndjson.ts';
import { AGENT_PATHS, type ClusterFacts, type HeartbeatEvent } from '../link/protocol.ts';
import { RESOURCE_PATHS } from '../link/resources.ts';
import type { Logger } from '../util/logger.ts';
import { readLimited } from '../util/read-limited.ts';
import { receiveDesiredAddons, serveDesiredAddons, type DesiredAddons } from './addons/index.ts';
import { serveLogs, type LogsOptions } from './logs.ts';
import type { AgentMetrics } from './metrics.ts';
import { handleResourceRequest, type ResourcesHandlerOptions } from './resources-handler.ts';

/** Largest request body the agent reads from the hub on a unary call. */
const MAX_REQUEST_BODY_BYTES = 64 * 1024;
/** Shape of a cluster token, checked before it is stored. */
const CLUSTER_TOKEN = /^upc_[a-z0-9]{1,63}_[A-Za-z0-9_-]{43}$/;

export interface LinkHandlerOptions {
  log: Logger;
  metrics: AgentMetrics;
  heartbeatIntervalSeconds: number;
  /** Gathers fresh facts; never rejects. */
  collectFacts: () => Promise<ClusterFacts>;
  /** Persists a rotated token; resolves once it is durable. */
  storeToken: (token: string) => Promise<void>;
  /** Registers an open events stream so shutdown can end it. */
  trackEventsStream: (end: () => void) => () => void;
  /** kubectl passthrough (AGENT_PATHS.kube prefix). */
  kubeProxy: LinkRequestHandler;
  /** Inventory queries and watches (RESOURCE_PATHS). */
  resources: ResourcesHandlerOptions;
  /** Pod logs (RESOURCE_PATHS.logs). */
  logs: LogsOptions;
  /** The desired add-ons the hub pushes (ADDON_PATHS.desired). */
  desiredAddons: DesiredAddons;
}

/** Paths counted by name in the link requests metric; anything else is 'other'. */
const KNOWN_PATHS = new Set<string>([...Object.values(AGENT_PATHS), ...Object.values(RESOURCE_PATHS), ...Object.values(ADDON_PATHS)]);

function sendJson(res: Http2ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

/** The heartbeat loop on one events stream: one at once, then every interval, until the stream closes. */
function serveEvents(options: LinkHandlerOptions, res: Http2ServerResponse): void {
  res.writeHead(200, { 'content-type': 'application/x-ndjson' });
  let timer: NodeJS.Timeout | undefined;
  let open = true;
  const beat = async (): Promise<void> => {
    const facts = await options.collectFacts();
    if (!open) return;
    const event: HeartbeatEvent = { type: 'heartbeat', intervalSeconds: options.heartbeatIntervalSeconds, facts };
    res.write(ndjsonLine(event));
    options.metrics.heartbeats.inc();
    timer = setTimeout(() => { void beat(); }, options.heartbeatIntervalSeconds * 1000);
  };
  const untrack = options.trackEventsStream(() => { res.end(); });
  res.on('close', () => {
    open = false;
    clearTimeout(timer);
    untrack();
  });
  void beat();
}

async function storeToken(options: LinkHandlerOptions, req: Http2ServerRequest, res: Http2ServerResponse): Promise<void> {
  let token: unknown;
  try {
    token = (JSON.parse(await readLimited(req, MAX_REQUEST_BODY_BYTES)) as { token?: unknown }).token;
  } catch {
    sendJson(res, 400, { error: 'body must be JSON {"token": "..."}' });
    return;
  }
  if (typeof token !== 'string' || !CLUSTER_TOKEN.test(token)) {
    sendJson(res, 400, { error: 'token is not a cluster token' });
    return;
  }
  try {
    await options.storeToken(token);
  } catch (error) {
    options.log.error({ err: error }, 'could not store the rotated token');
    sendJson(res, 500, { error: 'could not store the token' });
    return;
  }
  options.log.info('stored the rotated cluster token');
  res.writeHead(204).end();
}

export function createLinkHandler(options: LinkHandlerOptions): LinkRequestHandler {
  return (req, res) => {
    const path = req.url.split('?')[0] ?? '';
    if (path.startsWith(`${AGENT_PATHS.kube}/`)) {
      options.metrics.linkRequests.inc({ path: AGENT_PATHS.kube });
      options.kubeProxy(req, res);
      return;
    }
    options.metrics.linkRequests.inc({ path: KNOWN_PATHS.has(path) ? path : 'other' });
    if (path === RESOURCE_PATHS.logs && req.method === 'GET') {
      serveLogs(options.logs, req, res);
    } else if (handleResourceRequest(options.resources, req, res, path)) {
      return;
    } else if (path === AGENT_PATHS.events && req.method === 'GET') {
      serveEvents(options, res);
    } else if (path === AGENT_PATHS.info && req.method === 'GET') {
      void options.collectFacts().then((facts) => { sendJson(res, 200, facts); });
    } else if (path === AGENT_PATHS.token && req.method === 'POST') {
      void storeToken(options, req, res);
    } else if (path === ADDON_PATHS.desired && req.method === 'PUT') {
      void receiveDesiredAddons(options.desiredAddons, options.log, req, res);
    } else if (path === ADDON_PATHS.desired && req.method === 'GET') {
      serveDesiredAddons(options.desiredAddons, res);
    } else {
      sendJson(res, 404, { error: `no route for ${req.method} ${path}` });
    }
  };
}
