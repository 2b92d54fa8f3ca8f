// For tests: a migrated in-memory store per test, closed after it.
import { afterEach, beforeEach } from 'node:test';
import { openSqliteStore } from './sqlite.ts';
import type { Store } from './store.ts';

/** Registers beforeEach/afterEach hooks in the calling suite; call the result inside a test. */
export function useMemoryStore(): () => Store {
  let store: Store | undefined;
  beforeEach(async () => {
    store = openSqliteStore({ path: ':memory:' });
    await store.migrate();
  });
  afterEach(async () => {
    await store?.close();
    store = undefined;
  });
  return () => {
    if (!store) throw new Error('useMemoryStore: only inside a test');
    return store;
  };
}
