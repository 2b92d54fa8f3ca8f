// The body of /api/metrics/runtime: the agent process's memory, event-loop
// delay and active resources, read on request (the delay from a histogram
// perf_hooks keeps, reset every window so it shows the recent past).
import { monitorEventLoopDelay } from 'node:perf_hooks';

/** The event-loop delay histogram covers at most this much recent time. */
export const LOOP_DELAY_WINDOW_MS = 60_000;
/** Sampling resolution of the event-loop delay. */
const LOOP_DELAY_RESOLUTION_MS = 10;

/**
 * Milliseconds of delay from a histogram value: perf_hooks records the time
 * between its timer's ticks, which includes the resolution itself.
 */
const delayMs = (nanoseconds: number): number => Math.max(0, Math.round((nanoseconds / 1e6 - LOOP_DELAY_RESOLUTION_MS) * 100) / 100);

/** Samples the event-loop delay until stop(); snapshot() reads everything at once. */
export class ProcessStats {
  private readonly histogram: ReturnType<typeof monitorEventLoopDelay>;
  private readonly reset: NodeJS.Timeout;
  private windowStart = Date.now();

  constructor() {
    this.histogram = monitorEventLoopDelay({ resolution: LOOP_DELAY_RESOLUTION_MS });
    this.histogram.enable();
    this.reset = setInterval(() => {
      this.histogram.reset();
      this.windowStart = Date.now();
    }, LOOP_DELAY_WINDOW_MS);
    this.reset.unref();
  }

  snapshot(): Record<string, unknown> {
    const memory = process.memoryUsage();
    const resources = process.getActiveResourcesInfo();
    const byType: Record<string, number> = {};
    for (const type of resources) byType[type] = (byType[type] ?? 0) + 1;
    const cpu = process.cpuUsage();
    const h = this.histogram;
    const sampled = h.count > 0;
    return {
      uptimeSeconds: Math.round(process.uptime() * 10) / 10,
      memory: {
        rssBytes: memory.rss, heapUsedBytes: memory.heapUsed, heapTotalBytes: memory.heapTotal,
        externalBytes: memory.external, arrayBuffersBytes: memory.arrayBuffers,
      },
      eventLoopDelayMs: {
        p50: sampled ? delayMs(h.percentile(50)) : null, p99: sampled ? delayMs(h.percentile(99)) : null,
        max: sampled ? delayMs(h.max) : null, mean: sampled ? delayMs(h.mean) : null,
        windowSeconds: Math.round((Date.now() - this.windowStart) / 1000),
      },
      activeResources: { total: resources.length, byType },
      cpuSeconds: { user: cpu.user / 1e6, system: cpu.system / 1e6 },
    };
  }

  stop(): void {
    clearInterval(this.reset);
    this.histogram.disable();
  }
}
