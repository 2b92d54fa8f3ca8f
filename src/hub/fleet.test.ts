// The fleet's add-on sweep state against a fake link and a fake clock: the
// cluster view's addonSweep and the scrape-time gauges, on one hub and on two
// replicas sharing a store.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HubSession } from '../link/hub-session.ts';
import type { AddonSweepReport } from '../link/addons.ts';
import { createLogger } from '../util/logger.ts';
import { Fleet, HANDOVER_GRACE_MS } from './fleet.ts';
import { HubMetrics } from './metrics.ts';
import type { ClusterRecord } from './store/index.ts';
import { useMemoryStore } from './store/memory-store.test-helper.ts';
import { soloTier, type ReplicaTier, type TierNews } from './tier/replica-tier.ts';

const log = createLogger({ name: 'test', level: 'silent' });
const SWEEP: AddonSweepReport = { lastSweepAt: '2026-03-04T10:00:00.000Z', sweepDurationSeconds: 2.5, addonsInspected: 3, intervalSeconds: 60 };
const START = Date.parse('2026-03-04T10:00:00.000Z');

/** A link that stays open until `close`, which ends it as a real one does. */
function fakeSession(): HubSession {
  let end: (closed: { code: number; reason: string }) => void = () => undefined;
  const session = {
    isOpen: true,
    closed: new Promise((resolve) => { end = resolve; }),
    close: (code: number, reason: string) => {
      session.isOpen = false;
      end({ code, reason });
    },
  };
  return session as unknown as HubSession;
}

/** The value of a gauge's series for a cluster, or undefined when it has none. */
async function gaugeValue(metrics: HubMetrics, name: string, cluster: string): Promise<number | undefined> {
  const metric = (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === name);
  return metric?.values.find((v) => v.labels.cluster === cluster)?.value;
}

