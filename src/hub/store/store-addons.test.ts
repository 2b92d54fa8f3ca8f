import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseAddonSpec, type AddonSpec } from '../addons/index.ts';
import { minimalSpec } from '../../domain/addon-spec/spec.test-helper.ts';
import { type Store, StoreError } from './index.ts';
import { STORE_BACKENDS, useStore } from './store-backends.test-helper.ts';

const T1 = '2026-01-02T03:04:05.000Z';
const T2 = '2026-01-02T04:00:00.000Z';
const T3 = '2026-01-02T05:00:00.000Z';
const T4 = '2026-01-02T06:00:00.000Z';

function spec(overrides: Record<string, unknown> = {}): AddonSpec {
  return parseAddonSpec(minimalSpec(overrides));
}

async function addCluster(store: Store, name: string): Promise<string> {
  const id = `c-${name}`;
  await store.createCluster({ id, name, labels: {}, tokenHash: `sha256:${'a'.repeat(64)}`, createdAt: T1 });
  return id;
}

for (const backend of STORE_BACKENDS) {
  describe(`store add-ons on ${backend}`, () => {
    const store = useStore(backend);

    it('store addons - a put creates generation 1 and the spec round-trips exactly', async () => {
      const clusterId = await addCluster(store(), 'prod');
      const full = spec({
        values: '# comment\na: "x"\n', dependsOn: ['db'], ignoreDifferences: [{ pointer: '/spec/replicas', target: { kind: 'Deployment' } }],
        syncWindow: { schedule: '0 22 * * *', duration: '1h', timeZone: 'Europe/Paris' },
      });
      const { record, outcome } = await store().putAddon({ clusterId, name: 'web', spec: full, at: T1 });
      assert.equal(outcome, 'created');
      assert.deepEqual(record, { clusterId, name: 'web', spec: full, generation: 1, createdAt: T1, updatedAt: T1, deletedAt: null });
      assert.deepEqual(await store().getAddon(clusterId, 'web'), record);
      assert.equal(await store().getAddon(clusterId, 'other'), undefined);
    });

    it('store addons - the same spec again changes nothing; another spec bumps the generation', async () => {
      const clusterId = await addCluster(store(), 'prod');
      await store().putAddon({ clusterId, name: 'web', spec: spec(), at: T1 });
      const same = await store().putAddon({ clusterId, name: 'web', spec: spec(), at: T2 });
      assert.equal(same.outcome, 'unchanged');
      assert.equal(same.record.generation, 1);
      assert.equal(same.record.updatedAt, T1);

      const changed = await store().putAddon({ clusterId, name: 'web', spec: spec({ version: '1.2.4' }), at: T3 });
      assert.equal(changed.outcome, 'updated');
      assert.deepEqual([changed.record.generation, changed.record.createdAt, changed.record.updatedAt], [2, T1, T3]);
      assert.equal(changed.record.spec.version, '1.2.4');
    });

    it('store addons - lists one cluster\'s add-ons by name', async () => {
      const prod = await addCluster(store(), 'prod');
      const dev = await addCluster(store(), 'dev');
      for (const name of ['web', 'cert-manager', 'ingress']) await store().putAddon({ clusterId: prod, name, spec: spec(), at: T1 });
      await store().putAddon({ clusterId: dev, name: 'web', spec: spec(), at: T1 });
      assert.deepEqual((await store().listAddons(prod)).map((a) => a.name), ['cert-manager', 'ingress', 'web']);
      assert.deepEqual((await store().listAddons(dev)).map((a) => [a.clusterId, a.name]), [[dev, 'web']]);
      assert.deepEqual(await store().listAddons('c-none'), []);
    });

    it('store addons - a delete marks the add-on for uninstall; a new put revives it with a later generation', async () => {
      const clusterId = await addCluster(store(), 'prod');
      await store().putAddon({ clusterId, name: 'web', spec: spec(), at: T1 });
      const deleted = await store().deleteAddon({ clusterId, name: 'web', at: T2 });
      assert.deepEqual(deleted && [deleted.generation, deleted.deletedAt, deleted.updatedAt, deleted.createdAt], [2, T2, T2, T1]);
      assert.deepEqual(await store().getAddon(clusterId, 'web'), deleted);
      assert.equal((await store().listAddons(clusterId)).length, 1);

      assert.deepEqual(await store().deleteAddon({ clusterId, name: 'web', at: T3 }), deleted, 'deleting again changes nothing');
      assert.equal(await store().deleteAddon({ clusterId, name: 'nope', at: T3 }), undefined);

      const revived = await store().putAddon({ clusterId, name: 'web', spec: spec(), at: T4 });
      assert.equal(revived.outcome, 'created', 'the same spec on a deleted add-on is a new add-on');
      assert.deepEqual(revived.record, { clusterId, name: 'web', spec: spec(), generation: 3, createdAt: T4, updatedAt: T4, deletedAt: null });
    });

    it('store addons - deleting a cluster deletes its add-ons', async () => {
      const clusterId = await addCluster(store(), 'prod');
      await store().putAddon({ clusterId, name: 'web', spec: spec(), at: T1 });
      await store().deleteCluster(clusterId);
      await addCluster(store(), 'prod');
      assert.deepEqual(await store().listAddons(clusterId), []);
    });

    it('store addons - a put for an unknown cluster fails and leaves no transaction open', async () => {
      await assert.rejects(store().putAddon({ clusterId: 'c-none', name: 'web', spec: spec(), at: T1 }), (error: unknown) => {
        assert.ok(error instanceof StoreError);
        assert.match(error.message, /put add-on "web" of cluster c-none failed: .*foreign key constraint/i);
        return true;
      });
      const clusterId = await addCluster(store(), 'prod');
      assert.equal((await store().putAddon({ clusterId, name: 'web', spec: spec(), at: T1 })).outcome, 'created');
    });
  });
}
