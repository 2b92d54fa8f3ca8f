// The dashboard's fleet feed against a real in-memory store, a real Fleet and
// a fake clock: the snapshot, changes only, per-caller visibility, removals.
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import type { HubSession } from '../../link/hub-session.ts';
import type { ClusterFacts } from '../../link/protocol.ts';
import { createLogger } from '../../util/logger.ts';
import type { Principal } from '../auth.ts';
import { Fleet } from '../fleet.ts';
import { HubMetrics } from '../metrics.ts';
import type { AddonStatusRecord } from '../store/index.ts';
import { useMemoryStore } from '../store/memory-store.test-helper.ts';
import { FleetFeed, summarizeAddons, type FleetFeedEvent } from './fleet-feed.ts';

const log = createLogger({ name: 'test', level: 'silent' });
const START = Date.parse('2026-03-04T10:00:00.000Z');
const admin: Principal = { tokenId: 't1', userId: 'u1', userName: 'admin', grants: [{ userId: 'u1', role: 'admin', clusterId: null }] };
const viewer: Principal = { tokenId: 't2', userId: 'u2', userName: 'viewer', grants: [{ userId: 'u2', role: 'view', clusterId: 'c_prod' }] };

const FACTS: ClusterFacts = {
  kubernetesVersion: 'v1.36.4', platform: 'linux/amd64', distribution: 'eks', cloud: 'aws', region: 'eu-west-1', zones: [],
  nodes: { total: 3, ready: 3 }, pods: { total: 0, running: 0, pending: 0, succeeded: 0, failed: 0, unknown: 0 },
  apiServer: { livez: true, readyz: true },
  agent: { version: '0.1.0', nodeVersion: 'v24.21.0', uptimeSeconds: 1, memoryRssBytes: 1 },
  collectedAt: '2026-03-04T10:00:00Z',
};

function snapshotOf(event: FleetFeedEvent | undefined): Extract<FleetFeedEvent, { type: 'snapshot' }> {
  assert.ok(event?.type === 'snapshot', `expected a snapshot, got ${JSON.stringify(event)}`);
  return event;
}

function fakeSession(): HubSession {
  const session = { isOpen: true, closed: new Promise(() => undefined), close: () => { session.isOpen = false; } };
  return session as unknown as HubSession;
}

