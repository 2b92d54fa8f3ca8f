// The agent's inventory against the real test cluster: the initial sync of
// every kind, live changes through watch(), Secret data kept out of memory
// and answers, and a relist after the API server answers 410 Gone.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { KubeClient } from '../../src/agent/kube.ts';
import { AgentMetrics } from '../../src/agent/metrics.ts';
import { Inventory } from '../../src/agent/inventory/index.ts';
import { expireResourceVersion } from '../../src/agent/inventory/inventory.ts';
import type { ResourceChange } from '../../src/link/resources.ts';
import { createLogger } from '../../src/util/logger.ts';
import { compactEtcd, createTestNamespace, kubeconfigPath, kubectl, kubectlJson } from '../helpers/cluster.ts';
import { eventually, suiteContext } from '../helpers/uplink.ts';

const { t: suite, runCleanups } = suiteContext('inventory');

interface MetricReader {
  get(): Promise<{ values: { value: number; labels: Partial<Record<string, string | number>> }[] }>;
}

async function metricValue(metric: MetricReader, labels: Record<string, string> = {}): Promise<number> {
  const { values } = await metric.get();
  return values.filter((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l)).reduce((sum, v) => sum + v.value, 0);
}

function describeChange(change: ResourceChange): string {
  return change.type === 'SYNCED' || change.type === 'ERROR' ? change.type : `${change.type} ${change.row.name}`;
}

