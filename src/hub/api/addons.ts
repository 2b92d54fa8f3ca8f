// /api/v1/clusters/:cluster/addons: the Helm add-ons a cluster should run,
// as desired state, each with what the cluster's agent last reported about it
// (`status`, link/addons.ts AddonStatus; stored by hub/addons/status-recorder.ts).
// Any role on the cluster reads them (404 without one, as for the cluster
// itself), but only edit and admin see the values: they may hold credentials,
// which the cluster's own `view` role cannot read from the release either.
// Changing the desired state needs admin on that cluster or
// fleet-wide. The manual operations, rollback and sync, need edit or admin:
// they act on the release within the desired state rather than change it.
// They are forwarded to the agent over its link (503 while it is not
// linked), answered as soon as the agent has queued them, and audited.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import Type from 'typebox';
import type { AddonOperationRequest, AddonRevision, AddonStatus } from '../../link/addons.ts';
import type { Logger } from '../../util/logger.ts';
import {
  checkAddonName, checkDependencies, checkNoDependents, checkSyncBody, forwardAddonOperation, KeyedQueue, operationOutcomeOf,
  parseAddonSpec, parseRollbackBody, type AddonAction, type AddonOperationOutcome, type AddonSpec, type DependencyGraph, type OperationLink,
} from '../addons/index.ts';
import { principalOf } from '../auth.ts';
import { HttpError, notFound, toHttpError } from '../errors.ts';
import type { AddonRecord, AddonStatusRecord, AuditRecord, ClusterRecord, Role, Store } from '../store/index.ts';
import { findClusterRole } from './lookup.ts';
import { requestAudit } from './request-audit.ts';

/** Rows per cluster, deleted ones awaiting uninstall included; a real cluster runs a few dozen add-ons. */
export const MAX_ADDONS_PER_CLUSTER = 500;

/**
 * A spec as a caller sees it: complete for edit and admin; for view, without
 * `values` and with `valuesRedacted: true` instead.
 */
export type AddonSpecView = Omit<AddonSpec, 'values'> & { values?: string; valuesRedacted?: true };

/** An add-on as the API shows it: the stored record (values only for edit and admin), by cluster name. */
export interface AddonView extends Omit<AddonRecord, 'clusterId' | 'spec'> {
  /** The cluster's name. */
  cluster: string;
  spec: AddonSpecView;
  /**
   * What the cluster's agent last reported (phase, release, health, last
   * operation, history); null before its first report. It may be about an
   * older generation than the add-on's: compare `status.generation`.
   */
  status: AddonStatus | null;
  /** When the hub received `status` (ISO 8601); null with it. */
  statusReportedAt: string | null;
}

/** The answer to a rollback or sync: the id the add-on's `status.lastOperation.id` will carry. */
export interface AddonOperationAnswer {
  operationId: string;
  addon: AddonView;
}

export interface AddonRoutesOptions {
  store: Store;
  log: Logger;
  /** Tests lower it. */
  maxAddonsPerCluster?: number;
  /** Called after a change of a cluster's desired add-ons (to push them to its agent). */
  onChange?: (clusterId: string) => void;
  /** The cluster's live link, for rollback and sync; undefined when its agent is not linked. */
  sessionOf: (clusterId: string) => OperationLink | undefined;
  /** Receives one record per rollback or sync request, refused ones included. */
  audit?: (record: AuditRecord) => void;
  /** Counts rollback and sync requests by how forwarding them ended. */
  onOperation?: (action: AddonAction, outcome: AddonOperationOutcome) => void;
}

const ClusterParams = Type.Object({ cluster: Type.String({ minLength: 1, maxLength: 63 }) });
const AddonParams = Type.Object({
  cluster: Type.String({ minLength: 1, maxLength: 63 }),
  name: Type.String({ minLength: 1, maxLength: 63 }),
});
type AddonParamsType = Type.Static<typeof AddonParams>;

type Access = 'read' | 'operate' | 'write';

/** The cluster in the URL and the caller's role on it; 404 without a role. */
function findRoleOn(store: Store, req: FastifyRequest): Promise<{ record: ClusterRecord; role: Role }> {
  return findClusterRole(store, req, (req.params as Type.Static<typeof ClusterParams>).cluster);
}

/** 403 unless the role may read (any role), operate on (edit, admin) or write (admin) add-ons. */
function requireAccess(record: ClusterRecord, role: Role, access: Access): void {
  if (access === 'write' && role !== 'admin') {
    throw new HttpError('FORBIDDEN', `changing add-ons needs the admin role on cluster '${record.name}' (yours is ${role})`);
  }
  if (access === 'operate' && role === 'view') {
    throw new HttpError('FORBIDDEN', `rolling back or syncing add-ons needs the edit or admin role on cluster '${record.name}' (yours is ${role})`);
  }
}

