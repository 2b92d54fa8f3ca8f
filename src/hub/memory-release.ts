// Memory back after many links close: when a large share of the hub's agents
// go away at once (a replica's agents moving to another, a network cut, the
// fleet bench's "agents gone"), what their links held is garbage, but V8
// collects it only at its next major GC, which a quiet hub may not run for a
// long time, and the native memory of their TLS and HTTP/2 sessions is freed
// only when their JavaScript handles are collected. A full collection once the
// count has stopped falling gives both back (see docs/decisions.md for the
// figures). It costs pauses of tens of milliseconds, after an event that is
// rare by nature, and never more than once per check interval.
import { releaseMemory } from '../util/heap.ts';
import type { Logger } from '../util/logger.ts';

/** How often the link count is looked at. */
export const MEMORY_RELEASE_CHECK_MS = 10_000;
/** A drop smaller than this many links is not worth a full GC, whatever its share. */
export const MEMORY_RELEASE_MIN_LINKS = 200;
/** Nor is a drop below this share of the peak since the last release. */
export const MEMORY_RELEASE_MIN_SHARE = 0.2;

export interface MemoryReleaseOptions {
  /** Links open now (Fleet.connectedCount). */
  connectedCount: () => number;
  log: Pick<Logger, 'info' | 'warn'>;
  /** Gives the memory back (releaseMemory); tests replace it. */
  release?: () => Promise<void>;
}

/**
 * Decides, one look at the link count at a time, when to give memory back:
 * once the count has stopped falling (this look is not lower than the last)
 * and lies at least MEMORY_RELEASE_MIN_LINKS and MEMORY_RELEASE_MIN_SHARE
 * below the highest count seen since the last release.
 */
export class MemoryRelease {
  private readonly options: MemoryReleaseOptions;
  private peak = 0;
  private last = 0;
  private releasing = false;

  constructor(options: MemoryReleaseOptions) {
    this.options = options;
  }

  /** One look; resolves true when it released. Never rejects: a failed release is logged. */
  async check(): Promise<boolean> {
    const now = this.options.connectedCount();
    const falling = now < this.last;
    this.last = now;
    this.peak = Math.max(this.peak, now);
    const dropped = this.peak - now;
    if (this.releasing || falling || dropped < MEMORY_RELEASE_MIN_LINKS || dropped < this.peak * MEMORY_RELEASE_MIN_SHARE) return false;
    this.releasing = true;
    this.peak = now;
    const before = process.memoryUsage();
    try {
      await (this.options.release ?? releaseMemory)();
    } catch (error) {
      this.options.log.warn({ err: error }, 'could not collect garbage after many links closed');
      return false;
    } finally {
      this.releasing = false;
    }
    const after = process.memoryUsage();
    this.options.log.info({
      linksClosed: dropped, links: now, heapUsedBefore: before.heapUsed, heapUsedAfter: after.heapUsed, rssBefore: before.rss, rssAfter: after.rss,
    }, 'collected garbage after many links closed');
    return true;
  }
}

/** Looks every MEMORY_RELEASE_CHECK_MS (the timer does not keep the process alive); returns the function that stops it. */
export function startMemoryRelease(options: MemoryReleaseOptions & { intervalMs?: number }): () => void {
  const release = new MemoryRelease(options);
  const timer = setInterval(() => { void release.check(); }, options.intervalMs ?? MEMORY_RELEASE_CHECK_MS);
  timer.unref();
  return () => { clearInterval(timer); };
}