describe('fleet', () => {
  const store = useMemoryStore();

  async function setup(): Promise<{ fleet: Fleet; metrics: HubMetrics; record: ClusterRecord; clock: { now: number } }> {
    const clock = { now: START };
    const metrics = new HubMetrics();
    const fleet = new Fleet({ store: store(), log, metrics, offlineAfterMs: 45_000, now: () => clock.now });
    const record = await store().createCluster({ id: 'c_prod', name: 'prod', labels: {}, tokenHash: 'h', createdAt: new Date(START).toISOString() });
    return { fleet, metrics, record, clock };
  }

  it('fleet - the reconcile lag gauge rises between sweeps and the duration gauge holds the last one', async () => {
    const { fleet, metrics, record, clock } = await setup();
    fleet.attach(record.id, fakeSession(), '1.0.0');
    assert.equal(await gaugeValue(metrics, 'uplink_hub_addon_reconcile_lag_seconds', 'prod'), undefined);
    await fleet.addonSweep(record, SWEEP, log);
    assert.equal(await gaugeValue(metrics, 'uplink_hub_addon_reconcile_lag_seconds', 'prod'), 0);
    clock.now += 42_500;
    assert.equal(await gaugeValue(metrics, 'uplink_hub_addon_reconcile_lag_seconds', 'prod'), 42.5);
    assert.equal(await gaugeValue(metrics, 'uplink_hub_addon_sweep_duration_seconds', 'prod'), 2.5);
    await fleet.addonSweep(record, { ...SWEEP, sweepDurationSeconds: 4 }, log);
    assert.equal(await gaugeValue(metrics, 'uplink_hub_addon_reconcile_lag_seconds', 'prod'), 0);
    assert.equal(await gaugeValue(metrics, 'uplink_hub_addon_sweep_duration_seconds', 'prod'), 4);
  });

  it('fleet - the view marks sweeps stopped after three intervals, also while the agent is offline', async () => {
    const { fleet, record, clock } = await setup();
    const session = fakeSession();
    fleet.attach(record.id, session, '1.0.0');
    assert.equal(fleet.view(record).addonSweep, null);
    await fleet.addonSweep(record, SWEEP, log);
    clock.now += 60_000;
    assert.deepEqual(fleet.view(record).addonSweep, { ...SWEEP, reportedAt: '2026-03-04T10:00:00.000Z', lagSeconds: 60, stopped: false });
    session.close(1000, 'agent stopped');
    await new Promise((resolve) => setImmediate(resolve));
    clock.now += 120_000;
    assert.deepEqual(fleet.view(record).addonSweep, { ...SWEEP, reportedAt: '2026-03-04T10:00:00.000Z', lagSeconds: 180, stopped: false });
    clock.now += 100;
    const view = fleet.view(record);
    assert.equal(view.connected, false);
    assert.equal(view.addonSweep?.stopped, true);
    assert.equal(view.addonSweep.lagSeconds, 180.1);
  });

  it('fleet - a deleted cluster loses its series, and a report racing the deletion does not bring it back', async () => {
    const { fleet, metrics, record } = await setup();
    fleet.attach(record.id, fakeSession(), '1.0.0');
    await fleet.addonSweep(record, SWEEP, log);
    // As the delete route does: disconnect, then forget; the link closes later.
    fleet.disconnect(record.id, 4001, 'cluster deleted');
    fleet.forget(record.id);
    await fleet.addonSweep(record, SWEEP, log);
    assert.equal(fleet.view(record).addonSweep, null);
    assert.equal(await gaugeValue(metrics, 'uplink_hub_addon_reconcile_lag_seconds', 'prod'), undefined);
    assert.equal(await gaugeValue(metrics, 'uplink_hub_addon_sweep_duration_seconds', 'prod'), undefined);
  });

  it('fleet - the holder stores its sweeps; another replica shows the stored one and leaves the series to the holder', async () => {
    const { fleet: holder, metrics: holderMetrics, record, clock } = await setup();
    const news: ((news: TierNews) => void)[] = [];
    const holders = new Map<string, string>();
    const tierB: ReplicaTier = {
      ...soloTier('b'), shared: true,
      holderElsewhere: (id) => holders.get(id),
      subscribe: (listener) => { news.push(listener); },
    };
    const otherMetrics = new HubMetrics();
    const other = new Fleet({ store: store(), log, metrics: otherMetrics, tier: tierB, offlineAfterMs: 45_000, now: () => clock.now });
    // B held the link first and received a sweep; then the link moved to A.
    other.attach(record.id, fakeSession(), '1.0.0');
    await other.addonSweep(record, SWEEP, log);
    other.disconnect(record.id, 4000, 'moved');
    holders.set(record.id, 'a');
    for (const listener of news) listener({ from: 'a', topic: 'claimed', clusterIds: [record.id] });
    clock.now += 10_000;
    holder.attach(record.id, fakeSession(), '1.0.0');
    await holder.addonSweep(record, { ...SWEEP, addonsInspected: 4 }, log);
    clock.now += 2_000;
    const stored = await store().getCluster(record.id) as ClusterRecord;
    const expected = { ...SWEEP, addonsInspected: 4, reportedAt: new Date(START + 10_000).toISOString(), lagSeconds: 2, stopped: false };
    assert.deepEqual(other.view(stored).addonSweep, expected);
    assert.deepEqual(holder.view(stored).addonSweep, expected);
    assert.deepEqual((JSON.parse(other.viewJson(stored, {})) as { addonSweep: unknown }).addonSweep, expected);
    assert.equal(await gaugeValue(holderMetrics, 'uplink_hub_addon_sweep_duration_seconds', 'prod'), 2.5);
    assert.equal(await gaugeValue(otherMetrics, 'uplink_hub_addon_sweep_duration_seconds', 'prod'), undefined, 'counted by the holder alone');
  });

  it('fleet - leaders of one cluster hand the link over without counting a replacement; an earlier leader is refused', async () => {
    const { fleet, metrics, record } = await setup();
    const leader = (term: number, pod: string) => ({ term, identity: `${pod}_0a` });
    fleet.attach(record.id, fakeSession(), '1.0.0', leader(1, 'agent-a'));
    // Far more handovers than the replacement rule allows two agents sharing a token.
    for (let term = 2; term <= 6; term += 1) {
      assert.equal(await fleet.admitLink(record, leader(term, term % 2 ? 'agent-a' : 'agent-b')), 'handover', `term ${term}`);
      fleet.attach(record.id, fakeSession(), '1.0.0', leader(term, term % 2 ? 'agent-a' : 'agent-b'));
    }
    assert.equal(await fleet.admitLink(record, leader(6, 'agent-b')), 'handover', 'the same leader linking again');
    assert.equal(await fleet.admitLink(record, leader(5, 'agent-a')), 'stale');
    assert.equal(await fleet.admitLink(record, undefined), 'accept', 'no terms to compare: the replacement rule, with none counted yet');
    const json = await metrics.registry.getMetricsAsJSON();
    const replaced = json.find((m) => m.name === 'uplink_hub_link_errors_total')?.values.find((v) => v.labels.reason === 'replaced');
    assert.equal(replaced, undefined, 'no replacement counted');
    const handovers = json.find((m) => m.name === 'uplink_hub_leader_handovers_total')?.values.find((v) => v.labels.kind === 'handover');
    assert.equal(handovers?.value, 5);
  });

  it('fleet - without leader terms, the third replacement within the window is refused while the link is held', async () => {
    const { fleet, record } = await setup();
    fleet.attach(record.id, fakeSession(), '1.0.0');
    for (let swap = 0; swap < 2; swap += 1) {
      assert.equal(await fleet.admitLink(record, undefined), 'accept');
      fleet.attach(record.id, fakeSession(), '1.0.0');
    }
    assert.equal(await fleet.admitLink(record, undefined), 'held');
    assert.equal(await fleet.admitLink(record, { term: 0, identity: 'agent-a_0a' }), 'held', 'a term against a link without one: no handover');
  });

  it('fleet - a link held by another replica is compared with the leader its stored facts name', async () => {
    const { record, clock } = await setup();
    const tier: ReplicaTier = { ...soloTier('b'), shared: true, holderElsewhere: () => 'a' };
    const fleet = new Fleet({ store: store(), log, metrics: new HubMetrics(), tier, offlineAfterMs: 45_000, now: () => clock.now });
    const facts = { leader: { pod: 'agent-a', identity: 'agent-a_0a', term: 4, since: '2026-03-04T10:00:00.000Z' } } as unknown as ClusterRecord['facts'];
    assert.equal(await fleet.admitLink({ ...record, facts }, { term: 5, identity: 'agent-b_0b' }), 'handover');
    assert.equal(await fleet.admitLink({ ...record, facts }, { term: 3, identity: 'agent-b_0b' }), 'stale');
  });

  it('fleet - a leader that closed its link to hand over leaves its cluster online for the grace; a dropped link, or an agent without leader election, does not', async () => {
    const { fleet, record, clock } = await setup();
    const settle = (): Promise<void> => new Promise((resolve) => { setImmediate(resolve); });
    const beat = (): void => { fleet.heartbeat(record.id, { type: 'heartbeat', intervalSeconds: 1, facts: {} as never }); };
    const leader = { term: 1, identity: 'agent-a_0a' };
    let session = fakeSession();
    fleet.attach(record.id, session, '1.0.0', leader);
    beat();
    session.close(1000, 'agent drained');
    await settle();
    const stored = (): Promise<ClusterRecord> => store().getCluster(record.id) as Promise<ClusterRecord>;
    assert.equal(fleet.view(await stored()).status, 'online', 'handing over');
    assert.equal(fleet.view(await stored()).connected, false);
    clock.now += HANDOVER_GRACE_MS;
    assert.equal(fleet.view(await stored()).status, 'offline', 'no new leader within the grace');
    // The next leader links within the grace: online throughout.
    session = fakeSession();
    fleet.attach(record.id, session, '1.0.0', { term: 2, identity: 'agent-b_0b' });
    beat();
    session.close(1006, 'connection lost');
    await settle();
    assert.equal(fleet.view(await stored()).status, 'offline', 'a dropped link is no handover');
    session = fakeSession();
    fleet.attach(record.id, session, '1.0.0');
    beat();
    session.close(1000, 'agent stopped');
    await settle();
    assert.equal(fleet.view(await stored()).status, 'offline', 'an agent without leader election just stopped');
  });
});
