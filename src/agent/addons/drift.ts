// Drift of a Helm release (the reconcile loop, docs/addons.md):
// how far the live objects are from what the release applied.
//
// Stripping server-set fields from live objects still leaves server defaults
// (clusterIP, imagePullPolicy, …) that a manifest never names. So, as Flux
// does, each manifest object is sent as a server-side apply dry run under
// helm's own field manager: the API server answers with the object as it
// would be after helm applied it again ("predicted"), defaults, conversion
// and admission included. Predicted against live then differs only where
// something changed what helm owns. A dry run that fails is Unknown, never
// in sync.
//
// Helm 4 applies with server-side apply under the manager `helm` and adds
// the ownership label and annotations at apply time; `helm get manifest`
// lacks them and often the namespace, so both are added here first.
//
// Self-heal re-applies drifted objects the same way, with force; whatever an
// ignore rule covers is given its live value first, so healing one field
// never resets another that someone else is meant to own. Pruning must know
// which live objects are rendered, so the drift check also reads each
// rendered object's UID (metadata only past its object cap).
//
// A Secret's values are compared but never leave this module: results carry
// JSON pointers and API status reasons, never object data or API messages
// (which can quote values).
import { isDeepStrictEqual } from 'node:util';
import type { IgnoreRule } from '../../domain/addon-spec/policy.ts';
import { truncate } from '../inventory/summary.ts';
import { KubeApiError, LIST_PAGE_SIZE, PARTIAL_OBJECT_METADATA, PARTIAL_OBJECT_METADATA_LIST } from '../kube.ts';
import {
  applyIgnoreRules, compileIgnoreRules, formatPointer, ignoresWholeObject, keepIgnoredFields, ruleCovers,
  type CompiledIgnoreRule, type ObjectIdentity,
} from './ignore-rules.ts';
import type { PathSegment } from '../../domain/addon-spec/jq-path.ts';
import {
  HOOK_ANNOTATION, MANAGED_BY_LABEL, RELEASE_NAME_ANNOTATION, RELEASE_NAMESPACE_ANNOTATION, RESOURCE_POLICY_ANNOTATION,
  applyObject, callApi, isObject, limiterFor, parseManifestObjects, prepareObject, refusal,
  type DriftCallOptions, type ManifestObject, type PreparedObject,
} from './release-apply.ts';
import { KindNotServedError, MAX_RELEASE_OBJECTS_READ, objectPath, type KindLocation, type Limiter } from './release-objects.ts';

export type DriftState = 'InSync' | 'Drifted' | 'Missing' | 'Unknown';

/** One object of the release and how it compares with the cluster. */
export interface ObjectDrift {
  apiVersion: string;
  kind: string;
  name: string;
  /** The namespace it lives in; absent for cluster-scoped kinds. */
  namespace?: string;
  state: DriftState;
  /** JSON pointers of what differs, sorted, at most MAX_DRIFT_PATHS; empty unless Drifted. */
  paths: string[];
  /** One sentence; never object data. */
  message: string;
}

/** A kind of object, as a manifest names it. */
export interface ObjectKind {
  apiVersion: string;
  kind: string;
}

export interface ReleaseDrift {
  /** Drifted if any object is Drifted or Missing, else Unknown if any is Unknown, else InSync. */
  state: 'InSync' | 'Drifted' | 'Unknown';
  /** Objects not InSync, worst first (Missing, Drifted, Unknown; manifest order among equals), at most MAX_DRIFT_OBJECTS. */
  objects: ObjectDrift[];
  /** Objects of the manifest that were compared (or left out by an ignore rule). */
  inspected: number;
  checkedAt: string;
  /**
   * UIDs of the live objects the manifest renders, those past `maxObjects`
   * and those an ignore rule leaves out included: what findOrphans must
   * never take for orphans. The agent's own: AddonDrift does not carry it.
   */
  renderedUids: string[];
  /**
   * False when a rendered object's UID could not be read (a failed read, or
   * more than MAX_RENDERED_UIDS_READ objects): findOrphans must not run
   * then, or it could take that object for an orphan and delete it.
   */
  renderedUidsComplete: boolean;
  /** The distinct kinds the manifest renders, in manifest order; findOrphans looks through these and earlier revisions'. */
  kinds: ObjectKind[];
}

