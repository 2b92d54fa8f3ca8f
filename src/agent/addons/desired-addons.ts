// The desired add-ons the agent holds: loaded from its store at start,
// replaced by the hub's pushes (ADDON_PATHS.desired), and kept durable
// before a push is acknowledged. A set older than the one held is ignored.
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import { MAX_DESIRED_ADDONS_BYTES, type DesiredAddonSet } from '../../link/addons.ts';
import type { Logger } from '../../util/logger.ts';
import { BodyTooLargeError, readLimited } from '../../util/read-limited.ts';
import { DesiredAddonsError, describeDesiredAddons, parseDesiredAddonSet } from './desired-set.ts';
import type { DesiredAddonsStore } from './desired-store.ts';
import { sendError } from '../answers.ts';

/** What a replace did: stored it, had it already, or refused it as older than the held set. */
export type ReplaceOutcome = { result: 'stored' | 'unchanged' } | { result: 'stale'; held: number };

export class DesiredAddons {
  private readonly store: DesiredAddonsStore;
  private readonly log: Logger;
  private held: DesiredAddonSet | undefined;
  private readonly listeners = new Set<(set: DesiredAddonSet) => void>();
  /** Replaces run one at a time, so the generation check and the save cannot interleave. */
  private tail: Promise<unknown> = Promise.resolve();

  constructor(options: { store: DesiredAddonsStore; log: Logger }) {
    this.store = options.store;
    this.log = options.log;
  }

  /** The held set, or undefined before the first push. */
  get current(): DesiredAddonSet | undefined {
    return this.held;
  }

  /** Calls `listener` with each newer set once it is durable. */
  onStored(listener: (set: DesiredAddonSet) => void): void {
    this.listeners.add(listener);
  }

  async load(): Promise<void> {
    try {
      this.held = await this.store.load();
    } catch (error) {
      // A stored set this version cannot read (written by another version):
      // start as if none were held; the hub pushes the set on the next link.
      if (!((error as Error).cause instanceof DesiredAddonsError)) throw error;
      this.log.warn({ err: error }, 'ignoring stored desired add-ons this agent cannot read; waiting for the hub to push them');
      this.held = undefined;
    }
    if (this.held) this.log.info({ ...describeDesiredAddons(this.held), store: this.store.describe() }, 'loaded desired add-ons');
  }

  /** Stores `set` unless an equal or newer generation is held; resolves once it is durable. */
  replace(set: DesiredAddonSet): Promise<ReplaceOutcome> {
    const run = async (): Promise<ReplaceOutcome> => {
      const held = this.held?.generation;
      if (held !== undefined && set.generation < held) return { result: 'stale', held };
      // The same generation is the same set (the hub pushes again on every link).
      if (held !== undefined && set.generation === held) return { result: 'unchanged' };
      await this.store.save(set);
      this.held = set;
      this.log.info(describeDesiredAddons(set), 'stored desired add-ons');
      for (const listener of this.listeners) listener(set);
      return { result: 'stored' };
    };
    const result = this.tail.then(run);
    this.tail = result.catch(() => undefined);
    return result;
  }
}


/** PUT ADDON_PATHS.desired: the hub's push (answers documented at ADDON_PATHS). */
export async function receiveDesiredAddons(addons: DesiredAddons, log: Logger, req: Http2ServerRequest, res: Http2ServerResponse): Promise<void> {
  let set: DesiredAddonSet;
  try {
    set = parseDesiredAddonSet(JSON.parse(await readLimited(req, MAX_DESIRED_ADDONS_BYTES)));
  } catch (error) {
    if (error instanceof BodyTooLargeError) sendError(res, 'DESIRED_ADDONS_TOO_LARGE', error.message);
    else if (error instanceof DesiredAddonsError) sendError(res, 'DESIRED_ADDONS_INVALID', error.message);
    else sendError(res, 'DESIRED_ADDONS_INVALID', 'the body is not JSON');
    return;
  }
  try {
    const outcome = await addons.replace(set);
    if (outcome.result === 'stale') {
      log.warn({ pushed: set.generation, held: outcome.held }, 'ignored desired add-ons older than the ones held');
      sendError(res, 'DESIRED_ADDONS_STALE', `the agent holds generation ${outcome.held}, newer than ${set.generation}`, { generation: outcome.held });
      return;
    }
    res.writeHead(204).end();
  } catch (error) {
    log.error({ err: error, generation: set.generation }, 'could not store desired add-ons');
    sendError(res, 'DESIRED_ADDONS_STORE_FAILED', 'could not store the desired add-ons');
  }
}

/** GET ADDON_PATHS.desired: the held set, for debugging and tests. */
export function serveDesiredAddons(addons: DesiredAddons, res: Http2ServerResponse): void {
  const set = addons.current;
  if (!set) {
    sendError(res, 'NO_DESIRED_ADDONS', 'the agent holds no desired add-ons yet');
    return;
  }
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(set));
}
