// Helm's release records as Kubernetes stores them: one Secret per revision,
// `sh.helm.release.v1.<name>.v<revision>` in the release's namespace, type
// `helm.sh/release.v1`, labelled owner=helm, name, status, version and
// createdAt/modifiedAt (Unix seconds). The record itself is
// base64(gzip(JSON)) in `data.release`, base64-encoded once more by the API.
//
// The engine reads the labels to age a release stuck in `pending-*` (a helm
// process killed mid-operation leaves one, and helm then refuses every
// upgrade), and unlocks it the way Flux and Fleet do: the pending record is
// marked failed, after which helm upgrades from it again. The record holds
// the release's values, so it is decoded only in memory, changed in its
// status fields alone and written back; nothing of it is logged.
import { gunzipSync, gzipSync } from 'node:zlib';
import { parseAllDocuments } from 'yaml';
import { apiError, KubeApiError, PARTIAL_OBJECT_METADATA_LIST, type KubeClient } from '../kube.ts';
import { fetchJson } from './release-objects.ts';

/** Release Secrets' metadata is small; a release keeps at most a few hundred revisions. */
const MAX_LIST_BYTES = 4 * 1024 * 1024;

/** What the labels of one revision's Secret say. */
export interface ReleaseRecord {
  secret: string;
  revision: number;
  status: string;
  /** Unix seconds the revision was written (`createdAt`; older helm only has `modifiedAt`). */
  createdAt: number;
}


interface SecretMetadata {
  metadata: { name: string; labels?: Record<string, string> };
}

function secretsPath(namespace: string, name?: string): string {
  return `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets${name === undefined ? '' : `/${encodeURIComponent(name)}`}`;
}

/** The revisions of release `name` in `namespace`, oldest first; metadata only, the payload never read. */
export async function listReleaseRecords(kube: KubeClient, namespace: string, name: string): Promise<ReleaseRecord[]> {
  const selector = encodeURIComponent(`owner=helm,name=${name}`);
  const path = `${secretsPath(namespace)}?labelSelector=${selector}`;
  const answer = await fetchJson(kube, path, { accept: PARTIAL_OBJECT_METADATA_LIST, maxBytes: MAX_LIST_BYTES });
  const body = answer.body as { items?: SecretMetadata[]; message?: string };
  if (answer.status !== 200) throw new KubeApiError(answer.status, `GET ${path}: ${body.message ?? `HTTP ${String(answer.status)}`}`);
  const records = (body.items ?? []).map((item): ReleaseRecord => {
    const labels = item.metadata.labels ?? {};
    return {
      secret: item.metadata.name,
      revision: Number(labels.version ?? 0),
      status: labels.status ?? '',
      createdAt: Number(labels.createdAt ?? labels.modifiedAt ?? 0),
    };
  });
  return records.filter((r) => Number.isInteger(r.revision) && r.revision > 0).sort((a, b) => a.revision - b.revision);
}

interface ReleaseSecret {
  metadata: { name: string; labels?: Record<string, string>; resourceVersion?: string };
  data?: { release?: string };
  [key: string]: unknown;
}

/** Helm's encoding of a record: base64 of gzip of JSON (the API adds its own base64 around it). */
function decodeRecord(data: string): Record<string, unknown> {
  const inner = Buffer.from(Buffer.from(data, 'base64').toString('latin1'), 'base64');
  const json = inner[0] === 0x1f && inner[1] === 0x8b ? gunzipSync(inner) : inner;
  return JSON.parse(json.toString('utf8')) as Record<string, unknown>;
}

function encodeRecord(record: Record<string, unknown>): string {
  const inner = gzipSync(Buffer.from(JSON.stringify(record))).toString('base64');
  return Buffer.from(inner, 'latin1').toString('base64');
}

/** A revision's Secret and its decoded record, read for a change. */
interface StoredRecord {
  path: string;
  secret: ReleaseSecret;
  record: Record<string, unknown>;
}

async function readRecord(kube: KubeClient, namespace: string, secret: string): Promise<StoredRecord> {
  const path = secretsPath(namespace, secret);
  const current = await kube.request<ReleaseSecret>('GET', path);
  if (current.status !== 200) throw apiError('GET', path, current);
  const data = current.body.data?.release;
  if (data === undefined) throw new Error(`secret ${namespace}/${secret} holds no Helm release record`);
  return { path, secret: current.body, record: decodeRecord(data) };
}

