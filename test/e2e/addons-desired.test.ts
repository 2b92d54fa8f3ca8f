// Desired add-ons over the link, with real hub and agent processes: the hub
// pushes a cluster's set when the agent links and after every change, the
// agent keeps it (outside a cluster: a 0600 file beside its state file), and
// a restarted agent still has it while the hub is down.
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { it } from 'node:test';
import { desiredAddonsFileFor } from '../../src/agent/addons/desired-store.ts';
import type { DesiredAddonSet } from '../../src/link/addons.ts';
import { createTestNamespace, mintServiceAccountToken } from '../helpers/cluster.ts';
import {
  eventually, hubMetricsText, metricValue, startAgent, startHub, uplink, type HubHandle,
} from '../helpers/uplink.ts';

/** The push after a change must reach the agent's store within this. */
/** A generous deadline for a push to land, not a measure of its speed (bench/addons.ts measures that). */
const PUSH_WITHIN_MS = 60_000;
const SECRET_VALUE = 'hunter2-not-for-logs';

function readDesired(file: string): DesiredAddonSet | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as DesiredAddonSet;
  } catch {
    return undefined;
  }
}

async function setAddon(hub: HubHandle, replicas: number): Promise<void> {
  const result = await uplink([
    'addons', 'set', 'e2e-desired', 'web', '--chart-repo', 'https://charts.example.com', '--chart', 'web',
    '--chart-version', '^1.0', '-n', 'web', '--values-inline', `replicaCount: ${replicas}\npassword: ${SECRET_VALUE}\n`,
  ], hub.cliConfig);
  assert.equal(result.code, 0, result.stderr);
}

it('addons desired - the agent holds the set after each change, keeps it across a restart without the hub, and sees deletions', async (t) => {
  const namespace = await createTestNamespace(t, 'agent');
  const { kubeconfig } = await mintServiceAccountToken(t, { namespace, clusterRole: 'cluster-admin' });
  const hub = await startHub(t);
  const created = await uplink(['clusters', 'create', 'e2e-desired', '-o', 'json'], hub.cliConfig);
  assert.equal(created.code, 0, created.stderr);
  const { token } = JSON.parse(created.stdout) as { token: string };
  const agent = await startAgent(t, { hubUrl: hub.url, caHash: hub.caHash, token, kubeconfig });
  const file = desiredAddonsFileFor(agent.stateFile);

  // Linking pushes the (empty) set at once.
  await eventually('the empty set on link', PUSH_WITHIN_MS, () => (readDesired(file)?.addons.length === 0 ? true : undefined));

  await setAddon(hub, 1);
  const first = await eventually('add-on web in the agent', PUSH_WITHIN_MS, () => {
    const set = readDesired(file);
    return set?.addons.some((a) => a.name === 'web') === true ? set : undefined;
  });
  assert.equal(first.generation, 1);
  assert.deepEqual(first.addons.map((a) => [a.name, a.generation, a.deleted]), [['web', 1, false]]);
  assert.equal(first.addons[0]?.spec.namespace, 'web');
  assert.equal(first.addons[0].spec.revisionHistoryLimit, 10, 'the spec arrives with its defaults');
  assert.equal(statSync(file).mode & 0o777, 0o600);

  await setAddon(hub, 2);
  const second = await eventually('generation 2', PUSH_WITHIN_MS, () => {
    const set = readDesired(file);
    return set?.generation === 2 ? set : undefined;
  });
  assert.match(second.addons[0]?.spec.values ?? '', /replicaCount: 2/);

  // Hub down, agent restarted: it loads what it stored.
  const port = hub.port;
  await hub.process.stop();
  await agent.process.stop();
  const restarted = await startAgent(t, { hubUrl: hub.url, caHash: hub.caHash, token, kubeconfig, stateFile: agent.stateFile, waitLinked: false });
  const loaded = await restarted.process.waitForLog((l) => l.msg === 'loaded desired add-ons', 60_000);
  assert.equal(loaded.generation, 2);
  assert.deepEqual(loaded.addons, ['web@2']);
  assert.equal(readDesired(file)?.generation, 2);

  // Hub back on the same port and data: the agent relinks; deleting marks the add-on.
  const hubAgain = await startHub(t, { port, dataDir: hub.dataDir });
  await restarted.process.waitForLog((l) => l.msg === 'linked to the hub', 60_000);
  const deleted = await uplink(['addons', 'delete', 'e2e-desired', 'web'], hubAgain.cliConfig);
  assert.equal(deleted.code, 0, deleted.stderr);
  const third = await eventually('the deleted marker', PUSH_WITHIN_MS, () => {
    const set = readDesired(file);
    return set?.generation === 3 ? set : undefined;
  });
  assert.deepEqual(third.addons.map((a) => [a.name, a.generation, a.deleted]), [['web', 3, true]]);

  // The agent stores the set before it answers the push, so the hub counts the push a moment after the file changed.
  const metricsText = await eventually('two pushes counted', PUSH_WITHIN_MS, async () => {
    const text = await hubMetricsText(hubAgain);
    return metricValue(text, 'uplink_hub_addon_pushes_total', 'outcome="ok"') >= 2 ? text : undefined;
  });
  assert.equal(metricValue(metricsText, 'uplink_hub_addon_pushes_total', 'outcome="failed"'), 0);

  // Values may hold credentials: neither process logs them.
  for (const process of [agent.process, restarted.process, hub.process, hubAgain.process]) {
    assert.ok(!process.dump().includes(SECRET_VALUE), 'a value reached a log');
  }
});
