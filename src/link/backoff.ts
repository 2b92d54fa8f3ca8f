/**
 * Exponential backoff with full jitter: attempt n waits a uniformly random
 * time in [floor, min(max, initial * factor^n)). Full jitter spreads a fleet
 * of agents that lost the hub at the same moment over the whole window
 * instead of having them return in synchronized waves.
 */
export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  /** Growth per attempt; 2 unless set. */
  factor?: number;
  /** Smallest delay, so even an unlucky draw is never a hot loop. */
  floorMs?: number;
  /** Source of randomness in [0, 1); Math.random unless set (tests pin it). */
  random?: () => number;
}

export const DEFAULT_BACKOFF_FACTOR = 2;
export const DEFAULT_BACKOFF_FLOOR_MS = 100;

export class Backoff {
  private readonly options: Required<BackoffOptions>;
  private attempts = 0;

  constructor(options: BackoffOptions) {
    if (!(options.initialMs > 0) || !(options.maxMs >= options.initialMs)) {
      throw new RangeError(`backoff needs 0 < initialMs <= maxMs, got ${options.initialMs} and ${options.maxMs}`);
    }
    this.options = {
      factor: DEFAULT_BACKOFF_FACTOR,
      floorMs: DEFAULT_BACKOFF_FLOOR_MS,
      random: Math.random,
      ...options,
    };
  }

  /** Attempts since the last reset. */
  get attempt(): number {
    return this.attempts;
  }

  /** The upper bound of the next delay. */
  ceilingMs(): number {
    const { initialMs, maxMs, factor } = this.options;
    return Math.min(maxMs, initialMs * factor ** this.attempts);
  }

  /** The delay before the next attempt; each call counts one attempt. */
  next(): number {
    const ceiling = this.ceilingMs();
    this.attempts += 1;
    const { floorMs, random } = this.options;
    return Math.max(Math.min(floorMs, ceiling), Math.floor(random() * ceiling));
  }

  reset(): void {
    this.attempts = 0;
  }
}
