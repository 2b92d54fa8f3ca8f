import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseAddonSpec } from '../addons/index.ts';
import { minimalSpec } from '../../domain/addon-spec/spec.test-helper.ts';
import { sampleStatus } from '../addons/status.test-helper.ts';
import type { Store } from './index.ts';
import { STORE_BACKENDS, useStore } from './store-backends.test-helper.ts';

const T1 = '2026-01-02T03:04:05.000Z';
const T2 = '2026-01-02T04:00:00.000Z';

async function addClusterWithAddons(store: Store, names: string[]): Promise<string> {
  const clusterId = 'c-prod';
  await store.createCluster({ id: clusterId, name: 'prod', labels: {}, tokenHash: `sha256:${'a'.repeat(64)}`, createdAt: T1 });
  for (const name of names) await store.putAddon({ clusterId, name, spec: parseAddonSpec(minimalSpec()), at: T1 });
  return clusterId;
}

for (const backend of STORE_BACKENDS) {
  describe(`store add-on status on ${backend}`, () => {
    const store = useStore(backend);

    it('store addon status - a status round-trips exactly and the newest replaces the one before', async () => {
      const clusterId = await addClusterWithAddons(store(), ['web']);
      assert.equal(await store().getAddonStatus(clusterId, 'web'), undefined);
      const first = { clusterId, name: 'web', status: sampleStatus({ phase: 'Installing' }), reportedAt: T1 };
      assert.equal(await store().putAddonStatus(first), true);
      assert.deepEqual(await store().getAddonStatus(clusterId, 'web'), first);

      const second = { clusterId, name: 'web', status: sampleStatus({ generation: 2 }), reportedAt: T2 };
      assert.equal(await store().putAddonStatus(second), true);
      assert.deepEqual(await store().getAddonStatus(clusterId, 'web'), second);
      assert.deepEqual(await store().listAddonStatuses(clusterId), [second]);
    });

    it('store addon status - lists a cluster\'s statuses by name, only of add-ons that have one', async () => {
      const clusterId = await addClusterWithAddons(store(), ['web', 'db', 'cache']);
      for (const name of ['web', 'db']) await store().putAddonStatus({ clusterId, name, status: sampleStatus({ name }), reportedAt: T1 });
      assert.deepEqual((await store().listAddonStatuses(clusterId)).map((s) => [s.name, s.status.name]), [['db', 'db'], ['web', 'web']]);
      assert.deepEqual(await store().listAddonStatuses('c-none'), []);
    });

    it('store addon status - a status of no add-on of the cluster is not stored; one of a deleted add-on is', async () => {
      const clusterId = await addClusterWithAddons(store(), ['web']);
      assert.equal(await store().putAddonStatus({ clusterId, name: 'ghost', status: sampleStatus({ name: 'ghost' }), reportedAt: T1 }), false);
      assert.equal(await store().putAddonStatus({ clusterId: 'c-none', name: 'web', status: sampleStatus(), reportedAt: T1 }), false);
      assert.deepEqual(await store().listAddonStatuses(clusterId), []);

      await store().deleteAddon({ clusterId, name: 'web', at: T2 });
      const uninstalled = { clusterId, name: 'web', status: sampleStatus({ phase: 'Uninstalled', release: null }), reportedAt: T2 };
      assert.equal(await store().putAddonStatus(uninstalled), true);
      assert.deepEqual(await store().getAddonStatus(clusterId, 'web'), uninstalled);
    });

    it('store addon status - deleting a cluster deletes its add-ons\' statuses', async () => {
      const clusterId = await addClusterWithAddons(store(), ['web']);
      await store().putAddonStatus({ clusterId, name: 'web', status: sampleStatus(), reportedAt: T1 });
      await store().deleteCluster(clusterId);
      await addClusterWithAddons(store(), ['web']);
      assert.equal(await store().getAddonStatus(clusterId, 'web'), undefined);
    });
  });
}
