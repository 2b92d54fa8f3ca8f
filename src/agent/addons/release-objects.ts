// The objects of a Helm release and their health (docs/addons.md, "Status").
//
// `helm get manifest` names what the release rendered; `parseManifest` keeps
// only each object's identity, never its body (a Secret's data is in there).
// `readReleaseHealth` reads every object from the API server and judges it
// with health.ts. Which REST path a kind has, and whether it is namespaced,
// only discovery knows, so `KindResolver` asks the API server per
// group-version and caches the answer.
//
// Secrets are read as PartialObjectMetadata: the API server sends their
// metadata only, so their data never enters the agent.
import { isMap, isScalar, isSeq, parseAllDocuments, type YAMLMap } from 'yaml';
import type { AddonHealth, AddonObjectHealth } from '../../link/addons.ts';
import { MAX_STATUS_MESSAGE_CHARS, MAX_STATUS_OBJECTS } from '../../link/addons.ts';
import { UplinkError } from '../../util/errors.ts';
import { readLimited } from '../../util/read-limited.ts';
import { WorkerPool } from '../../util/worker-pool.ts';
import { DEFAULT_KUBE_TIMEOUT_MS, KubeApiError, PARTIAL_OBJECT_METADATA, apiError, parseJson, type KubeClient } from '../kube.ts';
import type { KubeObject } from '../inventory/summary.ts';
import { truncate } from '../inventory/summary.ts';
import {
  HEALTH_SEVERITY, MAX_HEALTH_MESSAGE_CHARS, aggregateHealth,
  type HealthStatus, type MissingObject, type ObjectHealth, type ReleaseHealth,
} from './health.ts';

/** How long a group-version's discovery answer is trusted. */
export const DISCOVERY_TTL_MS = 5 * 60_000;
/**
 * A kind missing from a fresh answer re-asks discovery (a CRD the chart just
 * installed), but at most this often per group-version, so a release naming
 * a kind that never comes does not ask on every check.
 */
