// The inventory's edge to the API server: one page of a list, one watch
// stream. A narrow interface so the reflector's loop is testable with a fake
// source; the real one is plain node:http(s) with the KubeClient's
// credentials, an abort path on every request, and bounded reads.
import type http from 'node:http';
import { NdjsonDecoder } from '../../link/ndjson.ts';
import { readLimited } from '../../util/read-limited.ts';
import { KubeApiError, MAX_KUBE_BODY_BYTES, apiError, parseJson, type KubeClient } from '../kube.ts';
import { collectionPath, type KindSpec } from './kinds.ts';
import type { KubeObject } from './summary.ts';

/** Longest line of a watch stream: one object, however large. */
export const MAX_WATCH_LINE_BYTES = 16 * 1024 * 1024;
/** Longest wait for one list page. */
export const LIST_PAGE_TIMEOUT_MS = 60_000;
/** Largest error body read from a refused watch. */
const MAX_WATCH_ERROR_BYTES = 64 * 1024;

const METADATA_LIST_ACCEPT = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json';
const METADATA_WATCH_ACCEPT = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json';

export interface ListPage {
  items: KubeObject[];
  resourceVersion: string;
  /** The token of the next page, or undefined on the last. */
  continue: string | undefined;
}

export interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: KubeObject;
}

export interface ListPageOptions {
  limit: number;
  continue?: string | undefined;
  signal: AbortSignal;
}

export interface WatchOptions {
  resourceVersion: string;
  timeoutSeconds: number;
  signal: AbortSignal;
  /** Any byte arrived (the watchdog's heartbeat). */
  onActivity: () => void;
  onEvent: (event: WatchEvent) => void;
}

export interface KindSource {
  /** One page of the kind's objects; rejects with KubeApiError (status 0 without an answer). */
  listPage(kind: KindSpec, options: ListPageOptions): Promise<ListPage>;
  /**
   * Streams the kind's changes until the API server ends the watch (resolve)
   * or it fails or is aborted (reject; a refused watch is a KubeApiError
   * with the HTTP status, e.g. 410).
   */
  watch(kind: KindSpec, options: WatchOptions): Promise<void>;
}

/** The real source: the API server through the agent's KubeClient. */
export class KubeSource implements KindSource {
  private readonly kube: KubeClient;

  constructor(kube: KubeClient) {
    this.kube = kube;
  }

  async listPage(kind: KindSpec, options: ListPageOptions): Promise<ListPage> {
    const query = new URLSearchParams({ limit: String(options.limit) });
    if (options.continue !== undefined) query.set('continue', options.continue);
    const path = `${collectionPath(kind.info)}?${query.toString()}`;
    const accept = kind.metadataOnly ? METADATA_LIST_ACCEPT : 'application/json';
    const signal = AbortSignal.any([options.signal, AbortSignal.timeout(LIST_PAGE_TIMEOUT_MS)]);
    const res = await this.open(path, `list ${collectionPath(kind.info)}`, accept, false, signal);
    let text: string;
    try {
      text = await readLimited(res, MAX_KUBE_BODY_BYTES);
    } catch (error) {
      throw new KubeApiError(0, `list ${collectionPath(kind.info)}: ${(error as Error).message}`, { cause: error });
    }
    const body = parseJson(text);
    const status = res.statusCode ?? 0;
    // Errors name the collection, not the query: its continue token would make each one unique in the log.
    if (status < 200 || status > 299) throw apiError('list', collectionPath(kind.info), { status, body });
    const list = body as { items?: KubeObject[] | null; metadata?: { resourceVersion?: string; continue?: string } };
    return {
      items: list.items ?? [],
      resourceVersion: list.metadata?.resourceVersion ?? '',
      continue: list.metadata?.continue || undefined,
    };
  }

  async watch(kind: KindSpec, options: WatchOptions): Promise<void> {
    const query = new URLSearchParams({
      watch: '1', allowWatchBookmarks: 'true', resourceVersion: options.resourceVersion, timeoutSeconds: String(options.timeoutSeconds),
    });
    const path = `${collectionPath(kind.info)}?${query.toString()}`;
    const accept = kind.metadataOnly ? METADATA_WATCH_ACCEPT : 'application/json';
    const res = await this.open(path, `watch ${collectionPath(kind.info)}`, accept, true, options.signal);
    const status = res.statusCode ?? 0;
    if (status !== 200) {
      const text = await readLimited(res, MAX_WATCH_ERROR_BYTES).catch(() => '');
      throw apiError('watch', collectionPath(kind.info), { status, body: parseJson(text) });
    }
    options.onActivity();
    const decoder = new NdjsonDecoder(MAX_WATCH_LINE_BYTES);
    try {
      for await (const chunk of res as AsyncIterable<Buffer>) {
        options.onActivity();
        for (const value of decoder.push(chunk)) options.onEvent(value as WatchEvent);
      }
    } finally {
      res.destroy();
    }
    options.signal.throwIfAborted();
    if (!res.complete) throw new KubeApiError(0, `watch ${collectionPath(kind.info)}: the connection closed mid-stream`);
  }

  private open(path: string, what: string, accept: string, streaming: boolean, signal: AbortSignal): Promise<http.IncomingMessage> {
    return this.kube.open(path, { headers: { accept }, streaming, signal, describe: what });
  }
}
