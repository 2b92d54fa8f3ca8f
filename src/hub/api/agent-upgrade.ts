// POST /api/v1/clusters/:cluster/agent/upgrade {version}: an operator asks a
// cluster's agent to upgrade its own Helm release to a chart version (with
// --reuse-values). It needs admin on the cluster (404 without any role, as
// for the cluster itself). The hub forwards it over the link (503 while the
// agent is not linked) and answers 202 with the operation's id as soon as the
// agent has started it; the outcome arrives in the heartbeat, so the cluster
// view's `facts.agentUpgrade` shows it. Every request is audited as verb
// create on agent/upgrade, named by the version asked for.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import Type from 'typebox';
import { LinkRequestError, type LinkResponse } from '../../link/hub-session.ts';
import { AGENT_PATHS, agentUpgradeVersionProblem, type AgentUpgradeAccepted, type AgentUpgradeRequest } from '../../link/protocol.ts';
import { UplinkError } from '../../util/errors.ts';
import type { Logger } from '../../util/logger.ts';
import type { OperationLink } from '../addons/index.ts';
import { principalOf } from '../auth.ts';
import { HttpError, notFound, toHttpError } from '../errors.ts';
import { effectiveRole } from '../rbac.ts';
import type { AuditRecord, ClusterRecord, Store } from '../store/index.ts';
import { findCluster } from './lookup.ts';

/** How long the agent may take to start (not to finish) an upgrade. */
export const AGENT_UPGRADE_TIMEOUT_MS = 15_000;
/** Longest operation id, error code and agent message passed on to the caller. */
const MAX_OPERATION_ID_CHARS = 253;
const MAX_CODE_CHARS = 64;
const MAX_AGENT_MESSAGE_CHARS = 500;

const ClusterParams = Type.Object({ cluster: Type.String({ minLength: 1, maxLength: 63 }) });

export interface AgentUpgradeRoutesOptions {
  store: Store;
  log: Logger;
  /** The cluster's live link; undefined when its agent is not linked. */
  sessionOf: (clusterId: string) => OperationLink | undefined;
  /** Receives one record per request, refused ones included. */
  audit?: (record: AuditRecord) => void;
  timeoutMs?: number;
}

/** The version of a body `{"version": "1.4.0"}`; a 400 naming the field otherwise. */
export function parseAgentUpgradeBody(body: unknown): string {
  const invalid = (message: string): HttpError => new HttpError(400, 'AGENT_UPGRADE_INVALID', message);
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw invalid('the body must be {"version": "X.Y.Z"}, the agent chart version to upgrade to');
  const unknown = Object.keys(body).find((key) => key !== 'version');
  if (unknown !== undefined) throw invalid(`unknown field '${unknown.slice(0, 80)}' (known: version)`);
  const { version } = body as { version?: unknown };
  const problem = agentUpgradeVersionProblem(version);
  if (problem !== undefined) throw invalid(problem);
  return version as string;
}

/** The cluster in the URL, if the caller holds admin on it: 404 without a role, 403 naming the role otherwise. */
async function clusterToUpgrade(store: Store, req: FastifyRequest): Promise<ClusterRecord> {
  const { cluster } = req.params as Type.Static<typeof ClusterParams>;
  const record = await findCluster(store, cluster);
  const role = effectiveRole(principalOf(req), record.id);
  // Not 403: a caller without a role on the cluster must not learn that it exists.
  if (!role) throw notFound(`cluster '${cluster}'`);
  if (role !== 'admin') throw new HttpError(403, 'FORBIDDEN', `upgrading the agent of cluster '${record.name}' needs the admin role on it (yours is ${role})`);
  return record;
}

/** The HttpError for a link request that got no answer. */
function unanswered(error: unknown, cluster: string, timeoutMs: number): HttpError {
  if (error instanceof LinkRequestError && error.code === 'LINK_TIMEOUT') {
    return new HttpError(504, 'LINK_TIMEOUT', `cluster '${cluster}': the agent did not accept the upgrade within ${timeoutMs / 1000} s`, { cause: error });
  }
  const code = error instanceof UplinkError ? error.code : 'LINK_CLOSED';
  return new HttpError(502, code, `cluster '${cluster}': ${error instanceof Error ? error.message : String(error)}`, { cause: error });
}

