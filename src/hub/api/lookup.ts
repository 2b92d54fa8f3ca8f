// Records named in a URL or body by id or by name, as users type either;
// 404 when neither matches. An id wins: names of the id form are refused at
// creation (see checkNotIdShaped), so a text is the id of one record or the
// name of one, never both, except for records named so before that rule,
// which stay reachable by their own id.
import Type from 'typebox';
import type { FastifyRequest } from 'fastify';
import { principalOf } from '../auth.ts';
import { HttpError, notFound } from '../errors.ts';
import { effectiveRole } from '../rbac.ts';
import { looksLikeId } from '../tokens.ts';
import type { ClusterRecord, Role, Store, UserRecord } from '../store/index.ts';

/** `:user` in a route: a user's name or id. */
export const UserParams = Type.Object({ user: Type.String({ minLength: 1, maxLength: 63 }) });

export async function findCluster(store: Store, ref: string): Promise<ClusterRecord> {
  const cluster = (await store.getCluster(ref)) ?? (await store.getClusterByName(ref));
  if (!cluster) throw notFound(`cluster '${ref}'`);
  return cluster;
}

/**
 * The cluster `ref` names and the caller's role on it; 404, not 403, without
 * a role: a caller without one must not learn that the cluster exists.
 */
export async function findClusterRole(store: Store, req: FastifyRequest, ref: string): Promise<{ record: ClusterRecord; role: Role }> {
  const record = await findCluster(store, ref);
  const role = effectiveRole(principalOf(req), record.id);
  if (!role) throw notFound(`cluster '${ref}'`);
  return { record, role };
}

export async function findUser(store: Store, ref: string): Promise<UserRecord> {
  const user = (await store.getUser(ref)) ?? (await store.getUserByName(ref));
  if (!user) throw notFound(`user '${ref}'`);
  return user;
}

/** 400 for a new name that has the form of a record id (`c`, `t` or `u` and 12 lowercase letters or digits). */
export function checkNotIdShaped(what: 'cluster' | 'user', name: string): void {
  if (looksLikeId(name)) {
    throw new HttpError('NAME_LOOKS_LIKE_ID',
      `${what} name '${name}' has the form of a record id (c, t or u followed by 12 lowercase letters or digits), which lookups by name or id could confuse; choose another name`);
  }
}
