// A relayed `kubectl logs -f` read as it passes, so that it can go on
// through the next replica when the one holding the cluster's link dies.
// Upstream it always asks for timestamps (stripped again for a client that
// did not ask), remembers the last line's, and after a break asks again with
// sinceTime. The kubelet reads sinceTime to the second, so the lines of that
// second come again: those not later than the last one handed on are
// dropped. Lines are handed on whole; a line longer than MAX_LOG_LINE_BYTES
// passes on as it comes and the stream can no longer be resumed.
import { parseKubeRequest } from '../../kube/request-info.ts';
import { LineTrack } from './relay-lines.ts';
import type { ResumableTrack } from './relay-watch.ts';

/** The longest log line held to find its end: containerd splits lines at 16 KiB, so this is generous. */
export const MAX_LOG_LINE_BYTES = 1024 * 1024;
/** RFC 3339 with an optional fraction, in UTC, as the kubelet writes it before each line. */
const TIMESTAMP = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?Z$/;
/** Query parameters that bound where a log starts or how much of it comes: replaced by sinceTime on a resume. */
const START_PARAMETERS = ['sinceSeconds', 'sinceTime', 'tailLines'];

/** What a followed log needs for its relay: whether the client wants timestamps. */
export interface LogPlan {
  timestamps: boolean;
}

/**
 * Whether a kubectl-endpoint request is a followed pod log that can be
 * resumed: GET pods/log with follow=true and no limitBytes (a byte budget
 * cannot be carried across a resume). `apiPath` is the API server path and
 * query. Never throws.
 */
export function logPlanOf(method: string, apiPath: string): LogPlan | undefined {
  if (method !== 'GET') return undefined;
  let query: URLSearchParams;
  try {
    const info = parseKubeRequest(method, apiPath);
    if (info.resource !== 'pods' || info.subresource !== 'log') return undefined;
    query = new URL(apiPath, 'http://kube.invalid').searchParams;
  } catch {
    return undefined;
  }
  if (!isTrue(query.get('follow')) || query.has('limitBytes')) return undefined;
  return { timestamps: isTrue(query.get('timestamps')) };
}

function isTrue(value: string | null): boolean {
  return value === 'true' || value === '1';
}

/** `path` (either form) with its query changed by `change`. */
function withQuery(path: string, change: (query: URLSearchParams) => void): string {
  const mark = path.indexOf('?');
  const query = new URLSearchParams(mark === -1 ? '' : path.slice(mark + 1));
  change(query);
  return `${mark === -1 ? path : path.slice(0, mark)}?${query.toString()}`;
}

/** The path sent upstream for a followed log: with timestamps, whatever the client asked. */
export function timestampedPath(path: string): string {
  return withQuery(path, (query) => { query.set('timestamps', 'true'); });
}

/** Nanoseconds since the epoch of a kubelet timestamp, comparable across lines; undefined when it is not one. */
function instantOf(stamp: string): bigint | undefined {
  const match = TIMESTAMP.exec(stamp);
  if (match === null) return undefined;
  const seconds = Date.parse(`${match[1] ?? ''}Z`);
  if (Number.isNaN(seconds)) return undefined;
  return BigInt(seconds) * 1_000_000n + BigInt((match[2] ?? '').padEnd(9, '0'));
}

/** A followed log's lines (see the top of this file): repeats after a resume dropped, timestamps stripped unless asked for. */
export class LogLines extends LineTrack implements ResumableTrack {
  readonly #timestamps: boolean;
  #lastStamp: string | undefined;
  #lastInstant: bigint | undefined;
  /** After a resume: lines at or before this instant were handed on already. */
  #skipUntil: bigint | undefined;

  constructor(plan: LogPlan) {
    super(MAX_LOG_LINE_BYTES);
    this.#timestamps = plan.timestamps;
  }

  resumedPath(path: string): string {
    this.#skipUntil = this.#lastInstant;
    return withQuery(path, (query) => {
      for (const name of START_PARAMETERS) query.delete(name);
      query.set('timestamps', 'true');
      if (this.#lastStamp !== undefined) query.set('sinceTime', this.#lastStamp.replace(/\.\d+Z$/, 'Z'));
    });
  }

  /** A log has no framing for an error: the connection is cut, so the client reports the stream broke. */
  failure(): undefined {
    return undefined;
  }

  protected readLine(line: Buffer): Buffer | undefined {
    const space = line.indexOf(0x20);
    const stamp = space === -1 ? '' : line.toString('latin1', 0, space);
    const instant = instantOf(stamp);
    if (instant === undefined) {
      // Not a timestamped line after all: passed on as is; where the stream is is no longer known.
      this.loseTrack();
      return line;
    }
    if (this.#skipUntil !== undefined && instant <= this.#skipUntil) return undefined;
    this.#skipUntil = undefined;
    this.#lastStamp = stamp;
    this.#lastInstant = instant;
    return this.#timestamps ? line : line.subarray(space + 1);
  }
}
