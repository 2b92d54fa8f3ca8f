import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { openSqliteStore, StoreConflictError, StoreError, StoreUnavailableError } from './index.ts';
import { toStoreError } from './sqlite-driver.ts';

const dir = mkdtempSync(join(tmpdir(), 'uplink-store-driver-'));
after(() => { rmSync(dir, { recursive: true, force: true }); });

/** An error as node:sqlite throws it. */
const driverError = (errcode: number, message: string): Error => Object.assign(new Error(message), { code: 'ERR_SQLITE_ERROR', errcode });

describe('sqlite driver contact', () => {
  it('sqlite driver - the database and its journal files are 0600 in a 0755 directory, an existing loose one narrowed', async () => {
    chmodSync(dir, 0o755);
    const fresh = join(dir, 'fresh.db');
    const store = openSqliteStore({ path: fresh });
    await store.migrate();
    await store.createUser({ id: 'u1', name: 'alice', createdAt: '2026-01-01T00:00:00.000Z' });
    for (const file of [fresh, `${fresh}-wal`, `${fresh}-shm`]) assert.equal(statSync(file).mode & 0o777, 0o600, file);
    await store.close();
    const loose = join(dir, 'loose.db');
    writeFileSync(loose, '', { mode: 0o644 });
    chmodSync(loose, 0o644);
    const reopened = openSqliteStore({ path: loose });
    assert.equal(statSync(loose).mode & 0o777, 0o600);
    await reopened.close();
  });

  it('sqlite driver - a full disk and an unwritable file are typed errors that say the write was not stored', () => {
    const full = toStoreError('create cluster "a"', driverError(13, 'database or disk is full'), undefined);
    assert.ok(full instanceof StoreUnavailableError);
    assert.equal(full.code, 'STORE_FULL');
    assert.match(full.message, /full.*create cluster "a" was not stored/);
    for (const errcode of [8, 10, 10 | (13 << 8), 14]) {
      const error = toStoreError('put add-on', driverError(errcode, 'disk I/O error'), undefined);
      assert.equal(error.code, 'STORE_UNAVAILABLE', `errcode ${errcode}`);
    }
    assert.ok(toStoreError('x', driverError(2067, 'UNIQUE'), { primaryKey: 'pk', unique: 'taken' }) instanceof StoreConflictError);
    assert.ok(toStoreError('x', driverError(1, 'syntax'), undefined) instanceof StoreError);
  });
});
