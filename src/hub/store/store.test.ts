import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ClusterFacts } from '../../link/protocol.ts';
import { type NewCluster, StoreConflictError, StoreError } from './index.ts';
import { useStore } from './store-backends.test-helper.ts';

const CREATED_AT = '2026-01-02T03:04:05.000Z';

function newCluster(name: string, id = `c-${name}`): NewCluster {
  return { id, name, labels: { env: 'test' }, tokenHash: `sha256:${'a'.repeat(64)}`, createdAt: CREATED_AT };
}

function sampleFacts(): ClusterFacts {
  return {
    kubernetesVersion: 'v1.30.2+k3s1',
    platform: 'linux/amd64',
    distribution: 'k3s',
    cloud: null,
    region: 'eu-west-1',
    zones: ['eu-west-1a', 'eu-west-1b'],
    nodes: { total: 3, ready: 2 },
    pods: { total: 10, running: 7, pending: 1, succeeded: 1, failed: 1, unknown: 0 },
    apiServer: { livez: true, readyz: false },
    agent: { version: '0.1.0', nodeVersion: 'v24.21.0', uptimeSeconds: 42, memoryRssBytes: 50_000_000 },
    collectedAt: '2026-01-02T03:05:00.000Z',
  };
}

for (const backend of ['sqlite-memory', 'sqlite-file', 'postgres'] as const) {
  describe(`store on ${backend}`, () => {
    const store = useStore(backend);

    it('store - creates a cluster and finds it by id and by name', async () => {
      const created = await store().createCluster(newCluster('alpha'));
      assert.deepEqual(created, {
        id: 'c-alpha',
        name: 'alpha',
        labels: { env: 'test' },
        tokenHash: `sha256:${'a'.repeat(64)}`,
        nextTokenHash: null,
        createdAt: CREATED_AT,
        agentVersion: null,
        connectedAt: null,
        disconnectedAt: null,
        lastHeartbeatAt: null,
        heartbeatIntervalSeconds: null,
        facts: null,
        factsJson: null,
        addonSweep: null,
      });
      assert.deepEqual(await store().getCluster('c-alpha'), created);
      assert.deepEqual(await store().getClusterByName('alpha'), created);
      assert.equal(await store().getCluster('c-missing'), undefined);
      assert.equal(await store().getClusterByName('missing'), undefined);
    });

    it('store - reads made together each get their own answer, and a hostile id fails none of the others', async () => {
      const created = await store().createCluster(newCluster('beta'));
      const [found, nul, missing, addons] = await Promise.all([
        store().getCluster('c-beta'), store().getCluster('c-\0beta'), store().getCluster('c-none'), store().listAddons('c-\0beta'),
      ]);
      assert.deepEqual([found, nul, missing, addons], [created, undefined, undefined, []]);
    });

    it('store - lists clusters ordered by name', async () => {
      for (const name of ['charlie', 'alpha', 'bravo']) await store().createCluster(newCluster(name));
      const names = (await store().listClusters()).map((cluster) => cluster.name);
      assert.deepEqual(names, ['alpha', 'bravo', 'charlie']);
    });

    it('store - orders names by their bytes, whatever the database\'s collation', async () => {
      for (const name of ['b', 'a-1', 'B', 'a', 'a1', '_x']) await store().createCluster(newCluster(name));
      assert.deepEqual((await store().listClusters()).map((cluster) => cluster.name), ['B', '_x', 'a', 'a-1', 'a1', 'b']);
    });

    it('store - visits clusters one at a time in name order; a visitor error comes back as thrown', async () => {
      for (const name of ['charlie', 'alpha', 'bravo']) await store().createCluster(newCluster(name));
      const names: string[] = [];
      await store().forEachCluster((cluster) => {
        names.push(cluster.name);
        assert.equal('tokenHash' in cluster || 'nextTokenHash' in cluster, false, 'no token hash in a summary');
      });
      assert.deepEqual(names, ['alpha', 'bravo', 'charlie']);
      const boom = new Error('visitor failed');
      await assert.rejects(store().forEachCluster(() => { throw boom; }), (error) => error === boom);
      // The statement was reset: the next listing starts over.
      assert.equal((await store().listClusters()).length, 3);
    });

    it('store - visits clusters after a name, and stops when the visitor says so', async () => {
      for (const name of ['delta', 'alpha', 'charlie', 'bravo']) await store().createCluster(newCluster(name));
      const visited = async (afterName: string | undefined, stopAt?: string): Promise<string[]> => {
        const names: string[] = [];
        await store().forEachCluster((cluster) => {
          names.push(cluster.name);
          return cluster.name !== stopAt;
        }, afterName === undefined ? {} : { afterName });
        return names;
      };
      assert.deepEqual(await visited('bravo'), ['charlie', 'delta']);
      assert.deepEqual(await visited('b'), ['bravo', 'charlie', 'delta'], 'a name that is not stored still marks a place');
      assert.deepEqual(await visited('delta'), []);
      assert.deepEqual(await visited(undefined, 'bravo'), ['alpha', 'bravo']);
      // Stopped early, the statement was reset: the next scan starts over.
      assert.deepEqual(await visited(undefined), ['alpha', 'bravo', 'charlie', 'delta']);
    });

    it('store - deletes a cluster and says whether it existed', async () => {
      await store().createCluster(newCluster('alpha'));
      assert.equal(await store().deleteCluster('c-alpha'), true);
      assert.equal(await store().getCluster('c-alpha'), undefined);
      assert.equal(await store().deleteCluster('c-alpha'), false);
      assert.deepEqual(await store().listClusters(), []);
    });

    it('store - rejects a duplicate cluster name with a clear conflict', async () => {
      await store().createCluster(newCluster('alpha', 'c1'));
      await assert.rejects(store().createCluster(newCluster('alpha', 'c2')), (error: unknown) => {
        assert.ok(error instanceof StoreConflictError);
        assert.equal(error.code, 'STORE_CONFLICT');
        assert.equal(error.message, 'a cluster named "alpha" already exists');
        assert.ok(error.cause instanceof Error);
        return true;
      });
      assert.equal((await store().listClusters()).length, 1);
    });

    it('store - rejects a duplicate cluster id as a conflict about the id', async () => {
      await store().createCluster(newCluster('alpha', 'c1'));
      await assert.rejects(store().createCluster(newCluster('bravo', 'c1')), {
        name: 'StoreConflictError',
        message: 'a cluster with id "c1" already exists',
      });
    });

    it('store - round-trips labels and facts through JSON columns', async () => {
      const labels = { env: 'prod', 'topology.kubernetes.io/region': 'eu-west-1', quote: 'a "b" \\ c', empty: '' };
      await store().createCluster({ ...newCluster('alpha'), labels });
      await store().recordHeartbeat('c-alpha', { at: CREATED_AT, intervalSeconds: 30, facts: sampleFacts() });
      const cluster = await store().getCluster('c-alpha');
      assert.deepEqual(cluster?.labels, labels);
      assert.deepEqual(cluster.facts, sampleFacts());
    });

    it('store - hands out facts as their JSON text too, and stores the text a caller already made', async () => {
      await store().createCluster(newCluster('alpha'));
      const factsJson = JSON.stringify(sampleFacts());
      await store().recordHeartbeat('c-alpha', { at: CREATED_AT, intervalSeconds: 30, facts: sampleFacts(), factsJson });
      const [cluster] = await store().listClusters();
      assert.equal(cluster?.factsJson, factsJson);
      assert.deepEqual(cluster.facts, sampleFacts());
    });

    it('store - records connection open and close in their own fields', async () => {
      await store().createCluster(newCluster('alpha'));
      await store().recordConnection('c-alpha', { connected: true, at: '2026-01-02T04:00:00.000Z', agentVersion: '0.1.0' });
      let cluster = await store().getCluster('c-alpha');
      assert.equal(cluster?.connectedAt, '2026-01-02T04:00:00.000Z');
      assert.equal(cluster.disconnectedAt, null);
      assert.equal(cluster.agentVersion, '0.1.0');

      // Closing without a version keeps the last one known.
      await store().recordConnection('c-alpha', { connected: false, at: '2026-01-02T05:00:00.000Z' });
      cluster = await store().getCluster('c-alpha');
      assert.equal(cluster?.connectedAt, '2026-01-02T04:00:00.000Z');
      assert.equal(cluster.disconnectedAt, '2026-01-02T05:00:00.000Z');
      assert.equal(cluster.agentVersion, '0.1.0');
      assert.equal(cluster.lastHeartbeatAt, null);
    });

    it('store - records a heartbeat without touching the connection fields', async () => {
      await store().createCluster(newCluster('alpha'));
      await store().createCluster(newCluster('bravo'));
      await store().recordHeartbeat('c-alpha', { at: '2026-01-02T06:00:00.000Z', intervalSeconds: 0.5, facts: sampleFacts() });
      const alpha = await store().getCluster('c-alpha');
      assert.equal(alpha?.lastHeartbeatAt, '2026-01-02T06:00:00.000Z');
      assert.equal(alpha.heartbeatIntervalSeconds, 0.5);
      assert.equal(alpha.facts?.distribution, 'k3s');
      assert.equal(alpha.connectedAt, null);
      assert.equal(alpha.agentVersion, null);
      const bravo = await store().getCluster('c-bravo');
      assert.equal(bravo?.lastHeartbeatAt, null);
      assert.equal(bravo.facts, null);
    });

    it('store - updates token hashes for a rotation and its completion', async () => {
      await store().createCluster(newCluster('alpha'));
      const next = `sha256:${'b'.repeat(64)}`;
      await store().updateClusterTokens('c-alpha', { tokenHash: `sha256:${'a'.repeat(64)}`, nextTokenHash: next });
      let cluster = await store().getCluster('c-alpha');
      assert.equal(cluster?.nextTokenHash, next);
      await store().updateClusterTokens('c-alpha', { tokenHash: next, nextTokenHash: null });
      cluster = await store().getCluster('c-alpha');
      assert.equal(cluster?.tokenHash, next);
      assert.equal(cluster.nextTokenHash, null);
    });

    it('store - ignores updates for an unknown cluster', async () => {
      await store().recordHeartbeat('c-gone', { at: CREATED_AT, intervalSeconds: 30, facts: sampleFacts() });
      await store().recordConnection('c-gone', { connected: true, at: CREATED_AT });
      await store().updateClusterTokens('c-gone', { tokenHash: 'x', nextTokenHash: null });
      assert.deepEqual(await store().listClusters(), []);
    });

    it('store - creates, gets, touches and counts API tokens', async () => {
      assert.equal(await store().countApiTokens(), 0);
      await store().createUser({ id: 'u1', name: 'ci', createdAt: CREATED_AT });
      const input = { id: 't1', userId: 'u1', name: 'ci', tokenHash: `sha256:${'c'.repeat(64)}`, createdAt: CREATED_AT };
      const created = await store().createApiToken(input);
      assert.deepEqual(created, { ...input, lastUsedAt: null });
      assert.deepEqual(await store().getApiToken('t1'), created);
      assert.equal(await store().getApiToken('t-missing'), undefined);

      await store().touchApiToken('t1', '2026-01-03T00:00:00.000Z');
      assert.equal((await store().getApiToken('t1'))?.lastUsedAt, '2026-01-03T00:00:00.000Z');

      await store().createApiToken({ ...input, id: 't2' });
      assert.equal(await store().countApiTokens(), 2);
      await assert.rejects(store().createApiToken(input), StoreConflictError);
    });

    it('store - migrating twice is a no-op that keeps data', async () => {
      await store().createCluster(newCluster('alpha'));
      await store().migrate();
      assert.equal((await store().listClusters()).length, 1);
    });

    it('store - pings while open and fails with a StoreError once closed', async () => {
      await store().ping();
      await store().close();
      await assert.rejects(store().ping(), (error: unknown) => {
        assert.ok(error instanceof StoreError);
        assert.equal(error.code, 'STORE_FAILED');
        assert.match(error.message, /ping/);
        return true;
      });
      await assert.rejects(store().getCluster('c1'), StoreError);
    });
  });
}
