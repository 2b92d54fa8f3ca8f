// A bounded pool of workers: at most `workers` jobs run at once, at most
// `maxQueued` wait, and a job that cannot be queued is refused at once
// rather than piling up. The add-on engine runs helm's reads and writes
// through two of these, so a fleet of add-ons never starts a crowd of helm
// processes against the API server.
import { UplinkError } from './errors.ts';

/** The queue was full (or the pool closed); the job never ran. */
export class PoolFullError extends UplinkError {
  constructor(pool: string, reason: 'full' | 'closed') {
    super('POOL_FULL', reason === 'full' ? `the ${pool} queue is full` : `the ${pool} pool is closed`);
  }
}

export interface WorkerPoolOptions {
  /** Name used in errors and metrics. */
  name: string;
  workers: number;
  /** Jobs allowed to wait beyond the running ones. */
  maxQueued: number;
  /** Called whenever the running or queued count changes. */
  onChange?: (state: { running: number; queued: number }) => void;
}

interface Waiter {
  start: () => void;
  fail: (error: Error) => void;
}

export class WorkerPool {
  readonly name: string;
  private readonly workers: number;
  private readonly maxQueued: number;
  private readonly onChange: WorkerPoolOptions['onChange'];
  private readonly waiting: Waiter[] = [];
  private active = 0;
  private closed = false;

  constructor(options: WorkerPoolOptions) {
    if (!Number.isInteger(options.workers) || options.workers < 1) throw new RangeError(`${options.name} needs at least one worker`);
    this.name = options.name;
    this.workers = options.workers;
    this.maxQueued = options.maxQueued;
    this.onChange = options.onChange;
  }

  get running(): number {
    return this.active;
  }

  get queued(): number {
    return this.waiting.length;
  }

  /** Runs `job` when a worker is free; rejects with PoolFullError when the queue is full or the pool closed. */
  async run<T>(job: () => Promise<T>): Promise<T> {
    await this.acquire();
    try {
      return await job();
    } finally {
      this.release();
    }
  }

  /** Refuses everything still waiting and anything new. Running jobs finish. */
  close(): void {
    this.closed = true;
    for (const waiter of this.waiting.splice(0)) waiter.fail(new PoolFullError(this.name, 'closed'));
    this.changed();
  }

  private acquire(): Promise<void> {
    if (this.closed) return Promise.reject(new PoolFullError(this.name, 'closed'));
    if (this.active < this.workers) {
      this.active += 1;
      this.changed();
      return Promise.resolve();
    }
    if (this.waiting.length >= this.maxQueued) return Promise.reject(new PoolFullError(this.name, 'full'));
    return new Promise((resolve, reject) => {
      this.waiting.push({ start: resolve, fail: reject });
      this.changed();
    });
  }

  private release(): void {
    const next = this.waiting.shift();
    // The slot passes straight to the next job, so `active` stays the same.
    if (next) next.start();
    else this.active -= 1;
    this.changed();
  }

  private changed(): void {
    this.onChange?.({ running: this.active, queued: this.waiting.length });
  }
}
