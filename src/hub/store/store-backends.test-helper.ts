// For the store's contract tests: the same tests run on every store. Each
// backend gives a fresh, migrated, empty store per test: SQLite in memory or
// in a file, PostgreSQL on a real server (one per test file, one database,
// emptied between tests).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach } from 'node:test';
import { startPostgres, type RunningPostgres } from '../../../test/helpers/postgres.ts';
import { createLogger } from '../../util/logger.ts';
import { openPostgresStore, type PostgresStore } from './postgres.ts';
import { openSqliteStore } from './sqlite.ts';
import type { Store } from './store.ts';

export type StoreBackend = 'sqlite-memory' | 'sqlite-file' | 'postgres';

/** The backends a contract test runs on by default. */
export const STORE_BACKENDS: readonly StoreBackend[] = ['sqlite-memory', 'postgres'];

export const silentLog = createLogger({ name: 'store-test', level: 'silent' });

/**
 * Empties every table before each PostgreSQL test, audit ids starting at 1
 * again as in a fresh database. DELETE rather than TRUNCATE: on tables this
 * small it is one quick commit, where TRUNCATE makes and syncs new files.
 */
const RESET = ['exposures', 'exposure_generations', 'addon_status', 'addons', 'audit_log', 'grants', 'api_tokens', 'users', 'clusters']
  .map((table) => `DELETE FROM ${table};`).join(' ') + ' ALTER SEQUENCE audit_log_id_seq RESTART;';

/**
 * A running PostgreSQL for the calling suite (started in `before`, destroyed
 * in `after`) with one database; `url()` inside a test or hook.
 */
export function usePostgresServer(): { server: () => RunningPostgres; url: () => string } {
  let server: RunningPostgres | undefined;
  let url: string | undefined;
  before(async () => {
    server = await startPostgres();
    url = await server.createDatabase('store');
    const store = openPostgresStore({ url, log: silentLog });
    await store.migrate();
    await store.close();
  });
  after(async () => { await server?.destroy(); });
  return {
    server: () => server ?? fail('no server'),
    url: () => url ?? fail('no database'),
  };
}

/** Registers hooks in the calling suite; call the result inside a test for that test's store. */
export function useStore(backend: StoreBackend): () => Store {
  let store: Store | undefined;
  let open: () => Promise<Store>;
  if (backend === 'postgres') {
    const postgres = usePostgresServer();
    open = async () => {
      // Migrated once, in before.
      const opened: PostgresStore = openPostgresStore({ url: postgres.url(), log: silentLog });
      await opened.pool.query(RESET);
      return opened;
    };
  } else {
    let dir: string | undefined;
    let count = 0;
    before(() => { dir = mkdtempSync(join(tmpdir(), 'uplink-store-')); });
    after(() => { if (dir !== undefined) rmSync(dir, { recursive: true, force: true }); });
    open = async () => {
      const opened = openSqliteStore({ path: backend === 'sqlite-memory' ? ':memory:' : join(dir ?? fail('no dir'), `store-${++count}.db`) });
      await opened.migrate();
      return opened;
    };
  }
  beforeEach(async () => { store = await open(); });
  afterEach(async () => {
    await store?.close();
    store = undefined;
  });
  return () => store ?? fail('useStore: only inside a test');
}

function fail(message: string): never {
  throw new Error(message);
}
