import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLogger } from '../util/logger.ts';
import { startAuditSweeps } from './audit-sweep.ts';
import type { AuditRecord, AuditSweep, Store } from './store/index.ts';
import { useMemoryStore } from './store/memory-store.test-helper.ts';

const log = createLogger({ name: 'test', level: 'silent' });

function streamRow(replica: string | null): AuditRecord {
  return {
    at: '2026-03-10T12:00:00.000Z', userId: 'u1', userName: 'alice', clusterId: 'c1', clusterName: 'prod',
    verb: 'watch', resource: 'pods', subresource: null, namespace: null, name: null, path: '/api/v1/pods',
    status: 0, bytesIn: 0, bytesOut: 0, durationMs: 0, command: null, replica,
  };
}

async function settleMicrotasks(): Promise<void> {
  for (let i = 0; i < 10; i += 1) await new Promise((resolve) => setImmediate(resolve));
}

describe('audit sweeps', () => {
  const store = useMemoryStore();

  it('audit sweep - a hub alone marks every row left in progress when it starts, and sweeps no more', async (t) => {
    t.mock.timers.enable({ apis: ['setInterval'] });
    await store().openAudit(streamRow(null));
    await store().openAudit(streamRow('old-host-name'));
    await store().insertAudit(streamRow(null));
    const counted: number[] = [];
    const stop = await startAuditSweeps({ store: store(), log, onInterrupted: (count) => { counted.push(count); } });
    assert.deepEqual((await store().listAudit({})).map((r) => r.state), ['complete', 'interrupted', 'interrupted']);
    assert.deepEqual(counted, [2]);
    await store().openAudit(streamRow(null));
    t.mock.timers.tick(60 * 60_000);
    await settleMicrotasks();
    assert.equal((await store().listAudit({}))[0]?.state, 'in_progress', 'a stream opened after the start is left alone');
    stop();
  });

  it('audit sweep - a replica marks its own leftovers at start, then sweeps unclaimed rows on the turns it takes', async (t) => {
    t.mock.timers.enable({ apis: ['setInterval'] });
    const sweeps: AuditSweep[] = [];
    const recording: Pick<Store, 'interruptAudit'> = {
      interruptAudit: (sweep) => {
        sweeps.push(sweep);
        return Promise.resolve(sweep.kind === 'unclaimed' ? 3 : 0);
      },
    };
    const turns = [false, true];
    const counted: number[] = [];
    const stop = await startAuditSweeps({
      store: recording, log, onInterrupted: (count) => { counted.push(count); },
      shared: { replicaId: 'hub-b', takeTurn: () => Promise.resolve(turns.shift() ?? false) },
    });
    assert.deepEqual(sweeps, [{ kind: 'replica', replicaId: 'hub-b' }]);
    assert.deepEqual(counted, [], 'nothing of its own was left open');
    t.mock.timers.tick(10_000);
    await settleMicrotasks();
    assert.equal(sweeps.length, 1, 'another replica had the turn');
    t.mock.timers.tick(10_000);
    await settleMicrotasks();
    assert.deepEqual(sweeps.slice(1), [{ kind: 'unclaimed' }]);
    assert.deepEqual(counted, [3]);
    stop();
    t.mock.timers.tick(60_000);
    await settleMicrotasks();
    assert.equal(sweeps.length, 2, 'no sweep after stop');
  });
});
