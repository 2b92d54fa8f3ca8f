// Work started and not awaited (a timer's round, a loop kicked off by an
// event) must still have its failure go somewhere: an unhandled rejection
// ends a Node process, and one failed round must not end the hub or agent.
import type { Logger } from './logger.ts';

/** Runs `work` in the background: a rejection is logged as `what` on `log`, never left unhandled. */
export function background(work: Promise<unknown>, log: Pick<Logger, 'error'>, what: string): void {
  work.catch((error: unknown) => { log.error({ err: error }, what); });
}
