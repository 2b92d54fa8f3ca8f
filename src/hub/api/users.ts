// /api/v1/whoami, /api/v1/users and their grants; the token routes are in
// api/tokens.ts and registered from here. Managing users needs a fleet-wide
// admin grant; whoami needs only a valid token.
import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import type { Logger } from '../../util/logger.ts';
import { principalOf, requireFleetAdmin } from '../auth.ts';
import { HttpError, badRequest, notFound } from '../errors.ts';
import type { LiveStreams } from '../live-streams.ts';
import { isFleetAdminGrant, isRole, ROLES } from '../rbac.ts';
import type { GrantRecord, Role, Store, UserRecord } from '../store/index.ts';
import { newId } from '../tokens.ts';
import { checkNotIdShaped, findCluster, findUser, UserParams } from './lookup.ts';
import { registerTokenRoutes } from './tokens.ts';
import { DNS_LABEL_PATTERN } from '../../domain/kube-names.ts';

/** DNS-1123 label, like cluster names: user names appear in kubeconfigs and audit rows. */
export const USER_NAME_PATTERN = DNS_LABEL_PATTERN;
/** Grants one create request may carry; a user needs a handful at most. */
const MAX_GRANTS_PER_REQUEST = 100;

/** A grant as the API shows it: the cluster by id and name, both null for every cluster. */
export interface GrantView {
  role: Role;
  clusterId: string | null;
  cluster: string | null;
}

export interface UserView extends UserRecord {
  grants: GrantView[];
}

export interface WhoamiView {
  user: UserRecord;
  grants: GrantView[];
}

export interface UserRoutesOptions {
  store: Store;
  log: Logger;
  /** Open streams, ended when their user is deleted or its grant removed. */
  liveStreams: Pick<LiveStreams, 'revokeUser' | 'revokeToken' | 'recheckUser'>;
  /** Called once a user's token, account or grants changed in the store, before the answer (what others remember of the user is stale). */
  onAccessChange?: (userId: string) => void;
}

const GrantBody = Type.Object({
  role: Type.String({ maxLength: 16 }),
  cluster: Type.Optional(Type.String({ minLength: 1, maxLength: 63 })),
}, { additionalProperties: false });

const CreateUserBody = Type.Object({
  name: Type.String({ pattern: USER_NAME_PATTERN, maxLength: 63 }),
  grants: Type.Optional(Type.Array(GrantBody, { maxItems: MAX_GRANTS_PER_REQUEST })),
}, { additionalProperties: false });

const GrantParams = Type.Object({ user: Type.String({ minLength: 1, maxLength: 63 }), role: Type.String({ maxLength: 16 }) });
const GrantQuery = Type.Object({ cluster: Type.Optional(Type.String({ minLength: 1, maxLength: 63 })) });

function parseRole(value: string, field: string): Role {
  if (!isRole(value)) throw badRequest(`${field} must be one of ${ROLES.join(', ')}, got '${value}'`);
  return value;
}

/** Turns a requested role and optional cluster (name or id) into a grant; 404 for an unknown cluster. */
async function resolveGrant(store: Store, userId: string, request: { role: string; cluster?: string | undefined }, field: string): Promise<GrantRecord> {
  const role = parseRole(request.role, field);
  const clusterId = request.cluster === undefined ? null : (await findCluster(store, request.cluster)).id;
  return { userId, role, clusterId };
}

async function clusterNames(store: Store): Promise<Map<string, string>> {
  return new Map((await store.listClusters()).map((cluster) => [cluster.id, cluster.name]));
}

function grantView(grant: GrantRecord, names: Map<string, string>): GrantView {
  return { role: grant.role, clusterId: grant.clusterId, cluster: grant.clusterId === null ? null : (names.get(grant.clusterId) ?? grant.clusterId) };
}

async function userView(store: Store, user: UserRecord): Promise<UserView> {
  const names = await clusterNames(store);
  return { ...user, grants: (await store.listGrants(user.id)).map((grant) => grantView(grant, names)) };
}

/** Whether `userId` holds the only fleet-wide admin grant, so losing it would lock everyone out of managing the hub. */
async function isLastFleetAdmin(store: Store, userId: string): Promise<boolean> {
  const admins = new Set((await store.listAllGrants()).filter(isFleetAdminGrant).map((g) => g.userId));
  return admins.size === 1 && admins.has(userId);
}

const lastAdmin = (what: string): HttpError =>
  new HttpError('LAST_ADMIN', `${what}: it is the last fleet-wide admin; grant admin to another user first (uplink users grant NAME admin)`);

