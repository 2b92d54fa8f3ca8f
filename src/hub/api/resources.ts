// /api/v1/clusters/:cluster/{resources,watch,logs}: live resources and pod
// logs, answered by the cluster's agent over its link. Every answer carries
// `cluster` (online or not, heartbeat age) and the agent's `inventory`
// freshness. The agent answers as far as the cluster's RBAC lets the caller's
// impersonated identity read (it checks with SubjectAccessReviews), so the
// hub shows what `kubectl` through the hub would; Secrets (metadata only
// anyway) also need edit or admin here, whatever an older agent checks. Queries take a
// unary slot of the cluster's limiter, feeds and log streams a streaming slot.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  RESOURCE_PATHS, type KindInfo, type ResourceEventsResponse, type ResourceKindsResponse, type ResourceListResponse,
  type ResourceObjectResponse,
} from '../../link/resources.ts';
import type { Logger } from '../../util/logger.ts';
import { principalOf } from '../auth.ts';
import { toHttpError } from '../errors.ts';
import type { Fleet } from '../fleet.ts';
import type { ClusterLimiter } from '../kube/limiter.ts';
import { requiresRole, type LiveStreams } from '../live-streams.ts';
import type { HubMetrics, ResourceOutcome, ResourceRoute } from '../metrics.ts';
import {
  ClientGoneError, ClusterParams, DEFAULT_LOG_NAMESPACE, KindParams, ListQuery, LogsQuery, NoQuery, ObjectParams, ObjectQuery,
  ResourceAnswerError, WatchQuery, acquireSlot, agentPath, checkLogsQuery, checkedQuery, getJson, isSecretKind, namesSecrets,
  findReadableCluster, linkTo, openAgentStream, relayFeed, relayLogs, resolveTarget, type ResourceTarget, type WithCluster,
} from '../resources/index.ts';
import type { AuditRecord, Store } from '../store/index.ts';
import type { OpenStreamRow, StreamAuditor } from '../stream-audit.ts';

export interface ResourceRoutesOptions {
  store: Store;
  fleet: Fleet;
  log: Logger;
  metrics: HubMetrics;
  /** The hub's one per-cluster limiter, shared with the kubectl endpoint. */
  limiter: ClusterLimiter;
  /** Receives one record per log request refused before it streamed (logs are sensitive). */
  audit: (record: AuditRecord) => void;
  /** Stores the row of a log stream when it is accepted; its end completes the row. */
  streamAudit: StreamAuditor;
  /** Feeds and log streams register here, so revoking the caller's token, user or grant ends them. */
  liveStreams: Pick<LiveStreams, 'register'>;
}

type Handler = (req: FastifyRequest, reply: FastifyReply) => Promise<object | undefined>;

function outcomeOf(error: unknown): ResourceOutcome {
  if (error instanceof ResourceAnswerError) return error.outcome;
  if (error instanceof ClientGoneError) return 'cancelled';
  const { status } = toHttpError(error);
  if (status === 400) return 'bad_request';
  if (status === 403) return 'forbidden';
  if (status === 404) return 'not_found';
  return 'failed';
}

/** 403 for a caller who may not read Secrets asking for them. */
function checkSecretAccess(target: ResourceTarget, kind: string | KindInfo): void {
  if (target.role !== 'view') return;
  if (typeof kind === 'string' ? namesSecrets(kind) : isSecretKind(kind)) {
    throw new ResourceAnswerError({
      code: 'FORBIDDEN', outcome: 'forbidden', cluster: target.summary(),
      message: `reading secrets needs the edit or admin role on cluster '${target.record.name}' (yours is view)`,
    });
  }
}

/** A string query value as given, bounded, for the audit row of a request that may have failed validation. */
function auditText(value: unknown): string | null {
  return typeof value === 'string' ? value.slice(0, 253) : null;
}

