// Going on with a relayed kubectl watch after the replica holding the
// cluster's link died under it. The agent links again to a surviving replica
// within seconds; meanwhile the client's response stays open, `locate` waits
// for the new holder, and the watch is sent again from the last
// resourceVersion the client saw (relay-watch.ts), its events appended to the
// same response. Bounded: each break gets RESUME_WITHIN_MS, retried every
// RETRY_DELAY_MS while the holder record still names the dead replica, and a
// watch is resumed at most MAX_RESUMES times. Whatever cannot be resumed ends
// as the API server ends a failed watch: an ERROR event (410 Gone as the
// API server said it, 503 when no replica took the link in time).
import type { IncomingMessage } from 'node:http';
import type { Logger } from '../../util/logger.ts';
import type { PeerTarget } from './peer-connections.ts';
import type { ResumableTrack } from './relay-watch.ts';

/** How long a broken watch waits for its cluster to be linked again. */
export const RESUME_WITHIN_MS = 30_000;
/** The pause between attempts while the holder found is not reachable (its record outlives it for a moment). */
const RETRY_DELAY_MS = 1_000;
/** Breaks one watch survives. */
const MAX_RESUMES = 20;
/** The most of a refusal's body read to pass its Status on. */
const MAX_REFUSAL_BYTES = 64 * 1024;

/**
 * Finds the replica holding a cluster's link, waiting (until `signal`
 * aborts) while none does; undefined when none will. `failed` is the
 * replica that was just unreachable, which may still be on record. The
 * result may be this replica itself: the watch then comes back through its
 * own peer port and is served locally.
 */
export type LocateCluster = (cluster: string, options: { signal: AbortSignal; failed: PeerTarget }) => Promise<PeerTarget | undefined>;

/** How a resume ended; a closed set for metric labels. */
export type ResumeOutcome = 'resumed' | 'expired' | 'no_holder' | 'busy';

export interface ResumeOptions {
  /** The cluster reference of the watch. */
  cluster: string;
  /** The client's request path, to which the resourceVersion is applied. */
  path: string;
  locate: LocateCluster;
  withinMs: number;
  lines: ResumableTrack;
  /** Moves the watch's concurrency slot to the new holder; false when that one is full. */
  moveSlot: (target: PeerTarget) => boolean;
  /** Sends the watch again to `target`, answer to come through accepts(). */
  send: (target: PeerTarget, path: string) => void;
  /** Ends the client's response with a last line, or by cutting it when there is none. */
  end: (line: string | undefined) => void;
  onOutcome: (outcome: ResumeOutcome) => void;
  log: Logger;
}

export class WatchResume {
  readonly #options: ResumeOptions;
  #breaks = 0;
  #deadline = 0;
  #abort: AbortController | undefined;
  #timer: NodeJS.Timeout | undefined;
  #over = false;

  constructor(options: ResumeOptions) {
    this.#options = options;
  }

  /** The peer's connection broke mid-watch: finds the next holder and sends the watch there. */
  broke(failed: PeerTarget): void {
    this.#breaks += 1;
    if (this.#breaks > MAX_RESUMES) {
      this.#give('no_holder', 503, `the watch was resumed ${MAX_RESUMES} times; watch again`);
      return;
    }
    this.#deadline = Date.now() + this.#options.withinMs;
    this.#options.log.info({ cluster: this.#options.cluster, replica: failed.replicaId }, 'a relayed watch lost its replica; resuming it');
    this.#locate(failed);
  }

