// Parsing Leases from the API server, and the MicroTime format it requires.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { microTime, parseLease } from './lease-api.ts';

const lease = (spec: unknown, metadata: Record<string, unknown> = { resourceVersion: '42' }): unknown => ({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata, spec });

describe('lease api', () => {
  it('lease api - a full Lease parses with its record, labels and annotations', () => {
    const parsed = parseLease(lease(
      { holderIdentity: 'pod-a_1234abcd', leaseDurationSeconds: 15, acquireTime: '2026-12-07T18:00:00.000000Z', renewTime: '2026-12-07T18:00:02.000000Z', leaseTransitions: 3 },
      { resourceVersion: '42', labels: { app: 'uplink' }, annotations: { note: 'x' }, managedFields: [{}] },
    ));
    assert.deepEqual(parsed, {
      resourceVersion: '42',
      record: { holderIdentity: 'pod-a_1234abcd', leaseDurationSeconds: 15, acquireTime: '2026-12-07T18:00:00.000000Z', renewTime: '2026-12-07T18:00:02.000000Z', leaseTransitions: 3 },
      labels: { app: 'uplink' },
      annotations: { note: 'x' },
    });
  });

  it('lease api - missing spec fields read as client-go reads them: nobody holds it, zero duration and transitions', () => {
    assert.deepEqual(parseLease(lease(undefined)).record, { holderIdentity: '', leaseDurationSeconds: 0, acquireTime: undefined, renewTime: undefined, leaseTransitions: 0 });
    assert.deepEqual(parseLease(lease({ holderIdentity: null, leaseTransitions: null })).record.holderIdentity, '');
  });

  it('lease api - a malformed Lease throws naming the field', () => {
    const cases: [unknown, RegExp][] = [
      ['text', /not a JSON object/],
      [{ spec: {} }, /no metadata/],
      [lease({}, {}), /resourceVersion is missing/],
      [lease({ holderIdentity: 7 }), /holderIdentity/],
      [lease({ holderIdentity: 'x'.repeat(1025) }), /holderIdentity/],
      [lease({ leaseDurationSeconds: -1 }), /leaseDurationSeconds/],
      [lease({ leaseDurationSeconds: 1.5 }), /leaseDurationSeconds/],
      [lease({ leaseTransitions: 2 ** 31 }), /leaseTransitions/],
      [lease({ renewTime: 12 }), /renewTime/],
      [lease({ acquireTime: 'x'.repeat(65) }), /acquireTime/],
    ];
    for (const [body, message] of cases) assert.throws(() => parseLease(body), message, JSON.stringify(body).slice(0, 80));
  });

  it('lease api - labels or annotations that are not string maps are dropped, not kept', () => {
    const parsed = parseLease(lease({}, { resourceVersion: '1', labels: { a: 1 }, annotations: ['x'] }));
    assert.equal(parsed.labels, undefined);
    assert.equal(parsed.annotations, undefined);
  });

  it('lease api - times are written with exactly six fractional digits', () => {
    assert.equal(microTime(new Date(Date.UTC(2026, 11, 7, 18, 0, 2, 345))), '2026-12-07T18:00:02.345000Z');
    assert.equal(microTime(new Date(0)), '1970-01-01T00:00:00.000000Z');
  });
});