export interface ComputeDriftOptions extends DriftCallOptions {
  /** The add-on's `ignoreDifferences`; a rule that cannot be used throws IgnoreRuleError before any request. */
  ignore: readonly IgnoreRule[];
  /** Objects compared; the rest are Unknown (default MAX_RELEASE_OBJECTS_READ). */
  maxObjects?: number;
  now?: () => Date;
}

/** Differing paths reported per object. */
export const MAX_DRIFT_PATHS = 20;
/** Objects reported per release (the status carries the same number of health objects). */
export const MAX_DRIFT_OBJECTS = 50;
/** UIDs read per release, by a metadata-only GET each past `maxObjects`; beyond it renderedUidsComplete is false. */
export const MAX_RENDERED_UIDS_READ = 10 * MAX_RELEASE_OBJECTS_READ;
/** Differing paths collected before sorting, so a wholly different object costs little. */
const MAX_COLLECTED_PATHS = 1000;
const MAX_DRIFT_MESSAGE_CHARS = 300;
/** Reads of an object while controllers keep writing it between the read and the dry run (or the heal). */
const MAX_READ_ATTEMPTS = 3;
const STATE_RANK: Record<DriftState, number> = { Missing: 0, Drifted: 1, Unknown: 2, InSync: 3 };
/** What the API server sets on every write: never drift. */
const SERVER_SET_METADATA = ['managedFields', 'resourceVersion', 'generation', 'uid', 'creationTimestamp', 'selfLink'];

function metadataOf(object: Record<string, unknown>): Record<string, unknown> | undefined {
  return isObject(object.metadata) ? object.metadata : undefined;
}

/** Drops, in place, what only the server writes: status and server-set metadata. */
export function stripServerFields(object: Record<string, unknown>): void {
  delete object.status;
  const metadata = metadataOf(object);
  if (metadata) for (const key of SERVER_SET_METADATA) Reflect.deleteProperty(metadata, key);
}

/**
 * Labels and annotations count only where the predicted object has them:
 * controllers add their own to live objects (Flux ignores such removals too).
 * The apply merge keeps others' keys in the prediction anyway; this also
 * covers keys helm owned before and no longer renders.
 */
function keepPredictedKeys(predicted: Record<string, unknown>, live: Record<string, unknown>): void {
  const [want, have] = [metadataOf(predicted), metadataOf(live)];
  if (!have) return;
  for (const field of ['labels', 'annotations']) {
    const keep = want?.[field];
    const map = have[field];
    if (!isObject(map)) continue;
    for (const key of Object.keys(map)) if (!isObject(keep) || !Object.hasOwn(keep, key)) Reflect.deleteProperty(map, key);
    if (Object.keys(map).length === 0 && !isObject(keep)) Reflect.deleteProperty(have, field);
  }
}

function collectDifferences(a: unknown, b: unknown, path: PathSegment[], into: string[]): void {
  if (into.length >= MAX_COLLECTED_PATHS || isDeepStrictEqual(a, b)) return;
  if (isObject(a) && isObject(b)) {
    for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) collectDifferences(a[key], b[key], [...path, key], into);
  } else if (Array.isArray(a) && Array.isArray(b)) {
    for (let i = 0; i < Math.max(a.length, b.length); i += 1) collectDifferences(a[i], b[i], [...path, i], into);
  } else {
    into.push(formatPointer(path));
  }
}