export const DISCOVERY_MISS_REFRESH_MS = 10_000;
/** Group-versions kept; the least recently used goes first. */
export const MAX_CACHED_GROUP_VERSIONS = 256;
/** Objects read at once per release when no limiter is passed. */
export const DEFAULT_READ_CONCURRENCY = 5;
/** Objects read per release; the rest are Unknown, so a huge chart cannot starve the read pool. */
export const MAX_RELEASE_OBJECTS_READ = 500;
/** Largest object read: etcd refuses values over 1.5 MiB, so this is generous. */
const MAX_OBJECT_BYTES = 8 * 1024 * 1024;
/** Largest discovery document (core v1 is about 30 KiB). */
const MAX_DISCOVERY_BYTES = 4 * 1024 * 1024;
/** Lists nested in Lists are flattened this deep (kubectl's builder flattens any List kind). */
const MAX_LIST_DEPTH = 3;
/** `v1`, `apps/v1`, `examples.uplink.dev/v1alpha1`: safe to put in a path. */
const API_VERSION_PATTERN = /^(?:[a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[a-z0-9]+$/;

/** One object a release rendered, as the manifest names it. */
export interface ReleaseObjectRef {
  apiVersion: string;
  kind: string;
  name: string;
  /** As written; empty for namespaced kinds means the release's namespace (resolved when read). */
  namespace?: string;
}

export type ManifestErrorCode = 'RELEASE_MANIFEST_INVALID';

/** The manifest is not YAML (helm wrote something unexpected). */
export class ReleaseManifestError extends UplinkError {
  declare readonly code: ManifestErrorCode;

  constructor(message: string, options?: ErrorOptions) {
    super('RELEASE_MANIFEST_INVALID', message, options);
  }
}

/** A kind the API server does not serve (unknown group-version, or no such kind in it). */
export class KindNotServedError extends UplinkError {
  constructor(message: string) {
    super('KIND_NOT_SERVED', message);
  }
}

/** A key's value node; the last one when the key repeats, as Kubernetes' YAML decoder takes it. */
function valueAt(map: YAMLMap, key: string): unknown {
  let value: unknown;
  for (const pair of map.items) if (isScalar(pair.key) && pair.key.value === key) value = pair.value;
  return value;
}

function stringAt(map: YAMLMap, path: readonly string[]): string | undefined {
  let node: unknown = map;
  for (const key of path) node = isMap(node) ? valueAt(node, key) : undefined;
  return isScalar(node) && typeof node.value === 'string' && node.value !== '' ? node.value : undefined;
}

/** Identity of one document or List item; reads nodes, so bodies are never turned into values. */
function collectRefs(node: unknown, depth: number, into: ReleaseObjectRef[]): void {
  if (!isMap(node)) return;
  const apiVersion = stringAt(node, ['apiVersion']);
  const kind = stringAt(node, ['kind']);
  if (apiVersion === undefined || kind === undefined) return;
  const items = valueAt(node, 'items');
  if (kind.endsWith('List') && isSeq(items)) {
    if (depth < MAX_LIST_DEPTH) for (const item of items.items) collectRefs(item, depth + 1, into);
    return;
  }
  const name = stringAt(node, ['metadata', 'name']);
  if (name === undefined) return;
  const namespace = stringAt(node, ['metadata', 'namespace']);
  into.push(namespace === undefined ? { apiVersion, kind, name } : { apiVersion, kind, name, namespace });
}

/**
 * The objects of `helm get manifest` output: multi-document YAML with `---`
 * separators and `# Source:` comments. Empty documents and ones that are not
 * objects are skipped, Lists are flattened, repeats dropped. Throws
 * ReleaseManifestError when the text is not YAML.
 */
export function parseManifest(text: string): ReleaseObjectRef[] {
  // Kubernetes' YAML decoder accepts a repeated key (the last wins), so a release can hold one.
  const documents = parseAllDocuments(text, { uniqueKeys: false });
  const refs: ReleaseObjectRef[] = [];
  for (const [index, document] of (Array.isArray(documents) ? documents : []).entries()) {
    const [error] = document.errors;
    if (error) throw new ReleaseManifestError(`manifest document ${index + 1}: ${error.message}`, { cause: error });
    collectRefs(document.contents, 0, refs);
  }
  const seen = new Set<string>();
  return refs.filter((ref) => {
    const key = `${ref.apiVersion}\n${ref.kind}\n${ref.namespace ?? ''}\n${ref.name}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** What the agent reads from the API server: the KubeClient's GET opener. */
export type ReleaseKube = Pick<KubeClient, 'open'>;

export interface JsonAnswer {
  status: number;
  body: unknown;
}

/** A GET with its own Accept, read whole up to `maxBytes`: any status, the body parsed; KubeApiError when no answer comes. */
export async function fetchJson(kube: ReleaseKube, path: string, options: { accept: string; maxBytes: number; signal?: AbortSignal | undefined }): Promise<JsonAnswer> {
  const timeout = AbortSignal.timeout(DEFAULT_KUBE_TIMEOUT_MS);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  try {
    const res = await kube.open(path, { headers: { accept: options.accept }, streaming: false, signal });
    return { status: res.statusCode ?? 0, body: parseJson(await readLimited(res, options.maxBytes)) };
  } catch (error) {
    options.signal?.throwIfAborted();
    if (timeout.aborted) throw new KubeApiError(0, `GET ${path}: no answer within ${DEFAULT_KUBE_TIMEOUT_MS / 1000} s`, { cause: error });
    if (error instanceof KubeApiError) throw error;
    throw new KubeApiError(0, `GET ${path}: ${(error as Error).message}`, { cause: error });
  }
}

/** Where a kind's objects live. */
export interface KindLocation {
  /** `/api/v1` or `/apis/<group>/<version>`. */
  groupVersionPath: string;
  /** The plural resource name: `deployments`. */
  resource: string;
  namespaced: boolean;
}

interface GroupVersionEntry {
  /** By kind; empty when the group-version is not served. */
  kinds: Map<string, KindLocation>;
  fetchedAt: number;
}

interface DiscoveredResource {
  name?: string;
  kind?: string;
  namespaced?: boolean;
}

export interface KindResolverOptions {
  kube: ReleaseKube;
  ttlMs?: number;
  /** Milliseconds since the epoch; tests pass a fake clock. */
  now?: () => number;
}

/**
 * Resolves (apiVersion, kind) to a REST path through discovery of that
 * group-version, cached for DISCOVERY_TTL_MS. One resolver per agent lets
 * every release share the cache; concurrent misses share one request.
 */
export class KindResolver {
  private readonly kube: ReleaseKube;
  private readonly ttlMs: number;
  private readonly now: () => number;
  private readonly cache = new Map<string, GroupVersionEntry>();
  private readonly inFlight = new Map<string, Promise<GroupVersionEntry>>();

  constructor(options: KindResolverOptions) {
    this.kube = options.kube;
    this.ttlMs = options.ttlMs ?? DISCOVERY_TTL_MS;
    this.now = options.now ?? Date.now;
  }

  /** The kind's location; throws KindNotServedError, or KubeApiError when discovery fails. */
  async resolve(apiVersion: string, kind: string): Promise<KindLocation> {
    if (!API_VERSION_PATTERN.test(apiVersion)) throw new KindNotServedError(`apiVersion ${JSON.stringify(apiVersion)} is not valid`);
    let entry = this.cache.get(apiVersion);
    const age = entry === undefined ? Infinity : this.now() - entry.fetchedAt;
    if (entry === undefined || age > this.ttlMs || (!entry.kinds.has(kind) && age > DISCOVERY_MISS_REFRESH_MS)) {
      entry = await this.refresh(apiVersion);
    } else {
      // Re-inserting keeps the map in least-recently-used order for eviction.
      this.cache.delete(apiVersion);
      this.cache.set(apiVersion, entry);
    }
    const location = entry.kinds.get(kind);
    if (location) return location;
    throw new KindNotServedError(entry.kinds.size === 0
      ? `the cluster does not serve ${apiVersion}`
      : `the cluster serves no kind ${kind} in ${apiVersion}`);
  }

  private refresh(apiVersion: string): Promise<GroupVersionEntry> {
    let pending = this.inFlight.get(apiVersion);
    if (pending === undefined) {
      pending = this.discover(apiVersion).finally(() => { this.inFlight.delete(apiVersion); });
      this.inFlight.set(apiVersion, pending);
    }
    return pending;
  }

  private async discover(apiVersion: string): Promise<GroupVersionEntry> {
    const groupVersionPath = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
    const answer = await fetchJson(this.kube, groupVersionPath, { accept: 'application/json', maxBytes: MAX_DISCOVERY_BYTES });
    if (answer.status !== 404 && (answer.status < 200 || answer.status > 299)) throw apiError('GET', groupVersionPath, answer);
    const kinds = new Map<string, KindLocation>();
    const resources = answer.status === 404 ? [] : (answer.body as { resources?: DiscoveredResource[] } | undefined)?.resources ?? [];
    for (const r of resources) {
      // Subresources (`deployments/scale`) name the kind of their own body.
      if (!r.name || r.name.includes('/') || !r.kind || kinds.has(r.kind)) continue;
      kinds.set(r.kind, { groupVersionPath, resource: r.name, namespaced: r.namespaced === true });
    }
    const entry = { kinds, fetchedAt: this.now() };
    this.cache.delete(apiVersion);
    this.cache.set(apiVersion, entry);
    for (const oldest of this.cache.keys()) {
      if (this.cache.size <= MAX_CACHED_GROUP_VERSIONS) break;
      this.cache.delete(oldest);
    }
    return entry;
  }
}

/** Runs a job when a worker is free (the engine's read pool, WorkerPool.run). */
export type Limiter = <T>(job: () => Promise<T>) => Promise<T>;

export interface ReadReleaseHealthOptions {
  kube: ReleaseKube;
  /** The add-on's `strictHealthCheck`. */
  strict: boolean;
  /** Where namespaced objects without a namespace live. */
  releaseNamespace: string;
  /** Shares discovery across releases; a fresh one per call without it. */
  resolver?: KindResolver;
  /** Reads at once when no `run` is passed (default DEFAULT_READ_CONCURRENCY). */
  concurrency?: number;
  /** Runs each read, e.g. the engine's read pool; a rejection makes that object Unknown. */
  run?: Limiter;
  /** Abandons the check: the promise rejects with the signal's reason. */
  signal?: AbortSignal;
  now?: () => Date;
}

/** The outcome of one read: the live object, a Missing marker, or why it could not be judged. */
type ReadOutcome = { object: KubeObject | MissingObject } | { unknown: ObjectHealth };

function unknownObject(ref: ReleaseObjectRef, namespace: string | undefined, message: string): ReadOutcome {
  const health: ObjectHealth = {
    kind: ref.kind, name: ref.name, status: 'Unknown', message: truncate(message, MAX_HEALTH_MESSAGE_CHARS),
  };
  if (namespace !== undefined) health.namespace = namespace;
  return { unknown: health };
}

/** The REST path of one object; `namespace` undefined for cluster-scoped kinds. */
export function objectPath(location: KindLocation, name: string, namespace: string | undefined): string {
  const scope = namespace === undefined ? '' : `/namespaces/${encodeURIComponent(namespace)}`;
  return `${location.groupVersionPath}${scope}/${location.resource}/${encodeURIComponent(name)}`;
}

/**
 * Only what the health rules read: the body is dropped at once (ConfigMap
 * data, and for a Secret there is none: it came as PartialObjectMetadata).
 */
function slimObject(ref: ReleaseObjectRef, body: KubeObject, namespace: string | undefined): KubeObject {
  const { generation, deletionTimestamp } = body.metadata ?? {};
  const metadata = { name: ref.name, namespace, generation, deletionTimestamp };
  return { apiVersion: ref.apiVersion, kind: ref.kind, metadata, spec: body.spec, status: body.status };
}

async function readObject(ref: ReleaseObjectRef, options: ReadReleaseHealthOptions & { resolver: KindResolver }): Promise<ReadOutcome> {
  let namespace = ref.namespace;
  try {
    const location = await options.resolver.resolve(ref.apiVersion, ref.kind);
    namespace = location.namespaced ? ref.namespace ?? options.releaseNamespace : undefined;
    const secret = location.groupVersionPath === '/api/v1' && location.resource === 'secrets';
    const path = objectPath(location, ref.name, namespace);
    const answer = await fetchJson(options.kube, path, {
      accept: secret ? PARTIAL_OBJECT_METADATA : 'application/json', maxBytes: MAX_OBJECT_BYTES, signal: options.signal,
    });
    if (answer.status === 404) return { object: { kind: ref.kind, metadata: { name: ref.name, namespace }, missing: true } };
    if (answer.status < 200 || answer.status > 299) throw apiError('GET', path, answer);
    return { object: slimObject(ref, answer.body as KubeObject, namespace) };
  } catch (error) {
    options.signal?.throwIfAborted();
    const reason = error instanceof KindNotServedError ? error.message : `cannot read: ${(error as Error).message}`;
    return unknownObject(ref, namespace, reason);
  }
}

function ownLimiter(workers: number, jobs: number): Limiter {
  const pool = new WorkerPool({ name: 'release health', workers, maxQueued: jobs });
  return (job) => pool.run(job);
}

/** Reads every ref through the limiter; never rejects for one object, only when the signal aborts. */
async function readObjects(refs: readonly ReleaseObjectRef[], options: ReadReleaseHealthOptions): Promise<ReadOutcome[]> {
  const resolver = options.resolver ?? new KindResolver({ kube: options.kube });
  const checked = refs.slice(0, MAX_RELEASE_OBJECTS_READ);
  const run = options.run ?? ownLimiter(options.concurrency ?? DEFAULT_READ_CONCURRENCY, checked.length);
  const outcomes = await Promise.all(checked.map(async (ref) => {
    try {
      return await run(() => {
        options.signal?.throwIfAborted();
        return readObject(ref, { ...options, resolver });
      });
    } catch (error) {
      options.signal?.throwIfAborted();
      return unknownObject(ref, ref.namespace, `not checked: ${(error as Error).message}`);
    }
  }));
  const skipped = refs.slice(MAX_RELEASE_OBJECTS_READ).map((ref) => unknownObject(
    ref, ref.namespace, `not checked: the release has more than ${MAX_RELEASE_OBJECTS_READ} objects`,
  ));
  return [...outcomes, ...skipped];
}

function describeObject(object: ObjectHealth): string {
  return `${object.kind} ${object.namespace ? `${object.namespace}/` : ''}${object.name}: ${object.message}`;
}

/**
 * Folds objects that could not be judged into the verdict of those that
 * could. Unknown ranks just above Healthy and counts as healthy only when
 * not strict (health.ts), so it changes the verdict only of an otherwise
 * Healthy or Unknown release.
 */
function withUnreadable(judged: ReleaseHealth, unreadable: readonly ObjectHealth[], strict: boolean): Omit<ReleaseHealth, 'objects'> {
  if (unreadable.length === 0 || (judged.status !== 'Healthy' && judged.status !== 'Unknown')) return judged;
  const [worst, ...more] = [...judged.objects.filter((object) => object.status === 'Unknown'), ...unreadable] as [ObjectHealth, ...ObjectHealth[]];
  const others = more.length > 0 ? ` (and ${more.length} more Unknown)` : '';
  return { status: 'Unknown', message: `${describeObject(worst)}${others}`, healthy: !strict };
}

/** Worst first (HEALTH_SEVERITY), manifest order among equals (Array.prototype.sort is stable). */
function worstFirst(objects: ObjectHealth[]): ObjectHealth[] {
  const rank = (status: HealthStatus): number => HEALTH_SEVERITY.indexOf(status);
  return objects.sort((a, b) => rank(a.status) - rank(b.status));
}

/**
 * The health of a release's objects, read live from the API server: 404 is
 * Missing, a kind the cluster does not serve or a failed read is Unknown
 * with the reason. Rejects only when `signal` aborts.
 */
export async function readReleaseHealth(refs: readonly ReleaseObjectRef[], options: ReadReleaseHealthOptions): Promise<AddonHealth> {
  options.signal?.throwIfAborted();
  const outcomes = await readObjects(refs, options);
  const judged = aggregateHealth(outcomes.flatMap((outcome) => ('object' in outcome ? [outcome.object] : [])), { strict: options.strict });
  // aggregateHealth keeps its input's order: put its verdicts back between the unreadable ones.
  const verdicts = judged.objects.values();
  const inManifestOrder = outcomes.map((outcome) => ('unknown' in outcome ? outcome.unknown : verdicts.next().value as ObjectHealth));
  const unreadable = outcomes.flatMap((outcome) => ('unknown' in outcome ? [outcome.unknown] : []));
  const verdict = withUnreadable(judged, unreadable, options.strict);
  const objects: AddonObjectHealth[] = worstFirst(inManifestOrder).slice(0, MAX_STATUS_OBJECTS);
  return {
    status: verdict.status,
    message: truncate(verdict.message, MAX_STATUS_MESSAGE_CHARS),
    healthy: verdict.healthy,
    objects,
    objectCount: refs.length,
    checkedAt: (options.now?.() ?? new Date()).toISOString(),
  };
}
