// The exposure routes behind the real API-token check, with users holding
// each role, on SQLite; and on a real PostgreSQL that stops: no 2xx without
// a commit.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLogger } from '../../util/logger.ts';
import type { AuditRecord, Store } from '../store/index.ts';
import { useMemoryStore } from '../store/memory-store.test-helper.ts';
import { silentLog, usePostgresServer } from '../store/store-backends.test-helper.ts';
import { openPostgresStore } from '../store/postgres.ts';
import { registerExposureRoutes, type ExposureView } from './exposures.ts';
import { appWithCallers, type Answer, type CallAs } from './role-callers.test-helper.ts';

/** An app with the exposure routes on `store`, cluster prod, and a request function per caller. */
function setup(store: Store, options: { maxPerCluster?: number; audits?: AuditRecord[]; changes?: string[] } = {}): Promise<CallAs> {
  return appWithCallers(store, (api) => {
    registerExposureRoutes(api, {
      store, log: createLogger({ name: 'test', level: 'silent' }), maxPerCluster: options.maxPerCluster,
      audit: (record) => { options.audits?.push(record); },
      onChange: (clusterId) => { options.changes?.push(clusterId); },
    });
  });
}

const codeOf = (answer: Answer): unknown => (answer.body.error as { code?: unknown } | undefined)?.code;

describe('exposure routes', () => {
  const store = useMemoryStore();

  it('exposures api - an admin creates (201, with its URL), every role reads, the name defaults to the Service', async () => {
    const audits: AuditRecord[] = [];
    const changes: string[] = [];
    const call = await setup(store(), { audits, changes });
    const created = await call('admin', 'POST', 'prod/exposures', { namespace: 'monitoring', service: 'grafana', port: 80 });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const view = created.body as unknown as ExposureView;
    assert.deepEqual([view.name, view.namespace, view.service, view.port, view.minRole, view.createdBy, view.url, view.clusterId],
      ['grafana', 'monitoring', 'grafana', 80, 'view', 'admin', '/gw/prod/grafana/', 'c_prod']);
    assert.match(view.id, /^ex_[a-z2-7]{20}$/);
    assert.deepEqual(changes, ['c_prod']);
    assert.deepEqual(audits.map((a) => [a.verb, a.resource, a.namespace, a.name, a.status, a.userName]), [['create', 'exposures', 'monitoring', 'grafana', 201, 'admin']]);
    for (const caller of ['viewer', 'editor', 'root'] as const) {
      const list = await call(caller, 'GET', 'prod/exposures');
      assert.deepEqual((list.body.items as ExposureView[]).map((e) => e.id), [view.id], caller);
      assert.deepEqual((await call(caller, 'GET', 'prod/exposures/grafana')).body, created.body);
    }
  });

  it('exposures api - create and delete need admin (403 for view and edit); no role is 404, as for the cluster', async () => {
    const call = await setup(store());
    const body = { namespace: 'monitoring', service: 'grafana', port: 'http', minRole: 'edit' };
    for (const caller of ['viewer', 'editor'] as const) {
      const refused = await call(caller, 'POST', 'prod/exposures', body);
      assert.deepEqual([refused.status, codeOf(refused)], [403, 'FORBIDDEN'], caller);
    }
    const hidden = await call('stranger', 'POST', 'prod/exposures', body);
    assert.deepEqual([hidden.status, codeOf(hidden)], [404, 'NOT_FOUND']);
    assert.equal((await call('stranger', 'GET', 'prod/exposures')).status, 404);
    assert.deepEqual(await store().listExposures('c_prod'), []);
    assert.equal((await call('root', 'POST', 'prod/exposures', body)).status, 201);
    assert.equal((await call('viewer', 'DELETE', 'prod/exposures/grafana')).status, 403);
    assert.equal((await call('stranger', 'DELETE', 'prod/exposures/grafana')).status, 404);
    assert.equal((await store().listExposures('c_prod')).length, 1);
  });

  it('exposures api - delete is 204 and then 404; a bad body 400 names the field; a duplicate 409; the limit 409', async () => {
    const changes: string[] = [];
    const call = await setup(store(), { maxPerCluster: 2, changes });
    const bad = await call('admin', 'POST', 'prod/exposures', { namespace: 'm', service: 'web', port: 80, address: '169.254.169.254' });
    assert.deepEqual([bad.status, codeOf(bad)], [400, 'EXPOSURE_INVALID']);
    assert.match((bad.body.error as { message: string }).message, /unknown field "address"/);
    assert.equal((await call('admin', 'POST', 'prod/exposures', { namespace: 'm', service: 'web', port: 80 })).status, 201);
    const twice = await call('admin', 'POST', 'prod/exposures', { namespace: 'm', service: 'other', port: 80, name: 'web' });
    assert.deepEqual([twice.status, codeOf(twice)], [409, 'EXPOSURE_EXISTS']);
    assert.equal((await call('admin', 'POST', 'prod/exposures', { namespace: 'm', service: 'db', port: 5432 })).status, 201);
    const full = await call('admin', 'POST', 'prod/exposures', { namespace: 'm', service: 'cache', port: 6379 });
    assert.deepEqual([full.status, codeOf(full)], [409, 'EXPOSURE_LIMIT']);
    const deleted = await call('admin', 'DELETE', 'prod/exposures/web');
    assert.equal(deleted.status, 204);
    const again = await call('admin', 'DELETE', 'prod/exposures/web');
    assert.deepEqual([again.status, codeOf(again)], [404, 'NOT_FOUND']);
    assert.equal((await call('viewer', 'GET', 'prod/exposures/web')).status, 404);
    assert.deepEqual(changes, ['c_prod', 'c_prod', 'c_prod']);
    assert.deepEqual((await store().getExposureSet('c_prod')).generation, 3);
  });
});

describe('exposure routes on a PostgreSQL that stops', () => {
  const postgres = usePostgresServer();

  it('exposures api - a lost database is 503 STORE_UNAVAILABLE, nothing is pushed, and nothing was stored', async () => {
    const store = openPostgresStore({ url: postgres.url(), log: silentLog });
    const changes: string[] = [];
    try {
      const call = await setup(store, { changes });
      // The token check reads the store too: stop the database once the caller is in, between its checks and the write.
      const original = store.listExposures.bind(store);
      store.listExposures = async (clusterId) => {
        const list = await original(clusterId);
        await postgres.server().stop();
        return list;
      };
      const refused = await call('admin', 'POST', 'prod/exposures', { namespace: 'm', service: 'web', port: 80 });
      assert.deepEqual([refused.status, codeOf(refused)], [503, 'STORE_UNAVAILABLE'], JSON.stringify(refused.body));
      assert.deepEqual(changes, []);
      await postgres.server().start();
      store.listExposures = original;
      assert.deepEqual(await store.getExposureSet('c_prod'), { generation: 0, exposures: [] });
    } finally {
      await store.close();
    }
  });
});
