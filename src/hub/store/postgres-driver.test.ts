import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isConnectionLoss, STORE_TYPES, toPostgresStoreError } from './postgres-driver.ts';
import { StoreConflictError, StoreError, StoreUnavailableError } from './store.ts';

/** An error as node-postgres gives it for a server's answer. */
const serverError = (code: string, fields: Record<string, string> = {}): Error => Object.assign(new Error(`server said ${code}`), { code, ...fields });
const WHERE = 'postgres://hub:s3cret@db/uplink';
const conflict = { primaryKey: 'the id is taken', unique: 'the name is taken' };

describe('postgres driver contact', () => {
  it('postgres driver - a unique violation is a conflict about the key it names', () => {
    const byId = toPostgresStoreError('create', serverError('23505', { constraint: 'clusters_pkey' }), conflict, WHERE);
    assert.ok(byId instanceof StoreConflictError);
    assert.equal(byId.message, 'the id is taken');
    assert.equal(toPostgresStoreError('create', serverError('23505', { constraint: 'clusters_name_unique' }), conflict, WHERE).message, 'the name is taken');
    assert.ok(toPostgresStoreError('create', serverError('23505'), undefined, WHERE) instanceof StoreError);
  });

  it('postgres driver - a full disk, a lost or refused connection and a shutdown are typed errors; the URL shows no password', () => {
    const full = toPostgresStoreError('put add-on', serverError('53100'), undefined, WHERE);
    assert.ok(full instanceof StoreUnavailableError);
    assert.equal(full.code, 'STORE_FULL');
    const unavailable = [
      serverError('ECONNREFUSED'), serverError('57P01'), serverError('08006'), serverError('28P01'), serverError('57014'), serverError('25006'),
      new Error('Connection terminated unexpectedly'), new Error('timeout exceeded when trying to connect'), new Error('Query read timeout'),
    ];
    for (const error of unavailable) {
      const mapped = toPostgresStoreError('ping', error, undefined, WHERE);
      assert.equal(mapped.code, 'STORE_UNAVAILABLE', error.message);
      assert.match(mapped.message, /postgres:\/\/hub:\*\*\*@db\/uplink/);
      assert.doesNotMatch(mapped.message, /s3cret/);
    }
    const other = toPostgresStoreError('list', serverError('42P01'), undefined, WHERE);
    assert.equal(other.code, 'STORE_FAILED');
    assert.match(other.message, /postgres store: list failed/);
  });

  it('postgres driver - only a lost connection counts as one, not a failed statement', () => {
    assert.equal(isConnectionLoss(serverError('ECONNRESET')), true);
    assert.equal(isConnectionLoss(serverError('57P01')), true);
    assert.equal(isConnectionLoss(serverError('23505')), false);
    assert.equal(isConnectionLoss(serverError('53100')), false);
  });

  it('postgres driver - timestamps read as ISO 8601, JSON as its text, 64-bit integers as numbers', () => {
    const parse = (oid: number, text: string): unknown => (STORE_TYPES.getTypeParser as (oid: number, format?: string) => (t: string) => unknown)(oid, 'text')(text);
    assert.equal(parse(1184, '2026-01-02 03:04:05.123+00'), '2026-01-02T03:04:05.123Z');
    assert.equal(parse(1184, '2026-01-02 04:04:05+01'), '2026-01-02T03:04:05.000Z');
    assert.equal(parse(114, '{"b": 1,"a":2}'), '{"b": 1,"a":2}');
    assert.equal(parse(20, '12345678901'), 12345678901);
    assert.equal(parse(23, '7'), 7);
  });
});
