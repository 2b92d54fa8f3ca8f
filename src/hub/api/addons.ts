// /api/v1/clusters/:cluster/addons: the Helm add-ons a cluster should run,
// as desired state. Any role on the cluster reads them (404 without one, as
// for the cluster itself); changing them needs admin on that cluster or
// fleet-wide. The agent does not install add-ons yet (issue 6 continues), so
// every answer's `status` is null: it is where the agent's report will go.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import Type from 'typebox';
import type { Logger } from '../../util/logger.ts';
import {
  checkAddonName, checkDependencies, checkNoDependents, KeyedQueue, parseAddonSpec, type DependencyGraph,
} from '../addons/index.ts';
import { principalOf } from '../auth.ts';
import { HttpError, notFound } from '../errors.ts';
import { effectiveRole } from '../rbac.ts';
import type { AddonRecord, ClusterRecord, Store } from '../store/index.ts';
import { findCluster } from './lookup.ts';

/** Rows per cluster, deleted ones awaiting uninstall included; a real cluster runs a few dozen add-ons. */
export const MAX_ADDONS_PER_CLUSTER = 500;

/** An add-on as the API shows it: the stored record (spec complete), by cluster name. */
export interface AddonView extends Omit<AddonRecord, 'clusterId'> {
  /** The cluster's name. */
  cluster: string;
  /**
   * What the cluster's agent last reported (release, health, last
   * operation). Always null for now: no agent reports add-ons yet.
   */
  status: null;
}

export interface AddonRoutesOptions {
  store: Store;
  log: Logger;
  /** Tests lower it. */
  maxAddonsPerCluster?: number;
  /** Called after a change of a cluster's desired add-ons (to push them to its agent). */
  onChange?: (clusterId: string) => void;
}

const ClusterParams = Type.Object({ cluster: Type.String({ minLength: 1, maxLength: 63 }) });
const AddonParams = Type.Object({
  cluster: Type.String({ minLength: 1, maxLength: 63 }),
  name: Type.String({ minLength: 1, maxLength: 63 }),
});
type AddonParamsType = Type.Static<typeof AddonParams>;

/** The cluster in the URL, if the caller may read (any role) or write (admin) its add-ons; 404 without a role. */
async function clusterFor(store: Store, req: FastifyRequest, access: 'read' | 'write'): Promise<ClusterRecord> {
  const { cluster } = req.params as Type.Static<typeof ClusterParams>;
  const record = await findCluster(store, cluster);
  const role = effectiveRole(principalOf(req), record.id);
  // Not 403: a caller without a role on the cluster must not learn that it exists.
  if (!role) throw notFound(`cluster '${cluster}'`);
  if (access === 'write' && role !== 'admin') {
    throw new HttpError(403, 'FORBIDDEN', `changing add-ons needs the admin role on cluster '${record.name}' (yours is ${role})`);
  }
  return record;
}

const addonNotFound = (name: string, cluster: ClusterRecord): HttpError => notFound(`add-on '${name}' of cluster '${cluster.name}'`);

function toView(addon: AddonRecord, cluster: ClusterRecord): AddonView {
  const { name, spec, generation, createdAt, updatedAt, deletedAt } = addon;
  return { cluster: cluster.name, name, spec, generation, createdAt, updatedAt, deletedAt, status: null };
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
    const cluster = await clusterFor(store, req, 'read');
    return { items: (await store.listAddons(cluster.id)).map((addon) => toView(addon, cluster)) };
  });

  app.get(`${base}/:name`, { schema: { params: AddonParams } }, async (req): Promise<AddonView> => {
    const cluster = await clusterFor(store, req, 'read');
    const { name } = req.params as AddonParamsType;
    const addon = await store.getAddon(cluster.id, name);
    if (!addon) throw addonNotFound(name, cluster);
    return toView(addon, cluster);
  });

  app.put(`${base}/:name`, { schema: { params: AddonParams } }, async (req, reply) => {
    const cluster = await clusterFor(store, req, 'write');
    const name = checkAddonName((req.params as AddonParamsType).name);
    const spec = parseAddonSpec(req.body);
    const { record, outcome } = await writes.run(cluster.id, async () => {
      const addons = await store.listAddons(cluster.id);
      if (addons.length >= maxAddons && !addons.some((a) => a.name === name)) {
        throw new HttpError(409, 'ADDON_LIMIT', `cluster '${cluster.name}' has ${addons.length} add-ons (deleted ones awaiting uninstall included), the most allowed`);
      }
      checkDependencies({ name, dependsOn: spec.dependsOn, siblings: graphOf(addons), cluster: cluster.name });
      return store.putAddon({ clusterId: cluster.id, name, spec, at: new Date().toISOString() });
    });
    // Never the values: they may hold credentials.
    if (outcome !== 'unchanged') {
      options.onChange?.(cluster.id);
      log.info({ clusterId: cluster.id, cluster: cluster.name, addon: name, generation: record.generation, by: req.principal?.userName }, `add-on ${outcome}`);
    }
    return reply.status(outcome === 'created' ? 201 : 200).send(toView(record, cluster));
  });

  // 202: the add-on is marked for uninstall; the release goes once the agent acts on it.
  app.delete(`${base}/:name`, { schema: { params: AddonParams } }, async (req, reply) => {
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
    return reply.status(202).send(toView(record, cluster));
  });
}
