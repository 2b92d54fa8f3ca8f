// The exposures the agent lets gateway streams reach: the set the hub pushed
// (EXPOSURE_PATHS.desired), held in memory only. The hub pushes it again at
// each link, so a restarted agent holds nothing until then, and refuses
// every gateway stream meanwhile: the safe side.
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import { CodedError } from '../../domain/error-codes.ts';
import {
  MAX_DESIRED_EXPOSURES_BYTES, parseDesiredExposureSet, type DesiredExposure, type DesiredExposureSet,
} from '../../link/exposures.ts';
import type { Logger } from '../../util/logger.ts';
import { BodyTooLargeError, readLimited } from '../../util/read-limited.ts';
import { sendError } from '../answers.ts';

/** What a replace did: took the set, or refused it as older than the one held. */
export type ExposureReplace = { result: 'stored'; ended: number } | { result: 'stale'; held: number };

function sameTarget(a: DesiredExposure, b: DesiredExposure): boolean {
  return a.namespace === b.namespace && a.service === b.service && a.port === b.port;
}

export class HeldExposures {
  #generation = 0;
  #byId = new Map<string, DesiredExposure>();
  /** Enders of the open streams of each exposure, so a withdrawn one ends them. */
  readonly #open = new Map<string, Set<() => void>>();

  /** The exposure of that id, if the hub's last set has it. */
  get(id: string): DesiredExposure | undefined {
    return this.#byId.get(id);
  }

  get generation(): number {
    return this.#generation;
  }

  /** The held set, as the hub pushed it. */
  snapshot(): DesiredExposureSet {
    return { generation: this.#generation, exposures: [...this.#byId.values()] };
  }

  /**
   * Registers an open stream of exposure `id`: `end` is called if a later set
   * withdraws the exposure or points it elsewhere. Returns the unregister.
   */
  track(id: string, end: () => void): () => void {
    let enders = this.#open.get(id);
    if (enders === undefined) this.#open.set(id, enders = new Set());
    enders.add(end);
    return () => {
      enders.delete(end);
      if (enders.size === 0 && this.#open.get(id) === enders) this.#open.delete(id);
    };
  }

  /**
   * Holds `set` unless a newer generation is held (the same one again is the
   * same set: taken, harmlessly). Open streams of exposures it no longer has,
   * or has with another target, are ended: withdrawing an exposure ends its
   * live WebSockets and event streams too. Returns how many ended, when stored.
   */
  replace(set: DesiredExposureSet): ExposureReplace {
    if (set.generation < this.#generation) return { result: 'stale', held: this.#generation };
    const before = this.#byId;
    this.#generation = set.generation;
    this.#byId = new Map(set.exposures.map((exposure) => [exposure.id, exposure]));
    let ended = 0;
    for (const [id, enders] of [...this.#open]) {
      const was = before.get(id);
      const now = this.#byId.get(id);
      if (now !== undefined && was !== undefined && sameTarget(was, now)) continue;
      this.#open.delete(id);
      for (const end of enders) {
        end();
        ended++;
      }
    }
    return { result: 'stored', ended };
  }
}

/** PUT EXPOSURE_PATHS.desired: the hub's push (answers documented at EXPOSURE_PATHS). */
export async function receiveExposures(held: HeldExposures, log: Logger, req: Http2ServerRequest, res: Http2ServerResponse): Promise<void> {
  let set: DesiredExposureSet;
  try {
    set = parseDesiredExposureSet(JSON.parse(await readLimited(req, MAX_DESIRED_EXPOSURES_BYTES)));
  } catch (error) {
    if (error instanceof BodyTooLargeError) sendError(res, 'BODY_TOO_LARGE', error.message);
    else if (error instanceof CodedError) sendError(res, error.code, error.message);
    else sendError(res, 'DESIRED_EXPOSURES_INVALID', 'the body is not JSON');
    return;
  }
  const outcome = held.replace(set);
  if (outcome.result === 'stale') {
    log.warn({ pushed: set.generation, held: outcome.held }, 'ignored an exposure set older than the one held');
    sendError(res, 'DESIRED_EXPOSURES_STALE', `the agent holds generation ${outcome.held}, newer than ${set.generation}`, { generation: outcome.held });
    return;
  }
  log.info({ generation: set.generation, exposures: set.exposures.length, endedStreams: outcome.ended }, 'holding the exposure set');
  res.writeHead(204).end();
}

/** GET EXPOSURE_PATHS.desired: the held set, for debugging and tests. */
export function serveExposures(held: HeldExposures, res: Http2ServerResponse): void {
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(held.snapshot()));
}
