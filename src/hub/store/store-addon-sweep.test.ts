// The store's contract for add-on sweep reports, on every store: the newest
// report per cluster, read back with every way a cluster is read, and gone
// with its cluster.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AddonSweepRecord, ClusterSummary, NewCluster } from './index.ts';
import { STORE_BACKENDS, useStore } from './store-backends.test-helper.ts';

const SWEEP: AddonSweepRecord = {
  lastSweepAt: '2026-03-04T10:00:00.000Z', sweepDurationSeconds: 1.25, addonsInspected: 7, intervalSeconds: 60,
  reportedAt: '2026-03-04T10:00:00.500Z',
};

function newCluster(name: string): NewCluster {
  return { id: `c-${name}`, name, labels: {}, tokenHash: `sha256:${'b'.repeat(64)}`, createdAt: '2026-01-02T03:04:05.000Z' };
}

for (const backend of STORE_BACKENDS) {
  describe(`store add-on sweeps on ${backend}`, () => {
    const store = useStore(backend);

    it('store addon sweep - none at first; the newest report reads back exactly by id, name, list and scan', async () => {
      await store().createCluster(newCluster('alpha'));
      await store().createCluster(newCluster('bravo'));
      assert.equal((await store().getCluster('c-alpha'))?.addonSweep, null);
      await store().recordAddonSweep('c-alpha', SWEEP);
      const newer = { ...SWEEP, lastSweepAt: '2026-03-04T10:01:00.000Z', reportedAt: '2026-03-04T10:01:00.250Z', addonsInspected: 0 };
      await store().recordAddonSweep('c-alpha', newer);
      assert.deepEqual((await store().getCluster('c-alpha'))?.addonSweep, newer);
      assert.deepEqual((await store().getClusterByName('alpha'))?.addonSweep, newer);
      assert.deepEqual((await store().listClusters()).map((c) => c.addonSweep), [newer, null]);
      const scanned: ClusterSummary[] = [];
      await store().forEachCluster((c) => { scanned.push(c); return true; });
      assert.deepEqual(scanned.map((c) => [c.name, c.addonSweep]), [['alpha', newer], ['bravo', null]]);
    });

    it('store addon sweep - a heartbeat leaves the report alone, and the report leaves the heartbeat alone', async () => {
      await store().createCluster(newCluster('alpha'));
      await store().recordAddonSweep('c-alpha', SWEEP);
      await store().recordHeartbeat('c-alpha', { at: '2026-03-04T10:00:02.000Z', intervalSeconds: 15, facts: null });
      await store().recordAddonSweep('c-alpha', { ...SWEEP, intervalSeconds: 5 });
      const record = await store().getCluster('c-alpha');
      assert.deepEqual([record?.lastHeartbeatAt, record?.addonSweep?.intervalSeconds], ['2026-03-04T10:00:02.000Z', 5]);
    });

    it('store addon sweep - a report for an unknown cluster is a no-op, and the report goes with its cluster', async () => {
      await store().recordAddonSweep('c-missing', SWEEP);
      assert.equal(await store().getCluster('c-missing'), undefined);
      await store().createCluster(newCluster('alpha'));
      await store().recordAddonSweep('c-alpha', SWEEP);
      assert.equal(await store().deleteCluster('c-alpha'), true);
      await store().createCluster(newCluster('alpha'));
      assert.equal((await store().getCluster('c-alpha'))?.addonSweep, null);
    });
  });
}