/**
 * The JSON pointers where the predicted object differs from the live one,
 * sorted, at most MAX_DRIFT_PATHS; undefined when an ignore rule leaves the
 * whole object out. Both objects are changed in place (they are fresh API
 * answers): server-set fields stripped, ignore rules applied to both, with
 * manager rules reading the live object's managedFields.
 */
export function driftPaths(
  predicted: Record<string, unknown>, live: Record<string, unknown>, rules: readonly CompiledIgnoreRule[], identity: ObjectIdentity,
): string[] | undefined {
  const managedFields = metadataOf(live)?.managedFields;
  stripServerFields(predicted);
  stripServerFields(live);
  if (applyIgnoreRules(predicted, rules, identity, { managedFields }) || applyIgnoreRules(live, rules, identity, { managedFields })) return undefined;
  keepPredictedKeys(predicted, live);
  const paths: string[] = [];
  collectDifferences(predicted, live, [], paths);
  return paths.sort().slice(0, MAX_DRIFT_PATHS);
}

type Target = Pick<PreparedObject, 'ref' | 'namespace'>;

/** Before the kind is resolved, the namespace is as the manifest wrote it. */
const asWritten = (object: ManifestObject): Target => ({ ref: object.ref, namespace: object.ref.namespace });

function objectDrift(prepared: Target, state: DriftState, message: string, paths: string[] = []): ObjectDrift {
  const { apiVersion, kind, name } = prepared.ref;
  const namespace = prepared.namespace === undefined ? {} : { namespace: prepared.namespace };
  return { apiVersion, kind, name, ...namespace, state, paths, message: truncate(message, MAX_DRIFT_MESSAGE_CHARS) };
}

function identityOf(prepared: PreparedObject): ObjectIdentity {
  const identity: ObjectIdentity = { kind: prepared.ref.kind, name: prepared.ref.name };
  if (prepared.namespace !== undefined) identity.namespace = prepared.namespace;
  return identity;
}

function describePaths(paths: readonly string[]): string {
  if (paths.length === 1) return `differs from the release at ${paths[0] ?? ''}`;
  return `differs from the release at ${paths.length >= MAX_DRIFT_PATHS ? `${MAX_DRIFT_PATHS} or more` : paths.length} paths`;
}

const resourceVersionOf = (object: Record<string, unknown>): unknown => metadataOf(object)?.resourceVersion;

/** A rendered object's live UID, for pruning: 'absent' when there is no such object, 'unread' when it could not be told. */
type LiveUid = { uid: string } | 'absent' | 'unread';

/** How one object of the manifest compares, and its live UID. */
interface CheckedObject {
  drift: ObjectDrift;
  live: LiveUid;
}

function uidOf(object: Record<string, unknown>): LiveUid {
  const uid = metadataOf(object)?.uid;
  return typeof uid === 'string' && uid !== '' ? { uid } : 'unread';
}

/** A kind the cluster does not serve has no objects; any other failure leaves the UID untold. */
const uidAfter = (error: unknown): LiveUid => (error instanceof KindNotServedError ? 'absent' : 'unread');

/** The UID alone, by a metadata-only GET (no Secret data). */
async function readUid(prepared: PreparedObject, options: DriftCallOptions): Promise<LiveUid> {
  const answer = await callApi(options.kube, { method: 'GET', path: prepared.path, accept: PARTIAL_OBJECT_METADATA, signal: options.signal });
  if (answer.status === 404) return 'absent';
  return answer.status >= 200 && answer.status <= 299 && isObject(answer.body) ? uidOf(answer.body) : 'unread';
}

