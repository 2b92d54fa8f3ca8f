// /api/v1/clusters/:cluster/exposures: the Service ports published through
// the hub's Service gateway (src/domain/exposure.ts). Any role on the
// cluster reads them (404 without one, as for the cluster itself); creating
// and deleting need admin on that cluster or fleet-wide, answer only once
// the store has committed, and are audited. Each change is pushed to the
// cluster's agent (onChange), which lets gateway streams reach only the
// exposures it holds.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import Type from 'typebox';
import { exposurePath, newExposureId, parseExposureInput, type Exposure } from '../../domain/exposure.ts';
import { MAX_EXPOSURES_PER_CLUSTER } from '../../link/exposures.ts';
import type { Logger } from '../../util/logger.ts';
import { KeyedQueue } from '../addons/index.ts';
import { principalOf } from '../auth.ts';
import { HttpError, notFound } from '../errors.ts';
import type { AuditRecord, ClusterRecord, Role, Store } from '../store/index.ts';
import { findClusterRole } from './lookup.ts';
import { requestAudit } from './request-audit.ts';

/** An exposure as the API answers it: the record and where the gateway serves it. */
export interface ExposureView extends Exposure {
  /** `/gw/<cluster>/<name>/` on the hub. */
  url: string;
}

export interface ExposureRoutesOptions {
  store: Store;
  log: Logger;
  /** Called after a committed change of the cluster's exposures (to push them to its agent). */
  onChange?: (clusterId: string) => void;
  /** Receives one record per create and delete. */
  audit?: (record: AuditRecord) => void;
  /** Tests lower it. */
  maxPerCluster?: number;
}

const ClusterParams = Type.Object({ cluster: Type.String({ minLength: 1, maxLength: 63 }) });
const ExposureParams = Type.Object({
  cluster: Type.String({ minLength: 1, maxLength: 63 }),
  name: Type.String({ minLength: 1, maxLength: 63 }),
});
type ExposureParamsType = Type.Static<typeof ExposureParams>;

/** The cluster in the URL and the caller's role on it; 404 without a role. */
async function findRoleOn(store: Store, req: FastifyRequest): Promise<{ cluster: ClusterRecord; role: Role }> {
  const { record, role } = await findClusterRole(store, req, (req.params as Type.Static<typeof ClusterParams>).cluster);
  return { cluster: record, role };
}

/** The cluster, if the caller is its admin; 403 for another role. */
async function adminCluster(store: Store, req: FastifyRequest): Promise<ClusterRecord> {
  const { cluster, role } = await findRoleOn(store, req);
  if (role !== 'admin') throw new HttpError('FORBIDDEN', `publishing or deleting exposures needs the admin role on cluster '${cluster.name}' (yours is ${role})`);
  return cluster;
}

function toView(exposure: Exposure, cluster: ClusterRecord): ExposureView {
  return { ...exposure, url: exposurePath(cluster.name, exposure.name) };
}

const exposureNotFound = (name: string, cluster: ClusterRecord): HttpError => notFound(`exposure '${name}' of cluster '${cluster.name}'`);

export function registerExposureRoutes(app: FastifyInstance, options: ExposureRoutesOptions): void {
  const { store, log } = options;
  const maxPerCluster = options.maxPerCluster ?? MAX_EXPOSURES_PER_CLUSTER;
  // Count-then-write of one cluster's exposures, one at a time within this hub.
  const writes = new KeyedQueue();
  const base = '/api/v1/clusters/:cluster/exposures';

  app.get(base, { schema: { params: ClusterParams } }, async (req): Promise<{ items: ExposureView[] }> => {
    const { cluster } = await findRoleOn(store, req);
    return { items: (await store.listExposures(cluster.id)).map((exposure) => toView(exposure, cluster)) };
  });

  app.get(`${base}/:name`, { schema: { params: ExposureParams } }, async (req): Promise<ExposureView> => {
    const { cluster } = await findRoleOn(store, req);
    const { name } = req.params as ExposureParamsType;
    const exposure = await store.getExposure(cluster.id, name);
    if (!exposure) throw exposureNotFound(name, cluster);
    return toView(exposure, cluster);
  });

  app.post(base, { schema: { params: ClusterParams } }, async (req, reply) => {
    const audit = requestAudit(options.audit, req, 'exposures', null);
    const cluster = await adminCluster(store, req);
    const input = parseExposureInput(req.body);
    const exposure = await writes.run(cluster.id, async () => {
      const existing = await store.listExposures(cluster.id);
      if (existing.some((e) => e.name === input.name)) throw new HttpError('EXPOSURE_EXISTS', `cluster '${cluster.name}' already has an exposure named '${input.name}'`);
      if (existing.length >= maxPerCluster) throw new HttpError('EXPOSURE_LIMIT', `cluster '${cluster.name}' has ${existing.length} exposures, the most allowed`);
      return store.putExposure({
        ...input, id: newExposureId(), clusterId: cluster.id, createdBy: principalOf(req).userName, createdAt: new Date().toISOString(),
      });
    });
    options.onChange?.(cluster.id);
    log.info({ clusterId: cluster.id, cluster: cluster.name, exposure: exposure.name, service: `${exposure.namespace}/${exposure.service}:${exposure.port}`, by: exposure.createdBy }, 'exposure created');
    audit({ cluster, namespace: exposure.namespace, name: exposure.name }, 201, 'create');
    return reply.status(201).send(toView(exposure, cluster));
  });

  app.delete(`${base}/:name`, { schema: { params: ExposureParams } }, async (req, reply) => {
    const audit = requestAudit(options.audit, req, 'exposures', null);
    const cluster = await adminCluster(store, req);
    const { name } = req.params as ExposureParamsType;
    const exposure = await store.getExposure(cluster.id, name);
    if (!exposure || !(await writes.run(cluster.id, () => store.deleteExposure(cluster.id, name)))) throw exposureNotFound(name, cluster);
    options.onChange?.(cluster.id);
    log.info({ clusterId: cluster.id, cluster: cluster.name, exposure: name, by: principalOf(req).userName }, 'exposure deleted');
    audit({ cluster, namespace: exposure.namespace, name }, 204, 'delete');
    return reply.status(204).send();
  });
}
