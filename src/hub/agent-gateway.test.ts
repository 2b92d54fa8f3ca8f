// Routing of a cluster's event stream, without a socket: what reaches the
// fleet and the status recorder, and what is dropped with a warning.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ClusterFacts } from '../link/protocol.ts';
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
  dropped: string[];
  log: Logger;
}

/** Sinks that record what they get; sweeps go to a real AddonSweeps, as the fleet's do. */
function recordingSinks(): Routed {
  const sweeps = new AddonSweeps({ now: () => 0 });
  const routed = { sweeps, heartbeats: [] as unknown[], statuses: [] as unknown[], warnings: [] as unknown[], dropped: [] as string[] };
  const log = { warn: (fields: unknown) => { routed.warnings.push(fields); } } as unknown as Logger;
  const sinks: AgentEventSinks = {
    fleet: {
      heartbeat: (_clusterId, event) => { routed.heartbeats.push(event); },
      addonSweep: (cluster, report, sweepLog) => { sweeps.receive(cluster, report, sweepLog); return Promise.resolve(); },
    },
    addonStatuses: { receive: (_clusterId, status) => { routed.statuses.push(status); } },
    dropped: (type) => { routed.dropped.push(type); },
  };
  return { ...routed, sinks, log };
}

const FACTS: ClusterFacts = {
  kubernetesVersion: 'v1.36.4', platform: 'linux/amd64', distribution: 'kwok', cloud: null, region: null, zones: ['a'],
  nodes: { total: 3, ready: 3 }, pods: { total: 1, running: 1, pending: 0, succeeded: 0, failed: 0, unknown: 0 },
  apiServer: { livez: true, readyz: true },
  agent: { version: '0.1.0', nodeVersion: '24.21.0', uptimeSeconds: 1, memoryRssBytes: 1 },
  collectedAt: '2026-03-04T10:00:00.000Z',
};
const HEARTBEAT = { type: 'heartbeat', intervalSeconds: 15, facts: FACTS };

describe('agent gateway', () => {
  it('agent gateway - routes heartbeats, add-on statuses and sweep reports', () => {
    const r = recordingSinks();
    routeAgentEvent(r.sinks, CLUSTER, HEARTBEAT, r.log);
    routeAgentEvent(r.sinks, CLUSTER, { type: 'addonStatus', status: { name: 'web' } }, r.log);
    routeAgentEvent(r.sinks, CLUSTER, { type: 'addonSweep', sweep: SWEEP }, r.log);
    assert.deepEqual(r.heartbeats, [HEARTBEAT]);
    assert.deepEqual(r.statuses, [{ name: 'web' }]);
    assert.deepEqual(r.sweeps.samples(), [{ cluster: 'prod', lagSeconds: 0, sweepDurationSeconds: 1 }]);
    assert.deepEqual([r.warnings, r.dropped], [[], []]);
  });

  it('agent gateway - a heartbeat with partial facts is dropped and counted, with a warning naming the field and not the value', () => {
    const r = recordingSinks();
    routeAgentEvent(r.sinks, CLUSTER, { type: 'heartbeat', intervalSeconds: 15, facts: {} }, r.log);
    routeAgentEvent(r.sinks, CLUSTER, { ...HEARTBEAT, facts: { ...FACTS, region: { secret: 'do-not-echo' } } }, r.log);
    assert.deepEqual(r.heartbeats, []);
    assert.deepEqual(r.dropped, ['heartbeat', 'heartbeat']);
    assert.deepEqual(r.warnings.map((w) => (w as { field: string }).field), ['facts.kubernetesVersion', 'facts.region']);
    assert.doesNotMatch(JSON.stringify(r.warnings), /do-not-echo/);
  });

  it('agent gateway - fields a newer agent adds are dropped, the heartbeat kept', () => {
    const r = recordingSinks();
    routeAgentEvent(r.sinks, CLUSTER, { ...HEARTBEAT, sentBy: 'v9', facts: { ...FACTS, gpus: 8, nodes: { total: 3, ready: 3, arm: 1 } } }, r.log);
    assert.deepEqual(r.heartbeats, [HEARTBEAT]);
  });

  it('agent gateway - a malformed sweep report is dropped with a warning naming the field', () => {
    const r = recordingSinks();
    routeAgentEvent(r.sinks, CLUSTER, { type: 'addonSweep', sweep: { ...SWEEP, intervalSeconds: 'soon' } }, r.log);
    routeAgentEvent(r.sinks, CLUSTER, { type: 'addonSweep' }, r.log);
    assert.deepEqual(r.sweeps.samples(), []);
    assert.deepEqual(r.warnings.map((w) => (w as { field: string }).field), ['sweep.intervalSeconds', 'sweep']);
  });

  it('agent gateway - unknown types and non-objects are counted and ignored quietly', () => {
    const r = recordingSinks();
    for (const event of [null, 'addonSweep', [], { type: 'somethingNew', sweep: SWEEP }, 7]) {
      routeAgentEvent(r.sinks, CLUSTER, event, r.log);
    }
    assert.deepEqual([r.heartbeats, r.statuses, r.sweeps.samples(), r.warnings], [[], [], [], []]);
    assert.deepEqual(r.dropped, ['unknown', 'unknown', 'unknown', 'unknown', 'unknown']);
  });
});
