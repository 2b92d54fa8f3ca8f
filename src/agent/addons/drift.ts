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
// Pruning must know which live objects are rendered, so the drift check also
// reads each rendered object's UID (metadata only past its object cap).
// Self-heal is heal.ts, pruning prune.ts.
//
// A Secret's values are compared but never leave this module: results carry
// JSON pointers and API status reasons, never object data or API messages
// (which can quote values).
import { isDeepStrictEqual } from 'node:util';
import type { IgnoreRule } from '../../domain/addon-spec/policy.ts';
import { truncate } from '../inventory/summary.ts';
import { PARTIAL_OBJECT_METADATA } from '../kube.ts';
import {
  applyIgnoreRules, compileIgnoreRules, ignoresWholeObject,
  type CompiledIgnoreRule, type ObjectIdentity,
} from './ignore-rules.ts';
import type { PathSegment } from '../../domain/addon-spec/jq-path.ts';
import { formatPointer } from '../../domain/json-pointer.ts';
import {
  applyObject, callApi, isObject, limiterFor, parseManifestObjects, prepareObject, refusal,
  type DriftCallOptions, type ManifestObject, type PreparedObject,
} from './release-apply.ts';
import { KindNotServedError, MAX_RELEASE_OBJECTS_READ, type Limiter } from './release-objects.ts';

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
/** Longest message of one object's outcome (drift, heal, prune). */
export const MAX_DRIFT_MESSAGE_CHARS = 300;
/** Reads of an object while controllers keep writing it between the read and the dry run (or the heal). */
export const MAX_READ_ATTEMPTS = 3;
const STATE_RANK: Record<DriftState, number> = { Missing: 0, Drifted: 1, Unknown: 2, InSync: 3 };
/** What the API server sets on every write: never drift. */
const SERVER_SET_METADATA = ['managedFields', 'resourceVersion', 'generation', 'uid', 'creationTimestamp', 'selfLink'];

export function metadataOf(object: Record<string, unknown>): Record<string, unknown> | undefined {
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

export function identityOf(prepared: PreparedObject): ObjectIdentity {
  const identity: ObjectIdentity = { kind: prepared.ref.kind, name: prepared.ref.name };
  if (prepared.namespace !== undefined) identity.namespace = prepared.namespace;
  return identity;
}

function describePaths(paths: readonly string[]): string {
  if (paths.length === 1) return `differs from the release at ${paths[0] ?? ''}`;
  return `differs from the release at ${paths.length >= MAX_DRIFT_PATHS ? `${MAX_DRIFT_PATHS} or more` : paths.length} paths`;
}

export const resourceVersionOf = (object: Record<string, unknown>): unknown => metadataOf(object)?.resourceVersion;

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
export async function settle<T>(run: Limiter, signal: AbortSignal | undefined, job: () => Promise<T>, fallback: (error: Error) => T): Promise<T> {
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
export function distinctKinds(kinds: readonly ObjectKind[]): ObjectKind[] {
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
