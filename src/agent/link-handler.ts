// Serves what the hub asks of this agent over the link (AGENT_PATHS).
import http2, { type Http2ServerRequest, type Http2ServerResponse } from 'node:http2';
import {
  ADDON_PATHS, type AddonOperationRequest, type AddonStatus, type AddonStatusEvent, type AddonSweepEvent, type AddonSweepReport,
} from '../link/addons.ts';
import type { LinkRequestHandler } from '../link/agent-session.ts';
import { ndjsonLine } from '../link/ndjson.ts';
import { EXPOSURE_PATHS } from '../link/exposures.ts';
import { AGENT_PATHS, type ClusterFacts, type HeartbeatEvent } from '../link/protocol.ts';
import { RESOURCE_PATHS } from '../link/resources.ts';
import type { Logger } from '../util/logger.ts';
import { readLimited } from '../util/read-limited.ts';
import { AddonOperationError, receiveDesiredAddons, serveDesiredAddons, type DesiredAddons } from './addons/index.ts';
import { serveLogs, type LogsOptions } from './logs.ts';
import type { AgentMetrics } from './metrics.ts';
import { handleResourceRequest, type ResourcesHandlerOptions } from './resources-handler.ts';
import { serveAgentUpgrade, type AgentSelfUpgrade } from './self-upgrade.ts';
import { sendError } from './answers.ts';
import { receiveExposures, serveExposures, type HeldExposures } from './gateway/index.ts';

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
  /** kubectl passthrough (AGENT_PATHS.kube prefix, and AGENT_PATHS.kubeEnvelope). */
  kubeProxy: LinkRequestHandler;
  /** Inventory queries and watches (RESOURCE_PATHS). */
  resources: ResourcesHandlerOptions;
  /** Pod logs (RESOURCE_PATHS.logs). */
  logs: LogsOptions;
  /** The desired add-ons the hub pushes (ADDON_PATHS.desired). */
  desiredAddons: DesiredAddons;
  /** The add-on engine: statuses for the events stream, manual operations (ADDON_PATHS.operations). */
  addons: AddonStatusSource;
  /** Upgrades of the agent's own release (AGENT_PATHS.agentUpgrade). */
  selfUpgrade: AgentSelfUpgrade;
  /** TCP forwards (AGENT_PATHS.forward); without it, the path is not found. */
  forward?: LinkRequestHandler;
  /** The Service gateway: its exposure set (EXPOSURE_PATHS.desired) and streams (AGENT_PATHS.gateway); without it, not found. */
  gateway?: { held: HeldExposures; stream: LinkRequestHandler };
}

/** What the link needs of the add-on engine. */
export interface AddonStatusSource {
  statuses(): AddonStatus[];
  subscribe(listener: (status: AddonStatus) => void): () => void;
  lastSweep(): AddonSweepReport | undefined;
  onSweep(listener: (report: AddonSweepReport) => void): () => void;
  request(input: AddonOperationRequest): { operationId: string };
}

/** Paths counted by name in the link requests metric; anything else is 'other'. */
const KNOWN_PATHS = new Set<string>([
  ...Object.values(AGENT_PATHS), ...Object.values(RESOURCE_PATHS), ...Object.values(ADDON_PATHS), ...Object.values(EXPOSURE_PATHS),
]);

function sendJson(res: Http2ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

/**
 * One events stream: a heartbeat at once and then every interval, each
 * add-on's status at once and then each change, until the stream closes.
 */
function serveEvents(options: LinkHandlerOptions, res: Http2ServerResponse): void {
  res.writeHead(200, { 'content-type': 'application/x-ndjson' });
  let timer: NodeJS.Timeout | undefined;
  let open = true;
  const sendStatus = (status: AddonStatus): void => {
    const event: AddonStatusEvent = { type: 'addonStatus', status };
    if (open) res.write(ndjsonLine(event));
  };
  const unsubscribe = options.addons.subscribe(sendStatus);
  const sendSweep = (sweep: AddonSweepReport): void => {
    const event: AddonSweepEvent = { type: 'addonSweep', sweep };
    if (open) res.write(ndjsonLine(event));
  };
  const unsubscribeSweeps = options.addons.onSweep(sendSweep);
  const beat = async (): Promise<void> => {
    const facts = await options.collectFacts();
    if (!open) return;
    const event: HeartbeatEvent = { type: 'heartbeat', intervalSeconds: options.heartbeatIntervalSeconds, facts };
    res.write(ndjsonLine(event));
    options.metrics.heartbeats.inc();
    timer = setTimeout(beatInBackground, options.heartbeatIntervalSeconds * 1000);
  };
  // A heartbeat whose facts cannot be gathered is skipped, not fatal: the next is tried an interval later.
  const beatInBackground = (): void => {
    beat().catch((error: unknown) => {
      options.log.error({ err: error }, 'could not gather the heartbeat facts; trying again next interval');
      if (open) timer = setTimeout(beatInBackground, options.heartbeatIntervalSeconds * 1000);
    });
  };
  const untrack = options.trackEventsStream(() => { res.end(); });
  res.on('close', () => {
    open = false;
    clearTimeout(timer);
    unsubscribe();
    unsubscribeSweeps();
    untrack();
  });
  beatInBackground();
  for (const status of options.addons.statuses()) sendStatus(status);
  const sweep = options.addons.lastSweep();
  if (sweep) sendSweep(sweep);
}

/** POST ADDON_PATHS.operations: a manual rollback or sync (answers documented at ADDON_PATHS). */
async function requestOperation(options: LinkHandlerOptions, req: Http2ServerRequest, res: Http2ServerResponse): Promise<void> {
  let body: unknown;
  try {
    body = JSON.parse(await readLimited(req, MAX_REQUEST_BODY_BYTES));
  } catch {
    sendError(res, 'ADDON_OPERATION_INVALID', 'the body must be JSON {addon, action, revision?, requestedBy}');
    return;
  }
  const problem = operationProblem(body);
  if (problem !== undefined) {
    sendError(res, 'ADDON_OPERATION_INVALID', problem);
    return;
  }
  try {
    sendJson(res, 202, options.addons.request(body as AddonOperationRequest));
  } catch (error) {
    if (!(error instanceof AddonOperationError)) throw error;
    sendError(res, error.code, error.message);
  }
}

function operationProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return 'the body must be an object';
  const body = value as Partial<AddonOperationRequest>;
  if (typeof body.addon !== 'string' || body.addon === '') return 'addon must name an add-on';
  if (body.action !== 'rollback' && body.action !== 'sync') return "action must be 'rollback' or 'sync'";
  if (body.action === 'rollback' && !(Number.isSafeInteger(body.revision) && (body.revision ?? 0) >= 1)) return 'a rollback needs revision, a whole number of at least 1';
  if (typeof body.requestedBy !== 'string' || body.requestedBy.length > 256) return 'requestedBy must name who asked';
  if (body.allowOutsideWindow !== undefined && typeof body.allowOutsideWindow !== 'boolean') return 'allowOutsideWindow must be true or false';
  return undefined;
}

