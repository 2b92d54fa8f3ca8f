// Routing of a cluster's event stream, without a socket: what reaches the
// fleet and the status recorder, and what is dropped with a warning.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Logger } from '../util/logger.ts';
import { routeAgentEvent, type AgentEventSinks } from './agent-gateway.ts';
import { AddonSweeps } from './addons/sweeps.ts';

const CLUSTER = { id: 'c_prod', name: 'prod' };
const SWEEP = { lastSweepAt: '2026-03-04T10:00:00.000Z', sweepDurationSeconds: 1, addonsInspected: 2, intervalSeconds: 60 };

interface Routed {
  sinks: AgentEventSinks;
  sweeps: AddonSweeps;
  heartbeats: unknown[];
  statuses: unknown[];
  warnings: unknown[];
  log: Logger;
}

/** Sinks that record what they get; sweeps go to a real AddonSweeps, as the fleet's do. */
function recordingSinks(): Routed {
  const sweeps = new AddonSweeps({ now: () => 0 });
  const routed = { sweeps, heartbeats: [] as unknown[], statuses: [] as unknown[], warnings: [] as unknown[] };
  const log = { warn: (fields: unknown) => { routed.warnings.push(fields); } } as unknown as Logger;
  const sinks: AgentEventSinks = {
    fleet: {
      heartbeat: (_clusterId, event) => { routed.heartbeats.push(event); },
      addonSweep: (cluster, report, sweepLog) => { sweeps.receive(cluster, report, sweepLog); },
    },
    addonStatuses: { receive: (_clusterId, status) => { routed.statuses.push(status); } },
  };
  return { ...routed, sinks, log };
}

describe('agent gateway', () => {
  it('agent gateway - routes heartbeats, add-on statuses and sweep reports', () => {
    const r = recordingSinks();
    const heartbeat = { type: 'heartbeat', intervalSeconds: 15, facts: {} };
    routeAgentEvent(r.sinks, CLUSTER, heartbeat, r.log);
    routeAgentEvent(r.sinks, CLUSTER, { type: 'addonStatus', status: { name: 'web' } }, r.log);
    routeAgentEvent(r.sinks, CLUSTER, { type: 'addonSweep', sweep: SWEEP }, r.log);
    assert.deepEqual(r.heartbeats, [heartbeat]);
    assert.deepEqual(r.statuses, [{ name: 'web' }]);
    assert.deepEqual(r.sweeps.samples(), [{ cluster: 'prod', lagSeconds: 0, sweepDurationSeconds: 1 }]);
    assert.deepEqual(r.warnings, []);
  });

  it('agent gateway - a malformed sweep report is dropped with a warning naming the field', () => {
    const r = recordingSinks();
    routeAgentEvent(r.sinks, CLUSTER, { type: 'addonSweep', sweep: { ...SWEEP, intervalSeconds: 'soon' } }, r.log);
    routeAgentEvent(r.sinks, CLUSTER, { type: 'addonSweep' }, r.log);
    assert.deepEqual(r.sweeps.samples(), []);
    assert.deepEqual(r.warnings.map((w) => (w as { field: string }).field), ['sweep.intervalSeconds', 'sweep']);
  });

  it('agent gateway - unknown types, malformed heartbeats and non-objects are ignored quietly', () => {
    const r = recordingSinks();
    for (const event of [null, 'addonSweep', [], { type: 'somethingNew', sweep: SWEEP }, { type: 'heartbeat', facts: {} }]) {
      routeAgentEvent(r.sinks, CLUSTER, event, r.log);
    }
    assert.deepEqual([r.heartbeats, r.statuses, r.sweeps.samples(), r.warnings], [[], [], [], []]);
  });
});
