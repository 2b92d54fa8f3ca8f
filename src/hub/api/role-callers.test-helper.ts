// For route tests: cluster `prod` (id c_prod), a user per role with its
// grant and API token, and an app serving the routes under test behind the
// real API-token check, called as any of those users.
import type { FastifyInstance } from 'fastify';
import { createLogger } from '../../util/logger.ts';
import { requireApiToken } from '../auth.ts';
import type { ClusterRecord, Role, Store } from '../store/index.ts';
import { issueApiToken } from '../users.ts';
import { buildApiApp } from './app.ts';

export type Caller = 'root' | 'admin' | 'editor' | 'viewer' | 'stranger';

/** Each caller's grant: fleet-wide admin, or a role on cluster prod, or none. */
export const GRANTS: Record<Caller, { role: Role; fleetWide: boolean } | null> = {
  root: { role: 'admin', fleetWide: true },
  admin: { role: 'admin', fleetWide: false },
  editor: { role: 'edit', fleetWide: false },
  viewer: { role: 'view', fleetWide: false },
  stranger: null,
};

export interface Answer {
  status: number;
  body: Record<string, unknown>;
}

/** A request to `/api/v1/clusters/<path>` as `caller`. */
export type CallAs = (caller: Caller, method: string, path: string, body?: unknown) => Promise<Answer>;

/** Creates cluster prod and the callers in `store`; `register` adds the routes (it gets the cluster). */
export async function appWithCallers(store: Store, register: (api: FastifyInstance, cluster: ClusterRecord) => void): Promise<CallAs> {
  const cluster = await store.createCluster({ id: 'c_prod', name: 'prod', labels: {}, tokenHash: 'h', createdAt: new Date().toISOString() });
  const tokens = new Map<Caller, string>();
  for (const [caller, grant] of Object.entries(GRANTS) as [Caller, (typeof GRANTS)[Caller]][]) {
    const user = await store.createUser({ id: `u_${caller}`, name: caller, createdAt: new Date().toISOString() });
    if (grant) await store.addGrant({ userId: user.id, role: grant.role, clusterId: grant.fleetWide ? null : cluster.id });
    tokens.set(caller, (await issueApiToken(store, { userId: user.id, name: caller })).token);
  }
  const app: FastifyInstance = buildApiApp({ log: createLogger({ name: 'test', level: 'silent' }) });
  await app.register((api, _opts, done) => {
    requireApiToken(api, store);
    register(api, cluster);
    done();
  });
  return async (caller, method, path, body) => {
    const response = await app.inject({
      method: method as 'GET', url: `/api/v1/clusters/${path}`, headers: { authorization: `Bearer ${tokens.get(caller) ?? ''}` },
      ...(body === undefined ? {} : { payload: body as Record<string, unknown> }),
    });
    return { status: response.statusCode, body: response.body === '' ? {} : response.json<Record<string, unknown>>() };
  };
}