function describeGrant(grant: { role: Role; cluster?: string | undefined }): string {
  return `${grant.role} on ${grant.cluster === undefined ? 'every cluster' : `cluster '${grant.cluster}'`}`;
}

export function registerUserRoutes(app: FastifyInstance, options: UserRoutesOptions): void {
  const { store } = options;

  app.get('/api/v1/whoami', async (req): Promise<WhoamiView> => {
    const principal = principalOf(req);
    const user = await findUser(store, principal.userId);
    const names = await clusterNames(store);
    return { user, grants: principal.grants.map((grant) => grantView(grant, names)) };
  });

  app.post('/api/v1/users', { schema: { body: CreateUserBody } }, async (req, reply) => {
    requireFleetAdmin(req);
    const body = req.body as Type.Static<typeof CreateUserBody>;
    checkNotIdShaped('user', body.name);
    const id = newId('u');
    // Resolve every grant first, so a bad role or unknown cluster creates nothing.
    const requested = body.grants ?? [];
    const grants = await Promise.all(requested.map((grant, i) => resolveGrant(store, id, grant, `grants[${i}].role`)));
    const user = await store.createUser({ id, name: body.name, createdAt: new Date().toISOString() });
    for (const grant of grants) await store.addGrant(grant);
    options.log.info({ userId: id, user: user.name, grants: requested, by: req.principal?.userName }, 'user created');
    return reply.status(201).send(await userView(store, user));
  });

  app.get('/api/v1/users', async (req): Promise<{ items: UserView[] }> => {
    requireFleetAdmin(req);
    const [users, grants, names] = await Promise.all([store.listUsers(), store.listAllGrants(), clusterNames(store)]);
    const items = users.map((user) => ({
      ...user,
      grants: grants.filter((grant) => grant.userId === user.id).map((grant) => grantView(grant, names)),
    }));
    return { items };
  });

  app.get('/api/v1/users/:user', { schema: { params: UserParams } }, async (req): Promise<UserView> => {
    requireFleetAdmin(req);
    return userView(store, await findUser(store, (req.params as Type.Static<typeof UserParams>).user));
  });

  app.delete('/api/v1/users/:user', { schema: { params: UserParams } }, async (req, reply) => {
    requireFleetAdmin(req);
    const user = await findUser(store, (req.params as Type.Static<typeof UserParams>).user);
    if (await isLastFleetAdmin(store, user.id)) throw lastAdmin(`cannot delete user '${user.name}'`);
    await store.deleteUser(user.id);
    options.onAccessChange?.(user.id);
    const streams = options.liveStreams.revokeUser(user.id);
    options.log.info({ userId: user.id, user: user.name, by: req.principal?.userName, streams }, 'user deleted');
    return reply.status(204).send();
  });

  registerGrantRoutes(app, options);
  registerTokenRoutes(app, options);
}

function registerGrantRoutes(app: FastifyInstance, options: UserRoutesOptions): void {
  const { store } = options;

  app.post('/api/v1/users/:user/grants', { schema: { params: UserParams, body: GrantBody } }, async (req): Promise<UserView> => {
    requireFleetAdmin(req);
    const user = await findUser(store, (req.params as Type.Static<typeof UserParams>).user);
    const body = req.body as Type.Static<typeof GrantBody>;
    await store.addGrant(await resolveGrant(store, user.id, body, 'role'));
    options.onAccessChange?.(user.id);
    options.log.info({ userId: user.id, user: user.name, role: body.role, cluster: body.cluster, by: req.principal?.userName }, 'grant added');
    return userView(store, user);
  });

  app.delete('/api/v1/users/:user/grants/:role', { schema: { params: GrantParams, querystring: GrantQuery } }, async (req, reply) => {
    requireFleetAdmin(req);
    const params = req.params as Type.Static<typeof GrantParams>;
    const { cluster } = req.query as Type.Static<typeof GrantQuery>;
    const user = await findUser(store, params.user);
    const grant = await resolveGrant(store, user.id, { role: params.role, cluster }, 'role');
    const described = describeGrant({ role: grant.role, cluster });
    if (isFleetAdminGrant(grant) && (await isLastFleetAdmin(store, user.id))) {
      throw lastAdmin(`cannot revoke ${described} from user '${user.name}'`);
    }
    if (!(await store.removeGrant(grant))) throw notFound(`grant ${described} for user '${user.name}'`);
    options.onAccessChange?.(user.id);
    const streams = await options.liveStreams.recheckUser(user.id);
    options.log.info({ userId: user.id, user: user.name, role: grant.role, cluster, by: req.principal?.userName, streams }, 'grant removed');
    return reply.status(204).send();
  });
}
