// /api/v1/clusters: register, list, inspect, delete clusters and rotate
// their tokens.
import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import { AGENT_PATHS, LINK_CLOSE } from '../../link/protocol.ts';
import type { Logger } from '../../util/logger.ts';
import { principalOf, requireFleetAdmin } from '../auth.ts';
import { HttpError, badRequest, notFound } from '../errors.ts';
import type { ClusterView, Fleet } from '../fleet.ts';
import { installCommands, type InstallCommands } from '../install-command.ts';
import { CLUSTER_LIST_DEFAULT_LIMIT, CLUSTER_LIST_MAX_LIMIT, decodeContinue, encodeContinue, type ClusterListPage } from './cluster-pages.ts';
import { checkNotIdShaped, findCluster } from './lookup.ts';
import { effectiveRole } from '../rbac.ts';
import type { ClusterRecord, Role, Store } from '../store/index.ts';
import { issueToken, newId } from '../tokens.ts';
import { DNS_LABEL_PATTERN, isLabelKey, isLabelValue, MAX_DNS_LABEL_CHARS } from '../../domain/kube-names.ts';

/** DNS-1123 label: what a cluster name must be, so it can appear in URLs, host names and kubeconfig contexts. */
export const CLUSTER_NAME_PATTERN = DNS_LABEL_PATTERN;
const MAX_LABELS = 64;

const CreateClusterBody = Type.Object({
  name: Type.String({ pattern: CLUSTER_NAME_PATTERN }),
  labels: Type.Optional(Type.Record(Type.String(), Type.String())),
}, { additionalProperties: false });

const ClusterListQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: CLUSTER_LIST_MAX_LIMIT })),
  // Checked by decodeContinue, which says what is wrong with it.
  continue: Type.Optional(Type.String()),
});

const ClusterParams = Type.Object({ cluster: Type.String({ minLength: 1, maxLength: MAX_DNS_LABEL_CHARS }) });

/** A cluster as one caller sees it: with the caller's role on it, so clients can offer only what it allows. */
export interface CallerClusterView extends ClusterView {
  role: Role;
}

export interface ClusterRoutesOptions {
  store: Store;
  fleet: Fleet;
  log: Logger;
  /** The values install commands carry (the public URL is known only once listening). */
  install: () => { chart: string; hubUrl: string; caHash: string | undefined };
}

/** Checks label syntax the way Kubernetes does; throws a 400 naming the bad label. */
export function validateLabels(labels: Record<string, string>): void {
  const entries = Object.entries(labels);
  if (entries.length > MAX_LABELS) throw badRequest(`at most ${MAX_LABELS} labels are allowed, got ${entries.length}`);
  for (const [key, value] of entries) {
    if (!isLabelKey(key)) throw badRequest(`label key '${key}' is not a valid Kubernetes label key`);
    if (!isLabelValue(value)) throw badRequest(`label value '${value}' (key '${key}') is not a valid Kubernetes label value`);
  }
}

/** Characters of text gathered before they become bytes. */
const CHUNK_CHARS = 64 * 1024;

/**
 * A large answer built by appending text: kept as Buffers of about
 * CHUNK_CHARS, outside V8's heap, instead of one string of megabytes.
 */
class ChunkedText {
  private readonly chunks: Buffer[] = [];
  private pending: string;

  constructor(start: string) {
    this.pending = start;
  }

  append(text: string): void {
    this.pending += text;
    if (this.pending.length >= CHUNK_CHARS) {
      this.chunks.push(Buffer.from(this.pending));
      this.pending = '';
    }
  }

  finish(): Buffer {
    this.chunks.push(Buffer.from(this.pending));
    this.pending = '';
    return Buffer.concat(this.chunks);
  }
}

