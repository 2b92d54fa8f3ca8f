// A relayed kubectl watch read as it passes: JSON watch events, one per line,
// handed on whole lines only, with the resourceVersion of the last event
// seen. When the replica holding the cluster's link dies mid-watch, the
// client has received complete events only, and the watch can go on from the
// last one seen through whichever replica holds the link next: the API server
// sends every change after that resourceVersion, or 410 Gone when it no
// longer has them, which the client (kubectl, an informer) handles by
// listing again, as after any expired watch.
import { parseKubeRequest } from '../../kube/request-info.ts';
import { kubeStatus } from '../../kube/headers.ts';
import { LineTrack } from './relay-lines.ts';

/** The longest watch event read: larger than any object etcd stores (1.5 MiB) with its JSON framing. */
export const MAX_WATCH_EVENT_BYTES = 4 * 1024 * 1024;
/** resourceVersions are opaque strings; a longer one is not one the API server sent. */
const MAX_RESOURCE_VERSION_CHARS = 128;

/**
 * A relayed stream read as it passes so that it can go on through another
 * replica: a kubectl watch (WatchLines) or a followed pod log (LogLines in
 * relay-logs.ts).
 */
export interface ResumableTrack {
  /** Takes a chunk of the body; returns the bytes to hand on now, if any. */
  push(chunk: Buffer): Buffer | undefined;
  /** What is held, handed on at a clean end of the body. */
  rest(): Buffer | undefined;
  /** What is held of an unfinished line, dropped: the stream broke inside it. */
  discardPartial(): void;
  /** Whether the stream can go on from what the client received. */
  readonly resumable: boolean;
  /** The client's path (either form), changed to go on from what the client received. */
  resumedPath(path: string): string;
  /** The last bytes of a stream that cannot go on: a watch's ERROR event; undefined to cut the connection (the client sees an error). */
  failure(code: number, message: string): string | undefined;
}

/**
 * Splits a watch's body into whole lines and remembers the last
 * resourceVersion. After a line longer than MAX_WATCH_EVENT_BYTES, it
 * passes bytes on as they come and the watch can no longer be resumed
 * (`resumable` false): its position is not known.
 */
export class WatchLines extends LineTrack implements ResumableTrack {
  #lastResourceVersion: string | undefined;
  #gone = false;

  constructor(initialResourceVersion: string | undefined) {
    super(MAX_WATCH_EVENT_BYTES);
    this.#lastResourceVersion = initialResourceVersion;
  }

  /** The resourceVersion to resume after: the last event's, else the one the watch started from. */
  get lastResourceVersion(): string | undefined {
    return this.#lastResourceVersion;
  }

  /** Whether the watch can go on from lastResourceVersion: no event was lost track of, and none said the watch failed. */
  override get resumable(): boolean {
    return super.resumable && !this.#gone;
  }

  resumedPath(path: string): string {
    return resumedPath(path, this.#lastResourceVersion);
  }

  failure(code: number, message: string): string {
    return watchErrorLine(code, 'ServiceUnavailable', message);
  }

  /** Reads a whole line for its event type and resourceVersion; the line itself passes on unchanged. */
  protected readLine(line: Buffer): Buffer {
    if (line.length > 1) this.#readEvent(line.toString('utf8', 0, line.length - 1));
    return line;
  }

  #readEvent(line: string): void {
    let event: unknown;
    try {
      event = JSON.parse(line);
    } catch {
      this.loseTrack(); // not a JSON event stream after all: its position is unknown
      return;
    }
    if (fieldOf(event, 'type') === 'ERROR') {
      this.#gone = true; // the API server ended the watch itself (410 Gone, say): nothing to resume
      return;
    }
    const version = fieldOf(fieldOf(fieldOf(event, 'object'), 'metadata'), 'resourceVersion');
    if (typeof version === 'string' && version !== '' && version.length <= MAX_RESOURCE_VERSION_CHARS) this.#lastResourceVersion = version;
  }
}

/** A field of a parsed JSON value, when it is an object that has it. */
function fieldOf(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>)[key] : undefined;
}

/** What a kubectl-endpoint request needs for its watch to be resumable. */
export interface WatchPlan {
  /** The resourceVersion the watch starts from, if any. */
  resourceVersion: string | undefined;
}

/**
 * Whether a request on the kubectl endpoint is a watch that can be resumed:
 * a GET with `watch=true|1` (or a legacy /watch/ path) that does not ask for
 * initial events (those restart from a snapshot, which a resume would
 * repeat). `apiPath` is the API server path and query. Never throws.
 */
export function watchPlanOf(method: string, apiPath: string): WatchPlan | undefined {
  if (method !== 'GET') return undefined;
  let query: URLSearchParams;
  try {
    if (parseKubeRequest(method, apiPath).verb !== 'watch') return undefined;
    query = new URL(apiPath, 'http://kube.invalid').searchParams;
  } catch {
    return undefined;
  }
  if (query.has('sendInitialEvents')) return undefined;
  const version = query.get('resourceVersion') ?? '';
  // "" and "0" mean "from any point": nothing is known of where the client is until an event passes.
  return { resourceVersion: version === '' || version === '0' ? undefined : version };
}

/**
 * The request path (as sent to the hub, either form) to go on with a watch
 * from `resourceVersion`: the same path and query, with only that parameter
 * set. Without a version (no event seen, none given), the original path.
 */
export function resumedPath(path: string, resourceVersion: string | undefined): string {
  if (resourceVersion === undefined) return path;
  const mark = path.indexOf('?');
  const query = new URLSearchParams(mark === -1 ? '' : path.slice(mark + 1));
  query.set('resourceVersion', resourceVersion);
  return `${mark === -1 ? path : path.slice(0, mark)}?${query.toString()}`;
}

/** A watch event line that ends a watch with a Status, as the API server ends a failed one (kubectl prints it; informers list again). */
export function watchErrorLine(code: number, reason: string, message: string): string {
  return `${JSON.stringify({ type: 'ERROR', object: JSON.parse(kubeStatus(code, reason, message)) as unknown })}\n`;
}