/** Live and predicted, read so that the prediction starts from the live object read (same resourceVersion). */
async function readBothSides(prepared: PreparedObject, options: ComputeDriftOptions): Promise<CheckedObject | { live: Record<string, unknown>; predicted: Record<string, unknown> }> {
  for (let attempt = 1; ; attempt += 1) {
    const live = await callApi(options.kube, { method: 'GET', path: prepared.path, signal: options.signal });
    if (live.status === 404) return { drift: objectDrift(prepared, 'Missing', 'not found in the cluster'), live: 'absent' };
    if (live.status < 200 || live.status > 299 || !isObject(live.body)) {
      return { drift: objectDrift(prepared, 'Unknown', `cannot read it (${refusal(live)})`), live: 'unread' };
    }
    const predicted = await applyObject(options.kube, prepared, { ...options, dryRun: true });
    if (predicted.status < 200 || predicted.status > 299 || !isObject(predicted.body)) {
      return { drift: objectDrift(prepared, 'Unknown', `the server-side apply dry run was refused (${refusal(predicted)})`), live: uidOf(live.body) };
    }
    // A dry run answers with the resourceVersion it started from: another one means a controller
    // wrote in between (a Deployment's revision annotation, say), which would show as drift.
    if (resourceVersionOf(predicted.body) === resourceVersionOf(live.body) || attempt === MAX_READ_ATTEMPTS) {
      return { live: live.body, predicted: predicted.body };
    }
  }
}

async function compareObject(prepared: PreparedObject, rules: readonly CompiledIgnoreRule[], options: ComputeDriftOptions): Promise<CheckedObject> {
  const identity = identityOf(prepared);
  // A rule naming the whole object (pointer '', jq '.') spares the dry run; the UID is still wanted.
  if (ignoresWholeObject(prepared.body, rules, identity)) return { drift: objectDrift(prepared, 'InSync', 'ignored'), live: await readUid(prepared, options) };
  const sides = await readBothSides(prepared, options);
  if (!('predicted' in sides)) return sides;
  const live = uidOf(sides.live);
  const paths = driftPaths(sides.predicted, sides.live, rules, identity);
  if (paths === undefined) return { drift: objectDrift(prepared, 'InSync', 'ignored'), live };
  return { drift: paths.length === 0 ? objectDrift(prepared, 'InSync', '') : objectDrift(prepared, 'Drifted', describePaths(paths), paths), live };
}

async function checkObject(object: ManifestObject, rules: readonly CompiledIgnoreRule[], options: ComputeDriftOptions): Promise<CheckedObject> {
  let prepared = asWritten(object);
  try {
    const full = await prepareObject(object, options);
    prepared = full;
    return await compareObject(full, rules, options);
  } catch (error) {
    options.signal?.throwIfAborted();
    return { drift: objectDrift(prepared, 'Unknown', `not compared: ${(error as Error).message}`), live: uidAfter(error) };
  }
}

async function readRenderedUid(object: ManifestObject, options: DriftCallOptions): Promise<LiveUid> {
  try {
    return await readUid(await prepareObject(object, options), options);
  } catch (error) {
    options.signal?.throwIfAborted();
    return uidAfter(error);
  }
}

/** Runs `job` through the limiter; its rejection becomes `fallback(error)`, unless `signal` aborted. */
async function settle<T>(run: Limiter, signal: AbortSignal | undefined, job: () => Promise<T>, fallback: (error: Error) => T): Promise<T> {
  try {
    return await run(() => {
      signal?.throwIfAborted();
      return job();
    });
  } catch (error) {
    signal?.throwIfAborted();
    return fallback(error as Error);
  }
}

/** Each kind once, in the order first named. */
function distinctKinds(kinds: readonly ObjectKind[]): ObjectKind[] {
  return [...new Map(kinds.map(({ apiVersion, kind }) => [`${apiVersion}\n${kind}`, { apiVersion, kind }])).values()];
}

/** The release's state from its objects' (see ReleaseDrift.state). */
export function releaseState(objects: readonly ObjectDrift[]): ReleaseDrift['state'] {
  if (objects.some((o) => o.state === 'Drifted' || o.state === 'Missing')) return 'Drifted';
  return objects.some((o) => o.state === 'Unknown') ? 'Unknown' : 'InSync';
}

