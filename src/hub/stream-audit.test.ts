import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AUDIT_FIELD_LIMITS } from './audit-sink.ts';
import type { AuditEnd, AuditRecord, Store } from './store/index.ts';
import { useMemoryStore } from './store/memory-store.test-helper.ts';
import { END_RETRY_DELAYS_MS, StreamAudit } from './stream-audit.ts';

function watchRow(overrides: Partial<AuditRecord> = {}): AuditRecord {
  return {
    at: '2026-03-10T12:00:00.000Z', userId: 'u1', userName: 'alice', clusterId: 'c1', clusterName: 'prod',
    verb: 'watch', resource: 'configmaps', subresource: null, namespace: 'web', name: null, path: '/api/v1/namespaces/web/configmaps',
    status: 0, bytesIn: 0, bytesOut: 0, durationMs: 0, command: null, ...overrides,
  };
}

const END: AuditEnd = { status: 200, bytesIn: 0, bytesOut: 4096, durationMs: 61_000 };

/** Lets promise callbacks run; never waits for a timer of the code under test. */
async function settleMicrotasks(): Promise<void> {
  for (let i = 0; i < 10; i += 1) await new Promise((resolve) => setImmediate(resolve));
}

/** A store whose endAudit fails `failures` times, then records the ends. */
function flakyStore(failures: number): { store: Pick<Store, 'openAudit' | 'endAudit'>; ends: [number, AuditEnd][]; tries: () => number } {
  let tries = 0;
  const ends: [number, AuditEnd][] = [];
  return {
    ends,
    tries: () => tries,
    store: {
      openAudit: () => Promise.resolve(7),
      endAudit: (id, end) => {
        tries += 1;
        if (tries <= failures) return Promise.reject(new Error(`database away (${tries})`));
        ends.push([id, end]);
        return Promise.resolve();
      },
    },
  };
}

describe('stream audit', () => {
  const store = useMemoryStore();

  it('stream audit - the row is stored in progress when the stream opens, bounded, naming the replica; its end completes it once', async () => {
    const audit = new StreamAudit({ store: store(), replica: 'hub-a', onEndLost: (error) => { throw error; } });
    const row = await audit.open(watchRow({ path: `/api/v1/${'x'.repeat(2000)}` }));
    const [open] = await store().listAudit({});
    assert.equal(open?.state, 'in_progress');
    assert.equal(open.replica, 'hub-a');
    assert.equal(open.path.length, AUDIT_FIELD_LIMITS.path, 'fields bounded as every audit row');
    row.end(END);
    row.end({ ...END, status: 500 });
    await audit.settle(1_000);
    const rows = await store().listAudit({});
    assert.equal(rows.length, 1);
    assert.deepEqual([rows[0]?.state, rows[0]?.status, rows[0]?.bytesOut, rows[0]?.durationMs], ['complete', 200, 4096, 61_000]);
  });

  it('stream audit - open rejects with the store\'s error, so the stream is not started', async () => {
    const failing: Pick<Store, 'openAudit' | 'endAudit'> = {
      openAudit: () => Promise.reject(new Error('disk full')),
      endAudit: () => Promise.resolve(),
    };
    const audit = new StreamAudit({ store: failing, replica: null, onEndLost: () => undefined });
    await assert.rejects(audit.open(watchRow()), /disk full/);
  });

  it('stream audit - a completion the store refused is tried again after each delay, then given up', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const flaky = flakyStore(Number.POSITIVE_INFINITY);
    const lost: unknown[] = [];
    const audit = new StreamAudit({ store: flaky.store, replica: null, onEndLost: (error) => { lost.push(error); } });
    (await audit.open(watchRow())).end(END);
    await settleMicrotasks();
    assert.equal(flaky.tries(), 1);
    for (const [index, delay] of END_RETRY_DELAYS_MS.entries()) {
      t.mock.timers.tick(delay - 1);
      await settleMicrotasks();
      assert.equal(flaky.tries(), index + 1, 'not before its delay');
      t.mock.timers.tick(1);
      await settleMicrotasks();
      assert.equal(flaky.tries(), index + 2);
    }
    assert.equal(lost.length, 1, 'given up once, after the last delay');
    assert.match(String(lost[0]), /database away/);
  });

  it('stream audit - a retry that succeeds completes the row with the end it was given', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const flaky = flakyStore(1);
    const audit = new StreamAudit({ store: flaky.store, replica: null, onEndLost: (error) => { throw error; } });
    (await audit.open(watchRow())).end(END);
    await settleMicrotasks();
    t.mock.timers.tick(END_RETRY_DELAYS_MS[0] ?? 0);
    await settleMicrotasks();
    assert.deepEqual(flaky.ends, [[7, END]]);
  });

  it('stream audit - settle tries the waiting completions at once, for a hub stopping', async () => {
    const flaky = flakyStore(1);
    const audit = new StreamAudit({ store: flaky.store, replica: null, onEndLost: (error) => { throw error; } });
    (await audit.open(watchRow())).end(END);
    await settleMicrotasks();
    assert.deepEqual(flaky.ends, []);
    await audit.settle(1_000);
    assert.deepEqual(flaky.ends, [[7, END]]);
    audit.close();
  });
});