describe('inventory against the real cluster', () => {
  let kube: KubeClient;
  let metrics: AgentMetrics;
  let inventory: Inventory;
  let namespace: string;
  let syncMs = 0;
  /** Every change of every kind since the start, for the Secret search. */
  const everyChange: ResourceChange[] = [];

  before(async () => {
    namespace = await createTestNamespace(suite, 'inventory');
    kube = new KubeClient({ kubeconfig: await kubeconfigPath() });
    metrics = new AgentMetrics();
    inventory = new Inventory({ kube, log: createLogger({ name: 'inventory-e2e', level: 'warn' }), metrics });
    const started = performance.now();
    inventory.start();
    await eventually('the initial sync', 10_000, () => inventory.freshness().synced || undefined);
    syncMs = performance.now() - started;
    for (const kind of inventory.kinds()) inventory.watch({ kind: kind.resource }, (c) => { everyChange.push(c); });
  });

  after(async () => {
    await inventory.stop();
    kube.close();
    await runCleanups();
  });

  it('inventory e2e - the initial sync of every kind completes, with real rows', async () => {
    const kinds = inventory.kinds();
    console.log(`# initial sync of ${kinds.length} kinds, ${inventory.freshness().objects} objects: ${syncMs.toFixed(0)} ms`);
    assert.ok(kinds.length >= 26);
    assert.deepEqual(kinds.filter((k) => !k.synced || k.error !== null).map((k) => `${k.resource}: ${k.error ?? 'not synced'}`), []);
    const fresh = inventory.freshness();
    assert.equal(fresh.synced, true);
    assert.equal(fresh.syncedKinds, kinds.length);
    assert.ok(fresh.stalenessSeconds < 10, `staleness ${fresh.stalenessSeconds}`);
    const nodes = [...inventory.rows('nodes')];
    const kubectlNodes = await kubectlJson<{ items: unknown[] }>(['get', 'nodes']);
    assert.equal(nodes.length, kubectlNodes.items.length);
    assert.ok(nodes.every((n) => n.columns.ready === true && n.status === 'Ready' && n.health === 'healthy'));
    const ns = inventory.get({ kind: 'ns', name: namespace });
    assert.equal((ns?.object.metadata as { labels?: Record<string, string> }).labels?.['uplink.dev/test'], 'true');
    assert.equal(await metricValue(metrics.inventoryObjects, { resource: 'nodes' }), nodes.length);
  });

  it('inventory e2e - a ConfigMap created, modified and deleted arrives as ADDED, MODIFIED, DELETED', async () => {
    const seen: ResourceChange[] = [];
    const unsubscribe = inventory.watch({ kind: 'cm', namespace, name: 'live' }, (c) => { seen.push(c); });
    assert.deepEqual(seen.map(describeChange), ['SYNCED']);
    const created = performance.now();
    await kubectl(['-n', namespace, 'create', 'configmap', 'live-cm', '--from-literal=a=1']);
    const added = await eventually('ADDED', 5000, () => seen.find((c) => c.type === 'ADDED'));
    console.log(`# kubectl create to ADDED: ${(performance.now() - created).toFixed(0)} ms`);
    assert.equal(added.type === 'ADDED' && added.row.columns.data, 1);
    await kubectl(['-n', namespace, 'label', 'configmap', 'live-cm', 'stage=two']);
    const modified = await eventually('MODIFIED', 5000, () => seen.find((c) => c.type === 'MODIFIED'));
    assert.equal(modified.type === 'MODIFIED' && modified.row.labels.stage, 'two');
    assert.equal(inventory.list({ kind: 'configmaps', namespace, labelSelector: 'stage=two' }).total, 1);
    await kubectl(['-n', namespace, 'delete', 'configmap', 'live-cm']);
    await eventually('DELETED', 5000, () => seen.find((c) => c.type === 'DELETED'));
    assert.deepEqual(seen.map(describeChange), ['SYNCED', 'ADDED live-cm', 'MODIFIED live-cm', 'DELETED live-cm']);
    assert.equal(inventory.get({ kind: 'configmap', namespace, name: 'live-cm' }), undefined);
    unsubscribe();
  });

  it('inventory e2e - a Secret is cached as metadata only: its data appears nowhere', async () => {
    const plain = `planted-${randomBytes(12).toString('hex')}`;
    const encoded = `encoded-${randomBytes(12).toString('hex')}`;
    const needles = [plain, encoded, Buffer.from(plain).toString('base64'), Buffer.from(encoded).toString('base64')];
    // kubectl apply also writes the whole Secret, plaintext included, into the last-applied annotation.
    const manifest = {
      apiVersion: 'v1', kind: 'Secret', metadata: { name: 'planted', namespace, labels: { planted: 'yes' } },
      stringData: { password: plain }, data: { token: Buffer.from(encoded).toString('base64') },
    };
    await kubectl(['apply', '-f', '-'], { input: JSON.stringify(manifest) });
    await eventually('the Secret in the inventory', 5000, () => inventory.get({ kind: 'secret', namespace, name: 'planted' }));
    const secret = inventory.get({ kind: 'secrets', namespace, name: 'planted' });
    assert.deepEqual(Object.keys(secret?.object ?? {}), ['apiVersion', 'kind', 'metadata']);
    assert.equal(secret?.object.kind, 'Secret');
    const answers: unknown[] = [secret, everyChange, inventory.kinds(), inventory.freshness()];
    for (const kind of inventory.kinds()) {
      let cont: string | null = null;
      do {
        const page = inventory.list({ kind: kind.resource, limit: 1000, ...(cont === null ? {} : { continue: cont }) });
        answers.push(page);
        cont = page.continue;
      } while (cont !== null);
      answers.push([...inventory.objects(kind.resource)]);
    }
    const text = JSON.stringify(answers);
    assert.ok(text.includes('"planted"'), 'the Secret itself is there');
    assert.ok(everyChange.some((c) => c.type === 'ADDED' && c.row.kind === 'Secret' && c.row.name === 'planted'));
    for (const needle of needles) assert.ok(!text.includes(needle), `found ${needle}`);
  });

  it('inventory e2e - a watch from an expired resourceVersion meets 410 Gone, relists and converges', async () => {
    // The test cluster serves NetworkPolicy watches from etcd, not the API
    // server's watch cache (test/cluster/cluster), so once etcd is compacted
    // an old resourceVersion is really gone, as on any long-running cluster.
    const policy = (name: string): string => JSON.stringify({
      apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace }, spec: { podSelector: {}, policyTypes: ['Ingress'] },
    });
    await kubectl(['apply', '-f', '-'], { input: policy('steady') });
    await eventually('steady cached', 5000, () => inventory.get({ kind: 'netpol', namespace, name: 'steady' }));
    const seen: ResourceChange[] = [];
    inventory.watch({ kind: 'networkpolicies', namespace }, (c) => { seen.push(c); });
    const relists = await metricValue(metrics.inventoryRelists);
    const gone = await metricValue(metrics.inventoryWatchRestarts, { reason: 'gone' });
    await compactEtcd();
    expireResourceVersion(inventory, 'networkpolicies');
    await eventually('a relist', 10_000, async () => ((await metricValue(metrics.inventoryRelists)) > relists ? true : undefined));
    assert.equal(await metricValue(metrics.inventoryWatchRestarts, { reason: 'gone' }), gone + 1);
    // The relist replaced the cache without re-announcing objects that did not change.
    assert.deepEqual(seen.slice(seen.findIndex((c) => c.type === 'SYNCED') + 1).map(describeChange), []);
    await kubectl(['apply', '-f', '-'], { input: policy('after-relist') });
    await eventually('the new watch delivers', 5000, () => seen.find((c) => c.type === 'ADDED' && c.row.name === 'after-relist'));
    const cluster = await kubectlJson<{ items: { metadata: { name: string } }[] }>(['-n', namespace, 'get', 'networkpolicies']);
    const cached = inventory.list({ kind: 'networkpolicies', namespace }).items.map((r) => r.name);
    assert.deepEqual(cached, cluster.items.map((i) => i.metadata.name).sort());
    assert.equal(inventory.kinds().find((k) => k.resource === 'networkpolicies')?.error, null);
  });

  it('inventory e2e - with discovery on, a custom resource is cached and answers like a built-in kind', async (t) => {
    const group = `e2e${randomBytes(3).toString('hex')}.uplink.dev`;
    const crd = {
      apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: `widgets.${group}` },
      spec: {
        group, scope: 'Namespaced', names: { plural: 'widgets', singular: 'widget', kind: 'Widget', shortNames: ['wdg'] },
        versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }],
      },
    };
    await kubectl(['apply', '-f', '-'], { input: JSON.stringify(crd) });
    t.after(async () => { await kubectl(['delete', 'crd', `widgets.${group}`, '--ignore-not-found', '--wait=false']); });
    await kubectl(['wait', '--for=condition=Established', `crd/widgets.${group}`, '--timeout=30s']);
    await kubectl(['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: `${group}/v1`, kind: 'Widget', metadata: { name: 'w1', namespace }, spec: { size: 3 } }) });
    const discovering = new Inventory({ kube, log: createLogger({ name: 'inventory-discover', level: 'warn' }), metrics: new AgentMetrics(), discover: true });
    t.after(() => discovering.stop());
    discovering.start();
    await eventually('the discovering inventory to sync', 15_000, () => discovering.freshness().synced || undefined);
    const kind = discovering.resolveKind(`widgets.${group}`) ?? discovering.resolveKind('widgets');
    assert.equal(kind?.kind, 'Widget');
    const resource = kind.resource;
    assert.ok(discovering.freshness().kinds > inventory.freshness().kinds, 'more kinds than the built-in set');
    const page = await eventually('the widget in the cache', 10_000, () => {
      const answer = discovering.list({ kind: resource, namespace });
      return answer.total === 1 ? answer : undefined;
    });
    assert.equal(page.items[0]?.name, 'w1');
    const object = discovering.get({ kind: resource, namespace, name: 'w1' });
    assert.deepEqual((object?.object as { spec?: unknown } | undefined)?.spec, { size: 3 });
  });
});
