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
import { AGENT_PATHS, agentUpgradeVersionProblem, type AgentUpgradeAccepted, type AgentUpgradeRequest } from '../../link/protocol.ts';
import type { Logger } from '../../util/logger.ts';
import { startAgentOperation, type OperationLink } from '../agent-request.ts';
import { principalOf } from '../auth.ts';
import { HttpError, notFound, toHttpError } from '../errors.ts';
import { effectiveRole } from '../rbac.ts';
import type { AuditRecord, ClusterRecord, Store } from '../store/index.ts';
import { findCluster } from './lookup.ts';
import { requestAudit } from './request-audit.ts';

/** How long the agent may take to start (not to finish) an upgrade. */
export const AGENT_UPGRADE_TIMEOUT_MS = 15_000;

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
  const invalid = (message: string): HttpError => new HttpError('AGENT_UPGRADE_INVALID', message);
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
  if (role !== 'admin') throw new HttpError('FORBIDDEN', `upgrading the agent of cluster '${record.name}' needs the admin role on it (yours is ${role})`);
  return record;
}

/** Asks the cluster's agent to upgrade itself; resolves once it has started (see startAgentOperation). */
export function forwardAgentUpgrade(link: OperationLink | undefined, cluster: string, request: AgentUpgradeRequest, timeoutMs = AGENT_UPGRADE_TIMEOUT_MS): Promise<AgentUpgradeAccepted> {
  return startAgentOperation({
    link, cluster, path: AGENT_PATHS.agentUpgrade, body: request, timeoutMs,
    words: { offline: 'the agent upgrades itself', timedOut: 'the upgrade', accepted: 'the upgrade', failed: 'start the upgrade' },
  });
}

export function registerAgentUpgradeRoutes(app: FastifyInstance, options: AgentUpgradeRoutesOptions): void {
  app.post('/api/v1/clusters/:cluster/agent/upgrade', { schema: { params: ClusterParams } }, (req, reply) => handleUpgrade(options, req, reply));
}

/** Checks the caller and the body, asks the agent, and audits the request however it ends. */
async function handleUpgrade(options: AgentUpgradeRoutesOptions, req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const target = { cluster: { id: '', name: (req.params as Type.Static<typeof ClusterParams>).cluster }, version: null as string | null };
  const write = requestAudit(options.audit, req, 'agent', 'upgrade');
  const audit = (status: number): void => { write({ cluster: target.cluster, namespace: null, name: target.version }, status); };
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