/** The cluster in the URL, if the caller's role there allows `access`. */
async function clusterFor(store: Store, req: FastifyRequest, access: Access): Promise<ClusterRecord> {
  const { record, role } = await findRoleOn(store, req);
  requireAccess(record, role, access);
  return record;
}

const addonNotFound = (name: string, cluster: ClusterRecord): HttpError => notFound(`add-on '${name}' of cluster '${cluster.name}'`);

/** Whether a role sees add-on values: the roles that may act on the release (edit, admin). */
export function seesAddonValues(role: Role): boolean {
  return role !== 'view';
}

/** The spec for a caller of `role`: values left out (and marked so) unless the role sees them. */
export function specFor(spec: AddonSpec, role: Role): AddonSpecView {
  if (seesAddonValues(role)) return spec;
  const rest: AddonSpecView = { ...spec, valuesRedacted: true };
  delete rest.values;
  return rest;
}

function toView(addon: AddonRecord, cluster: ClusterRecord, reported: AddonStatusRecord | undefined, role: Role): AddonView {
  const { name, spec, generation, createdAt, updatedAt, deletedAt } = addon;
  return {
    cluster: cluster.name, name, spec: specFor(spec, role), generation, createdAt, updatedAt, deletedAt,
    status: reported?.status ?? null, statusReportedAt: reported?.reportedAt ?? null,
  };
}

/** The add-on with its status; 404 when the cluster has none of that name. */
async function findAddon(store: Store, cluster: ClusterRecord, name: string): Promise<{ addon: AddonRecord; reported: AddonStatusRecord | undefined }> {
  const [addon, reported] = await Promise.all([store.getAddon(cluster.id, name), store.getAddonStatus(cluster.id, name)]);
  if (!addon) throw addonNotFound(name, cluster);
  return { addon, reported };
}

/** The live add-ons' dependencies; deleted ones are no longer there to depend on. */
function graphOf(addons: readonly AddonRecord[]): DependencyGraph {
  return new Map(addons.filter((a) => a.deletedAt === null).map((a) => [a.name, a.spec.dependsOn]));
}

export function registerAddonRoutes(app: FastifyInstance, options: AddonRoutesOptions): void {
  const { store, log } = options;
  const maxAddons = options.maxAddonsPerCluster ?? MAX_ADDONS_PER_CLUSTER;
  // Check-then-write of one cluster's add-ons, one at a time (see keyed-queue.ts).
  const writes = new KeyedQueue();
  const base = '/api/v1/clusters/:cluster/addons';

  app.get(base, { schema: { params: ClusterParams } }, async (req): Promise<{ items: AddonView[] }> => {
    const { record: cluster, role } = await findRoleOn(store, req);
    const [addons, statuses] = await Promise.all([store.listAddons(cluster.id), store.listAddonStatuses(cluster.id)]);
    const byName = new Map(statuses.map((reported) => [reported.name, reported]));
    return { items: addons.map((addon) => toView(addon, cluster, byName.get(addon.name), role)) };
  });

  app.get(`${base}/:name`, { schema: { params: AddonParams } }, async (req): Promise<AddonView> => {
    const { record: cluster, role } = await findRoleOn(store, req);
    const { addon, reported } = await findAddon(store, cluster, (req.params as AddonParamsType).name);
    return toView(addon, cluster, reported, role);
  });

  // Helm's history as the agent last reported it, oldest first; [] before its first report.
  app.get(`${base}/:name/history`, { schema: { params: AddonParams } }, async (req): Promise<{ items: AddonRevision[] }> => {
    const cluster = await clusterFor(store, req, 'read');
    const { reported } = await findAddon(store, cluster, (req.params as AddonParamsType).name);
    return { items: reported?.status.history ?? [] };
  });

  app.post(`${base}/:name/rollback`, { schema: { params: AddonParams } }, (req, reply) => handleOperation(options, req, reply, 'rollback'));
  app.post(`${base}/:name/sync`, { schema: { params: AddonParams } }, (req, reply) => handleOperation(options, req, reply, 'sync'));

  app.put(`${base}/:name`, { schema: { params: AddonParams } }, async (req, reply) => {
    const audit = requestAudit(options.audit, req, 'addons', null);
    const cluster = await clusterFor(store, req, 'write');
    const name = checkAddonName((req.params as AddonParamsType).name);
    const spec = parseAddonSpec(req.body);
    const { record, outcome } = await writes.run(cluster.id, async () => {
      const addons = await store.listAddons(cluster.id);
      if (addons.length >= maxAddons && !addons.some((a) => a.name === name)) {
        throw new HttpError('ADDON_LIMIT', `cluster '${cluster.name}' has ${addons.length} add-ons (deleted ones awaiting uninstall included), the most allowed`);
      }
      checkDependencies({ name, dependsOn: spec.dependsOn, siblings: graphOf(addons), cluster: cluster.name });
      return store.putAddon({ clusterId: cluster.id, name, spec, at: new Date().toISOString() });
    });
    // Never the values: they may hold credentials.
    if (outcome !== 'unchanged') {
      options.onChange?.(cluster.id);
      log.info({ clusterId: cluster.id, cluster: cluster.name, addon: name, generation: record.generation, by: req.principal?.userName }, `add-on ${outcome}`);
      audit({ cluster, namespace: spec.namespace, name }, outcome === 'created' ? 201 : 200, outcome === 'created' ? 'create' : 'update');
    }
    const reported = await store.getAddonStatus(cluster.id, name);
    return reply.status(outcome === 'created' ? 201 : 200).send(toView(record, cluster, reported, 'admin'));
  });

  // 202: the add-on is marked for uninstall; the release goes once the agent acts on it.
  app.delete(`${base}/:name`, { schema: { params: AddonParams } }, async (req, reply) => {
    const audit = requestAudit(options.audit, req, 'addons', null);
    const cluster = await clusterFor(store, req, 'write');
    const { name } = req.params as AddonParamsType;
    const record = await writes.run(cluster.id, async () => {
      const addons = await store.listAddons(cluster.id);
      if (!addons.some((a) => a.name === name)) throw addonNotFound(name, cluster);
      checkNoDependents(graphOf(addons), name);
      return store.deleteAddon({ clusterId: cluster.id, name, at: new Date().toISOString() });
    });
    if (!record) throw addonNotFound(name, cluster);
    options.onChange?.(cluster.id);
    log.info({ clusterId: cluster.id, cluster: cluster.name, addon: name, generation: record.generation, by: req.principal?.userName }, 'add-on deleted');
    audit({ cluster, namespace: record.spec.namespace, name }, 202, 'delete');
    return reply.status(202).send(toView(record, cluster, await store.getAddonStatus(cluster.id, name), 'admin'));
  });
}

