import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { createLogger } from '../../util/logger.ts';
import { KubeApiError } from '../kube.ts';
import { AgentMetrics } from '../metrics.ts';
import { FakeSource, object, until } from './fake-source.test-helper.ts';
import { builtinKinds, type KindSpec } from './kinds.ts';
import { LIST_LIMIT, Reflector } from './reflector.ts';
import { KindStore, ObjectBudget, type StoreChange } from './store.ts';

const configmaps = builtinKinds().find((k) => k.info.resource === 'configmaps') as KindSpec;
const stops: AbortController[] = [];

afterEach(() => {
  for (const controller of stops.splice(0)) controller.abort();
});

function setup(options: { silence?: number; timeout?: number; max?: number } = {}) {
  const source = new FakeSource();
  const metrics = new AgentMetrics();
  const store = new KindStore(new ObjectBudget(options.max ?? 100_000));
  const changes: StoreChange[] = [];
  const logged: string[] = [];
  const log = createLogger({ name: 'test', level: 'silent' });
  log.warn = (obj: { error?: string }) => { logged.push(obj.error ?? ''); };
  const reflector = new Reflector({
    kind: configmaps, store, source, log, metrics, now: Date.now, random: () => 0,
    watchTimeoutSeconds: options.timeout ?? 300, watchSilenceSeconds: options.silence ?? 150,
    onChanges: (c) => { changes.push(...c); },
  });
  const controller = new AbortController();
  stops.push(controller);
  const run = (): Promise<void> => reflector.run(controller.signal);
  return { source, metrics, store, changes, logged, reflector, controller, run };
}

async function counter(metrics: AgentMetrics, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === name);
  const values = (metric?.values ?? []) as { value: number; labels: Record<string, string | number> }[];
  return values.filter((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l)).reduce((sum, v) => sum + v.value, 0);
}