/**
 * Compares every object of `helm get manifest` output with the cluster, and
 * reads the UID of every rendered object (ReleaseDrift.renderedUids).
 * Never rejects for one object (a failed read or dry run makes it Unknown);
 * rejects when the manifest is not YAML (ReleaseManifestError), when an
 * ignore rule cannot be used (IgnoreRuleError), or when `signal` aborts.
 */
export async function computeDrift(manifest: string, options: ComputeDriftOptions): Promise<ReleaseDrift> {
  options.signal?.throwIfAborted();
  const rules = compileIgnoreRules(options.ignore);
  const objects = parseManifestObjects(manifest);
  const maxObjects = options.maxObjects ?? MAX_RELEASE_OBJECTS_READ;
  const checked = objects.slice(0, maxObjects);
  const uidOnly = objects.slice(maxObjects, Math.max(maxObjects, MAX_RENDERED_UIDS_READ));
  const run = limiterFor(options, checked.length + uidOnly.length);
  const [results, pastCap] = await Promise.all([
    Promise.all(checked.map((object) => settle(run, options.signal, () => checkObject(object, rules, options), (error): CheckedObject => (
      { drift: objectDrift(asWritten(object), 'Unknown', `not compared: ${error.message}`), live: 'unread' })))),
    Promise.all(uidOnly.map((object) => settle(run, options.signal, () => readRenderedUid(object, options), (): LiveUid => 'unread'))),
  ]);
  const skipped = objects.slice(maxObjects).map((object) => objectDrift(
    asWritten(object), 'Unknown', `not compared: the release has more than ${maxObjects} objects`,
  ));
  const all = [...results.map((result) => result.drift), ...skipped];
  const notInSync = all.filter((o) => o.state !== 'InSync').sort((a, b) => STATE_RANK[a.state] - STATE_RANK[b.state]);
  const uids = [...results.map((result) => result.live), ...pastCap];
  return {
    state: releaseState(all),
    objects: notInSync.slice(0, MAX_DRIFT_OBJECTS),
    inspected: checked.length,
    checkedAt: (options.now?.() ?? new Date()).toISOString(),
    renderedUids: [...new Set(uids.flatMap((live) => (typeof live === 'object' ? [live.uid] : [])))],
    renderedUidsComplete: uids.length === objects.length && !uids.includes('unread'),
    kinds: distinctKinds(objects.map((object) => object.ref)),
  };
}

export interface HealDriftOptions extends DriftCallOptions {
  /** The add-on's `ignoreDifferences`: what they cover keeps its live value. A rule that cannot be used throws IgnoreRuleError before any request. */
  ignore: readonly IgnoreRule[];
}

/** How re-applying one drifted object went. */
export interface HealOutcome {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
  ok: boolean;
  /** One sentence; never object data. */
  message: string;
}

function healOutcome(drift: ObjectDrift, ok: boolean, message: string): HealOutcome {
  const { apiVersion, kind, name, namespace } = drift;
  const outcome: HealOutcome = { apiVersion, kind, name, ok, message: truncate(message, MAX_DRIFT_MESSAGE_CHARS) };
  if (namespace !== undefined) outcome.namespace = namespace;
  return outcome;
}

/** The manifest's object a drift entry names, prepared; undefined when the manifest has none. */
async function findInManifest(objects: readonly ManifestObject[], drift: ObjectDrift, options: DriftCallOptions): Promise<PreparedObject | undefined> {
  for (const object of objects) {
    const { ref } = object;
    if (ref.apiVersion !== drift.apiVersion || ref.kind !== drift.kind || ref.name !== drift.name) continue;
    const prepared = await prepareObject(object, options);
    if (prepared.namespace === drift.namespace) return prepared;
  }
  return undefined;
}

const WHOLLY_IGNORED = 'left alone: an ignore rule covers the whole object';

