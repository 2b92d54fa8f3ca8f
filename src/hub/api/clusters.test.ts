// The cluster routes' add-on sweep: shown in the view, and gone with a deleted cluster.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { HubSession } from '../../link/hub-session.ts';
import type { AgentUpgradeReport, ClusterFacts } from '../../link/protocol.ts';
import { createLogger } from '../../util/logger.ts';
import { Fleet } from '../fleet.ts';
import { HubMetrics } from '../metrics.ts';
import type { GrantRecord } from '../store/index.ts';
import { useMemoryStore } from '../store/memory-store.test-helper.ts';
import type { ClusterListPage } from './cluster-pages.ts';
import { registerClusterRoutes, type CallerClusterView } from './clusters.ts';
import { buildApiApp } from './app.ts';

const log = createLogger({ name: 'test', level: 'silent' });
const SWEEP = { lastSweepAt: '2026-03-04T10:00:00.000Z', sweepDurationSeconds: 0.5, addonsInspected: 4, intervalSeconds: 30 };

function openSession(): HubSession {
  const session = {
    isOpen: true,
    closed: new Promise(() => undefined),
    close: () => { session.isOpen = false; },
  };
  return session as unknown as HubSession;
}

describe('cluster routes', () => {
  const store = useMemoryStore();

  /** `grants`: the caller's; fleet-wide admin when not given. */
  async function setup(grants: GrantRecord[] = [{ userId: 'u_1', role: 'admin', clusterId: null }]): Promise<{ app: FastifyInstance; fleet: Fleet; metrics: HubMetrics; clock: { now: number } }> {
    const clock = { now: Date.parse('2026-03-04T10:00:00.000Z') };
    const metrics = new HubMetrics();
    const fleet = new Fleet({ store: store(), log, metrics, offlineAfterMs: 45_000, now: () => clock.now });
    const record = await store().createCluster({ id: 'c_prod', name: 'prod', labels: {}, tokenHash: 'h', createdAt: new Date(clock.now).toISOString() });
    fleet.attach(record.id, openSession(), '1.0.0');
    await fleet.addonSweep(record, SWEEP, log);
    const app = buildApiApp({ log: createLogger({ name: 'test', level: 'silent' }) });
    app.decorateRequest('principal', null);
    app.addHook('onRequest', async (req) => {
      req.principal = { tokenId: 't', userId: 'u_1', userName: 'ann', grants };
      return Promise.resolve();
    });
    registerClusterRoutes(app, { store: store(), fleet, log, install: () => ({ chart: 'c', hubUrl: 'https://hub', caHash: undefined }) });
    return { app, fleet, metrics, clock };
  }

  it('cluster routes - get and list show the last add-on sweep with its lag and stopped flag', async () => {
    const { app, clock } = await setup();
    clock.now += 91_000;
    const view = (await app.inject({ method: 'GET', url: '/api/v1/clusters/prod' })).json<CallerClusterView>();
    assert.deepEqual(view.addonSweep, { ...SWEEP, reportedAt: '2026-03-04T10:00:00.000Z', lagSeconds: 91, stopped: true });
    const { items } = (await app.inject({ method: 'GET', url: '/api/v1/clusters' })).json<{ items: CallerClusterView[] }>();
    assert.equal(items[0]?.addonSweep?.stopped, true);
  });

  it('cluster routes - get shows the egress IP and the last agent upgrade as the heartbeat carried them', async () => {
    const { app, fleet } = await setup();
    const upgrade: AgentUpgradeReport = {
      operationId: 'op-1', version: '0.2.0', state: 'failed', message: 'helm upgrade: chart not found',
      startedAt: '2026-03-04T10:00:00.000Z', finishedAt: '2026-03-04T10:00:02.000Z',
    };
    // The hub keeps facts as the agent sent them; only these fields matter here.
    const facts = { collectedAt: '2026-03-04T10:00:03.000Z', egressIp: '203.0.113.7', agentUpgrade: upgrade } as unknown as ClusterFacts;
    fleet.heartbeat('c_prod', { type: 'heartbeat', intervalSeconds: 15, facts });
    const view = (await app.inject({ method: 'GET', url: '/api/v1/clusters/prod' })).json<CallerClusterView>();
    assert.equal(view.facts?.egressIp, '203.0.113.7');
    assert.deepEqual(view.facts.agentUpgrade, upgrade);
  });

  it('cluster routes - the list shows each cluster as get does: facts from the link, from the store, or none', async () => {
    const { app, fleet } = await setup();
    const live = { collectedAt: '2026-03-04T10:00:03.000Z', egressIp: '203.0.113.7' } as unknown as ClusterFacts;
    fleet.heartbeat('c_prod', { type: 'heartbeat', intervalSeconds: 15, facts: live });
    await store().createCluster({ id: 'c_edge', name: 'edge', labels: { tier: 'edge' }, tokenHash: 'h2', createdAt: '2026-03-01T00:00:00.000Z' });
    // Complete facts: the store holds only facts that fit the heartbeat schema (stored-facts.ts clears others at start).
    const stored: ClusterFacts = {
      kubernetesVersion: 'v1.36.4', platform: 'linux/amd64', distribution: 'kwok', cloud: null, region: null, zones: ['a', 'b'],
      nodes: { total: 1, ready: 1 }, pods: { total: 0, running: 0, pending: 0, succeeded: 0, failed: 0, unknown: 0 },
      apiServer: { livez: true, readyz: true }, agent: { version: '1.0.0', nodeVersion: '24.21.0', uptimeSeconds: 1, memoryRssBytes: 1 },
      collectedAt: '2026-03-03T09:00:00.000Z',
    };
    await store().recordConnection('c_edge', { connected: true, at: '2026-03-03T08:00:00.000Z', agentVersion: '1.0.0' });
    await store().recordHeartbeat('c_edge', { at: '2026-03-03T09:00:00.000Z', intervalSeconds: 15, facts: stored });
    await store().recordConnection('c_edge', { connected: false, at: '2026-03-03T09:00:01.000Z' });
    await store().createCluster({ id: 'c_new', name: 'new', labels: {}, tokenHash: 'h3', createdAt: '2026-03-02T00:00:00.000Z' });
    const list = await app.inject({ method: 'GET', url: '/api/v1/clusters' });
    assert.match(String(list.headers['content-type']), /^application\/json/);
    const { items } = list.json<{ items: CallerClusterView[] }>();
    const each = await Promise.all(['edge', 'new', 'prod'].map(async (name) => (await app.inject({ method: 'GET', url: `/api/v1/clusters/${name}` })).json<CallerClusterView>()));
    assert.deepEqual(items, each);
    assert.deepEqual(items.map((item) => [item.name, item.status, item.facts]), [['edge', 'offline', stored], ['new', 'never-connected', null], ['prod', 'online', live]]);
  });

  it('cluster routes - deleting a cluster drops its sweep series', async () => {
    const { app, metrics } = await setup();
    assert.match(await metrics.registry.metrics(), /uplink_hub_addon_reconcile_lag_seconds\{cluster="prod"\} 0/);
    assert.equal((await app.inject({ method: 'DELETE', url: '/api/v1/clusters/prod' })).statusCode, 204);
    assert.doesNotMatch(await metrics.registry.metrics(), /cluster="prod"/);
  });

  /** Every page from the first on, following metadata.continue; the names on each page. */
  async function walk(app: FastifyInstance, limit: number): Promise<string[][]> {
    const pages: string[][] = [];
    let next: string | undefined;
    do {
      const url = `/api/v1/clusters?limit=${limit}${next === undefined ? '' : `&continue=${next}`}`;
      const res = await app.inject({ method: 'GET', url });
      assert.equal(res.statusCode, 200, res.body);
      const page = res.json<ClusterListPage<CallerClusterView>>();
      pages.push(page.items.map((item) => item.name));
      next = page.metadata.continue;
    } while (next !== undefined && pages.length < 20);
    return pages;
  }

  async function addClusters(names: string[]): Promise<void> {
    for (const name of names) await store().createCluster({ id: `c_${name}`, name, labels: {}, tokenHash: `h-${name}`, createdAt: '2026-03-01T00:00:00.000Z' });
  }

  it('cluster routes - the list comes in pages of at most limit clusters, in name order, each listed once', async () => {
    const { app } = await setup();
    await addClusters(['alpha', 'bravo', 'charlie', 'delta']);
    assert.deepEqual(await walk(app, 2), [['alpha', 'bravo'], ['charlie', 'delta'], ['prod']]);
    assert.deepEqual(await walk(app, 5), [['alpha', 'bravo', 'charlie', 'delta', 'prod']], 'no continue once the last cluster is listed');
    const whole = (await app.inject({ method: 'GET', url: '/api/v1/clusters' })).json<ClusterListPage<CallerClusterView>>();
    assert.equal(whole.items.length, 5, 'the default limit holds a small fleet');
    assert.deepEqual(whole.metadata, {});
  });

  it('cluster routes - a page holds only clusters the caller may see, and fills up past the others', async () => {
    await addClusters(['alpha', 'bravo', 'charlie', 'delta', 'echo']);
    const { app } = await setup(['alpha', 'delta', 'echo'].map((name) => ({ userId: 'u_1', role: 'view' as const, clusterId: `c_${name}` })));
    assert.deepEqual(await walk(app, 2), [['alpha', 'delta'], ['echo']]);
  });

  it('cluster routes - a cluster created between pages shows where its name sorts; a deleted one is not listed again', async () => {
    const { app } = await setup();
    await addClusters(['alpha', 'charlie', 'delta']);
    const first = (await app.inject({ method: 'GET', url: '/api/v1/clusters?limit=2' })).json<ClusterListPage<CallerClusterView>>();
    assert.deepEqual(first.items.map((item) => item.name), ['alpha', 'charlie']);
    await addClusters(['bravo', 'echo']);
    await store().deleteCluster('c_delta');
    const next = (await app.inject({ method: 'GET', url: `/api/v1/clusters?limit=2&continue=${first.metadata.continue ?? ''}` })).json<ClusterListPage<CallerClusterView>>();
    assert.deepEqual(next.items.map((item) => item.name), ['echo', 'prod']);
  });

  it('cluster routes - a bad limit or continue token is a 400 that says what is wrong', async () => {
    const { app } = await setup();
    for (const query of ['limit=0', 'limit=1001', 'limit=ten', 'limit=-1']) {
      const res = await app.inject({ method: 'GET', url: `/api/v1/clusters?${query}` });
      assert.equal(res.statusCode, 400, query);
      assert.match(res.json<{ error: { code: string; message: string } }>().error.message, /limit/, query);
    }
    for (const token of ['garbage!', Buffer.from('{"v":1,"after":"../x"}').toString('base64url'), 'x'.repeat(5000)]) {
      const res = await app.inject({ method: 'GET', url: `/api/v1/clusters?continue=${encodeURIComponent(token)}` });
      assert.equal(res.statusCode, 400, token);
      assert.deepEqual(res.json<{ error: { code: string; message: string } }>().error.code, 'BAD_REQUEST');
      assert.match(res.json<{ error: { message: string } }>().error.message, /^continue: /);
    }
  });
});
