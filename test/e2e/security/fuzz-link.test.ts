// Fuzzing the link from the agent's side: a peer linked with a valid cluster
// token sends mutated agent events (real heartbeats, add-on statuses and
// sweep reports with fields changed, removed, added or mistyped, and lines
// with bytes changed) while a fleet feed is open. The hub must stay up, keep
// only facts that parse, and another agent's cluster must stay online.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { sampleStatus } from '../../../src/hub/addons/status.test-helper.ts';
import { openSqliteStore, type Store } from '../../../src/hub/store/index.ts';
import { storedFacts } from '../../../src/link/heartbeat-schema.ts';
import { fuzz, mutatedJson, mutatedText } from '../../helpers/fuzz.ts';
import { livez, openFleetWatch, watchOtherClients, type FleetWatch } from '../../helpers/hub-http.ts';
import { heartbeat, linkRawAgent, type RawAgent } from '../../helpers/raw-agent.ts';
import { hubMetricsText, metricValue, startHub, suiteContext, type HubHandle } from '../../helpers/uplink.ts';

const SWEEP = { type: 'addonSweep', sweep: { lastSweepAt: '2026-03-04T10:00:00.000Z', sweepDurationSeconds: 1.5, addonsInspected: 1, intervalSeconds: 60 } };
const REAL_EVENTS: unknown[] = [heartbeat(), heartbeat({ region: null, cloud: null, zones: [] }), { type: 'addonStatus', status: sampleStatus() }, SWEEP];

describe('fuzz - agent events on the link', () => {
  let hub: HubHandle;
  let store: Store;
  let token: string;
  let clusterId: string;
  let attacker: RawAgent;
  let feed: FleetWatch;
  let stopBeats: () => void = () => undefined;
  const { t: setupContext, runCleanups } = suiteContext('fuzz-link');

  before(async () => {
    hub = await startHub(setupContext, { args: ['--offline-after', '5'] });
    const created = await hub.client.request<{ token: string; cluster: { id: string } }>('POST', '/api/v1/clusters', { name: 'fuzzed-link' });
    token = created.token;
    clusterId = created.cluster.id;
    await hub.client.request('PUT', '/api/v1/clusters/fuzzed-link/addons/web', { source: { repo: { url: 'https://charts.example.com', chart: 'webapp' } }, version: '0.1.0', namespace: 'web' });
    const bystander = await hub.client.request<{ token: string }>('POST', '/api/v1/clusters', { name: 'bystander' });
    const good = await linkRawAgent(setupContext, hub, bystander.token);
    good.send(heartbeat());
    const beats = setInterval(() => { good.send(heartbeat()); }, 1000);
    stopBeats = () => { clearInterval(beats); };
    attacker = await linkRawAgent(setupContext, hub, token);
    feed = await openFleetWatch(hub, hub.adminToken);
    store = openSqliteStore({ path: join(hub.dataDir, 'hub.db') });
  });

  after(async () => {
    stopBeats();
    feed.close();
    await store.close();
    await runCleanups();
  });

  it('fuzz - mutated heartbeats, add-on statuses and sweep reports', async (t) => {
    const line = fc.oneof(
      { weight: 8, arbitrary: fc.constantFrom(...REAL_EVENTS).chain((event) => mutatedJson(event, 4)).map((event) => JSON.stringify(event) as string | undefined ?? 'null') },
      { weight: 1, arbitrary: mutatedText(fc.constantFrom(...REAL_EVENTS.map((event) => JSON.stringify(event))), 3) },
      { weight: 1, arbitrary: fc.jsonValue().map((value) => JSON.stringify(value)) },
    );
    const watch = watchOtherClients(hub, 'bystander');
    let relinks = 0;
    const summary = await fuzz(t, 'link events', fc.array(line, { minLength: 1, maxLength: 5 }), async (lines) => {
      if (!attacker.open) {
        // A line that is not JSON closes the link, as documented; a fresh link carries on.
        attacker = await linkRawAgent(setupContext, hub, token);
        relinks += 1;
      }
      for (const text of lines) attacker.send(text.replace(/\n/g, ' '));
      assert.equal(await livez(hub), 200, 'the hub answers');
      const record = await store.getCluster(clusterId);
      const json = record?.factsJson ?? null;
      if (json !== null) assert.notEqual(storedFacts(JSON.parse(json)), null, `stored facts parse: ${json.slice(0, 200)}`);
    }).finally(watch.stop);
    const metrics = await hubMetricsText(hub);
    const accepted = metricValue(metrics, 'uplink_hub_heartbeats_total');
    const dropped = metricValue(metrics, 'uplink_hub_agent_events_dropped_total', 'type="heartbeat"');
    t.diagnostic(`fuzz link events: ${relinks} relinks after lines that were not JSON; heartbeats stored ${accepted}, dropped ${dropped}`);
    assert.ok(accepted > 0 && dropped > 0, 'the fuzz reached both sides of the heartbeat schema');
    assert.deepEqual(await watch.stop(), [], 'the other agent stayed online and an admin could read it');
    assert.equal(feed.ended, false, 'the fleet feed stayed open');
    assert.ok(summary.runs > 0);
  });
});
