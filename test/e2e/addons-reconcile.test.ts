// The add-on reconcile loop end to end: real hub and agent, real
// helm, sops and age-keygen, the test cluster. The agent sweeps every 5 s and
// takes a release pending for 15 s as stuck, so each behaviour shows within
// seconds.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { AddonStatus } from '../../src/link/addons.ts';
import { runChecked } from '../../src/util/run-process.ts';
import { AddonHub, deploymentReplicas, webappSpec } from '../helpers/addons.ts';
import {
  clusterBinDir, createTestNamespace, kubectl, kubectlJson, mintServiceAccountToken, REPO_ROOT, testTempDir, uniqueName,
} from '../helpers/cluster.ts';
import { serveChartRepo } from '../helpers/chart-sources.ts';
import {
  eventually, hubMetricsText, metricValue, startAgent, startHub, suiteContext, type AgentHandle, type HubHandle,
} from '../helpers/uplink.ts';

const CLUSTER = 'e2e-reconcile';
const SWEEP_SECONDS = 5;
/**
 * How long a test waits for what one sweep does: a generous deadline, not a
 * measure (a sweep of a few add-ons on a machine under heavy load can take
 * many times its interval). The sweep's speed is measured in bench/addons.ts.
 */
const ONE_SWEEP_MS = 120_000;
const PLAINTEXT = 's3cr3t-plain-7f2e';

const { t: suite, runCleanups } = suiteContext('addons-reconcile');
let hub: HubHandle;
let addons: AddonHub;
let agent: AgentHandle;
let agentArgs: Parameters<typeof startAgent>[1];
let repo: string;
let agentNamespace: string;

/** A namespace for an add-on's release, removed after the suite. */
function releaseNamespace(prefix: string): string {
  const namespace = uniqueName(prefix);
  suite.after(() => kubectl(['delete', 'namespace', namespace, '--ignore-not-found', '--wait=false']));
  return namespace;
}

const spec = (namespace: string, values = '', extra: Record<string, unknown> = {}): Record<string, unknown> => webappSpec(repo, namespace, values, extra);
const selfHeal = { syncPolicy: { automated: true, selfHeal: true, autoPrune: false } };
const quickRetry = { retry: { limit: -1, backoff: { duration: '2s', factor: 1, maxDuration: '2s' } } };

function driftOf(name: string, what: string, check: (s: AddonStatus) => boolean, timeoutMs = ONE_SWEEP_MS): Promise<AddonStatus> {
  return addons.statusOf(CLUSTER, name, what, (s) => s.drift !== null && check(s), timeoutMs);
}


async function lastSweepAt(): Promise<string | undefined> {
  const view = JSON.parse(await addons.cli(['clusters', 'get', CLUSTER, '-o', 'json'])) as { addonSweep: { lastSweepAt: string } | null };
  return view.addonSweep?.lastSweepAt;
}

/**
 * Returns once `count` sweeps have finished after the call, by the sweep
 * reports the hub keeps: with two, the second one started after the call,
 * whatever the machine's speed.
 */
async function sweepsPass(count: number): Promise<void> {
  const before = await lastSweepAt();
  const seen = new Set<string>();
  await eventually(`${count} sweeps`, ONE_SWEEP_MS * count, async () => {
    const at = await lastSweepAt();
    if (at !== undefined && at !== before) seen.add(at);
    return seen.size >= count ? true : undefined;
  });
}

