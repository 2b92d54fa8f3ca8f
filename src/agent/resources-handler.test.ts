import assert from 'node:assert/strict';
import { once } from 'node:events';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { InventoryFreshness, ResourceChange, ResourceRow } from '../link/resources.ts';
import { UplinkError } from '../util/errors.ts';
import { AccessReviewer, type AccessIdentity, type AccessQuestion } from './access-review.ts';
import { ResourceAccess } from './resource-access.ts';
import { MAX_WATCH_BUFFER_BYTES, handleResourceRequest, type InventoryQueries } from './resources-handler.ts';

const FRESH: InventoryFreshness = { synced: true, kinds: 1, syncedKinds: 1, objects: 1, stalenessSeconds: 0, startedAt: '', syncedAt: '' };
const ROW: ResourceRow = {
  kind: 'ConfigMap', namespace: 'ns', name: 'a', uid: 'u1', resourceVersion: '1', createdAt: null, labels: {}, status: '', health: 'healthy', columns: {},
};
const KIND = { resource: 'configmaps', kind: 'ConfigMap', group: '', version: 'v1', namespaced: true, shortNames: ['cm'] };
/** The hub's impersonation of a view user. */
const ALICE = { 'impersonate-user': 'uplink:alice', 'impersonate-group': 'uplink:view' };
/** A user the stand-in cluster lets read configmaps in namespace `ns` only. */
const CAROL = { 'impersonate-user': 'uplink:carol', 'impersonate-group': 'uplink:view' };

/** The stand-in cluster's RBAC: alice reads everything, carol only in `ns`, anyone else nothing. */
function fakeReview(identity: AccessIdentity, question: AccessQuestion): Promise<boolean> {
  if (identity.user === 'uplink:alice') return Promise.resolve(true);
  return Promise.resolve(identity.user === 'uplink:carol' && question.namespace === 'ns');
}

/** The namespace limit of each list the inventory answered (undefined: none). */
const listedNamespaces: (string[] | undefined)[] = [];

/** A stand-in inventory: knows one kind; a watch replays `initial` then hands its emitter to the test. */
function fakeInventory(initial: ResourceChange[], onWatch: (emit: (change: ResourceChange) => void) => void, unsubscribed: () => void): InventoryQueries {
  const check = (kind: string): void => {
    if (kind !== 'configmaps') throw new UplinkError('UNKNOWN_KIND', `unknown kind '${kind}'`);
  };
  return {
    resolveKind: (name) => (name === 'configmaps' || name === 'cm' ? KIND : undefined),
    kinds: () => [],
    freshness: () => FRESH,
    list: (query) => {
      check(query.kind);
      if (query.labelSelector === '!!') throw new UplinkError('BAD_SELECTOR', 'label selector "!!" is not valid');
      listedNamespaces.push(query.namespaces === undefined ? undefined : [...query.namespaces]);
      return { kind: KIND, items: [ROW], continue: null, total: 1, inventory: FRESH };
    },
    get: (query) => (query.name === 'a' ? { kind: KIND, object: { metadata: { name: 'a' } }, inventory: FRESH } : undefined),
    eventsFor: () => ({ items: [], inventory: FRESH }),
    watch: (query, onChange) => {
      check(query.kind);
      for (const change of initial) onChange(change);
      onWatch(onChange);
      return unsubscribed;
    },
  };
}