describe('fleet feed', () => {
  const store = useMemoryStore();

  async function setup() {
    const clock = { now: START };
    const fleet = new Fleet({ store: store(), log, metrics: new HubMetrics(), offlineAfterMs: 10_000, now: () => clock.now });
    for (const [id, name] of [['c_prod', 'prod'], ['c_dev', 'dev']]) {
      await store().createCluster({ id: id ?? '', name: name ?? '', labels: {}, tokenHash: 'h', createdAt: new Date(START).toISOString() });
    }
    const feed = new FleetFeed({
      store: store(), fleet, log, offlineAfterSeconds: 10, now: () => clock.now, refreshMs: 0, tickMs: 3_600_000,
      locator: { locate: (facts) => (facts?.region ? { lat: 53.3, lon: -6.3, name: facts.region, source: 'region' } : null) },
    });
    const events = { admin: [] as FleetFeedEvent[], viewer: [] as FleetFeedEvent[] };
    const stopAdmin = await feed.subscribe({ principal: admin, send: (e) => { events.admin.push(e); }, close: () => undefined });
    const stopViewer = await feed.subscribe({ principal: viewer, send: (e) => { events.viewer.push(e); }, close: () => undefined });
    return { clock, fleet, feed, events, stop: () => { stopAdmin(); stopViewer(); } };
  }

  it('fleet feed - a snapshot per caller holds only the clusters the caller has a role on', async () => {
    const { events, stop } = await setup();
    const adminSnapshot = snapshotOf(events.admin[0]);
    const viewerSnapshot = snapshotOf(events.viewer[0]);
    assert.deepEqual(adminSnapshot.items.map((i) => [i.name, i.role, i.status]).sort(), [['dev', 'admin', 'never-connected'], ['prod', 'admin', 'never-connected']]);
    assert.deepEqual(viewerSnapshot.items.map((i) => [i.name, i.role]), [['prod', 'view']]);
    assert.equal(adminSnapshot.offlineAfterSeconds, 10);
    stop();
  });

  it('fleet feed - a tick sends only what changed: a link, heartbeats, going offline by age, a deletion', async () => {
    const { clock, fleet, feed, events, stop } = await setup();
    await feed.tick();
    assert.equal(events.admin.length, 1, 'nothing changed, nothing sent');

    fleet.attach('c_dev', fakeSession(), '0.1.0');
    fleet.heartbeat('c_dev', { type: 'heartbeat', intervalSeconds: 1, facts: FACTS } as never);
    await feed.tick();
    const changed = events.admin.at(-1);
    assert.ok(changed?.type === 'changed', 'a change is sent');
    assert.deepEqual(changed.items.map((i) => [i.name, i.status, i.location?.name]), [['dev', 'online', 'eu-west-1']]);
    assert.equal('lastHeartbeatAgeSeconds' in (changed.items[0] ?? {}), false, 'ages are computed by the page');
    assert.equal(events.viewer.length, 1, 'the viewer cannot see dev and hears nothing');

    clock.now += 5_000;
    await feed.tick();
    assert.equal(events.admin.length, 2, 'five quiet seconds change nothing');
    clock.now += 6_000;
    await feed.tick();
    const offline = events.admin.at(-1);
    assert.ok(offline?.type === 'changed' && offline.items[0]?.status === 'offline', 'eleven seconds without a heartbeat: offline');

    await store().deleteCluster('c_dev');
    await feed.tick();
    assert.deepEqual(events.admin.at(-1), { type: 'removed', serverTime: new Date(clock.now).toISOString(), ids: ['c_dev'] });
    stop();
  });

  it('fleet feed - close ends every subscriber', async () => {
    const { feed } = await setup();
    let closed = 0;
    await feed.subscribe({ principal: admin, send: () => undefined, close: () => { closed++; } });
    feed.close();
    assert.equal(closed, 1);
    assert.equal(feed.subscriberCount, 0);
  });

  it('fleet feed - a round that fails is logged and the ticker keeps going, with no unhandled rejection', async (t: TestContext) => {
    t.mock.timers.enable({ apis: ['setInterval'] });
    const errors: string[] = [];
    let failing = false;
    const real = store();
    const feed = new FleetFeed({
      store: { listClusters: () => (failing ? Promise.reject(new Error('store down')) : real.listClusters()), listAddonStatuses: (id) => real.listAddonStatuses(id) },
      fleet: { view: () => { throw new Error('not reached'); } },
      log: { error: (_fields: unknown, message?: string) => { errors.push(message ?? ''); } } as never,
      locator: { locate: () => null }, offlineAfterSeconds: 10, refreshMs: 0, tickMs: 1000,
    });
    const stop = await feed.subscribe({ principal: admin, send: () => undefined, close: () => undefined });
    failing = true;
    t.mock.timers.tick(1000);
    t.mock.timers.tick(1000);
    await new Promise((resolve) => { setImmediate(resolve); });
    assert.deepEqual(errors, ['the fleet feed could not compute a round', 'the fleet feed could not compute a round']);
    stop();
  });

  it('fleet feed - a cluster whose view throws is left out of a round; the others are sent', async () => {
    const fleet = new Fleet({ store: store(), log, metrics: new HubMetrics(), offlineAfterMs: 10_000, now: () => START });
    await store().createCluster({ id: 'c_a', name: 'a', labels: {}, tokenHash: 'h', createdAt: new Date(START).toISOString() });
    await store().createCluster({ id: 'c_b', name: 'b', labels: {}, tokenHash: 'h', createdAt: new Date(START).toISOString() });
    const errors: unknown[] = [];
    const feed = new FleetFeed({
      store: store(), fleet, offlineAfterSeconds: 10, now: () => START, refreshMs: 0, tickMs: 3_600_000,
      log: { error: (fields: unknown) => { errors.push(fields); } } as never,
      // As the locator once did on facts without a region.
      locator: { locate: (facts) => { if (facts === null) throw new TypeError("Cannot read properties of undefined (reading 'trim')"); return null; } },
    });
    fleet.attach('c_b', fakeSession(), '0.1.0');
    fleet.heartbeat('c_b', { type: 'heartbeat', intervalSeconds: 1, facts: FACTS });
    const events: FleetFeedEvent[] = [];
    const stop = await feed.subscribe({ principal: admin, send: (e) => { events.push(e); }, close: () => undefined });
    assert.deepEqual(snapshotOf(events[0]).items.map((i) => i.name), ['b']);
    assert.equal(errors.length, 1, 'the cluster that failed is logged');
    stop();
  });

  it('fleet feed - once no one watches it holds no cluster; the next subscriber reads the fleet again', async () => {
    const { feed, stop } = await setup();
    assert.equal(feed.heldClusters, 2);
    stop();
    assert.equal(feed.heldClusters, 0);
    await feed.tick();
    assert.equal(feed.heldClusters, 0, 'a round with no subscriber keeps nothing');
    await store().createCluster({ id: 'c_new', name: 'new', labels: {}, tokenHash: 'h', createdAt: new Date(START).toISOString() });
    const events: FleetFeedEvent[] = [];
    const unsubscribe = await feed.subscribe({ principal: admin, send: (e) => { events.push(e); }, close: () => undefined });
    assert.deepEqual(snapshotOf(events[0]).items.map((i) => i.name).sort(), ['dev', 'new', 'prod']);
    unsubscribe();
  });

  it('add-on summary - counts health, progress and drift, and leaves uninstalled add-ons out', () => {
    const status = (phase: string, health: string | null, drift: string | null): AddonStatusRecord => ({
      clusterId: 'c', name: `${phase}-${String(health)}`, reportedAt: '',
      status: { phase, health: health === null ? null : { status: health, healthy: health === 'Healthy' }, drift: drift === null ? null : { state: drift } } as never,
    });
    assert.deepEqual(summarizeAddons([
      status('Deployed', 'Healthy', 'InSync'), status('Deployed', 'Healthy', 'Drifted'), status('Failed', 'Healthy', null),
      status('Upgrading', 'Progressing', null), status('Deployed', 'Degraded', null), status('Uninstalled', null, null),
    ]), { total: 5, healthy: 2, unhealthy: 2, progressing: 1, drifted: 1 });
  });
});