  /** A resumed attempt failed before an answer: tries again while time is left. */
  attemptFailed(failed: PeerTarget, error: unknown): void {
    if (this.#over) return;
    this.#options.log.debug({ err: error, replica: failed.replicaId }, 'resuming a watch: the replica was not reached');
    this.#retry(failed);
  }

  /**
   * Reads a resumed attempt's answer: true when it carries the watch on (a
   * 200); else the answer is consumed here, and retried (503) or passed on.
   */
  accepts(answer: IncomingMessage, target: PeerTarget): boolean {
    if (answer.statusCode === 200) {
      this.#options.onOutcome('resumed');
      return true;
    }
    if (answer.statusCode === 503) {
      answer.resume(); // the holder on record does not hold the link (yet): ask again
      this.#retry(target);
      return false;
    }
    readBounded(answer, (body) => { this.#pass(answer.statusCode ?? 502, body); });
    return false;
  }

  /** The client left, or the watch ended: stops waiting. */
  cancel(): void {
    this.#over = true;
    this.#abort?.abort();
    clearTimeout(this.#timer);
  }

  #locate(failed: PeerTarget): void {
    const { cluster, locate, withinMs } = this.#options;
    const abort = new AbortController();
    this.#abort = abort;
    const left = this.#deadline - Date.now();
    this.#timer = setTimeout(() => { abort.abort(); }, Math.max(0, left));
    locate(cluster, { signal: abort.signal, failed }).then((target) => {
      clearTimeout(this.#timer);
      if (this.#over) return;
      if (target === undefined || abort.signal.aborted) {
        this.#give('no_holder', 503, `no hub replica took the link of cluster "${cluster}" again within ${withinMs / 1000} s; watch again`);
        return;
      }
      if (!this.#options.moveSlot(target)) {
        this.#give('busy', 503, `hub replica "${target.replicaId}" relays the most watches it allows; watch again`);
        return;
      }
      this.#options.send(target, this.#options.lines.resumedPath(this.#options.path));
    }, (error: unknown) => {
      clearTimeout(this.#timer);
      if (this.#over) return;
      this.#options.log.warn({ err: error, cluster }, 'could not find the replica holding a cluster\'s link');
      this.#retry(failed);
    });
  }

  #retry(failed: PeerTarget): void {
    if (this.#over) return;
    if (Date.now() + RETRY_DELAY_MS >= this.#deadline) {
      this.#give('no_holder', 503, `no hub replica holding the link of cluster "${this.#options.cluster}" was reached within ${this.#options.withinMs / 1000} s; watch again`);
      return;
    }
    this.#timer = setTimeout(() => { this.#locate(failed); }, RETRY_DELAY_MS);
  }

  /** Passes a refusal of the resumed watch on as its ERROR event: its own Status when it sent one (410 Gone), else one made from its status. */
  #pass(status: number, body: Buffer): void {
    let line: string | undefined;
    try {
      const parsed = JSON.parse(body.toString('utf8')) as { kind?: unknown };
      // A watch passes the API server's own Status on as its ERROR event; a log stream has no such framing.
      if (parsed.kind === 'Status' && this.#options.lines.failure(status, '') !== undefined) line = `${JSON.stringify({ type: 'ERROR', object: parsed })}\n`;
    } catch {
      // not a Status: made below
    }
    this.#end(status === 410 ? 'expired' : 'no_holder', line ?? this.#options.lines.failure(status, `the stream could not be resumed (status ${status}); start it again`));
  }

  #give(outcome: ResumeOutcome, code: number, message: string): void {
    this.#end(outcome, this.#options.lines.failure(code, message));
  }

  #end(outcome: ResumeOutcome, line: string | undefined): void {
    if (this.#over) return;
    this.#over = true;
    this.#options.onOutcome(outcome);
    this.#options.end(line);
  }
}

/** Reads at most MAX_REFUSAL_BYTES of a body, then hands it over; the rest is dropped. */
function readBounded(answer: IncomingMessage, done: (body: Buffer) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  let handed = false;
  const hand = (): void => {
    if (handed) return;
    handed = true;
    done(Buffer.concat(chunks).subarray(0, MAX_REFUSAL_BYTES));
  };
  answer.on('data', (chunk: Buffer) => {
    if (size < MAX_REFUSAL_BYTES) chunks.push(chunk);
    size += chunk.length;
  });
  answer.on('error', () => undefined);
  answer.on('end', hand);
  answer.on('close', hand);
}
