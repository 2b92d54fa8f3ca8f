import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import type { ResourceChange } from '../../link/resources.ts';
import { createLogger } from '../../util/logger.ts';
import { KubeApiError, KubeClient } from '../kube.ts';
import { AgentMetrics } from '../metrics.ts';
import { discoverKinds } from './discovery.ts';
import { FakeSource, object, until } from './fake-source.test-helper.ts';
import { Inventory } from './index.ts';
import { builtinKinds } from './kinds.ts';

const running: Inventory[] = [];

afterEach(async () => {
  for (const inventory of running.splice(0)) await inventory.stop();
});

function pod(namespace: string, name: string, rv: string, labels: Record<string, string>, extra: object = {}): ReturnType<typeof object> {
  return object(namespace, name, rv, {
    metadata: { labels },
    spec: { nodeName: 'n1', containers: [{ name: 'app' }, { name: 'sidecar' }] },
    status: { phase: 'Running', containerStatuses: [{ ready: true, state: { running: {} } }, { ready: true, state: { running: {} } }] },
    ...extra,
  });
}

async function started(source: FakeSource, options: { now?: () => number; discover?: boolean; kube?: KubeClient } = {}): Promise<Inventory> {
  const inventory = new Inventory({
    kube: Object.create(KubeClient.prototype) as KubeClient, log: createLogger({ name: 'test', level: 'silent' }), metrics: new AgentMetrics(), source, ...options,
  });
  running.push(inventory);
  inventory.start();
  await until('sync', 3000, () => inventory.freshness().synced || undefined);
  return inventory;
}

