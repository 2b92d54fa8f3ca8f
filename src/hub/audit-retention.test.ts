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

/** Polls until `check` holds; the store answers on promises, so this waits for them, never for a timer of the code under test. */
async function until(check: () => Promise<boolean>): Promise<void> {
  const deadline = performance.now() + 30_000;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setImmediate(r));
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

  it('audit retention - prunes again on its interval until stopped', async (t) => {
    t.mock.timers.enable({ apis: ['setInterval'] });
    let now = NOW;
    const stop = startAuditRetention({ store: store(), retentionDays: 1, log, intervalMs: 60_000, now: () => now });
    await store().insertAudit(row(NOW - 3600_000));
    now = NOW + DAY_MS;
    t.mock.timers.tick(60_000);
    await until(async () => (await store().listAudit({})).length === 0);
    stop();
    await store().insertAudit(row(NOW - 3600_000));
    t.mock.timers.tick(10 * 60_000);
    for (let i = 0; i < 20; i += 1) await new Promise((r) => setImmediate(r));
    assert.equal((await store().listAudit({})).length, 1, 'no prune after stop, ten intervals later');
  });

  it('audit retention - refuses a retention that is not positive', () => {
    assert.throws(() => startAuditRetention({ store: store(), retentionDays: 0, log }), /retentionDays must be positive/);
  });
});
