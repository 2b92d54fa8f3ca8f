import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { InventoryFreshness, ResourceRow } from '../link/resources.ts';
import { formatTable } from './output.ts';
import { ageOf, columnHeader, eventColumns, freshnessWarnings, resourceColumns } from './resource-view.ts';

const NOW = Date.parse('2026-03-10T12:00:00Z');
const row = (over: Partial<ResourceRow>): ResourceRow => ({
  kind: 'Pod', namespace: 'web', name: 'web-1', uid: 'u', resourceVersion: '1', createdAt: '2026-03-10T11:55:00Z',
  labels: {}, status: 'Running', health: 'healthy', columns: {}, ...over,
});
const INVENTORY: InventoryFreshness = { synced: true, kinds: 24, syncedKinds: 24, objects: 10, stalenessSeconds: 2, startedAt: 't', syncedAt: 't' };
const ONLINE = { name: 'prod', status: 'online' as const, connected: true, lastHeartbeatAgeSeconds: 3 };

describe('resource tables', () => {
  it('resource view - NAMESPACE, NAME, STATUS, HEALTH, AGE, and the kind\'s columns with -o wide', () => {
    const rows = [row({ columns: { ready: '1/1', restarts: 0, nominatedNode: null } }), row({ name: 'web-2', namespace: 'api', columns: { node: 'n1' } })];
    const plain = resourceColumns({ withNamespace: true, wide: false, rows, now: NOW });
    assert.equal(formatTable(plain.headers, rows.map(plain.cells)), [
      'NAMESPACE   NAME    STATUS    HEALTH    AGE',
      'web         web-1   Running   healthy   5m',
      'api         web-2   Running   healthy   5m',
    ].join('\n'));
    const wide = resourceColumns({ withNamespace: false, wide: true, rows, now: NOW });
    assert.deepEqual(wide.headers, ['NAME', 'STATUS', 'HEALTH', 'AGE', 'READY', 'RESTARTS', 'NOMINATED NODE', 'NODE']);
    assert.deepEqual(wide.cells(rows[1] as ResourceRow), ['web-2', 'Running', 'healthy', '5m', '-', '-', '-', 'n1']);
    assert.deepEqual(wide.cells(rows[0] as ResourceRow).slice(4), ['1/1', '0', '-', '-']);
  });

  it('resource view - column headers and ages', () => {
    assert.equal(columnHeader('ready'), 'READY');
    assert.equal(columnHeader('externalIPs'), 'EXTERNAL IPS');
    assert.equal(ageOf(null, NOW), '-');
    assert.equal(ageOf('not a time', NOW), '-');
    assert.equal(ageOf('2026-03-08T12:00:00Z', NOW), '2d');
    assert.equal(ageOf('2026-03-10T12:00:05Z', NOW), '0s');
  });

  it('resource view - events show when, type, reason and message', () => {
    const columns = eventColumns(NOW);
    const event = row({ kind: 'Event', status: 'Pulled', columns: { type: 'Normal', reason: 'Pulled', message: 'pulled image', lastSeen: '2026-03-10T11:59:30Z' } });
    assert.deepEqual(columns.cells(event), ['30s', 'Normal', 'Pulled', 'pulled image']);
  });

  it('resource view - no warning when online, synced and fresh', () => {
    assert.deepEqual(freshnessWarnings(ONLINE, INVENTORY), []);
  });

  it('resource view - warnings for an offline cluster, a syncing inventory and a stale one', () => {
    const warnings = freshnessWarnings({ ...ONLINE, status: 'offline', lastHeartbeatAgeSeconds: 300 },
      { ...INVENTORY, synced: false, syncedKinds: 20, stalenessSeconds: 61 });
    assert.deepEqual(warnings, [
      'warning: cluster "prod" is offline (last heartbeat 5m ago)',
      'warning: the inventory of "prod" is still syncing (20/24 kinds): the answer may be incomplete',
      'warning: the inventory of "prod" last heard from its API server 61s ago: the answer may be stale',
    ]);
    assert.deepEqual(freshnessWarnings({ ...ONLINE, status: 'never-connected', lastHeartbeatAgeSeconds: null }, undefined),
      ['warning: cluster "prod" is never-connected (no heartbeat yet)']);
  });
});