describe('inventory', () => {
  it('inventory - syncs every kind, then answers lists with kind, rows, total and freshness', async () => {
    const source = new FakeSource();
    source.set('pods', [pod('shop', 'web-1', '5', { app: 'web' }), pod('shop', 'db-1', '6', { app: 'db' }), pod('infra', 'web-2', '7', { app: 'web' })], '7');
    const inventory = await started(source);
    const fresh = inventory.freshness();
    assert.deepEqual({ ...fresh, startedAt: undefined, syncedAt: undefined, stalenessSeconds: undefined }, {
      synced: true, kinds: 26, syncedKinds: 26, objects: 3, stalenessSeconds: undefined, startedAt: undefined, syncedAt: undefined,
    });
    assert.ok(fresh.syncedAt !== null);
    const list = inventory.list({ kind: 'po', labelSelector: 'app=web', limit: 1 });
    assert.equal(list.kind.resource, 'pods');
    assert.deepEqual(list.items.map((r) => `${r.namespace ?? ''}/${r.name} ${r.status} ${String(r.columns.ready)}`), ['infra/web-2 Running 2/2']);
    assert.equal(list.total, 2);
    assert.ok(list.continue !== null);
    const next = inventory.list({ kind: 'pods', labelSelector: 'app=web', limit: 1, continue: list.continue });
    assert.deepEqual(next.items.map((r) => r.name), ['web-1']);
    assert.equal(next.continue, null);
    assert.equal(inventory.kinds().find((k) => k.resource === 'pods')?.objects, 3);
  });

  it('inventory - bad queries throw codes that name the problem', async () => {
    const inventory = await started(new FakeSource());
    assert.throws(() => inventory.list({ kind: 'widgets' }), { code: 'UNKNOWN_KIND', message: /unknown kind "widgets"/ });
    assert.throws(() => inventory.list({ kind: 'pods', labelSelector: 'a in b' }), { code: 'BAD_SELECTOR' });
    assert.throws(() => inventory.list({ kind: 'pods', limit: 5000 }), { code: 'BAD_LIMIT' });
    assert.throws(() => inventory.list({ kind: 'pods', continue: 'xyz' }), { code: 'BAD_CONTINUE' });
    assert.throws(() => inventory.watch({ kind: 'nope' }, () => undefined), { code: 'UNKNOWN_KIND' });
    assert.equal(inventory.resolveKind('nope'), undefined);
    assert.equal(inventory.resolveKind('Deploy')?.resource, 'deployments');
  });

  it('inventory - get returns the stripped object; events for an object come oldest first', async () => {
    const source = new FakeSource();
    const target = pod('shop', 'web-1', '5', { app: 'web' });
    target.metadata = { ...target.metadata, managedFields: [{ manager: 'x' }] };
    const uid = target.metadata.uid;
    const event = (name: string, lastTimestamp: string, involved: object): ReturnType<typeof object> =>
      object('shop', name, '9', { involvedObject: involved, reason: 'Pulled', type: 'Normal', lastTimestamp });
    source.set('pods', [target], '5');
    source.set('events', [
      event('e-late', '2026-01-03T00:00:00Z', { kind: 'Pod', name: 'web-1', namespace: 'shop', uid }),
      event('e-early', '2026-01-01T00:00:00Z', { kind: 'Pod', name: 'web-1', namespace: 'shop', uid }),
      event('e-old-incarnation', '2026-01-02T00:00:00Z', { kind: 'Pod', name: 'web-1', namespace: 'shop', uid: 'other' }),
      event('e-no-uid', '2026-01-02T00:00:00Z', { kind: 'Pod', name: 'web-1', namespace: 'shop' }),
      event('e-other', '2026-01-02T00:00:00Z', { kind: 'Pod', name: 'web-2', namespace: 'shop' }),
    ], '9');
    const inventory = await started(source);
    const got = inventory.get({ kind: 'pod', namespace: 'shop', name: 'web-1' });
    assert.equal(got?.object.kind, 'Pod');
    assert.equal((got.object.metadata as { managedFields?: unknown }).managedFields, undefined);
    assert.equal(inventory.get({ kind: 'pod', namespace: 'shop', name: 'nope' }), undefined);
    assert.deepEqual(inventory.eventsFor({ kind: 'pods', namespace: 'shop', name: 'web-1' }).items.map((r) => r.name), ['e-early', 'e-no-uid', 'e-late']);
  });

  it('inventory - watch sends current matches, SYNCED, then live changes; label changes enter and leave the filter', async () => {
    const source = new FakeSource();
    source.set('pods', [pod('shop', 'web-1', '5', { app: 'web' }), pod('shop', 'db-1', '6', { app: 'db' })], '6');
    const inventory = await started(source);
    const seen: ResourceChange[] = [];
    const unsubscribe = inventory.watch({ kind: 'pods', namespace: 'shop', labelSelector: 'app=web' }, (c) => { seen.push(c); });
    assert.deepEqual(seen.map((c) => c.type), ['ADDED', 'SYNCED']);
    const watch = await source.nthWatch('pods', 1);
    watch.emit('ADDED', pod('shop', 'web-2', '7', { app: 'web' }));
    watch.emit('ADDED', pod('other', 'web-3', '8', { app: 'web' }));
    watch.emit('MODIFIED', pod('shop', 'db-1', '9', { app: 'web' }));
    watch.emit('MODIFIED', pod('shop', 'web-1', '10', { app: 'gone' }));
    watch.emit('DELETED', pod('shop', 'web-2', '11', { app: 'web' }));
    const live = seen.slice(2).map((c) => (c.type === 'ADDED' || c.type === 'MODIFIED' || c.type === 'DELETED' ? `${c.type} ${c.row.name}` : c.type));
    assert.deepEqual(live, ['ADDED web-2', 'ADDED db-1', 'DELETED web-1', 'DELETED web-2']);
    unsubscribe();
    watch.emit('ADDED', pod('shop', 'web-9', '12', { app: 'web' }));
    assert.equal(seen.length, 6);
  });

  it('inventory - a subscriber that throws is dropped; stop ends the others with an ERROR', async () => {
    const source = new FakeSource();
    const inventory = await started(source);
    let calls = 0;
    inventory.watch({ kind: 'pods' }, (c) => {
      calls += 1;
      if (c.type === 'ADDED') throw new Error('reader gone');
    });
    const seen: ResourceChange[] = [];
    inventory.watch({ kind: 'nodes' }, (c) => { seen.push(c); });
    const watch = await source.nthWatch('pods', 1);
    watch.emit('ADDED', pod('a', 'p1', '2', {}));
    watch.emit('ADDED', pod('a', 'p2', '3', {}));
    assert.equal(calls, 2, 'SYNCED, then the throwing ADDED; nothing after');
    await inventory.stop();
    assert.deepEqual(seen.map((c) => c.type), ['SYNCED', 'ERROR']);
    assert.equal(seen[1]?.type === 'ERROR' && seen[1].message, 'the agent is stopping');
  });

  it('inventory - rows, objects and pods matching a selector with their default container', async () => {
    const source = new FakeSource();
    source.set('pods', [
      pod('shop', 'web-1', '5', { app: 'web' }, { metadata: { labels: { app: 'web' }, annotations: { 'kubectl.kubernetes.io/default-container': 'sidecar' } } }),
      pod('shop', 'web-2', '6', { app: 'web' }),
      pod('other', 'web-3', '7', { app: 'web' }),
    ], '7');
    source.set('nodes', [object(null, 'n1', '1', { status: { conditions: [{ type: 'Ready', status: 'True' }] } })], '1');
    const inventory = await started(source);
    assert.deepEqual([...inventory.rows('nodes')].map((r) => [r.name, r.columns.ready]), [['n1', true]]);
    assert.deepEqual([...inventory.objects('nodes')].map((o) => o.kind), ['Node']);
    assert.deepEqual([...inventory.rows('unknown')], []);
    assert.deepEqual(inventory.podsMatching('shop', 'app=web'), [
      { name: 'web-1', containers: ['app', 'sidecar'], defaultContainer: 'sidecar' },
      { name: 'web-2', containers: ['app', 'sidecar'], defaultContainer: 'app' },
    ]);
  });

  it('inventory - a forbidden kind does not hold back sync; staleness counts from the last contact', async () => {
    const source = new FakeSource();
    source.listErrors.set('secrets', [new KubeApiError(403, 'list /api/v1/secrets: HTTP 403: forbidden')]);
    let now = 1_000_000;
    const inventory = await started(source, { now: () => now });
    const fresh = inventory.freshness();
    assert.equal(fresh.synced, true);
    assert.equal(fresh.syncedKinds, 25);
    const secrets = inventory.kinds().find((k) => k.resource === 'secrets');
    assert.match(secrets?.error ?? '', /secrets is forbidden by RBAC/);
    now += 30_000;
    assert.equal(inventory.freshness().stalenessSeconds, 30);
    (await source.nthWatch('pods', 1)).emit('BOOKMARK', { metadata: { resourceVersion: '9' } });
    assert.equal(inventory.kinds().find((k) => k.resource === 'pods')?.stalenessSeconds, 0);
    // A quiet kind with its watch open is as current as the API server's last word on any kind.
    assert.equal(inventory.kinds().find((k) => k.resource === 'configmaps')?.stalenessSeconds, 0);
    assert.equal(inventory.freshness().stalenessSeconds, 0, 'a quiet, healthy cluster is not stale');
    // A kind whose watch ended counts from its own last answer until it watches again.
    source.watchErrors.set('configmaps', [new KubeApiError(0, 'watch /api/v1/configmaps: connect ECONNREFUSED')]);
    (await source.nthWatch('configmaps', 1)).fail(new KubeApiError(0, 'watch /api/v1/configmaps: read ECONNRESET'));
    await until('the configmaps watch to end', 3000, () => (inventory.kinds().find((k) => k.resource === 'configmaps')?.error ?? undefined));
    now += 10_000;
    (await source.nthWatch('pods', 1)).emit('BOOKMARK', { metadata: { resourceVersion: '10' } });
    assert.equal(inventory.kinds().find((k) => k.resource === 'configmaps')?.stalenessSeconds, 40);
    assert.equal(inventory.freshness().stalenessSeconds, 40);
  });

  it('inventory - with discovery, further kinds are cached with generic rows before the first sync counts', async () => {
    const kube = Object.create(KubeClient.prototype) as KubeClient;
    const responses: Record<string, unknown> = {
      '/apis': { groups: [{ name: 'example.com', preferredVersion: { version: 'v1' } }] },
      '/api/v1': { resources: [] },
      '/apis/example.com/v1': { resources: [{ name: 'widgets', singularName: 'widget', kind: 'Widget', namespaced: true, verbs: ['list', 'watch'], shortNames: ['wd'] }] },
    };
    kube.getJson = <T>(path: string): Promise<T> => Promise.resolve(responses[path] as T);
    const source = new FakeSource();
    source.set('widgets', [object('ns', 'w1', '3', { spec: { size: 2 } })], '3');
    const inventory = await started(source, { discover: true, kube });
    assert.equal(inventory.freshness().kinds, 27);
    assert.equal(inventory.resolveKind('wd')?.resource, 'widgets');
    const list = inventory.list({ kind: 'widget.example.com' });
    assert.deepEqual(list.items.map((r) => [r.kind, r.name, r.status, r.health]), [['Widget', 'w1', '', 'unknown']]);
    assert.equal(inventory.get({ kind: 'widgets', namespace: 'ns', name: 'w1' })?.object.apiVersion, 'example.com/v1');
  });

  it('discovery - finds listable, watchable resources in preferred versions, skipping built-ins and subresources', async () => {
    const responses: Record<string, unknown> = {
      '/apis': { groups: [
        { name: 'apps', preferredVersion: { version: 'v1' } },
        { name: 'example.com', preferredVersion: { version: 'v2' } },
        { name: 'events.k8s.io', preferredVersion: { version: 'v1' } },
        { name: 'metrics.k8s.io', preferredVersion: { version: 'v1beta1' } },
      ] },
      '/api/v1': { resources: [
        { name: 'pods', kind: 'Pod', namespaced: true, verbs: ['list', 'watch'] },
        { name: 'pods/log', kind: 'Pod', namespaced: true, verbs: ['get'] },
        { name: 'endpoints', kind: 'Endpoints', namespaced: true, verbs: ['list', 'watch'], shortNames: ['ep'] },
        { name: 'componentstatuses', kind: 'ComponentStatus', verbs: ['get', 'list'] },
      ] },
      '/apis/apps/v1': { resources: [{ name: 'controllerrevisions', kind: 'ControllerRevision', namespaced: true, verbs: ['list', 'watch'] }] },
      '/apis/example.com/v2': { resources: [{ name: 'pods', kind: 'PodLike', namespaced: true, verbs: ['list', 'watch'] }] },
    };
    const result = await discoverKinds((path) => {
      if (path === '/apis/metrics.k8s.io/v1beta1') return Promise.reject(new Error('HTTP 503'));
      return Promise.resolve(responses[path]);
    }, builtinKinds().map((k) => k.info));
    assert.deepEqual(result.kinds.map((k) => `${k.resource} ${k.group}/${k.version}`), ['endpoints /v1', 'controllerrevisions apps/v1', 'pods.example.com example.com/v2']);
    assert.deepEqual(result.failedGroups, ['metrics.k8s.io']);
  });
});
