import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ANONYMOUS_BURST, ANONYMOUS_REFILL_MS, ANONYMOUS_SUMMARY_MS, AUDIT_FIELD_LIMITS, AuditSink, UNAUTHENTICATED_USER, boundAuditRecord, truncateField,
} from './audit-sink.ts';
import type { AuditRecord } from './store/index.ts';

function row(overrides: Partial<AuditRecord> = {}): AuditRecord {
  return {
    at: '2026-01-01T00:00:00.000Z', userId: 'u1', userName: 'alice', clusterId: 'c1', clusterName: 'prod', verb: 'get', resource: 'pods',
    subresource: null, namespace: 'default', name: 'web', path: '/api/v1/namespaces/default/pods/web', status: 200, bytesIn: 0, bytesOut: 10,
    durationMs: 1, command: null, ...overrides,
  };
}

const anonymous = (path: string): AuditRecord => row({ userId: '', userName: UNAUTHENTICATED_USER, clusterId: '', status: 401, path });

describe('audit sink', () => {
  it('audit sink - a field over its limit keeps its head and says how much was cut, within the limit', () => {
    assert.equal(truncateField('short', 10), 'short');
    const cut = truncateField('a'.repeat(7000), 512);
    assert.equal(cut.length, 512);
    assert.match(cut, /^a+…\[\+\d+ chars\]$/);
    assert.equal(Number(/\+(\d+)/.exec(cut)?.[1]) + cut.indexOf('…'), 7000, 'the marker counts exactly what was cut');
  });

  it('audit sink - every text field of a row is bounded, numbers and nulls untouched', () => {
    const long = 'x'.repeat(10_000);
    const bounded = boundAuditRecord(row({ path: long, command: long, name: long, namespace: long, resource: long, verb: long, userName: long, clusterName: long }));
    for (const [field, limit] of Object.entries(AUDIT_FIELD_LIMITS)) {
      const value = bounded[field as keyof AuditRecord];
      if (typeof value === 'string') assert.ok(value.length <= limit, `${field} is ${value.length} long`);
    }
    assert.equal(bounded.subresource, null);
    assert.equal(bounded.bytesOut, 10);
  });

  it('audit sink - unauthenticated refusals beyond the burst are counted and summarised, not stored one by one', (t) => {
    t.mock.timers.enable({ apis: ['Date', 'setInterval'], now: Date.parse('2026-01-01T00:00:00Z') });
    const written: AuditRecord[] = [];
    let suppressed = 0;
    const sink = new AuditSink({ write: (r) => { written.push(r); }, onSuppressed: () => { suppressed += 1; } });
    for (let i = 0; i < 2000; i += 1) sink.record(anonymous(`/${'p'.repeat(7000)}${i}`));
    assert.equal(written.length, ANONYMOUS_BURST);
    assert.equal(suppressed, 2000 - ANONYMOUS_BURST);
    assert.ok(written.every((r) => r.path.length <= AUDIT_FIELD_LIMITS.path));
    // Authenticated users' rows are never held back.
    sink.record(row());
    assert.equal(written.length, ANONYMOUS_BURST + 1);
    t.mock.timers.tick(ANONYMOUS_SUMMARY_MS);
    const summary = written.at(-1);
    assert.equal(summary?.verb, 'summary');
    assert.equal(summary.userName, UNAUTHENTICATED_USER);
    assert.equal(summary.name, `${2000 - ANONYMOUS_BURST} not stored one by one`);
    // One refill per interval: one more row of its own, then counting again.
    t.mock.timers.tick(ANONYMOUS_REFILL_MS - ANONYMOUS_SUMMARY_MS + 1);
    const before = written.length;
    sink.record(anonymous('/a'));
    sink.record(anonymous('/b'));
    assert.equal(written.length, before + 1);
    sink.close();
    assert.equal(written.at(-1)?.name, '1 not stored one by one', 'closing writes what is pending');
  });

  it('audit sink - refusals held back get one summary row per status, 401 and 431 apart', (t) => {
    t.mock.timers.enable({ apis: ['Date', 'setInterval'], now: Date.parse('2026-01-01T00:00:00Z') });
    const written: AuditRecord[] = [];
    const sink = new AuditSink({ write: (r) => { written.push(r); }, onSuppressed: () => undefined });
    for (let i = 0; i < ANONYMOUS_BURST; i += 1) sink.record(anonymous('/burst'));
    for (let i = 0; i < 5; i += 1) sink.record(anonymous('/x'));
    for (let i = 0; i < 7; i += 1) sink.record({ ...anonymous('(not readable)'), status: 431 });
    written.length = 0;
    t.mock.timers.tick(ANONYMOUS_SUMMARY_MS);
    assert.deepEqual(written.map((r) => [r.verb, r.status, r.name]), [['summary', 401, '5 not stored one by one'], ['summary', 431, '7 not stored one by one']]);
    assert.match(written[1]?.path ?? '', /^7 unauthenticated requests refused with 431 between /);
    t.mock.timers.tick(ANONYMOUS_SUMMARY_MS);
    assert.equal(written.length, 2, 'nothing new, no new summary');
    sink.close();
  });

  it('audit sink - no summary row when nothing was held back', (t) => {
    t.mock.timers.enable({ apis: ['Date', 'setInterval'] });
    const written: AuditRecord[] = [];
    const sink = new AuditSink({ write: (r) => { written.push(r); }, onSuppressed: () => undefined });
    sink.record(anonymous('/x'));
    t.mock.timers.tick(ANONYMOUS_SUMMARY_MS * 3);
    sink.close();
    assert.equal(written.length, 1);
  });
});
