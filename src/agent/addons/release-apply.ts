// The objects of a release as helm applies them, and the API calls the
// reconcile loop makes with them (drift.ts: drift, self-heal, orphans).
//
// `helm get manifest` lacks what helm adds at apply time (the ownership label
// and annotations, and often the namespace), so prepareObject adds them;
// applyObject then sends the object as helm 4 does, by server-side apply
// under helm's field manager. Requests go through KubeClient's connection
// options but not its `request`, which only sends JSON: server-side apply
// needs `application/apply-patch+yaml` (JSON is valid YAML).
import http from 'node:http';
import https from 'node:https';
import { parseAllDocuments, type DocumentOptions, type ParseOptions, type SchemaOptions } from 'yaml';
import { readLimited } from '../../util/read-limited.ts';
import { WorkerPool } from '../../util/worker-pool.ts';
import { DEFAULT_KUBE_TIMEOUT_MS, KubeApiError, parseJson, type KubeClient } from '../kube.ts';
import {
  DEFAULT_READ_CONCURRENCY, ReleaseManifestError, objectPath, type KindResolver, type Limiter, type ReleaseObjectRef,
} from './release-objects.ts';

/** What drift needs of the API server: requests of any content type (server-side apply sends `application/apply-patch+yaml`). */
export type DriftKube = Pick<KubeClient, 'requestOptions' | 'server'>;