/** Who and what an add-on operation's audit row names, filled in as the request is resolved. */
interface OperationTarget {
  cluster: Pick<ClusterRecord, 'id' | 'name'>;
  namespace: string | null;
  name: string;
}

/**
 * POST …/rollback and …/sync: answers 202 with the operation's id once the
 * agent has queued it. Every request leaves one audit row and one count,
 * refused ones included.
 */
async function handleOperation(options: AddonRoutesOptions, req: FastifyRequest, reply: FastifyReply, action: AddonAction): Promise<FastifyReply> {
  const params = req.params as AddonParamsType;
  const target: OperationTarget = { cluster: { id: '', name: params.cluster }, namespace: null, name: params.name };
  const audit = requestAudit(options.audit, req, 'addons', action);
  let answer: AddonOperationAnswer;
  try {
    answer = await forwardOperation(options, req, action, target);
  } catch (error) {
    options.onOperation?.(action, operationOutcomeOf(error));
    audit(target, toHttpError(error).status);
    throw error;
  }
  options.onOperation?.(action, 'accepted');
  audit(target, 202);
  return reply.status(202).send(answer);
}

/** Checks the caller, the body and the add-on, then asks the agent; fills in `target` as it learns it. */
async function forwardOperation(options: AddonRoutesOptions, req: FastifyRequest, action: AddonAction, target: OperationTarget): Promise<AddonOperationAnswer> {
  const { store } = options;
  const { record, role } = await findRoleOn(store, req);
  target.cluster = record;
  requireAccess(record, role, 'operate');
  const { addon, reported } = await findAddon(store, record, target.name);
  target.namespace = addon.spec.namespace;
  const revision = action === 'rollback' ? parseRollbackBody(req.body) : undefined;
  const allowOutsideWindow = action === 'sync' && checkSyncBody(req.body);
  if (addon.deletedAt !== null) {
    throw new HttpError('ADDON_DELETED', `add-on '${addon.name}' of cluster '${record.name}' is deleted and being uninstalled; put it again before a ${action}`);
  }
  const request: AddonOperationRequest = {
    addon: addon.name, action, requestedBy: principalOf(req).userName, ...(revision === undefined ? {} : { revision }),
    ...(allowOutsideWindow ? { allowOutsideWindow } : {}),
  };
  const { operationId } = await forwardAddonOperation({ link: options.sessionOf(record.id), cluster: record.name, request });
  options.log.info({ clusterId: record.id, cluster: record.name, addon: addon.name, action, revision, operationId, by: request.requestedBy }, `add-on ${action} requested`);
  return { operationId, addon: toView(addon, record, reported, role) };
}