/** Writes the changed record back (with extra labels), conditional on the resourceVersion read. */
async function writeRecord(kube: KubeClient, stored: StoredRecord, labels: Record<string, string> = {}): Promise<void> {
  const { path, secret, record } = stored;
  const updated: ReleaseSecret = {
    ...secret,
    metadata: { ...secret.metadata, labels: { ...secret.metadata.labels, ...labels } },
    data: { ...secret.data, release: encodeRecord(record) },
  };
  const written = await kube.request('PUT', path, updated);
  if (written.status !== 200) throw apiError('PUT', path, written);
}

/**
 * Marks the revision in `secret` failed, in its record (`info.status`,
 * `info.description`) and its `status` label, with an optimistic-concurrency
 * PUT: if helm wrote the Secret meanwhile, the API answers 409 and this
 * throws rather than overwriting it.
 */
export async function markReleaseFailed(kube: KubeClient, namespace: string, secret: string, description: string): Promise<void> {
  const stored = await readRecord(kube, namespace, secret);
  const { info } = stored.record;
  stored.record.info = { ...(typeof info === 'object' && info !== null ? info : {}), status: 'failed', description };
  await writeRecord(kube, stored, { status: 'failed', modifiedAt: String(Math.floor(Date.now() / 1000)) });
}

/** What to do about a release whose current revision may be stuck in `pending-*`. */
export type StuckCheck = { stuck: false } | { stuck: true; pendingFor: number; due: number } | { stuck: true; pendingFor: number; unlocked: ReleaseRecord };

/**
 * Unlocks release `name` when its current `revision` has been pending for at
 * least `afterMs` (measured from the revision's own `createdAt`): marks it
 * failed, so helm upgrades from it again. A younger pending revision is left
 * alone and `due` says when it will be old enough. Only call this while no
 * helm of the agent's own works on the release.
 */
export async function unlockIfStuck(
  kube: KubeClient, release: { name: string; namespace: string; revision: number; status: string }, afterMs: number, now: number,
): Promise<StuckCheck> {
  if (!release.status.startsWith('pending-')) return { stuck: false };
  const records = await listReleaseRecords(kube, release.namespace, release.name);
  const current = records.find((r) => r.revision === release.revision);
  if (!current?.status.startsWith('pending-')) return { stuck: false };
  const pendingFor = now - current.createdAt * 1000;
  if (pendingFor < afterMs) return { stuck: true, pendingFor, due: afterMs - pendingFor };
  const seconds = Math.round(pendingFor / 1000);
  const age = seconds < 120 ? `${seconds} s` : `${Math.round(seconds / 60)} min`;
  await markReleaseFailed(kube, release.namespace, current.secret, `Marked failed by Uplink: ${current.status} for ${age} (an interrupted helm operation)`);
  return { stuck: true, pendingFor, unlocked: current };
}

/** An object of a manifest by identity (namespace absent for cluster-scoped kinds). */
export interface ManifestIdentity {
  kind: string;
  name: string;
}

/**
 * Adds `helm.sh/resource-policy: keep` to the objects of `keep` in the
 * manifest stored with revision `secret`, so a later `helm uninstall` of
 * that release leaves them (helm reads the policy from the stored manifest).
 * Used when an add-on moves namespace: cluster-scoped objects the release in
 * the new namespace has adopted must survive the old release's uninstall.
 */
export async function markKeptInRecord(kube: KubeClient, namespace: string, secret: string, keep: readonly ManifestIdentity[]): Promise<number> {
  const stored = await readRecord(kube, namespace, secret);
  const wanted = new Set(keep.map((k) => `${k.kind}/${k.name}`));
  let marked = 0;
  const documents = parseAllDocuments(typeof stored.record.manifest === 'string' ? stored.record.manifest : '');
  for (const document of documents) {
    const kind = document.get('kind');
    const name = document.getIn(['metadata', 'name']);
    if (typeof kind !== 'string' || typeof name !== 'string' || !wanted.has(`${kind}/${name}`)) continue;
    document.setIn(['metadata', 'annotations', 'helm.sh/resource-policy'], 'keep');
    marked += 1;
  }
  if (marked === 0) return 0;
  stored.record.manifest = documents.map((document) => `---\n${document.toString()}`).join('');
  await writeRecord(kube, stored);
  return marked;
}