/** What every call here needs. */
export interface DriftCallOptions {
  kube: DriftKube;
  /** Shares discovery with the health checks. */
  resolver: KindResolver;
  /** Where namespaced objects without a namespace go; the values of the ownership annotations. */
  release: { name: string; namespace: string };
  /** The field manager helm applied with (default HELM_FIELD_MANAGER). */
  fieldManager?: string;
  /** Runs each object's requests, e.g. the engine's object-read pool; a rejection makes that object Unknown. */
  run?: Limiter;
  /** Abandons the call: the promise rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** The field manager of the helm CLI: the binary's basename. */
export const HELM_FIELD_MANAGER = 'helm';
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const RELEASE_NAME_ANNOTATION = 'meta.helm.sh/release-name';
export const RELEASE_NAMESPACE_ANNOTATION = 'meta.helm.sh/release-namespace';
export const HOOK_ANNOTATION = 'helm.sh/hook';
export const RESOURCE_POLICY_ANNOTATION = 'helm.sh/resource-policy';
/** Largest object read: etcd refuses values over 1.5 MiB, so this is generous. */
const MAX_OBJECT_BYTES = 8 * 1024 * 1024;
/** Lists nested in Lists are flattened this deep (as parseManifest does). */
const MAX_LIST_DEPTH = 3;

/**
 * YAML as Kubernetes reads it: sigs.k8s.io/yaml decodes with go-yaml v2, a
 * YAML 1.1 reader, so `yes` and `on` are booleans and `0777` is octal, as helm
 * applied them. go-yaml v2 keeps timestamps and `1:20` as strings when it
 * decodes into interface{}, so those 1.1 tags are left out. A repeated key:
 * the last wins.
 */
const YAML_OPTIONS: ParseOptions & DocumentOptions & SchemaOptions = {
  version: '1.1',
  uniqueKeys: false,
  customTags: (tags) => tags.filter((tag) => typeof tag === 'string' || (tag.format !== 'TIME' && tag.tag !== 'tag:yaml.org,2002:timestamp')),
};

export const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** One object of the manifest with its whole body (a Secret's data included: keep it no longer than needed). */
export interface ManifestObject {
  ref: ReleaseObjectRef;
  body: Record<string, unknown>;
}

function collectObjects(value: unknown, depth: number, into: ManifestObject[]): void {
  if (!isObject(value)) return;
  const { apiVersion, kind, metadata } = value;
  if (typeof apiVersion !== 'string' || apiVersion === '' || typeof kind !== 'string' || kind === '') return;
  if (kind.endsWith('List') && Array.isArray(value.items)) {
    if (depth < MAX_LIST_DEPTH) for (const item of value.items) collectObjects(item, depth + 1, into);
    return;
  }
  if (!isObject(metadata) || typeof metadata.name !== 'string' || metadata.name === '') return;
  // Hooks are not in `helm get manifest`; one that slips in is not the release's to compare.
  if (isObject(metadata.annotations) && metadata.annotations[HOOK_ANNOTATION] !== undefined) return;
  const ref: ReleaseObjectRef = { apiVersion, kind, name: metadata.name };
  if (typeof metadata.namespace === 'string' && metadata.namespace !== '') ref.namespace = metadata.namespace;
  into.push({ ref, body: value });
}

/**
 * Every object of `helm get manifest` output with its body: Lists flattened,
 * hooks and documents that are not objects skipped; of a repeated object the
 * last (helm applied them in turn). Throws ReleaseManifestError when the
 * text is not YAML.
 */
export function parseManifestObjects(text: string): ManifestObject[] {
  const documents = parseAllDocuments(text, YAML_OPTIONS);
  const objects: ManifestObject[] = [];
  for (const [index, document] of (Array.isArray(documents) ? documents : []).entries()) {
    const [error] = document.errors;
    if (error) throw new ReleaseManifestError(`manifest document ${index + 1}: ${error.message}`, { cause: error });
    collectObjects(document.toJS({ maxAliasCount: 100 }), 0, objects);
  }
  const byIdentity = new Map<string, ManifestObject>();
  for (const object of objects) {
    const key = [object.ref.apiVersion, object.ref.kind, object.ref.namespace ?? '', object.ref.name].join('\n');
    byIdentity.delete(key);
    byIdentity.set(key, object);
  }
  return [...byIdentity.values()];
}

/** An object ready to send: where it lives and its body with what helm adds at apply time. */
export interface PreparedObject {
  ref: ReleaseObjectRef;
  /** Resolved: the release's for namespaced kinds that name none, undefined for cluster-scoped ones. */
  namespace: string | undefined;
  path: string;
  body: Record<string, unknown>;
}

/** Helm's ownership label and annotations (pkg/action/validate.go) and the namespace, on a copy. */
function withOwnership(body: Record<string, unknown>, release: DriftCallOptions['release'], namespace: string | undefined): Record<string, unknown> {
  const metadata = isObject(body.metadata) ? { ...body.metadata } : {};
  metadata.labels = { ...(isObject(metadata.labels) ? metadata.labels : {}), [MANAGED_BY_LABEL]: 'Helm' };
  metadata.annotations = {
    ...(isObject(metadata.annotations) ? metadata.annotations : {}),
    [RELEASE_NAME_ANNOTATION]: release.name,
    [RELEASE_NAMESPACE_ANNOTATION]: release.namespace,
  };
  if (namespace === undefined) delete metadata.namespace;
  else metadata.namespace = namespace;
  return { ...body, metadata };
}

export async function prepareObject(object: ManifestObject, options: DriftCallOptions): Promise<PreparedObject> {
  const { ref } = object;
  const location = await options.resolver.resolve(ref.apiVersion, ref.kind);
  const namespace = location.namespaced ? ref.namespace ?? options.release.namespace : undefined;
  return { ref, namespace, path: objectPath(location, ref.name, namespace), body: withOwnership(object.body, options.release, namespace) };
}

export interface ApiAnswer {
  status: number;
  body: unknown;
}

interface ApiCall {
  method: string;
  path: string;
  body?: unknown;
  contentType?: string;
  accept?: string;
  signal?: AbortSignal | undefined;
}

/** One request with a timeout; resolves with any status, rejects (KubeApiError status 0) only without an answer. */
export async function callApi(kube: DriftKube, call: ApiCall): Promise<ApiAnswer> {
  const timeout = AbortSignal.timeout(DEFAULT_KUBE_TIMEOUT_MS);
  const signal = call.signal ? AbortSignal.any([call.signal, timeout]) : timeout;
  const payload = call.body === undefined ? undefined : Buffer.from(JSON.stringify(call.body));
  const headers: http.OutgoingHttpHeaders = { accept: call.accept ?? 'application/json' };
  if (payload) {
    headers['content-type'] = call.contentType ?? 'application/json';
    headers['content-length'] = payload.length;
  }
  try {
    const options = await kube.requestOptions(call.method, call.path, headers);
    const transport = kube.server.protocol === 'http:' ? http : https;
    return await new Promise<ApiAnswer>((resolve, reject) => {
      const req = transport.request({ ...options, signal }, (res) => {
        readLimited(res, MAX_OBJECT_BYTES).then((text) => { resolve({ status: res.statusCode ?? 0, body: parseJson(text) }); }, reject);
      });
      req.on('error', reject);
      req.end(payload);
    });
  } catch (error) {
    call.signal?.throwIfAborted();
    const reason = timeout.aborted ? `no answer within ${DEFAULT_KUBE_TIMEOUT_MS / 1000} s` : (error as Error).message;
    throw new KubeApiError(0, `${call.method} ${call.path}: ${reason}`, { cause: error });
  }
}

/** Server-side apply of the prepared body as helm does it: its field manager, taking over conflicting fields. */
export function applyObject(kube: DriftKube, prepared: PreparedObject, options: { fieldManager?: string | undefined; signal?: AbortSignal | undefined; dryRun: boolean }): Promise<ApiAnswer> {
  const manager = encodeURIComponent(options.fieldManager ?? HELM_FIELD_MANAGER);
  return callApi(kube, {
    method: 'PATCH',
    path: `${prepared.path}?${options.dryRun ? 'dryRun=All&' : ''}force=true&fieldManager=${manager}`,
    body: prepared.body,
    contentType: 'application/apply-patch+yaml',
    signal: options.signal,
  });
}

/**
 * Why the API server refused, without its message: messages quote field
 * values ("Invalid value: …"), a Secret's included. Kept: the status, the
 * Status reason, the fields named in its causes, and the admission webhook
 * or policy that denied.
 */
export function refusal(answer: ApiAnswer): string {
  const status = isObject(answer.body) ? answer.body : {};
  const message = typeof status.message === 'string' ? status.message : '';
  const parts = [`HTTP ${answer.status}`];
  if (typeof status.reason === 'string' && /^[A-Za-z]{1,64}$/.test(status.reason)) parts.push(status.reason);
  const denier = /admission webhook "([^"\s]{1,253})" denied/.exec(message)?.[1] ?? /ValidatingAdmissionPolicy '([^'\s]{1,253})'/.exec(message)?.[1];
  if (denier !== undefined) parts.push(`by ${denier}`);
  const causes = isObject(status.details) && Array.isArray(status.details.causes) ? status.details.causes as unknown[] : [];
  const fields = causes.flatMap((cause) => (isObject(cause) && typeof cause.field === 'string' && cause.field.length <= 200 ? [cause.field] : []));
  if (fields.length > 0) parts.push(`at ${[...new Set(fields)].slice(0, 5).join(', ')}`);
  return parts.join(' ');
}

/** The caller's limiter, or a pool of DEFAULT_READ_CONCURRENCY for this call's jobs. */
export function limiterFor(options: { run?: Limiter | undefined }, jobs: number): Limiter {
  if (options.run) return options.run;
  const pool = new WorkerPool({ name: 'release drift', workers: DEFAULT_READ_CONCURRENCY, maxQueued: Math.max(jobs, 1) });
  return (job) => pool.run(job);
}
