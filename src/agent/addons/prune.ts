// Pruning: finding the objects that carry a Helm release's ownership but
// that the release no longer renders, and deleting them only if they are
// still the objects found (a UID precondition). Reads metadata only.
import { truncate } from '../inventory/summary.ts';
import { KubeApiError, LIST_PAGE_SIZE, PARTIAL_OBJECT_METADATA_LIST } from '../kube.ts';
import { MAX_DRIFT_MESSAGE_CHARS, distinctKinds, settle, type ObjectKind } from './drift.ts';
import {
  HOOK_ANNOTATION, MANAGED_BY_LABEL, RELEASE_NAME_ANNOTATION, RELEASE_NAMESPACE_ANNOTATION, RESOURCE_POLICY_ANNOTATION,
  callApi, isObject, limiterFor, refusal, type DriftCallOptions,
} from './release-apply.ts';
import { KindNotServedError, objectPath, type KindLocation } from './release-objects.ts';

/** An object that carries the release's ownership but that the release no longer renders. */
export interface OrphanedObject {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
  uid: string;
}

export interface FindOrphansOptions extends Omit<DriftCallOptions, 'fieldManager'> {
  /** UIDs of the objects the release renders now, never orphans: ReleaseDrift.renderedUids, and only when renderedUidsComplete. */
  renderedUids: ReadonlySet<string>;
  /** The kinds to look through, e.g. those of the release's previous manifests. */
  kinds: readonly ObjectKind[];
}

/** Pages of LIST_PAGE_SIZE read per kind: past 10,000 Helm-managed objects of a kind the rest wait for the next sweep. */
const MAX_ORPHAN_PAGES = 20;

function orphanOf(item: unknown, kind: ObjectKind, options: FindOrphansOptions): OrphanedObject | undefined {
  const metadata = isObject(item) && isObject(item.metadata) ? item.metadata : {};
  const { name, namespace, uid } = metadata;
  const labels = isObject(metadata.labels) ? metadata.labels : {};
  const annotations = isObject(metadata.annotations) ? metadata.annotations : {};
  const policy = annotations[RESOURCE_POLICY_ANNOTATION];
  const owned = labels[MANAGED_BY_LABEL] === 'Helm' && annotations[RELEASE_NAME_ANNOTATION] === options.release.name
    && annotations[RELEASE_NAMESPACE_ANNOTATION] === options.release.namespace;
  // A controller's object (a ReplicaSet copies its Deployment's annotations) is its controller's to delete.
  const controlled = Array.isArray(metadata.ownerReferences) && metadata.ownerReferences.some((o) => isObject(o) && o.controller === true);
  if (!owned || controlled || typeof name !== 'string' || typeof uid !== 'string' || options.renderedUids.has(uid)) return undefined;
  if (annotations[HOOK_ANNOTATION] !== undefined || (typeof policy === 'string' && policy.trim().toLowerCase() === 'keep')) return undefined;
  if (metadata.deletionTimestamp !== undefined) return undefined;
  const orphan: OrphanedObject = { apiVersion: kind.apiVersion, kind: kind.kind, name, uid };
  if (typeof namespace === 'string' && namespace !== '') orphan.namespace = namespace;
  return orphan;
}

async function listOrphans(kind: ObjectKind, options: FindOrphansOptions): Promise<OrphanedObject[]> {
  let location: KindLocation;
  try {
    location = await options.resolver.resolve(kind.apiVersion, kind.kind);
  } catch (error) {
    if (error instanceof KindNotServedError) return [];
    throw error;
  }
  const orphans: OrphanedObject[] = [];
  const selector = encodeURIComponent(`${MANAGED_BY_LABEL}=Helm`);
  let next = '';
  for (let page = 0; page < MAX_ORPHAN_PAGES; page += 1) {
    const path = `${location.groupVersionPath}/${location.resource}?labelSelector=${selector}&limit=${LIST_PAGE_SIZE}${next && `&continue=${encodeURIComponent(next)}`}`;
    const answer = await callApi(options.kube, { method: 'GET', path, accept: PARTIAL_OBJECT_METADATA_LIST, signal: options.signal });
    if (answer.status < 200 || answer.status > 299 || !isObject(answer.body)) throw new KubeApiError(answer.status, `GET ${path}: ${refusal(answer)}`);
    const { items, metadata } = answer.body;
    for (const item of Array.isArray(items) ? items : []) {
      const orphan = orphanOf(item, kind, options);
      if (orphan) orphans.push(orphan);
    }
    next = isObject(metadata) && typeof metadata.continue === 'string' ? metadata.continue : '';
    if (next === '') break;
  }
  return orphans;
}

/**
 * Objects of the given kinds, anywhere in the cluster, that carry the
 * release's ownership triplet (the `app.kubernetes.io/managed-by=Helm` label
 * and both `meta.helm.sh/release-*` annotations) but are not rendered now.
 * Never hooks, objects annotated `helm.sh/resource-policy: keep`, objects a
 * controller owns, or objects being deleted. Reads metadata only (no Secret
 * data). A kind the cluster does not serve has none; a failed list rejects
 * (KubeApiError), so a prune never acts on half an answer.
 */
export async function findOrphans(options: FindOrphansOptions): Promise<OrphanedObject[]> {
  options.signal?.throwIfAborted();
  const kinds = distinctKinds(options.kinds);
  const run = limiterFor(options, kinds.length);
  const found = await Promise.all(kinds.map((kind) => run(() => listOrphans(kind, options))));
  return found.flat();
}

export interface DeleteOrphansOptions extends Omit<DriftCallOptions, 'fieldManager' | 'release'> {
  orphans: readonly OrphanedObject[];
}

/** How deleting one orphan went. */
export interface DeleteOutcome extends OrphanedObject {
  ok: boolean;
  message: string;
}

async function deleteOrphan(orphan: OrphanedObject, options: DeleteOrphansOptions): Promise<DeleteOutcome> {
  const location = await options.resolver.resolve(orphan.apiVersion, orphan.kind);
  const path = objectPath(location, orphan.name, location.namespaced ? orphan.namespace : undefined);
  // The UID precondition: an object recreated under the same name since it was found is not ours to delete.
  const body = { apiVersion: 'v1', kind: 'DeleteOptions', propagationPolicy: 'Background', preconditions: { uid: orphan.uid } };
  const answer = await callApi(options.kube, { method: 'DELETE', path, body, signal: options.signal });
  if (answer.status >= 200 && answer.status <= 299) return { ...orphan, ok: true, message: 'deleted' };
  if (answer.status === 404) return { ...orphan, ok: true, message: 'already gone' };
  if (answer.status === 409) return { ...orphan, ok: false, message: 'not deleted: the object was replaced since it was found' };
  return { ...orphan, ok: false, message: `the delete was refused (${refusal(answer)})` };
}

/** Deletes each orphan (background propagation, as helm does), only if its UID is still the one found. Rejects only when `signal` aborts. */
export async function deleteOrphans(options: DeleteOrphansOptions): Promise<DeleteOutcome[]> {
  options.signal?.throwIfAborted();
  const run = limiterFor(options, options.orphans.length);
  return Promise.all(options.orphans.map((orphan) => settle(run, options.signal, () => deleteOrphan(orphan, options), (error) => (
    { ...orphan, ok: false, message: truncate(`not deleted: ${error.message}`, MAX_DRIFT_MESSAGE_CHARS) }))));
}