export function registerResourceRoutes(app: FastifyInstance, options: ResourceRoutesOptions): void {
  const { limiter, metrics } = options;
  const base = '/api/v1/clusters/:cluster';

  /** Metrics and answers that carry `cluster`, in one place for every route. */
  const handled = (route: ResourceRoute, handler: Handler) =>
    async (req: FastifyRequest, reply: FastifyReply): Promise<object | undefined> => {
      try {
        const body = await handler(req, reply);
        // Streams (body undefined) count their outcome when they end.
        if (body !== undefined) metrics.resourceRequest(route, 'ok');
        return body;
      } catch (error) {
        metrics.resourceRequest(route, outcomeOf(error));
        if (error instanceof ClientGoneError) {
          reply.hijack();
          return undefined;
        }
        if (!(error instanceof ResourceAnswerError)) throw error;
        if (error.retryAfterSeconds !== undefined) void reply.header('retry-after', String(error.retryAfterSeconds));
        return reply.status(error.status).send(error.body);
      }
    };
  const target = (req: FastifyRequest): Promise<ResourceTarget> =>
    resolveTarget(options, req, (req.params as ClusterParams).cluster);
  const unary = async <T extends object>(t: ResourceTarget, path: string): Promise<T> => {
    const release = acquireSlot(limiter, t, 'unary');
    try {
      return await getJson<T>(t, path);
    } finally {
      release();
    }
  };

  /** Registers an open stream of `t`'s caller; `end` cuts it when the caller's access is revoked. */
  const track = (t: ResourceTarget, kind: 'resource-feed' | 'logs', end: (message: string) => void): (() => void) =>
    options.liveStreams.register({ kind, principal: t.principal, stillAllowed: requiresRole(t.record.id, t.role), end: (_reason, message) => { end(message); } });

  const validated = (params: object, querystring: object): { schema: { params: object; querystring: object }; attachValidation: true } =>
    ({ schema: { params, querystring }, attachValidation: true });

  app.get(`${base}/resources`, validated(ClusterParams, NoQuery), handled('kinds', async (req): Promise<WithCluster<ResourceKindsResponse>> => {
    checkedQuery(req, NoQuery);
    const t = await target(req);
    const body = await unary<ResourceKindsResponse>(t, RESOURCE_PATHS.kinds);
    return { ...body, cluster: t.summary() };
  }));

  app.get(`${base}/resources/:kind`, validated(KindParams, ListQuery), handled('list', async (req): Promise<WithCluster<ResourceListResponse>> => {
    const query = checkedQuery(req, ListQuery);
    const { kind } = req.params as KindParams;
    const t = await target(req);
    checkSecretAccess(t, kind);
    const body = await unary<ResourceListResponse>(t, agentPath(RESOURCE_PATHS.list, { kind, ...query }));
    checkSecretAccess(t, body.kind);
    return { ...body, cluster: t.summary() };
  }));

  app.get(`${base}/resources/:kind/:name`, validated(ObjectParams, ObjectQuery), handled('object', async (req): Promise<WithCluster<ResourceObjectResponse>> => {
    const query = checkedQuery(req, ObjectQuery);
    const { kind, name } = req.params as ObjectParams;
    const t = await target(req);
    checkSecretAccess(t, kind);
    const body = await unary<ResourceObjectResponse>(t, agentPath(RESOURCE_PATHS.object, { kind, name, ...query }));
    checkSecretAccess(t, body.kind);
    return { ...body, cluster: t.summary() };
  }));

  app.get(`${base}/resources/:kind/:name/events`, validated(ObjectParams, ObjectQuery), handled('events', async (req): Promise<WithCluster<ResourceEventsResponse>> => {
    const query = checkedQuery(req, ObjectQuery);
    const { kind, name } = req.params as ObjectParams;
    const t = await target(req);
    const body = await unary<ResourceEventsResponse>(t, agentPath(RESOURCE_PATHS.events, { kind, name, ...query }));
    return { ...body, cluster: t.summary() };
  }));

  app.get(`${base}/watch/:kind`, validated(KindParams, WatchQuery), handled('watch', async (req, reply) => {
    const query = checkedQuery(req, WatchQuery);
    const { kind } = req.params as KindParams;
    const t = await target(req);
    checkSecretAccess(t, kind);
    const release = acquireSlot(limiter, t, 'streaming');
    let opened: Awaited<ReturnType<typeof openAgentStream>>;
    try {
      opened = await openAgentStream({ target: t, path: agentPath(RESOURCE_PATHS.watch, { kind, ...query }), client: reply.raw });
    } catch (error) {
      release();
      throw error;
    }
    reply.hijack();
    metrics.resourceFeedsOpen.inc();
    let end: (message: string) => void = () => undefined;
    const forget = track(t, 'resource-feed', (message) => { end(message); });
    end = relayFeed({
      stream: opened.stream, res: reply.raw, clusterName: t.record.name, summary: t.summary,
      linkOpen: () => t.session.isOpen, allowSecrets: t.role !== 'view',
      done: (outcome) => {
        forget();
        release();
        metrics.resourceFeedsOpen.dec();
        metrics.resourceRequest('watch', outcome);
        if (outcome === 'too_slow') metrics.resourceFeedsDropped.inc();
      },
    });
    return undefined;
  }));

  app.get(`${base}/logs`, validated(ClusterParams, LogsQuery), handled('logs', async (req, reply) => {
    const principal = principalOf(req);
    const raw = req.query as Record<string, unknown>;
    const at = new Date().toISOString();
    const started = performance.now();
    let cluster = { id: '', name: (req.params as ClusterParams).cluster };
    const record = (status: number, bytesOut: number): AuditRecord => ({
      at,
      userId: principal.userId, userName: principal.userName, clusterId: cluster.id, clusterName: cluster.name,
      verb: 'get', resource: 'pods', subresource: 'log',
      namespace: auditText(raw.namespace) ?? DEFAULT_LOG_NAMESPACE, name: auditText(raw.pod) ?? auditText(raw.labelSelector),
      path: req.url.split('?')[0] ?? '', status, bytesIn: 0, bytesOut,
      durationMs: Math.round((performance.now() - started) * 10) / 10, command: null,
    });
    // Stored when the stream is accepted (stream-audit.ts), completed at its end; a refusal before it is one row.
    let row: OpenStreamRow | undefined;
    const audit = (status: number, bytesOut: number): void => {
      if (row === undefined) options.audit(record(status, bytesOut));
      else row.end(record(status, bytesOut));
    };
    try {
      const query = checkedQuery(req, LogsQuery);
      checkLogsQuery(query);
      const readable = await findReadableCluster(options, req, cluster.name);
      cluster = readable.record;
      const t = linkTo(options, readable);
      const release = acquireSlot(limiter, t, 'streaming');
      let opened: Awaited<ReturnType<typeof openAgentStream>>;
      try {
        row = await options.streamAudit.open(record(0, 0));
        opened = await openAgentStream({
          target: t, client: reply.raw,
          path: agentPath(RESOURCE_PATHS.logs, { ...query, namespace: query.namespace ?? DEFAULT_LOG_NAMESPACE }),
        });
      } catch (error) {
        release();
        throw error;
      }
      reply.hijack();
      metrics.logStreamsOpen.inc();
      let cut = (): void => undefined;
      const forget = track(t, 'logs', () => { cut(); });
      cut = relayLogs({
        stream: opened.stream, res: reply.raw, contentType: opened.contentType, linkOpen: () => t.session.isOpen,
        done: (outcome, bytes) => {
          forget();
          release();
          metrics.logStreamsOpen.dec();
          metrics.resourceRequest('logs', outcome);
          // The client was answered 200; a cut-off stream shows in the duration and bytes.
          audit(200, bytes);
        },
      });
      return undefined;
    } catch (error) {
      audit(error instanceof ClientGoneError ? 0 : toHttpError(error).status, 0);
      throw error;
    }
  }));
}
