import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ClusterFacts } from '../link/protocol.ts';
import { useMemoryStore } from './store/memory-store.test-helper.ts';
import { clearMalformedFacts } from './stored-facts.ts';

const FACTS: ClusterFacts = {
  kubernetesVersion: 'v1.36.4', platform: 'linux/amd64', distribution: 'kwok', cloud: null, region: 'eu-west-1', zones: [],
  nodes: { total: 1, ready: 1 }, pods: { total: 0, running: 0, pending: 0, succeeded: 0, failed: 0, unknown: 0 },
  apiServer: { livez: true, readyz: true }, agent: { version: '1.0.0', nodeVersion: '24.21.0', uptimeSeconds: 1, memoryRssBytes: 1 },
  collectedAt: '2026-03-03T09:00:00.000Z',
};
const AT = '2026-03-03T09:00:00.000Z';

describe('stored facts', () => {
  const store = useMemoryStore();

  it('stored facts - facts an older hub stored that do not fit are cleared once at start; good ones and heartbeat times stay', async () => {
    const warnings: unknown[] = [];
    const log = { warn: (fields: unknown) => { warnings.push(fields); } };
    for (const id of ['cgood', 'cpartial', 'cnone']) await store().createCluster({ id, name: id, labels: {}, tokenHash: 'h', createdAt: AT });
    await store().recordHeartbeat('cgood', { at: AT, intervalSeconds: 15, facts: FACTS });
    await store().recordHeartbeat('cpartial', { at: AT, intervalSeconds: 30, facts: {} as ClusterFacts });
    assert.equal(await clearMalformedFacts(store(), log), 1);
    const byId = new Map((await store().listClusters()).map((record) => [record.id, record]));
    assert.deepEqual(byId.get('cgood')?.facts, FACTS);
    assert.deepEqual([byId.get('cpartial')?.facts, byId.get('cpartial')?.factsJson, byId.get('cpartial')?.lastHeartbeatAt], [null, 'null', AT]);
    assert.equal(byId.get('cpartial')?.heartbeatIntervalSeconds, 30);
    assert.equal(byId.get('cnone')?.factsJson, null);
    assert.deepEqual(warnings, [{ cleared: 1 }]);
    assert.equal(await clearMalformedFacts(store(), log), 0, 'nothing left to clear the next time');
  });
});
