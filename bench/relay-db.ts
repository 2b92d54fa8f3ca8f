// Database round trips per kubectl GET on each hub path, from PostgreSQL's
// own transaction counter (every statement the hub sends outside a
// transaction is one): read before and after a run of GETs, less what the
// replicas do meanwhile on their own (claim renewals, heartbeats), taken
// from an idle window of the same length. A backend reports its counts when
// it goes idle, at the latest PGSTAT_IDLE_INTERVAL (10 s) later, so each
// window ends with a wait that long.
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { get, type KubePath } from './relay-setup.ts';

/** How long after a window its counts are read: past PostgreSQL's 10 s idle flush. */
const SETTLE_MS = 11_000;

async function transactions(client: pg.Client): Promise<number> {
  await client.query('SELECT pg_stat_clear_snapshot()');
  const { rows } = await client.query<{ total: string }>('SELECT xact_commit + xact_rollback AS total FROM pg_stat_database WHERE datname = current_database()');
  return Number(rows[0]?.total ?? 0);
}

/** Transactions per GET of `apiPath` on each path (`requests` GETs each), the background taken out. */
export async function roundTripsPerGet(options: { databaseUrl: string; paths: readonly KubePath[]; apiPath: string; requests: number }): Promise<number[]> {
  const client = new pg.Client({ connectionString: options.databaseUrl });
  await client.connect();
  try {
    const window = async (work: () => Promise<void>): Promise<{ count: number; ms: number }> => {
      const before = await transactions(client);
      const started = performance.now();
      await work();
      await sleep(SETTLE_MS);
      // Our own two statements per reading are in the count too.
      return { count: (await transactions(client)) - before - 2, ms: performance.now() - started };
    };
    const idle = await window(() => Promise.resolve());
    const perMs = idle.count / idle.ms;
    const figures: number[] = [];
    for (const path of options.paths) {
      const busy = await window(async () => {
        for (let i = 0; i < options.requests; i++) await get(path, options.apiPath);
      });
      figures.push((busy.count - perMs * busy.ms) / options.requests);
    }
    return figures;
  } finally {
    await client.end();
  }
}