export function registerClusterRoutes(app: FastifyInstance, options: ClusterRoutesOptions): void {
  const { store, fleet } = options;
  const commandsFor = (token: string): InstallCommands => installCommands({ ...options.install(), token });

  app.post('/api/v1/clusters', { schema: { body: CreateClusterBody } }, async (req, reply) => {
    requireFleetAdmin(req);
    const body = req.body as Type.Static<typeof CreateClusterBody>;
    const labels = body.labels ?? {};
    validateLabels(labels);
    checkNotIdShaped('cluster', body.name);
    const id = newId('c');
    const { token, hash } = issueToken('cluster', id);
    const record = await store.createCluster({ id, name: body.name, labels, tokenHash: hash, createdAt: new Date().toISOString() });
    options.log.info({ clusterId: id, cluster: body.name, by: req.principal?.userName }, 'cluster created');
    const cluster: CallerClusterView = { ...fleet.view(record), role: 'admin' };
    return reply.status(201).send({ cluster, token, install: commandsFor(token) });
  });

  // One page of the fleet (ClusterListPage<CallerClusterView>), written as
  // text from each cluster's JSON (Fleet.viewJson), one cluster at a time:
  // parsing every cluster's stored facts, building a view object per cluster
  // and serialising them all at once took twice the CPU. The store is read
  // from the page's first name on and left once the page is full and one
  // more cluster shows there is a next page.
  app.get('/api/v1/clusters', { schema: { querystring: ClusterListQuery } }, async (req, reply) => {
    const principal = principalOf(req);
    const query = req.query as Type.Static<typeof ClusterListQuery>;
    const limit = query.limit ?? CLUSTER_LIST_DEFAULT_LIMIT;
    const afterName = decodeContinue(query.continue);
    const body = new ChunkedText('{"items":[');
    const page = { listed: 0, lastName: '', more: false };
    await store.forEachCluster((record) => {
      const role = effectiveRole(principal, record.id);
      if (!role) return true;
      if (page.listed === limit) {
        page.more = true;
        return false;
      }
      body.append((page.listed === 0 ? '' : ',') + fleet.viewJson(record, { role }));
      page.listed += 1;
      page.lastName = record.name;
      return true;
    }, { batchRows: limit + 1, ...(afterName === undefined ? {} : { afterName }) });
    const metadata: ClusterListPage<never>['metadata'] = page.more ? { continue: encodeContinue(page.lastName) } : {};
    body.append(`],"metadata":${JSON.stringify(metadata)}}`);
    return reply.type('application/json; charset=utf-8').send(body.finish());
  });

  app.get('/api/v1/clusters/:cluster', { schema: { params: ClusterParams } }, async (req): Promise<CallerClusterView> => {
    const { cluster } = req.params as Type.Static<typeof ClusterParams>;
    const record = await findCluster(store, cluster);
    // Not 403: a caller without a role on the cluster must not learn that it exists.
    const role = effectiveRole(principalOf(req), record.id);
    if (!role) throw notFound(`cluster '${cluster}'`);
    return { ...fleet.view(record), role };
  });

  app.delete('/api/v1/clusters/:cluster', { schema: { params: ClusterParams } }, async (req, reply) => {
    requireFleetAdmin(req);
    const record = await findCluster(store, (req.params as Type.Static<typeof ClusterParams>).cluster);
    await store.deleteCluster(record.id);
    fleet.disconnect(record.id, LINK_CLOSE.clusterDeleted, 'cluster deleted');
    fleet.forget(record.id);
    options.log.info({ clusterId: record.id, cluster: record.name, by: req.principal?.userName }, 'cluster deleted');
    return reply.status(204).send();
  });

  app.post('/api/v1/clusters/:cluster/rotate-token', { schema: { params: ClusterParams } }, async (req) => {
    requireFleetAdmin(req);
    const record = await findCluster(store, (req.params as Type.Static<typeof ClusterParams>).cluster);
    const result = await rotateToken(options, record);
    options.log.info({ clusterId: record.id, cluster: record.name, delivered: result.delivered, by: req.principal?.userName }, 'cluster token rotated');
    return { ...result, install: commandsFor(result.token) };
  });
}

/**
 * Rotates a cluster token. A linked agent is sent the new token and, once it
 * confirms it has stored it, the old one stops working and the link is
 * recycled so the agent proves the new token at once. While a rotation is
 * unconfirmed both tokens work (the agent may have stored the new one before
 * the link failed); the first connection with the new one completes it.
 */
async function rotateToken(options: ClusterRoutesOptions, record: ClusterRecord): Promise<{ token: string; delivered: boolean; message: string }> {
  const { store, fleet } = options;
  const { token, hash } = issueToken('cluster', record.id);
  const session = fleet.session(record.id);
  if (!session) {
    await store.updateClusterTokens(record.id, { tokenHash: hash, nextTokenHash: null });
    return { token, delivered: false, message: 'the agent is not linked: configure it with the new token (the old one no longer works)' };
  }
  await store.updateClusterTokens(record.id, { tokenHash: record.tokenHash, nextTokenHash: hash });
  try {
    const response = await session.requestJson('POST', AGENT_PATHS.token, { token });
    if (response.status !== 204) throw new HttpError('TOKEN_NOT_STORED', `the agent answered ${response.status}`);
  } catch (error) {
    options.log.warn({ err: error, clusterId: record.id }, 'the agent did not confirm the rotated token');
    return { token, delivered: false, message: 'the agent did not confirm the new token; both tokens work until it connects with the new one' };
  }
  await store.updateClusterTokens(record.id, { tokenHash: hash, nextTokenHash: null });
  fleet.disconnect(record.id, LINK_CLOSE.tokenRotated, 'token rotated');
  return { token, delivered: true, message: 'the agent stored the new token and reconnected with it; the old token no longer works' };
}
