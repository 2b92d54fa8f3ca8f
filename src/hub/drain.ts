// Stopping a hub replica without dropping work another replica could take:
// first it says it is not ready (load balancers stop sending), then it stops
// taking connections, hands its agents' links over (they link again through
// the others), and gives requests in flight until the grace period ends.
import type { Server } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../util/logger.ts';

/** How long /readyz fails before the replica stops taking requests: a load balancer checking every second has seen it by then. */
export const DRAIN_NOTICE_MS = 2_000;
/** Of the grace period, at most this goes to requests in flight on the links before they are handed over. */
const LINK_GRACE_MAX_MS = 5_000;

export interface DrainOptions {
  /** The servers taking requests (the public one and the peer one). */
  servers: Server[];
  fleet: { handOver(graceMs: number, sleep: (ms: number) => Promise<void>): Promise<void> };
  /** Marks the replica as draining (/readyz answers 503 from now on). */
  onDraining: () => void;
  /** The grace period, from the signal to the last connection closed. */
  graceMs: number;
  log: Pick<Logger, 'info' | 'warn'>;
  noticeMs?: number;
}

/** Drains the replica; resolves when nothing is left open or the grace period is over (what is left is closed then). */
export async function drainHub(options: DrainOptions): Promise<void> {
  const started = Date.now();
  const { servers, log, graceMs } = options;
  options.onDraining();
  const noticeMs = Math.min(options.noticeMs ?? DRAIN_NOTICE_MS, graceMs / 2);
  log.info({ noticeMs, graceMs }, 'draining: not ready any more; handing links over next');
  await sleep(noticeMs);
  const closed = servers.map((server) => new Promise<void>((resolve) => {
    if (!server.listening) resolve();
    else server.close(() => { resolve(); });
  }));
  await options.fleet.handOver(Math.min(LINK_GRACE_MAX_MS, Math.max(0, graceMs - noticeMs)), (ms) => sleep(ms));
  const left = Math.max(0, graceMs - (Date.now() - started));
  const finished = await Promise.race([Promise.all(closed).then(() => true), sleep(left).then(() => false)]);
  if (!finished) log.warn({ graceMs }, 'draining: the grace period is over; closing the connections still open');
  else log.info({ ms: Date.now() - started }, 'drained');
}
