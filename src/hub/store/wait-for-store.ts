// A replica that starts while its database is unreachable (a PostgreSQL
// failover, a rolling restart of both, a network blip as a node boots) waits
// for it instead of exiting at once: Kubernetes would restart it anyway, but
// with a growing CrashLoopBackOff delay and a crash in the pod's history
// each time. The wait is bounded; past it the hub exits and the platform
// decides. Only a database that cannot be used is waited for (down,
// unreachable, refusing the credentials: a rotated password file is read
// again at each attempt); a schema from a newer hub or a full disk is an
// answer, and exits at once.
import type { Logger } from '../../util/logger.ts';
import type { Store } from './store.ts';

/** First pause between attempts; doubled up to MAX_PAUSE_MS. */
const FIRST_PAUSE_MS = 1000;
const MAX_PAUSE_MS = 15_000;
/** How long a starting hub waits for its database in all. */
export const STORE_START_WAIT_MS = 300_000;

export interface WaitForStoreOptions {
  log: Logger;
  /** Default STORE_START_WAIT_MS. */
  maxWaitMs?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

/** Runs `store.migrate()` until it succeeds, retrying while the database is unreachable, for at most maxWaitMs. */
export async function migrateWhenReachable(store: Pick<Store, 'migrate'>, options: WaitForStoreOptions): Promise<void> {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => { setTimeout(resolve, ms); }));
  const deadline = now() + (options.maxWaitMs ?? STORE_START_WAIT_MS);
  let pause = FIRST_PAUSE_MS;
  for (let attempt = 1; ; attempt++) {
    try {
      await store.migrate();
      if (attempt > 1) options.log.info({ attempts: attempt }, 'the database is reachable; starting');
      return;
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (code !== 'STORE_UNAVAILABLE' || now() + pause > deadline) throw error;
      options.log.warn({ err: error, attempt, retryInSeconds: pause / 1000 }, 'the database is unreachable; waiting for it before starting');
      await sleep(pause);
      pause = Math.min(pause * 2, MAX_PAUSE_MS);
    }
  }
}