describe('resources handler', () => {
  let server: http2.Http2Server;
  let client: http2.ClientHttp2Session;
  let emit: (change: ResourceChange) => void = () => undefined;
  let unsubscribes = 0;
  const ends = new Set<() => void>();

  before(async () => {
    const inventory = fakeInventory([{ type: 'ADDED', row: ROW, at: 'now' }, { type: 'SYNCED', at: 'now', inventory: FRESH }], (e) => { emit = e; }, () => { unsubscribes += 1; });
    server = http2.createServer((req, res) => {
      const path = req.url.split('?')[0] ?? '';
      const access = new ResourceAccess({ reviewer: new AccessReviewer({ review: fakeReview }), namespaceNames: () => ['default', 'ns', 'other'] });
      const options = { inventory, access, trackStream: (end: () => void) => { ends.add(end); return () => { ends.delete(end); }; } };
      if (!handleResourceRequest(options, req, res, path)) res.writeHead(404).end();
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    client = http2.connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  });

  after(() => {
    client.close();
    server.close();
  });

  const get = (path: string, identity: Record<string, string> = ALICE): Promise<{ status: number; body: string }> => new Promise((resolve, reject) => {
    const stream = client.request({ ':path': path, ...identity });
    let status = 0;
    let body = '';
    stream.on('response', (headers) => { status = Number(headers[':status']); });
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => { body += chunk; });
    stream.on('end', () => { resolve({ status, body }); });
    stream.on('error', reject);
  });

  it('resources handler - answers list, object and their refusals with named problems', async () => {
    const list = await get('/v1/resources/list?kind=configmaps&limit=10');
    assert.equal(list.status, 200);
    assert.equal((JSON.parse(list.body) as { total: number }).total, 1);
    const unknown = await get('/v1/resources/list?kind=widgets');
    assert.equal(unknown.status, 404);
    assert.equal((JSON.parse(unknown.body) as { error: { code: string } }).error.code, 'UNKNOWN_KIND');
    assert.equal((await get('/v1/resources/list?kind=configmaps&labelSelector=!!')).status, 400);
    assert.match((await get('/v1/resources/list?kind=configmaps&limit=ten')).body, /limit must be a positive integer/);
    assert.match((await get('/v1/resources/list')).body, /'kind' is required/);
    assert.match((await get('/v1/resources/list?kind=configmaps&kind=pods')).body, /'kind' is given twice/);
    assert.equal((await get('/v1/resources/object?kind=configmaps&name=a&namespace=ns')).status, 200);
    const missing = await get('/v1/resources/object?kind=configmaps&name=b&namespace=ns');
    assert.equal(missing.status, 404);
    assert.match(missing.body, /configmaps 'b' in namespace 'ns' is not in the inventory/);
    assert.equal((await get('/v1/resources/nothing')).status, 404);
  });

  it('resources handler - answers only what the cluster lets the impersonated user read', async () => {
    const anonymous = await get('/v1/resources/list?kind=configmaps', {});
    assert.equal(anonymous.status, 403);
    assert.match(anonymous.body, /must impersonate an uplink: user/);
    const bob = { 'impersonate-user': 'uplink:bob', 'impersonate-group': 'uplink:view' };
    const refused = await get('/v1/resources/list?kind=configmaps&namespace=ns', bob);
    assert.equal(refused.status, 403);
    assert.match(refused.body, /configmaps is forbidden: User \\"uplink:bob\\" cannot list resource \\"configmaps\\" in API group \\"\\" in the namespace \\"ns\\"/);
    assert.equal((await get('/v1/resources/object?kind=configmaps&name=a&namespace=ns', bob)).status, 403);
    assert.equal((await get('/v1/resources/events?kind=configmaps&name=a&namespace=ns', bob)).status, 403);
    assert.equal((await get('/v1/resources/list?kind=configmaps', bob)).status, 403);
    const watch = await get('/v1/resources/watch?kind=configmaps', bob);
    assert.equal(watch.status, 403);
    assert.match(watch.body, /at the cluster scope/);
    // Over all namespaces, carol sees the one namespace she may read; alice, with a cluster-wide grant, everything.
    listedNamespaces.length = 0;
    assert.equal((await get('/v1/resources/list?kind=configmaps', CAROL)).status, 200);
    assert.equal((await get('/v1/resources/list?kind=configmaps')).status, 200);
    assert.deepEqual(listedNamespaces, [['ns'], undefined]);
    assert.equal((await get('/v1/resources/object?kind=configmaps&name=a&namespace=other', CAROL)).status, 403);
    assert.equal((await get('/v1/resources/object?kind=configmaps&name=a&namespace=ns', CAROL)).status, 200);
  });

  it('resources handler - a watch streams the initial lines, then changes, and unsubscribes when the reader goes', async () => {
    const stream = client.request({ ':path': '/v1/resources/watch?kind=configmaps', ...ALICE });
    stream.setEncoding('utf8');
    let text = '';
    stream.on('data', (chunk: string) => { text += chunk; });
    while (!text.includes('SYNCED')) await once(stream, 'data');
    emit({ type: 'DELETED', row: ROW, at: 'later' });
    while (!text.includes('DELETED')) await once(stream, 'data');
    assert.deepEqual(text.trim().split('\n').map((line) => (JSON.parse(line) as { type: string }).type), ['ADDED', 'SYNCED', 'DELETED']);
    const before = unsubscribes;
    stream.close();
    await once(stream, 'close');
    for (let i = 0; i < 50 && unsubscribes === before; i += 1) await new Promise((r) => setTimeout(r, 10));
    assert.equal(unsubscribes, before + 1);
  });

  it('resources handler - a reader that falls behind the bound gets an ERROR line and the end', async () => {
    const stream = client.request({ ':path': '/v1/resources/watch?kind=configmaps', ...ALICE });
    stream.pause(); // never reads: the agent's buffer grows
    await once(stream, 'response');
    const big: ResourceRow = { ...ROW, columns: { message: 'x'.repeat(64 * 1024) } };
    for (let i = 0; i < (MAX_WATCH_BUFFER_BYTES / (64 * 1024)) * 4; i += 1) emit({ type: 'MODIFIED', row: big, at: 'now' });
    stream.setEncoding('utf8');
    let text = '';
    stream.on('data', (chunk: string) => { text += chunk; });
    stream.resume();
    await once(stream, 'end');
    const last = JSON.parse(text.trim().split('\n').pop() ?? '{}') as { type: string; message: string };
    assert.equal(last.type, 'ERROR');
    assert.match(last.message, /fell more than \d+ bytes behind/);
  });

  it('resources handler - draining ends open watches with a reason', async () => {
    const stream = client.request({ ':path': '/v1/resources/watch?kind=configmaps', ...ALICE });
    stream.setEncoding('utf8');
    let text = '';
    stream.on('data', (chunk: string) => { text += chunk; });
    while (!text.includes('SYNCED')) await once(stream, 'data');
    for (const end of ends) end();
    await once(stream, 'end');
    assert.match(text, /"type":"ERROR".*the agent is stopping/);
  });
});