describe('add-ons reconcile loop', () => {
  before(async () => {
    agentNamespace = await createTestNamespace(suite, 'reconcile-agent');
    const { kubeconfig } = await mintServiceAccountToken(suite, { namespace: agentNamespace, clusterRole: 'cluster-admin' });
    repo = await serveChartRepo(suite, [join(REPO_ROOT, 'examples/charts/webapp')]);
    hub = await startHub(suite);
    addons = new AddonHub(hub);
    const created = JSON.parse(await addons.cli(['clusters', 'create', CLUSTER, '-o', 'json'])) as { token: string };
    agentArgs = {
      hubUrl: hub.url, caHash: hub.caHash, token: created.token, kubeconfig,
      args: ['--namespace', agentNamespace, '--addons-sweep-interval', String(SWEEP_SECONDS), '--addons-stuck-after', '15', '--addons-helm-timeout', '120'],
    };
    agent = await startAgent(suite, agentArgs);
  });
  after(runCleanups);

  it('reconcile - a scaled Deployment is drift within a sweep with its path; self-heal restores it, without it the drift stays; an ignore rule leaves replicas to others while a heal restores the image', async () => {
    const namespace = releaseNamespace('reconcile-drift');
    await addons.put(CLUSTER, 'heal', spec(namespace, '', selfHeal));
    await addons.put(CLUSTER, 'watch', spec(namespace));
    await addons.put(CLUSTER, 'hpa', spec(namespace, '', { ...selfHeal, ignoreDifferences: [{ pointer: '/spec/replicas', target: { kind: 'Deployment' } }] }));
    for (const name of ['heal', 'watch', 'hpa']) {
      await addons.deployedAt(CLUSTER, name, 1);
      await driftOf(name, 'in sync', (s) => s.drift?.state === 'InSync');
    }

    await kubectl(['scale', 'deployment', 'watch-webapp', '-n', namespace, '--replicas=5']);
    const drifted = await driftOf('watch', 'drift on /spec/replicas', (s) => s.drift?.state === 'Drifted');
    assert.deepEqual(drifted.drift?.objects.map((o) => [o.kind, o.name, o.state, o.paths]), [['Deployment', 'watch-webapp', 'Drifted', ['/spec/replicas']]]);
    await sweepsPass(2);
    assert.equal(await deploymentReplicas(namespace, 'watch-webapp'), 5, 'without self-heal nothing is changed');
    assert.equal((await addons.get(CLUSTER, 'watch')).status?.drift?.state, 'Drifted', 'and the drift stays reported');

    await kubectl(['scale', 'deployment', 'heal-webapp', '-n', namespace, '--replicas=5']);
    const healed = await driftOf('heal', 'healed', (s) => s.lastOperation?.action === 'heal' && s.drift?.state === 'InSync');
    assert.equal(healed.lastOperation?.result, 'succeeded');
    assert.equal(healed.lastOperation.trigger, 'sweep');
    assert.equal(healed.release?.revision, 1, 'a heal makes no new revision');
    assert.equal(await deploymentReplicas(namespace, 'heal-webapp'), 2);

    // An HPA-style change of replicas is not drift; a changed image is, and its heal leaves replicas alone.
    await kubectl(['scale', 'deployment', 'hpa-webapp', '-n', namespace, '--replicas=4']);
    await sweepsPass(2);
    const ignored = (await addons.get(CLUSTER, 'hpa')).status;
    assert.equal(ignored?.drift?.state, 'InSync');
    assert.notEqual(ignored.lastOperation?.action, 'heal');
    await kubectl(['set', 'image', 'deployment/hpa-webapp', '-n', namespace, 'webapp=registry.invalid/other:2']);
    await driftOf('hpa', 'image healed', (s) => s.lastOperation?.action === 'heal' && s.drift?.state === 'InSync');
    const deployment = await kubectlJson<{ spec: { replicas: number; template: { spec: { containers: { image: string }[] } } } }>(['get', 'deployment', 'hpa-webapp', '-n', namespace]);
    assert.equal(deployment.spec.template.spec.containers[0]?.image, 'registry.invalid/webapp:1');
    assert.equal(deployment.spec.replicas, 4, 'the heal did not reset the ignored field');
  });

  it('reconcile - a helm upgrade killed mid-way leaves the release pending-upgrade; aged past the threshold it is recovered to deployed, and the object the killed run created and the chart no longer renders is pruned (kept without auto-prune)', async () => {
    const namespace = releaseNamespace('reconcile-stuck');
    const prune = { syncPolicy: { automated: true, selfHeal: false, autoPrune: true } };
    await addons.put(CLUSTER, 'pruned', spec(namespace, '', { ...prune, ...quickRetry }));
    await addons.put(CLUSTER, 'kept', spec(namespace, '', quickRetry));
    for (const name of ['pruned', 'kept']) await addons.deployedAt(CLUSTER, name, 1);

    // An upgrade that renders one more ConfigMap and can never get ready (no node matches): helm creates the
    // ConfigMap, then waits; it is killed while it waits.
    const hanging = 'extraConfigMap:\n  enabled: true\nnodeSelector:\n  uplink-test/none: "true"\n';
    for (const name of ['pruned', 'kept']) await addons.put(CLUSTER, name, spec(namespace, hanging, name === 'pruned' ? { ...prune, ...quickRetry } : quickRetry));
    for (const name of ['pruned', 'kept']) {
      await eventually(`${name}: the extra ConfigMap created by the hanging upgrade`, 30_000, async () => {
        const list = await kubectlJson<{ items: unknown[] }>(['get', 'configmaps', '-n', namespace, '--field-selector', `metadata.name=${name}-webapp-extra`]);
        return list.items.length === 1 ? true : undefined;
      });
      await runChecked('pkill', ['-KILL', '-f', `helm upgrade --install ${name} `]);
      await addons.statusOf(CLUSTER, name, 'pending-upgrade', (s) => s.release?.status === 'pending-upgrade');
    }

    // The template goes away again; the agent recovers the release once it has been pending for 15 s.
    for (const name of ['pruned', 'kept']) await addons.put(CLUSTER, name, spec(namespace, '', name === 'pruned' ? { ...prune, ...quickRetry } : quickRetry));
    for (const name of ['pruned', 'kept']) {
      const recovered = await addons.statusOf(CLUSTER, name, 'recovered to deployed', (s, view) => s.generation === view.generation
        && s.release?.status === 'deployed' && s.inSync, 90_000);
      assert.deepEqual(recovered.history.map((r) => r.status), ['superseded', 'failed', 'deployed']);
      assert.match(recovered.history[1]?.description ?? '', /^Marked failed by Uplink: pending-upgrade for \d+ (s|min) \(an interrupted helm operation\)/);
    }
    const pruned = await driftOf('pruned', 'the orphan pruned', (s) => s.drift?.pruned.includes(`ConfigMap/${namespace}/pruned-webapp-extra`) === true);
    assert.equal(pruned.lastOperation?.action, 'prune');
    const left = await kubectlJson<{ items: { metadata: { name: string } }[] }>(['get', 'configmaps', '-n', namespace]);
    const names = left.items.map((c) => c.metadata.name);
    assert.ok(!names.includes('pruned-webapp-extra'), 'auto-prune deleted the orphan');
    await sweepsPass(2);
    const still = await kubectlJson<{ items: { metadata: { name: string } }[] }>(['get', 'configmaps', '-n', namespace]);
    assert.ok(still.items.some((c) => c.metadata.name === 'kept-webapp-extra'), 'without auto-prune the orphan stays');
  });

  it('reconcile - outside the sync window an update ends cancelled with outside_sync_window, and happens once the window opens', async () => {
    const namespace = releaseNamespace('reconcile-window');
    await addons.put(CLUSTER, 'windowed', spec(namespace));
    await addons.deployedAt(CLUSTER, 'windowed', 1);
    // A window opening at the start of a minute at least 20 s away, in UTC.
    const opens = new Date(Math.ceil((Date.now() + 20_000) / 60_000) * 60_000);
    const syncWindow = { schedule: `${opens.getUTCMinutes()} ${opens.getUTCHours()} * * *`, duration: '30m', timeZone: 'UTC' };
    await addons.put(CLUSTER, 'windowed', spec(namespace, 'replicaCount: 3\n', { syncWindow }));
    const cancelled = await addons.statusOf(CLUSTER, 'windowed', 'cancelled', (s, view) => s.generation === view.generation && s.lastOperation?.result === 'cancelled');
    assert.equal(cancelled.lastOperation?.message, 'outside_sync_window');
    assert.equal(cancelled.release?.revision, 1);
    assert.equal(cancelled.syncWindow?.open, false);
    assert.equal(cancelled.syncWindow.opensAt, opens.toISOString());
    assert.equal(await deploymentReplicas(namespace, 'windowed-webapp'), 2);
    assert.ok(Date.now() < opens.getTime(), 'the window had not opened yet');
    const applied = await addons.statusOf(CLUSTER, 'windowed', 'upgraded once the window opened', (s) => s.release?.revision === 2 && s.inSync, 120_000);
    assert.ok(Date.parse(applied.lastOperation?.startedAt ?? '') >= opens.getTime(), 'not before the window opened');
    assert.equal(applied.syncWindow?.open, true);
    assert.equal(await deploymentReplicas(namespace, 'windowed-webapp'), 3);
  });

  it('reconcile - moving an add-on to another namespace installs it there and leaves nothing of it in the old one; the cluster-scoped object it adopted stays', async () => {
    const from = releaseNamespace('reconcile-from');
    const to = releaseNamespace('reconcile-to');
    suite.after(() => kubectl(['delete', 'clusterrole', 'mover-webapp-config-reader', '--ignore-not-found']));
    const values = 'clusterRole:\n  create: true\n';
    await addons.put(CLUSTER, 'mover', spec(from, values));
    await addons.deployedAt(CLUSTER, 'mover', 1);
    await addons.put(CLUSTER, 'mover', spec(to, values));
    await addons.statusOf(CLUSTER, 'mover', 'deployed in the new namespace', (s, view) => s.generation === view.generation
      && s.release?.namespace === to && s.release.status === 'deployed' && s.inSync);
    await eventually('nothing of the add-on in the old namespace', 60_000, async () => {
      const left = await kubectlJson<{ items: unknown[] }>(['get', 'deployments,services,configmaps,secrets', '-n', from, '-l', 'app.kubernetes.io/instance=mover']);
      const records = await kubectlJson<{ items: unknown[] }>(['get', 'secrets', '-n', from, '-l', 'owner=helm,name=mover']);
      return left.items.length === 0 && records.items.length === 0 ? true : undefined;
    });
    const role = await kubectlJson<{ metadata: { annotations: Record<string, string> } }>(['get', 'clusterrole', 'mover-webapp-config-reader']);
    assert.equal(role.metadata.annotations['meta.helm.sh/release-namespace'], to);
    assert.equal(await deploymentReplicas(to, 'mover-webapp'), 2);
  });

  it('reconcile - SOPS-encrypted values install decrypted, and the plaintext is in no log line, status or hub record', async (t) => {
    const namespace = releaseNamespace('reconcile-sops');
    const bin = await clusterBinDir();
    const dir = testTempDir(t, 'uplink-sops-');
    const keyFile = join(dir, 'age.agekey');
    await runChecked(join(bin, 'age-keygen'), ['-o', keyFile]);
    const recipient = (await runChecked(join(bin, 'age-keygen'), ['-y', keyFile])).stdout.trim();
    await kubectl(['create', 'secret', 'generic', 'uplink-agent-sops', '-n', agentNamespace, `--from-file=age.agekey=${keyFile}`]);
    const plain = `replicaCount: 3\nconfig:\n  PASSWORD: ${PLAINTEXT}\n`;
    const valuesFile = join(dir, 'values.yaml');
    writeFileSync(valuesFile, plain);
    const encrypted = (await runChecked(join(bin, 'sops'), ['encrypt', '--age', recipient, valuesFile], {
      env: { PATH: process.env.PATH ?? '', HOME: dir },
    })).stdout;
    assert.doesNotMatch(encrypted, new RegExp(PLAINTEXT));
    await addons.put(CLUSTER, 'secret-values', spec(namespace, encrypted));
    await addons.deployedAt(CLUSTER, 'secret-values', 1);
    assert.equal(await deploymentReplicas(namespace, 'secret-values-webapp'), 3);
    const config = await kubectlJson<{ data: Record<string, string> }>(['get', 'configmap', 'secret-values-webapp', '-n', namespace]);
    assert.equal(config.data.PASSWORD, PLAINTEXT, 'the release got the decrypted value');
    const record = await addons.get(CLUSTER, 'secret-values');
    assert.doesNotMatch(JSON.stringify(record), new RegExp(PLAINTEXT), 'not in the hub record or status');
    const logs = [...agent.process.lines, ...hub.process.lines].map((line) => JSON.stringify(line)).join('\n');
    assert.doesNotMatch(logs, new RegExp(PLAINTEXT), 'not in a log line of the agent or the hub');
  });

  it('reconcile - with the hub stopped, a deleted managed object is recreated by self-heal', async () => {
    const namespace = releaseNamespace('reconcile-offline');
    await addons.put(CLUSTER, 'offline', spec(namespace, '', selfHeal));
    await addons.deployedAt(CLUSTER, 'offline', 1);
    await driftOf('offline', 'in sync', (s) => s.drift?.state === 'InSync');
    const { port, dataDir } = hub;
    const links = (): number => agent.process.lines.filter((l) => l.msg === 'linked to the hub').length;
    const linked = links();
    await hub.process.stop();
    await kubectl(['delete', 'configmap', 'offline-webapp', '-n', namespace]);
    await eventually('the ConfigMap recreated while the hub is down', ONE_SWEEP_MS, async () => {
      const list = await kubectlJson<{ items: unknown[] }>(['get', 'configmaps', '-n', namespace, '--field-selector', 'metadata.name=offline-webapp']);
      return list.items.length === 1 ? true : undefined;
    });
    assert.ok(agent.process.lines.some((l) => l.msg === 'add-on heal succeeded' && l.addon === 'offline'));
    hub = await startHub(suite, { port, dataDir });
    addons = new AddonHub(hub);
    await eventually('the agent linked to the restarted hub', 30_000, () => (links() > linked ? true : undefined));
  });

  it('reconcile - the hub reports the reconcile lag per cluster, and it rises while the agent is stopped', async () => {
    const series = `uplink_hub_addon_reconcile_lag_seconds{cluster="${CLUSTER}"}`;
    const lag = async (): Promise<number | undefined> => {
      const text = await hubMetricsText(hub);
      return text.includes(series) ? metricValue(text, 'uplink_hub_addon_reconcile_lag_seconds', `cluster="${CLUSTER}"`) : undefined;
    };
    const fresh = await eventually('a sweep report', ONE_SWEEP_MS, lag);
    await agent.process.stop();
    // Rising past three sweeps' worth shows the lag counts from the last report, whatever the machine's speed.
    const stale = await eventually('the lag to rise while the agent is stopped', ONE_SWEEP_MS, async () => {
      const value = await lag();
      return value !== undefined && value > fresh + 3 * SWEEP_SECONDS ? value : undefined;
    });
    assert.ok(stale > fresh, `lag ${stale} s rose from ${fresh} s`);
    const view = JSON.parse(await addons.cli(['clusters', 'get', CLUSTER, '-o', 'json'])) as { addonSweep: { stopped: boolean } | null };
    assert.equal(view.addonSweep?.stopped, true, 'the cluster is marked: sweeps stopped');
  });
});
