import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLogger, type Logger } from '../util/logger.ts';
import { startAuditRetention } from './audit-retention.ts';
import { type AuditRecord } from './store/index.ts';
import { useMemoryStore } from './store/memory-store.test-helper.ts';

const NOW = Date.parse('2026-03-10T12:00:00.000Z');
const DAY_MS = 86_400_000;
const log = createLogger({ name: 'test', level: 'silent' });

function row(at: number): AuditRecord {
  return {
    at: new Date(at).toISOString(), userId: 'u1', userName: 'alice', clusterId: 'c1', clusterName: 'prod',
    verb: 'get', resource: 'pods', subresource: null, namespace: null, name: null, path: '/api/v1/pods',
    status: 200, bytesIn: 0, bytesOut: 10, durationMs: 1, command: null,
  };
}

async function until(check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 2000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('audit retention', () => {
  const store = useMemoryStore();

  it('audit retention - prunes rows older than the retention at start, keeps newer ones', async () => {
    for (const age of [40, 31, 29, 1]) await store().insertAudit(row(NOW - age * DAY_MS));
    const logged: unknown[] = [];
    const capture = { info: (fields: unknown) => logged.push(fields), debug: () => undefined, error: () => undefined };
    const stop = startAuditRetention({ store: store(), retentionDays: 30, log: capture as unknown as Logger, now: () => NOW });
    await until(async () => (await store().listAudit({})).length === 2);
    stop();
    assert.deepEqual(logged, [{ removed: 2, olderThan: '2026-02-08T12:00:00.000Z', retentionDays: 30 }]);
    assert.deepEqual((await store().listAudit({})).map((r) => r.at), [row(NOW - DAY_MS).at, row(NOW - 29 * DAY_MS).at]);
  });

  it('audit retention - prunes again on its interval until stopped', async () => {
    let now = NOW;
    const stop = startAuditRetention({ store: store(), retentionDays: 1, log, intervalMs: 10, now: () => now });
    await store().insertAudit(row(NOW - 3600_000));
    now = NOW + DAY_MS;
    await until(async () => (await store().listAudit({})).length === 0);
    stop();
    await store().insertAudit(row(NOW - 3600_000));
    await new Promise((r) => setTimeout(r, 50));
    assert.equal((await store().listAudit({})).length, 1, 'no prune after stop');
  });

  it('audit retention - refuses a retention that is not positive', () => {
    assert.throws(() => startAuditRetention({ store: store(), retentionDays: 0, log }), /retentionDays must be positive/);
  });
});