async function storeToken(options: LinkHandlerOptions, req: Http2ServerRequest, res: Http2ServerResponse): Promise<void> {
  let token: unknown;
  try {
    token = (JSON.parse(await readLimited(req, MAX_REQUEST_BODY_BYTES)) as { token?: unknown }).token;
  } catch {
    sendError(res, 'BAD_REQUEST', 'the body must be JSON {"token": "..."}');
    return;
  }
  if (typeof token !== 'string' || !CLUSTER_TOKEN.test(token)) {
    sendError(res, 'BAD_REQUEST', 'token is not a cluster token');
    return;
  }
  try {
    await options.storeToken(token);
  } catch (error) {
    options.log.error({ err: error }, 'could not store the rotated token');
    sendError(res, 'TOKEN_STORE_FAILED', 'could not store the token');
    return;
  }
  options.log.info('stored the rotated cluster token');
  res.writeHead(204).end();
}

/**
 * A request the agent failed to handle (a bug, or input nothing expected):
 * logged, and answered 500, or its stream reset if an answer had begun. The
 * agent keeps serving.
 */
function failed(error: unknown, log: Logger, res: Http2ServerResponse): void {
  log.error({ err: error }, 'a link request failed inside the agent');
  if (res.stream.destroyed) return;
  if (res.headersSent) res.stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
  else sendError(res, 'INTERNAL', 'the agent failed to handle this request; see its log');
}

/** Waits for a route's answer in the background; a rejection goes to `failed`. */
function answering(work: Promise<unknown>, log: Logger, res: Http2ServerResponse): void {
  work.catch((error: unknown) => { failed(error, log, res); });
}

export function createLinkHandler(options: LinkHandlerOptions): LinkRequestHandler {
  const route = routeLinkRequest(options);
  // node:http2 lets a throw from a request handler end the process.
  return (req, res) => {
    try {
      route(req, res);
    } catch (error) {
      failed(error, options.log, res);
    }
  };
}

function routeLinkRequest(options: LinkHandlerOptions): LinkRequestHandler {
  return (req, res) => {
    const path = req.url.split('?')[0] ?? '';
    if (path.startsWith(`${AGENT_PATHS.kube}/`)) {
      options.metrics.linkRequests.inc({ path: AGENT_PATHS.kube });
      options.kubeProxy(req, res);
      return;
    }
    if (req.url === AGENT_PATHS.kubeEnvelope && req.method === 'POST') {
      options.metrics.linkRequests.inc({ path: AGENT_PATHS.kubeEnvelope });
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
      answering(options.collectFacts().then((facts) => { sendJson(res, 200, facts); }), options.log, res);
    } else if (path === AGENT_PATHS.token && req.method === 'POST') {
      answering(storeToken(options, req, res), options.log, res);
    } else if (path === ADDON_PATHS.desired && req.method === 'PUT') {
      answering(receiveDesiredAddons(options.desiredAddons, options.log, req, res), options.log, res);
    } else if (path === ADDON_PATHS.desired && req.method === 'GET') {
      serveDesiredAddons(options.desiredAddons, res);
    } else if (path === ADDON_PATHS.operations && req.method === 'POST') {
      answering(requestOperation(options, req, res), options.log, res);
    } else if (path === AGENT_PATHS.forward && req.method === 'POST' && options.forward !== undefined) {
      options.forward(req, res);
    } else if (path === AGENT_PATHS.gateway && req.method === 'POST' && options.gateway !== undefined) {
      options.gateway.stream(req, res);
    } else if (path === EXPOSURE_PATHS.desired && req.method === 'PUT' && options.gateway !== undefined) {
      answering(receiveExposures(options.gateway.held, options.log, req, res), options.log, res);
    } else if (path === EXPOSURE_PATHS.desired && req.method === 'GET' && options.gateway !== undefined) {
      serveExposures(options.gateway.held, res);
    } else if (path === AGENT_PATHS.agentUpgrade && req.method === 'POST') {
      answering(serveAgentUpgrade(options.selfUpgrade, req, res), options.log, res);
    } else {
      sendError(res, 'NOT_FOUND', `no route for ${req.method} ${path}`);
    }
  };
}
