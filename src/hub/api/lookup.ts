// Records named in a URL or body by id or by name, as users type either;
// 404 when neither matches.
import Type from 'typebox';
import { notFound } from '../errors.ts';
import type { ClusterRecord, Store, UserRecord } from '../store/index.ts';

/** `:user` in a route: a user's name or id. */
export const UserParams = Type.Object({ user: Type.String({ minLength: 1, maxLength: 63 }) });

export async function findCluster(store: Store, ref: string): Promise<ClusterRecord> {
  const cluster = (await store.getCluster(ref)) ?? (await store.getClusterByName(ref));
  if (!cluster) throw notFound(`cluster '${ref}'`);
  return cluster;
}

export async function findUser(store: Store, ref: string): Promise<UserRecord> {
  const user = (await store.getUser(ref)) ?? (await store.getUserByName(ref));
  if (!user) throw notFound(`user '${ref}'`);
  return user;
}
