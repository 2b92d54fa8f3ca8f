// Takes the add-on statuses agents send on their event streams and stores the
// good ones. An agent reports a status on every change, and a busy add-on
// changes often; writes must not pile up behind a slow store, so per
// (cluster, add-on) at most one write is in flight and the statuses arriving
// meanwhile replace one another: only the newest is written next.
import type { AddonStatus } from '../../link/addons.ts';
import { background } from '../../util/background.ts';
import type { Logger } from '../../util/logger.ts';
import type { AddonStatusRecord } from '../store/index.ts';
import { AddonStatusError, parseAddonStatus } from './status.ts';

/**
 * What became of a status: `stored`; `refused` (bad shape, no such add-on,
 * or too many writes pending); `superseded` by a newer one before it was
 * written; `failed` in the store. A closed set for metric labels.
 */
export type AddonStatusOutcome = 'stored' | 'refused' | 'superseded' | 'failed';

/** Add-ons with a write in flight, across clusters; a bound in case the store stalls. */
export const MAX_STATUS_WRITES_IN_FLIGHT = 10_000;

export interface AddonStatusRecorderOptions {
  /** The store's putAddonStatus: false when the cluster has no add-on of that name. */
  putAddonStatus: (record: AddonStatusRecord) => Promise<boolean>;
  onOutcome: (outcome: AddonStatusOutcome) => void;
  now?: () => Date;
  maxInFlight?: number;
}

export class AddonStatusRecorder {
  readonly #options: AddonStatusRecorderOptions;
  /** Per `clusterId/name` with a write in flight: the newest status waiting for it, or null. */
  readonly #next = new Map<string, AddonStatusRecord | null>();

  constructor(options: AddonStatusRecorderOptions) {
    this.#options = options;
  }

  /**
   * Checks a status from the agent of `clusterId` and stores it. Never
   * throws: a bad status is logged on `log` (the cluster's) and dropped.
   */
  receive(clusterId: string, value: unknown, log: Logger): void {
    let status: AddonStatus;
    try {
      status = parseAddonStatus(value);
    } catch (error) {
      this.#options.onOutcome('refused');
      const field = error instanceof AddonStatusError ? error.field : undefined;
      log.warn({ field, reason: (error as Error).message }, 'the agent sent a bad add-on status; dropped');
      return;
    }
    const now = this.#options.now?.() ?? new Date();
    const record: AddonStatusRecord = { clusterId, name: status.name, status, reportedAt: now.toISOString() };
    const key = `${clusterId}/${status.name}`;
    if (this.#next.has(key)) {
      if (this.#next.get(key) !== null) this.#options.onOutcome('superseded');
      this.#next.set(key, record);
      return;
    }
    if (this.#next.size >= (this.#options.maxInFlight ?? MAX_STATUS_WRITES_IN_FLIGHT)) {
      this.#options.onOutcome('refused');
      log.warn({ addon: status.name, inFlight: this.#next.size }, 'too many add-on status writes in flight; dropped a status');
      return;
    }
    this.#next.set(key, null);
    background(this.#writeInTurn(key, record, log), log, 'could not store an add-on status');
  }

  /** Add-ons with a write in flight (for tests: the map must empty again). */
  get inFlight(): number {
    return this.#next.size;
  }

  async #writeInTurn(key: string, first: AddonStatusRecord, log: Logger): Promise<void> {
    let record: AddonStatusRecord | null = first;
    while (record !== null) {
      await this.#write(record, log);
      record = this.#next.get(key) ?? null;
      this.#next.set(key, null);
    }
    // Synchronously with the last check, so a status after it starts a new turn.
    this.#next.delete(key);
  }

  async #write(record: AddonStatusRecord, log: Logger): Promise<void> {
    const { onOutcome } = this.#options;
    const fields = { addon: record.name, generation: record.status.generation, phase: record.status.phase };
    try {
      if (await this.#options.putAddonStatus(record)) {
        onOutcome('stored');
        log.debug(fields, 'stored an add-on status');
      } else {
        onOutcome('refused');
        log.warn(fields, 'the agent reported the status of an add-on this cluster does not have; dropped');
      }
    } catch (error) {
      onOutcome('failed');
      log.error({ ...fields, err: error }, 'could not store an add-on status');
    }
  }
}
