import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ResourceRow } from '../../link/resources.ts';
import { compileFilter, decodeContinue, encodeContinue, checkLimit } from './query.ts';
import { KindStore, ObjectBudget, objectKey, type StoredObject } from './store.ts';

function entry(namespace: string | null, name: string, resourceVersion = '1', labels: Record<string, string> = {}): StoredObject {
  const row: ResourceRow = {
    kind: 'Pod', namespace, name, uid: `${namespace ?? ''}/${name}`, resourceVersion, createdAt: null, labels,
    status: 'Running', health: 'healthy', columns: {},
  };
  return { row, json: JSON.stringify({ metadata: { name, namespace } }) };
}

function names(rows: ResourceRow[]): string[] {
  return rows.map((r) => `${r.namespace ?? ''}/${r.name}`);
}

const all = compileFilter({}, true);

describe('inventory store', () => {
  it('store - rows sort by namespace, then name', () => {
    const store = new KindStore(new ObjectBudget(100));
    for (const [ns, name] of [['b', 'x'], ['a-b', 'y'], ['a', 'z'], ['a', 'b'], ['b', 'a']] as const) store.put(entry(ns, name));
    assert.deepEqual(names(store.page(all, 10).rows), ['a/b', 'a/z', 'a-b/y', 'b/a', 'b/x']);
  });

  it('store - pages follow continue keys, stable under inserts and deletes between pages', () => {
    const store = new KindStore(new ObjectBudget(100));
    for (let i = 0; i < 10; i += 1) store.put(entry('ns', `p${i}`));
    const first = store.page(all, 4);
    assert.deepEqual(names(first.rows), ['ns/p0', 'ns/p1', 'ns/p2', 'ns/p3']);
    assert.equal(first.total, 10);
    assert.equal(first.nextAfter, objectKey('ns', 'p3'));
    // Between pages: the last row of the page and one before it go, one is added before and one after.
    store.remove('ns', 'p3');
    store.remove('ns', 'p1');
    store.put(entry('ns', 'p00'));
    store.put(entry('ns', 'p45'));
    const second = store.page(all, 4, first.nextAfter);
    assert.deepEqual(names(second.rows), ['ns/p4', 'ns/p45', 'ns/p5', 'ns/p6']);
    const third = store.page(all, 4, second.nextAfter);
    assert.deepEqual(names(third.rows), ['ns/p7', 'ns/p8', 'ns/p9']);
    assert.equal(third.nextAfter, undefined);
    assert.equal(third.total, 10);
  });

  it('store - filters by namespace, label selector and name substring; total counts every match', () => {
    const store = new KindStore(new ObjectBudget(100));
    store.put(entry('shop', 'web-1', '1', { app: 'web' }));
    store.put(entry('shop', 'web-2', '1', { app: 'web' }));
    store.put(entry('shop', 'db-1', '1', { app: 'db' }));
    store.put(entry('shopping', 'web-3', '1', { app: 'web' }));
    store.put(entry('other', 'Web-4', '1', { app: 'web' }));
    assert.deepEqual(names(store.page(compileFilter({ namespace: 'shop' }, true), 10).rows), ['shop/db-1', 'shop/web-1', 'shop/web-2']);
    assert.deepEqual(names(store.page(compileFilter({ labelSelector: 'app=web' }, true), 10).rows), ['other/Web-4', 'shop/web-1', 'shop/web-2', 'shopping/web-3']);
    assert.deepEqual(names(store.page(compileFilter({ name: 'WEB' }, true), 10).rows), ['other/Web-4', 'shop/web-1', 'shop/web-2', 'shopping/web-3']);
    const page = store.page(compileFilter({ namespace: 'shop', labelSelector: 'app in (web)', name: 'web' }, true), 1);
    assert.deepEqual(names(page.rows), ['shop/web-1']);
    assert.equal(page.total, 2);
    assert.equal(page.nextAfter, objectKey('shop', 'web-1'));
  });

  it('store - a namespace filter on a cluster-scoped kind is ignored', () => {
    const store = new KindStore(new ObjectBudget(100));
    store.put(entry(null, 'node-a'));
    assert.deepEqual(names(store.page(compileFilter({ namespace: 'default' }, false), 10).rows), ['/node-a']);
  });

  it('store - replace reports ADDED, MODIFIED (resourceVersion moved) and DELETED', () => {
    const store = new KindStore(new ObjectBudget(100));
    const result0 = store.replace([entry('n', 'a', '1'), entry('n', 'b', '1'), entry('n', 'c', '1')]);
    assert.equal(result0.changes.length, 3);
    const { changes } = store.replace([entry('n', 'a', '1'), entry('n', 'b', '2'), entry('n', 'd', '1')]);
    assert.deepEqual(changes.map((c) => `${c.type} ${c.row.name}`).sort(), ['ADDED d', 'DELETED c', 'MODIFIED b']);
    assert.deepEqual(names(store.page(all, 10).rows), ['n/a', 'n/b', 'n/d']);
  });

  it('store - the budget is shared by every store and refuses new objects only', () => {
    const budget = new ObjectBudget(3);
    const pods = new KindStore(budget);
    const nodes = new KindStore(budget);
    pods.replace([entry('n', 'a'), entry('n', 'b')]);
    assert.equal(nodes.replace([entry(null, 'x'), entry(null, 'y')]).refused, 1);
    assert.equal(pods.put(entry('n', 'c')), undefined);
    assert.equal(pods.put(entry('n', 'a', '2'))?.type, 'MODIFIED');
    pods.remove('n', 'b');
    assert.equal(pods.put(entry('n', 'c'))?.type, 'ADDED');
    assert.equal(budget.used, 3);
    assert.equal(pods.replace([]).changes.length, 2);
    assert.equal(budget.used, 1);
  });

  it('store - 10,000 objects with a selector page through every match, 500 at a time', () => {
    // How fast a page is belongs to bench/inventory.ts; this test only checks what the pages hold.
    const store = new KindStore(new ObjectBudget(20_000));
    const entries: StoredObject[] = [];
    for (let i = 0; i < 10_000; i += 1) entries.push(entry(`ns-${i % 50}`, `pod-${i}`, '1', { app: `app-${i % 7}`, tier: 'web' }));
    store.replace(entries);
    const filter = compileFilter({ labelSelector: 'app=app-3,tier in (web)' }, true);
    const seen = new Set<string>();
    let page = store.page(filter, 500);
    for (;;) {
      assert.equal(page.total, 1429);
      assert.ok(page.rows.length <= 500);
      for (const row of page.rows) seen.add(`${row.namespace ?? ''}/${row.name}`);
      if (page.nextAfter === undefined) break;
      page = store.page(filter, 500, page.nextAfter);
    }
    assert.equal(seen.size, 1429, 'every match once');
  });

  it('query - continue tokens round-trip and are refused when forged or from another kind', () => {
    const token = encodeContinue('pods', objectKey('ns', 'a'));
    assert.match(token, /^[A-Za-z0-9_-]+$/);
    assert.equal(decodeContinue('pods', token), objectKey('ns', 'a'));
    assert.throws(() => decodeContinue('nodes', token), { code: 'BAD_CONTINUE', message: /a list of pods, not of nodes/ });
    assert.throws(() => decodeContinue('pods', 'not-a-token'), { code: 'BAD_CONTINUE', message: /not a token from a previous page/ });
  });

  it('query - limits default to 500 and must be 1..1000', () => {
    assert.equal(checkLimit(undefined), 500);
    assert.equal(checkLimit(1000), 1000);
    for (const bad of [0, -1, 1001, 1.5, Number.NaN]) {
      assert.throws(() => checkLimit(bad), { code: 'BAD_LIMIT', message: /limit must be an integer from 1 to 1000/ });
    }
  });

  it('query - a bad selector is BAD_SELECTOR', () => {
    assert.throws(() => compileFilter({ labelSelector: 'app in web' }, true), { code: 'BAD_SELECTOR' });
  });
});
