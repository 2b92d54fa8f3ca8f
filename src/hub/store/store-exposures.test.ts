import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CodedError } from '../../domain/error-codes.ts';
import { newExposureId, type Exposure } from '../../domain/exposure.ts';
import type { Store } from './index.ts';
import { STORE_BACKENDS, useStore } from './store-backends.test-helper.ts';

const T1 = '2026-01-02T03:04:05.000Z';

async function addCluster(store: Store, name: string): Promise<string> {
  const id = `c-${name}`;
  await store.createCluster({ id, name, labels: {}, tokenHash: `sha256:${'a'.repeat(64)}`, createdAt: T1 });
  return id;
}

function exposure(clusterId: string, name: string, port: number | string = 80): Exposure {
  return { id: newExposureId(), clusterId, name, namespace: 'monitoring', service: 'grafana', port, minRole: 'view', createdBy: 'admin', createdAt: T1 };
}

for (const backend of STORE_BACKENDS) {
  describe(`store exposures on ${backend}`, () => {
    const store = useStore(backend);

    it('store exposures - a put round-trips, numbered and named ports alike, and lists by name', async () => {
      const clusterId = await addCluster(store(), 'prod');
      const web = exposure(clusterId, 'web', 'http');
      const grafana = { ...exposure(clusterId, 'grafana', 3000), minRole: 'edit' as const };
      assert.deepEqual(await store().putExposure(web), web);
      assert.deepEqual(await store().putExposure(grafana), grafana);
      assert.deepEqual(await store().getExposure(clusterId, 'web'), web);
      assert.equal(await store().getExposure(clusterId, 'other'), undefined);
      assert.deepEqual(await store().listExposures(clusterId), [grafana, web]);
      assert.deepEqual(await store().getExposureSet(clusterId), { generation: 2, exposures: [grafana, web] });
    });

    it('store exposures - a duplicate name is refused with EXPOSURE_EXISTS (409) and changes nothing', async () => {
      const clusterId = await addCluster(store(), 'prod');
      const first = exposure(clusterId, 'web');
      await store().putExposure(first);
      await assert.rejects(store().putExposure(exposure(clusterId, 'web', 8080)), (error: unknown) => {
        assert.ok(error instanceof CodedError);
        assert.equal(error.code, 'EXPOSURE_EXISTS');
        assert.equal(error.status, 409);
        return true;
      });
      assert.deepEqual(await store().getExposureSet(clusterId), { generation: 1, exposures: [first] });
      // The same name on another cluster is another exposure.
      const otherId = await addCluster(store(), 'staging');
      await store().putExposure(exposure(otherId, 'web'));
      assert.equal((await store().listExposures(otherId)).length, 1);
    });

    it('store exposures - a delete bumps the generation, which never goes back; deleting nothing does not', async () => {
      const clusterId = await addCluster(store(), 'prod');
      assert.deepEqual(await store().getExposureSet(clusterId), { generation: 0, exposures: [] });
      await store().putExposure(exposure(clusterId, 'web'));
      assert.equal(await store().deleteExposure(clusterId, 'web'), true);
      assert.equal(await store().deleteExposure(clusterId, 'web'), false);
      assert.deepEqual(await store().getExposureSet(clusterId), { generation: 2, exposures: [] });
      const again = exposure(clusterId, 'web');
      await store().putExposure(again);
      assert.deepEqual(await store().getExposureSet(clusterId), { generation: 3, exposures: [again] });
    });

    it('store exposures - sets read at once (one batch on PostgreSQL) each get their own cluster\'s', async () => {
      const ids = await Promise.all(['a', 'b', 'c', 'd'].map((name) => addCluster(store(), name)));
      const [a = '', b = '', c = '', d = ''] = ids;
      const webA = exposure(a, 'web');
      const webB = exposure(b, 'web', 'http');
      const dbB = exposure(b, 'db', 5432);
      for (const e of [webA, webB, dbB, exposure(c, 'gone')]) await store().putExposure(e);
      await store().deleteExposure(c, 'gone');
      const sets = await Promise.all([a, b, c, d, 'c-none'].map((id) => store().getExposureSet(id)));
      assert.deepEqual(sets, [
        { generation: 1, exposures: [webA] }, { generation: 2, exposures: [dbB, webB] }, { generation: 2, exposures: [] },
        { generation: 0, exposures: [] }, { generation: 0, exposures: [] },
      ]);
    });

    it('store exposures - deleting a cluster deletes its exposures and generation', async () => {
      const clusterId = await addCluster(store(), 'prod');
      const kept = await addCluster(store(), 'other');
      await store().putExposure(exposure(clusterId, 'web'));
      await store().putExposure(exposure(kept, 'web'));
      assert.equal(await store().deleteCluster(clusterId), true);
      assert.deepEqual(await store().listExposures(clusterId), []);
      assert.deepEqual(await store().getExposureSet(clusterId), { generation: 0, exposures: [] });
      assert.equal((await store().listExposures(kept)).length, 1);
    });
  });
}