/** The operation id of the agent's 202; its own 4xx as they are (code and message); 502 for anything else. */
function acceptedUpgrade(answer: LinkResponse<unknown>, cluster: string): AgentUpgradeAccepted {
  const body = answer.body as Partial<AgentUpgradeAccepted> & { error?: { code?: unknown; message?: unknown } } | undefined;
  const id: unknown = body?.operationId;
  if (answer.status === 202 && typeof id === 'string' && id !== '' && id.length <= MAX_OPERATION_ID_CHARS) return { operationId: id };
  if (answer.status === 202) throw new HttpError(502, 'LINK_BAD_RESPONSE', `cluster '${cluster}': the agent accepted the upgrade without a usable operationId`);
  const { code, message } = body?.error ?? {};
  const agentCode = typeof code === 'string' ? code.slice(0, MAX_CODE_CHARS) : 'AGENT_ERROR';
  const said = typeof message === 'string' ? message.slice(0, MAX_AGENT_MESSAGE_CHARS) : `the agent answered ${answer.status}`;
  if (answer.status >= 400 && answer.status < 500) throw new HttpError(answer.status, agentCode, said);
  throw new HttpError(502, agentCode, `the agent of cluster '${cluster}' could not start the upgrade: ${said}`);
}

/** Asks the cluster's agent to upgrade itself; resolves once it has started. */
export async function forwardAgentUpgrade(link: OperationLink | undefined, cluster: string, request: AgentUpgradeRequest, timeoutMs = AGENT_UPGRADE_TIMEOUT_MS): Promise<AgentUpgradeAccepted> {
  if (link?.isOpen !== true) {
    throw new HttpError(503, 'CLUSTER_OFFLINE', `cluster '${cluster}' is offline: its agent is not linked to the hub, and the agent upgrades itself`);
  }
  let answer: LinkResponse<unknown>;
  try {
    answer = await link.requestJson<unknown>('POST', AGENT_PATHS.agentUpgrade, request, timeoutMs);
  } catch (error) {
    throw unanswered(error, cluster, timeoutMs);
  }
  return acceptedUpgrade(answer, cluster);
}

export function registerAgentUpgradeRoutes(app: FastifyInstance, options: AgentUpgradeRoutesOptions): void {
  app.post('/api/v1/clusters/:cluster/agent/upgrade', { schema: { params: ClusterParams } }, (req, reply) => handleUpgrade(options, req, reply));
}

/** Checks the caller and the body, asks the agent, and audits the request however it ends. */
async function handleUpgrade(options: AgentUpgradeRoutesOptions, req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const at = new Date().toISOString();
  const started = performance.now();
  const target = { cluster: { id: '', name: (req.params as Type.Static<typeof ClusterParams>).cluster }, version: null as string | null };
  const audit = (status: number): void => {
    const principal = principalOf(req);
    options.audit?.({
      at, userId: principal.userId, userName: principal.userName, clusterId: target.cluster.id, clusterName: target.cluster.name,
      verb: 'create', resource: 'agent', subresource: 'upgrade', namespace: null, name: target.version, path: req.url.split('?')[0] ?? '', status,
      bytesIn: Number(req.headers['content-length'] ?? 0) || 0, bytesOut: 0, durationMs: Math.round((performance.now() - started) * 10) / 10, command: null,
    });
  };
  try {
    target.cluster = await clusterToUpgrade(options.store, req);
    target.version = parseAgentUpgradeBody(req.body);
    const request: AgentUpgradeRequest = { version: target.version, requestedBy: principalOf(req).userName };
    const accepted = await forwardAgentUpgrade(options.sessionOf(target.cluster.id), target.cluster.name, request, options.timeoutMs);
    options.log.info({ clusterId: target.cluster.id, cluster: target.cluster.name, version: request.version, operationId: accepted.operationId, by: request.requestedBy }, 'agent upgrade requested');
    audit(202);
    return await reply.status(202).send(accepted);
  } catch (error) {
    audit(toHttpError(error).status);
    throw error;
  }
}