describe('reflector', () => {
  it('reflector - lists page by page, then watches from the list resourceVersion', async () => {
    const { source, store, reflector, run, changes } = setup();
    const items = Array.from({ length: LIST_LIMIT * 2 + 3 }, (_, i) => object('ns', `cm-${String(i).padStart(4, '0')}`, String(i + 1)));
    source.set('configmaps', items, '5000');
    void run();
    const watch = await source.nthWatch('configmaps', 1);
    assert.equal(store.size, items.length);
    assert.deepEqual(source.lists.map((l) => l.continue), [undefined, String(LIST_LIMIT), String(LIST_LIMIT * 2)]);
    assert.equal(watch.options.resourceVersion, '5000');
    assert.equal(reflector.synced, true);
    assert.equal(changes.length, items.length, 'the first list reports ADDED (to feeds opened before it)');
    assert.ok(changes.every((c) => c.type === 'ADDED'));
  });

  it('reflector - applies ADDED, MODIFIED, DELETED and takes the resourceVersion of every event and bookmark', async () => {
    const { source, store, reflector, run, changes } = setup();
    source.set('configmaps', [object('ns', 'a', '10')], '10');
    void run();
    const watch = await source.nthWatch('configmaps', 1);
    changes.length = 0;
    watch.emit('ADDED', object('ns', 'b', '11'));
    watch.emit('MODIFIED', object('ns', 'a', '12', { data: { k: 'v' } }));
    watch.emit('DELETED', object('ns', 'b', '13'));
    watch.emit('BOOKMARK', { metadata: { resourceVersion: '20' } });
    assert.deepEqual(changes.map((c) => `${c.type} ${c.row.name} ${c.row.resourceVersion}`), ['ADDED b 11', 'MODIFIED a 12', 'DELETED b 13']);
    assert.equal(changes[1]?.previous?.resourceVersion, '10');
    assert.equal(store.size, 1);
    assert.equal(reflector.resourceVersion, '20');
    assert.deepEqual(store.get('ns', 'a')?.row.columns, { data: 1 });
  });

  it('reflector - a watch that ends re-watches from the last resourceVersion, without a list', async () => {
    const { source, run, metrics } = setup();
    source.set('configmaps', [], '10');
    void run();
    const first = await source.nthWatch('configmaps', 1);
    first.emit('BOOKMARK', { metadata: { resourceVersion: '42' } });
    first.end();
    const second = await source.nthWatch('configmaps', 2);
    assert.equal(second.options.resourceVersion, '42');
    assert.equal(source.lists.length, 1);
    assert.equal(await counter(metrics, 'uplink_agent_inventory_watch_restarts_total', { reason: 'closed' }), 1);
  });

  it('reflector - a 410 ERROR event relists and reports the difference as changes', async () => {
    const { source, store, run, changes, metrics } = setup();
    const kept = object('ns', 'kept', '1');
    source.set('configmaps', [kept, object('ns', 'gone', '2'), object('ns', 'changed', '3')], '3');
    void run();
    const watch = await source.nthWatch('configmaps', 1);
    changes.length = 0;
    // While the watch is down the cluster moves on: one deleted, one modified, one added.
    source.set('configmaps', [kept, object('ns', 'changed', '7'), object('ns', 'new', '8')], '9');
    watch.emit('ERROR', { kind: 'Status', code: 410, reason: 'Expired', message: 'too old resource version: 3 (8)' });
    const next = await source.nthWatch('configmaps', 2);
    assert.equal(next.options.resourceVersion, '9');
    assert.equal(source.lists.length, 2);
    assert.deepEqual(changes.map((c) => `${c.type} ${c.row.name}`).sort(), ['ADDED new', 'DELETED gone', 'MODIFIED changed']);
    assert.deepEqual([...store.sorted()].map((e) => e.row.name), ['changed', 'kept', 'new']);
    assert.equal(await counter(metrics, 'uplink_agent_inventory_relists_total'), 1);
    assert.equal(await counter(metrics, 'uplink_agent_inventory_watch_restarts_total', { reason: 'gone' }), 1);
  });

  it('reflector - an HTTP 410 on re-watch relists too', async () => {
    const { source, run } = setup();
    source.set('configmaps', [], '10');
    void run();
    const first = await source.nthWatch('configmaps', 1);
    source.watchErrors.set('configmaps', [new KubeApiError(410, 'watch /api/v1/configmaps: HTTP 410: Gone')]);
    first.end();
    await source.nthWatch('configmaps', 2);
    assert.equal(source.lists.length, 2);
  });

  it('reflector - a served kind survives a few 403/404 answers (a restarting API server) without losing its cache', async () => {
    const { source, run, store, changes } = setup();
    source.set('configmaps', [object('ns', 'a', '5')], '10');
    void run();
    const first = await source.nthWatch('configmaps', 1);
    const forbidden = new KubeApiError(403, 'list /api/v1/configmaps: HTTP 403: forbidden');
    source.listErrors.set('configmaps', [forbidden, forbidden]);
    source.watchErrors.set('configmaps', []);
    first.fail(new KubeApiError(404, 'watch /api/v1/configmaps: HTTP 404: not found'));
    await source.nthWatch('configmaps', 2);
    assert.equal(store.size, 1, 'the cache was kept');
    assert.ok(!changes.some((c) => c.type === 'DELETED'), 'no object was reported deleted');
    assert.equal(source.lists.length, 4, 'relisted after the failures');
  });

  it('reflector - other failures restart with backoff, log once per distinct failure, and clear on recovery', async () => {
    const { source, run, reflector, logged, metrics } = setup();
    source.set('configmaps', [], '10');
    source.listErrors.set('configmaps', [new KubeApiError(0, 'list /api/v1/configmaps: connect ECONNREFUSED'), new KubeApiError(0, 'list /api/v1/configmaps: connect ECONNREFUSED')]);
    void run();
    const first = await source.nthWatch('configmaps', 1);
    assert.equal(source.lists.length, 3);
    assert.deepEqual(logged, ['list /api/v1/configmaps: connect ECONNREFUSED']);
    assert.equal(reflector.error, null);
    first.fail(new KubeApiError(0, 'watch /api/v1/configmaps: read ECONNRESET'));
    const second = await source.nthWatch('configmaps', 2);
    assert.equal(second.options.resourceVersion, '10', 're-watches from the last resourceVersion, no relist');
    assert.equal(source.lists.length, 3);
    assert.equal(reflector.error, 'watch /api/v1/configmaps: read ECONNRESET');
    assert.equal(await counter(metrics, 'uplink_agent_inventory_watch_restarts_total', { reason: 'error' }), 1);
    second.emit('BOOKMARK', { metadata: { resourceVersion: '11' } });
    assert.equal(reflector.error, null);
  });

  it('reflector - the watchdog restarts a watch that stays silent', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
    const { source, run, metrics } = setup({ silence: 0.1 });
    source.set('configmaps', [], '10');
    void run();
    const first = await source.nthWatch('configmaps', 1);
    t.mock.timers.tick(99);
    assert.equal(first.settled, false, 'not before the silence limit');
    t.mock.timers.tick(1);
    await first.done.catch(() => undefined);
    await source.nthWatch('configmaps', 2);
    assert.equal(await counter(metrics, 'uplink_agent_inventory_watch_restarts_total', { reason: 'watchdog' }), 1);
  });

  it('reflector - bytes keep the watchdog away', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
    const { source, run } = setup({ silence: 0.15 });
    source.set('configmaps', [], '10');
    void run();
    const first = await source.nthWatch('configmaps', 1);
    for (let i = 0; i < 6; i += 1) {
      t.mock.timers.tick(100);
      first.options.onActivity();
    }
    assert.equal(first.settled, false, '600 ms with a byte every 100 ms');
    t.mock.timers.tick(149);
    assert.equal(first.settled, false, 'the limit counts from the last byte');
    t.mock.timers.tick(1);
    assert.equal(first.settled, true, 'silent for the whole limit');
  });

  it('reflector - each watch asks for a timeout of the configured one ±20%', async () => {
    const { source, run } = setup({ timeout: 300 });
    source.set('configmaps', [], '10');
    void run();
    const first = await source.nthWatch('configmaps', 1);
    assert.equal(first.options.timeoutSeconds, 240, 'random() = 0 gives the low end');
  });

  it('reflector - a kind the API server does not serve is reported and retried slowly, not spammed', async () => {
    const { source, run, reflector, logged } = setup();
    source.listErrors.set('configmaps', [new KubeApiError(404, 'list /api/v1/configmaps: HTTP 404: the server could not find the requested resource')]);
    void run();
    await until('unavailable', 30_000, () => reflector.unavailable || undefined);
    // Only a retry sooner than UNAVAILABLE_RETRY_MS (a minute) could show within this pause; a slow machine sees fewer, never more.
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(source.lists.length, 1, 'no quick retry');
    assert.match(reflector.error ?? '', /configmaps is not served by the API server/);
    assert.equal(reflector.synced, false);
    assert.equal(logged.length, 0, 'reported at info level, not as a warning');
  });

  it('reflector - beyond the object budget new objects are refused and reported', async () => {
    const { source, run, store, reflector } = setup({ max: 2 });
    source.set('configmaps', [object('ns', 'a', '1'), object('ns', 'b', '2'), object('ns', 'c', '3')], '3');
    void run();
    const watch = await source.nthWatch('configmaps', 1);
    assert.equal(store.size, 2);
    assert.match(reflector.error ?? '', /inventory is full/);
    watch.emit('MODIFIED', object('ns', 'a', '4'));
    watch.emit('ADDED', object('ns', 'd', '5'));
    assert.equal(store.size, 2);
    assert.equal(store.get('ns', 'a')?.row.resourceVersion, '4', 'known objects still update');
  });

  it('reflector - stop ends a watch and the loop promptly', async () => {
    const { source, run, controller } = setup();
    source.set('configmaps', [], '10');
    const done = run();
    const watch = await source.nthWatch('configmaps', 1);
    controller.abort();
    await done;
    assert.equal(watch.settled, true, 'the open watch was ended, not left to its 300 s timeout');
    assert.equal(source.watches.length, 1, 'no new watch after stop');
  });
});
