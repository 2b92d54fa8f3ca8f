import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ResourceRow } from '../../link/resources.ts';
import { WatchPrinter, type WatchPrinterOptions } from './get-watch.ts';

const row = (name: string, status = 'Active'): ResourceRow => ({
  kind: 'ConfigMap', namespace: 'web', name, uid: name, resourceVersion: '1', createdAt: null, labels: {}, status, health: 'healthy', columns: {},
});
const INVENTORY = { synced: true, kinds: 1, syncedKinds: 1, objects: 1, stalenessSeconds: 0, startedAt: 't', syncedAt: 't' };

function printer(over: Partial<WatchPrinterOptions> = {}): { take: WatchPrinter['take']; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  const p = new WatchPrinter({
    format: 'table', allNamespaces: true, exactName: undefined,
    out: (l) => out.push(l), err: (l) => err.push(l), ...over,
  });
  return { take: (c) => { p.take(c); }, out, err };
}

describe('watch output', () => {
  it('watch - the initial objects print as a table at SYNCED, then one line per change', () => {
    const p = printer();
    p.take({ type: 'ADDED', row: row('a'), at: 't' });
    assert.deepEqual(p.out, []);
    p.take({ type: 'SYNCED', at: 't', inventory: INVENTORY });
    p.take({ type: 'MODIFIED', row: row('a', 'Changed'), at: 't' });
    p.take({ type: 'DELETED', row: row('a'), at: 't' });
    assert.deepEqual(p.out.join('\n').split('\n'), [
      'EVENT   NAMESPACE   NAME   STATUS   HEALTH    AGE',
      'ADDED   web         a      Active   healthy   -',
      'MODIFIED   web         a      Changed   healthy   -',
      'DELETED    web         a      Active    healthy   -',
    ]);
  });

  it('watch - the SYNCED event\'s cluster state produces warnings; an ERROR ends the watch with its message', () => {
    const p = printer();
    p.take({ type: 'SYNCED', at: 't', inventory: INVENTORY, cluster: { name: 'prod', status: 'offline', connected: true, lastHeartbeatAgeSeconds: 90 } } as never);
    assert.deepEqual(p.err, ['warning: cluster "prod" is offline (last heartbeat 90s ago)']);
    assert.throws(() => { p.take({ type: 'ERROR', at: 't', message: 'client too slow' }); }, /^Error: the feed ended: client too slow$/);
  });

  it('watch - json prints each change as one line; an exact name filters rows', () => {
    const p = printer({ format: 'json', exactName: 'a' });
    p.take({ type: 'ADDED', row: row('a'), at: 't' });
    p.take({ type: 'ADDED', row: row('ab'), at: 't' });
    p.take({ type: 'SYNCED', at: 't', inventory: INVENTORY });
    assert.equal(p.out.length, 2);
    assert.equal((JSON.parse(p.out[0] ?? '') as { row: { name: string } }).row.name, 'a');
    assert.equal((JSON.parse(p.out[1] ?? '') as { type: string }).type, 'SYNCED');
  });
});