/**
 * The manifest's body with live's values wherever an ignore rule covers
 * them, and live's resourceVersion as a precondition: the values copied
 * must still be live's when the apply lands, or the force would undo a
 * change made in between (the API server answers 409 instead). A Missing
 * object has nothing to keep and is created as rendered.
 */
async function bodyKeepingIgnored(
  prepared: PreparedObject, rules: readonly CompiledIgnoreRule[], options: HealDriftOptions,
): Promise<{ body: Record<string, unknown> } | { ok: boolean; message: string }> {
  const answer = await callApi(options.kube, { method: 'GET', path: prepared.path, signal: options.signal });
  if (answer.status === 404) return { body: prepared.body };
  if (answer.status < 200 || answer.status > 299 || !isObject(answer.body)) return { ok: false, message: `not applied: cannot read it (${refusal(answer)})` };
  const live = answer.body;
  const [resourceVersion, managedFields] = [resourceVersionOf(live), metadataOf(live)?.managedFields];
  // As in driftPaths: the rules see live without what only the server writes, ownership read first.
  stripServerFields(live);
  const body = structuredClone(prepared.body);
  if (keepIgnoredFields(body, live, rules, identityOf(prepared), { managedFields })) return { ok: true, message: WHOLLY_IGNORED };
  body.metadata = { ...metadataOf(body), resourceVersion };
  return { body };
}

async function healObject(drift: ObjectDrift, objects: readonly ManifestObject[], rules: readonly CompiledIgnoreRule[], options: HealDriftOptions): Promise<HealOutcome> {
  const prepared = await findInManifest(objects, drift, options);
  if (prepared === undefined) return healOutcome(drift, false, 'not applied: the release manifest has no such object');
  const identity = identityOf(prepared);
  if (ignoresWholeObject(prepared.body, rules, identity)) return healOutcome(drift, true, WHOLLY_IGNORED);
  const covered = rules.some((compiled) => ruleCovers(compiled.rule, identity));
  for (let attempt = 1; ; attempt += 1) {
    const next = covered ? await bodyKeepingIgnored(prepared, rules, options) : { body: prepared.body };
    if (!('body' in next)) return healOutcome(drift, next.ok, next.message);
    const answer = await applyObject(options.kube, { ...prepared, body: next.body }, { ...options, dryRun: false });
    if (answer.status >= 200 && answer.status <= 299) return healOutcome(drift, true, answer.status === 201 ? 'created' : 'applied');
    // With force, only the resourceVersion precondition conflicts: the object changed since it was read.
    if (answer.status !== 409 || !covered || attempt === MAX_READ_ATTEMPTS) {
      return healOutcome(drift, false, `the server-side apply was refused (${refusal(answer)})`);
    }
  }
}

/**
 * Re-applies exactly the Drifted and Missing objects of `drifted` from the
 * manifest, as helm applies them (server-side apply under its field manager,
 * taking conflicting fields back, with its ownership metadata), without a
 * new revision; a Missing object is created as rendered. What an ignore rule
 * covers keeps its live value (ignore-rules.ts keepIgnoredFields), so an
 * HPA's replicas survive the heal of an image; an object a rule covers
 * wholly is left alone (ok). One outcome per such object; rejects only when
 * the manifest is not YAML, a rule cannot be used (IgnoreRuleError) or
 * `signal` aborts.
 */
export async function healDrift(manifest: string, drifted: readonly ObjectDrift[], options: HealDriftOptions): Promise<HealOutcome[]> {
  options.signal?.throwIfAborted();
  const rules = compileIgnoreRules(options.ignore);
  const wanted = drifted.filter((drift) => drift.state === 'Drifted' || drift.state === 'Missing');
  const objects = parseManifestObjects(manifest);
  const run = limiterFor(options, wanted.length);
  return Promise.all(wanted.map((drift) => settle(run, options.signal, () => healObject(drift, objects, rules, options), (error) => (
    healOutcome(drift, false, `not applied: ${error.message}`)))));
}

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
