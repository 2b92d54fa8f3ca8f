import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AUDIT_DEFAULT_LIMIT, AUDIT_MAX_LIMIT, type AuditRecord, type Store } from './index.ts';
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
      assert.deepEqual(first, { id: 1, ...full });
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
