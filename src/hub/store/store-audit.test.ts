import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AUDIT_DEFAULT_LIMIT, AUDIT_MAX_LIMIT, postgresOf, type AuditRecord, type Store } from './index.ts';
import { STORE_BACKENDS, useStore } from './store-backends.test-helper.ts';

function auditRow(overrides: Partial<AuditRecord> = {}): AuditRecord {
  return {
    at: '2026-01-02T03:00:00.000Z',
    userId: 'u-alice',
    userName: 'alice',
    clusterId: 'c-prod',
    clusterName: 'prod',
    verb: 'list',
    resource: 'pods',
    subresource: null,
    namespace: 'default',
    name: null,
    path: '/api/v1/namespaces/default/pods',
    status: 200,
    bytesIn: 0,
    bytesOut: 5120,
    durationMs: 12.5,
    command: null,
    ...overrides,
  };
}

/** ISO time `minutes` after 03:00 on 2026-01-02. */
function minute(minutes: number): string {
  return new Date(Date.parse('2026-01-02T03:00:00.000Z') + minutes * 60_000).toISOString();
}

for (const backend of STORE_BACKENDS) {
  describe(`store audit log on ${backend}`, () => {
    const store = useStore(backend);

    it('store - round-trips every audit field, nulls included', async () => {
      const full = auditRow({
        subresource: 'log', name: 'web-1', command: 'kubectl logs web-1', verb: 'get', status: 101, bytesIn: 7, durationMs: 0.25,
      });
      await store().insertAudit(full);
      await store().insertAudit(auditRow({ namespace: null }));
      const rows = await store().listAudit({});
      assert.equal(rows.length, 2);
      const [second, first] = rows;
      assert.deepEqual(first, { id: 1, ...full, replica: null, state: 'complete', exitCode: null, exitReason: null });
      assert.equal(second?.namespace, null);
      assert.equal(second.id, 2);
    });

    it('store - ignores keys an audit record carries beyond its fields', async () => {
      await store().insertAudit({ ...auditRow(), id: 99, extra: 'x' } as AuditRecord);
      assert.equal((await store().listAudit({}))[0]?.id, 1);
    });

    it('store - lists newest first, ties by insertion order', async () => {
      await store().insertAudit(auditRow({ at: minute(1), name: 'a' }));
      await store().insertAudit(auditRow({ at: minute(3), name: 'b' }));
      await store().insertAudit(auditRow({ at: minute(2), name: 'c' }));
      await store().insertAudit(auditRow({ at: minute(3), name: 'd' }));
      assert.deepEqual((await store().listAudit({})).map((r) => r.name), ['d', 'b', 'c', 'a']);
    });

    it('store - filters by cluster, user and time window, combined', async () => {
      await store().insertAudit(auditRow({ at: minute(0), name: 'early' }));
      await store().insertAudit(auditRow({ at: minute(10), name: 'alice-prod' }));
      await store().insertAudit(auditRow({ at: minute(10), name: 'bob-prod', userName: 'bob', userId: 'u-bob' }));
      await store().insertAudit(auditRow({ at: minute(10), name: 'alice-dev', clusterId: 'c-dev', clusterName: 'dev' }));
      await store().insertAudit(auditRow({ at: minute(20), name: 'late' }));
      const names = async (query: Parameters<Store['listAudit']>[0]): Promise<(string | null)[]> =>
        (await store().listAudit(query)).map((r) => r.name);
      assert.deepEqual(await names({ clusterId: 'c-dev' }), ['alice-dev']);
      assert.deepEqual(await names({ userName: 'bob' }), ['bob-prod']);
      // since is inclusive, until exclusive.
      assert.deepEqual(await names({ since: minute(10), until: minute(20) }), ['alice-dev', 'bob-prod', 'alice-prod']);
      assert.deepEqual(await names({ clusterId: 'c-prod', userName: 'alice', since: minute(5) }), ['late', 'alice-prod']);
      assert.deepEqual(await names({ userName: 'nobody' }), []);
    });

    it('store - limits rows: default, requested, and capped at the maximum', async () => {
      for (let i = 0; i < AUDIT_MAX_LIMIT + 5; i++) await store().insertAudit(auditRow({ at: minute(i) }));
      assert.equal((await store().listAudit({})).length, AUDIT_DEFAULT_LIMIT);
      const three = await store().listAudit({ limit: 3 });
      assert.deepEqual(three.map((r) => r.at), [minute(AUDIT_MAX_LIMIT + 4), minute(AUDIT_MAX_LIMIT + 3), minute(AUDIT_MAX_LIMIT + 2)]);
      assert.equal((await store().listAudit({ limit: 5000 })).length, AUDIT_MAX_LIMIT);
      assert.equal((await store().listAudit({ limit: 0 })).length, 1);
    });

    it('store - prunes rows older than a time and says how many', async () => {
      for (const at of [minute(0), minute(1), minute(2), minute(3)]) await store().insertAudit(auditRow({ at }));
      assert.equal(await store().pruneAudit(minute(2)), 2);
      assert.deepEqual((await store().listAudit({})).map((r) => r.at), [minute(3), minute(2)]);
      assert.equal(await store().pruneAudit(minute(2)), 0);
    });

    it('store - a stream\'s row: open in progress, then completed in place with its figures', async () => {
      const opened = await store().openAudit(auditRow({ verb: 'watch', status: 0, bytesOut: 0, durationMs: 0, replica: 'hub-a' }));
      await store().insertAudit(auditRow({ name: 'unary', at: minute(1) }));
      const [, open] = await store().listAudit({});
      assert.deepEqual(open, { ...auditRow({ verb: 'watch', status: 0, bytesOut: 0, durationMs: 0 }), id: opened, replica: 'hub-a', state: 'in_progress', exitCode: null, exitReason: null });
      await store().endAudit(opened, { status: 200, bytesIn: 3, bytesOut: 4096, durationMs: 61_000.5 });
      const rows = await store().listAudit({});
      assert.equal(rows.length, 2, 'completed in place, not a second row');
      assert.deepEqual(rows[1], {
        ...auditRow({ verb: 'watch', status: 200, bytesIn: 3, bytesOut: 4096, durationMs: 61_000.5 }), id: opened, replica: 'hub-a', state: 'complete', exitCode: null, exitReason: null,
      });
      assert.equal(rows[0]?.state, 'complete', 'a unary row is complete from the start');
      await store().endAudit(9999, { status: 200, bytesIn: 0, bytesOut: 0, durationMs: 1 });
      assert.equal((await store().listAudit({})).length, 2, 'an unknown id changes nothing');
    });

    it('store - an exec\'s row is completed with its exit code, or the reason it has none', async () => {
      const exited = await store().openAudit(auditRow({ verb: 'create', subresource: 'exec', status: 0 }));
      const failed = await store().openAudit(auditRow({ verb: 'create', subresource: 'exec', status: 0 }));
      await store().endAudit(exited, { status: 101, bytesIn: 1, bytesOut: 2, durationMs: 3, exitCode: 3, exitReason: null });
      await store().endAudit(failed, { status: 101, bytesIn: 1, bytesOut: 2, durationMs: 3, exitCode: null, exitReason: 'InternalError: boom\0' });
      const byId = new Map((await store().listAudit({})).map((r) => [r.id, r]));
      assert.deepEqual([byId.get(exited)?.exitCode, byId.get(exited)?.exitReason], [3, null]);
      assert.equal(byId.get(failed)?.exitCode, null);
      assert.match(byId.get(failed)?.exitReason ?? '', /^InternalError: boom/);
    });

    it('store - marks open rows interrupted: all of them, or one replica\'s; a later end still completes one', async () => {
      const a1 = await store().openAudit(auditRow({ replica: 'hub-a' }));
      const b1 = await store().openAudit(auditRow({ replica: 'hub-b' }));
      const solo = await store().openAudit(auditRow());
      await store().insertAudit(auditRow({ replica: 'hub-a' }));
      const states = async (): Promise<Record<number, string>> =>
        Object.fromEntries((await store().listAudit({})).map((r) => [r.id, r.state]));
      assert.equal(await store().interruptAudit({ kind: 'replica', replicaId: 'hub-a' }), 1);
      assert.deepEqual(await states(), { [a1]: 'interrupted', [b1]: 'in_progress', [solo]: 'in_progress', 4: 'complete' });
      assert.equal(await store().interruptAudit({ kind: 'all' }), 2);
      assert.deepEqual(await states(), { [a1]: 'interrupted', [b1]: 'interrupted', [solo]: 'interrupted', 4: 'complete' });
      assert.equal(await store().interruptAudit({ kind: 'all' }), 0, 'nothing left open');
      // Its replica was only cut off from the database: its end is the truth.
      await store().endAudit(b1, { status: 200, bytesIn: 0, bytesOut: 10, durationMs: 5 });
      assert.equal((await states())[b1], 'complete');
    });

    it('store - pruning keeps streams still in progress, however old', async () => {
      await store().openAudit(auditRow({ at: minute(0), name: 'open' }));
      const interrupted = await store().openAudit(auditRow({ at: minute(0), name: 'interrupted' }));
      await store().insertAudit(auditRow({ at: minute(0), name: 'done' }));
      await store().interruptAudit({ kind: 'replica', replicaId: 'nobody' });
      await store().endAudit(interrupted, { status: 0, bytesIn: 0, bytesOut: 0, durationMs: 0 });
      assert.equal(await store().pruneAudit(minute(5)), 2);
      assert.deepEqual((await store().listAudit({})).map((r) => r.name), ['open']);
    });

    // Only replicas on PostgreSQL claim links; a hub on SQLite is alone.
    if (backend === 'postgres') {
      it('store - the unclaimed sweep marks open rows whose replica no longer holds a live claim on the cluster', async () => {
        const pool = postgresOf(store())?.pool;
        assert.ok(pool, 'a PostgreSQL store');
        for (const id of ['c-held', 'c-moved', 'c-expired', 'c-never']) {
          await store().createCluster({ id, name: id, labels: {}, tokenHash: 'sha256:x', createdAt: minute(0) });
        }
        const claim = (cluster: string, replica: string, ttlSeconds: number): Promise<unknown> => pool.query(
          `INSERT INTO link_owners (cluster_id, replica_id, peer_url, claimed_at, expires_at)
           VALUES ($1, $2, 'https://peer.invalid:8444', now(), now() + $3 * interval '1 second')`, [cluster, replica, ttlSeconds]);
        await claim('c-held', 'hub-a', 20);
        await claim('c-moved', 'hub-b', 20);
        await claim('c-expired', 'hub-a', -1);
        const open = async (clusterId: string, replica: string | null): Promise<number> => store().openAudit(auditRow({ clusterId, replica }));
        const held = await open('c-held', 'hub-a');
        const moved = await open('c-moved', 'hub-a');
        const expired = await open('c-expired', 'hub-a');
        const never = await open('c-never', 'hub-a');
        const copied = await open('c-held', null);
        const done = await store().openAudit(auditRow({ clusterId: 'c-moved', replica: 'hub-a' }));
        await store().endAudit(done, { status: 200, bytesIn: 0, bytesOut: 1, durationMs: 1 });
        assert.equal(await store().interruptAudit({ kind: 'unclaimed' }), 4);
        const state = Object.fromEntries((await store().listAudit({})).map((r) => [r.id, r.state]));
        assert.deepEqual(state, {
          [held]: 'in_progress', [moved]: 'interrupted', [expired]: 'interrupted', [never]: 'interrupted', [copied]: 'interrupted', [done]: 'complete',
        });
      });
    } else {
      it('store - the unclaimed sweep marks nothing on SQLite (a hub alone marks its rows at start)', async () => {
        await store().openAudit(auditRow());
        assert.equal(await store().interruptAudit({ kind: 'unclaimed' }), 0);
        assert.equal((await store().listAudit({}))[0]?.state, 'in_progress');
      });
    }

    it('store - keeps audit rows when their user and cluster are deleted', async () => {
      await store().createUser({ id: 'u-alice', name: 'alice', createdAt: minute(0) });
      await store().createCluster({ id: 'c-prod', name: 'prod', labels: {}, tokenHash: 'sha256:x', createdAt: minute(0) });
      await store().insertAudit(auditRow());
      await store().deleteUser('u-alice');
      await store().deleteCluster('c-prod');
      const [row] = await store().listAudit({ clusterId: 'c-prod' });
      assert.equal(row?.userName, 'alice');
      assert.equal(row.clusterName, 'prod');
    });
  });
}
