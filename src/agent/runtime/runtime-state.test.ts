import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AddonStatus, AddonSweepReport } from '../../link/addons.ts';
import { AGENT_SETTINGS, type AgentSettings } from '../config.ts';
import { RuntimeEventBus } from './event-bus.ts';
import { RuntimeState } from './runtime-state.ts';
import { agentFeatures, detailedHealth } from './status.ts';

/** An engine whose statuses and sweeps the test pushes. */
function fakeEngine(): {
  engine: Parameters<RuntimeState['engineStarted']>[0];
  push: (status: Pick<AddonStatus, 'name' | 'generation' | 'phase' | 'message'>) => void;
  sweep: (report: AddonSweepReport) => void;
  listeners: () => number;
} {
  const statusListeners = new Set<(status: AddonStatus) => void>();
  const sweepListeners = new Set<(report: AddonSweepReport) => void>();
  const statuses: AddonStatus[] = [];
  return {
    engine: {
      statuses: () => statuses,
      subscribe: (listener) => { statusListeners.add(listener); return () => { statusListeners.delete(listener); }; },
      lastSweep: () => undefined,
      onSweep: (listener) => { sweepListeners.add(listener); return () => { sweepListeners.delete(listener); }; },
    },
    push: (status) => {
      const full = status as AddonStatus;
      const at = statuses.findIndex((s) => s.name === status.name);
      if (at === -1) statuses.push(full);
      else statuses[at] = full;
      for (const listener of statusListeners) listener(full);
    },
    sweep: (report) => { for (const listener of sweepListeners) listener(report); },
    listeners: () => statusListeners.size + sweepListeners.size,
  };
}

const SETTINGS = {
  hubUrl: 'https://user:pass@hub.example.com:8443/base', token: 'upc_c1_secretsecretsecretsecret', linkTransport: 'auto', heartbeatInterval: 15,
  reconnectMin: 1, reconnectMax: 30, leaderElect: true, leaderElectLease: 'uplink-agent', leaderElectLeaseDuration: 15,
  leaderElectRenewDeadline: 10, leaderElectRetryPeriod: 2, addonsSweepInterval: 60, addonsReadWorkers: 5, addonsWriteWorkers: 5,
  addonsHelmTimeout: 300, addonsStuckAfter: 600, inventoryDiscover: false, inventoryMaxObjects: 200_000, watchTimeout: 300, watchSilence: 150,
  manageRbac: true, insecureSkipTlsVerify: false, hubCaHash: `sha256:${'a'.repeat(64)}`, reportPublicIp: false, publicIpUrl: 'https://checkip.amazonaws.com',
} as unknown as AgentSettings;

describe('runtime state', () => {
  it('runtime state - an add-on event only when its phase or generation moves; sweeps are kept; the watch ends with the term', () => {
    const events = new RuntimeEventBus();
    const state = new RuntimeState({ events });
    const fake = fakeEngine();
    const unwatch = state.engineStarted(fake.engine);
    fake.push({ name: 'web', generation: 1, phase: 'Installing', message: 'installing' });
    fake.push({ name: 'web', generation: 1, phase: 'Installing', message: 'still installing' });
    fake.push({ name: 'web', generation: 1, phase: 'Deployed', message: 'deployed' });
    fake.push({ name: 'web', generation: 2, phase: 'Deployed', message: 'deployed' });
    const report = { lastSweepAt: '2026-01-01T00:00:00.000Z', sweepDurationSeconds: 0.1, addonsInspected: 1, intervalSeconds: 60 };
    fake.sweep(report);
    assert.deepEqual(events.buffer.recent().map((e) => (e.value.type === 'addon' ? `${e.value.data.generation}/${e.value.data.phase}` : e.value.type)),
      ['1/Installing', '1/Deployed', '2/Deployed', 'sweep']);
    assert.deepEqual(state.lastSweep, report);
    assert.ok(state.engine);
    unwatch();
    assert.equal(state.engine, undefined);
    assert.equal(fake.listeners(), 0);
  });

  it('runtime state - link failures keep the time the outage began; a token in a failure message is scrubbed', () => {
    let now = 1000;
    const events = new RuntimeEventBus({ now: () => now });
    const state = new RuntimeState({ events, now: () => now });
    state.linkUp('h2');
    now = 2000;
    state.linkDown(1006, 'gone');
    now = 3000;
    state.linkFailing('dial:LINK_UNREACHABLE', 'cannot reach');
    now = 4000;
    state.linkFailing('unauthorized', `refused upc_abc_${'x'.repeat(43)}`);
    assert.deepEqual(state.link, { state: 'failing', since: 2000, problem: 'unauthorized' });
    assert.deepEqual(events.last('link')?.data, { state: 'failing', problem: 'unauthorized', message: 'refused [redacted]' });
    state.leader('leader');
    state.leader('standby', 'deadline');
    state.leader('leader');
    assert.equal(state.terms, 2);
  });

  it('status - detailed health gives each part its age, the hub by host alone; features hold no token or URL credential', () => {
    const now = Date.parse('2026-01-01T00:01:00Z');
    const state = new RuntimeState({ events: new RuntimeEventBus(), now: () => now - 30_000 });
    state.linkUp('h2');
    const inventory = {
      freshness: () => ({ synced: true, kinds: 2, syncedKinds: 2, objects: 10, stalenessSeconds: 1, startedAt: '2026-01-01T00:00:00.000Z', syncedAt: '2026-01-01T00:00:10.000Z' }),
      kinds: () => [{ resource: 'pods', kind: 'Pod', group: '', version: 'v1', namespaced: true, shortNames: [], synced: true, objects: 10, error: null, stalenessSeconds: 1 }],
    };
    const agent = { readiness: () => ({ ready: true, reasons: [], leader: 'leader' as const, holder: 'pod-a_1234abcd' }), apiAnsweredAt: () => now - 2_000 };
    const health = detailedHealth({ settings: SETTINGS, state, agent, inventory, startedAt: now - 60_000, now: () => now }) as Record<string, Record<string, unknown>>;
    assert.deepEqual(health.link, { state: 'up', hubHost: 'hub.example.com:8443', since: '2026-01-01T00:00:30.000Z', ageSeconds: 30, transport: 'h2' });
    assert.deepEqual(health.apiServer, { answered: true, lastSuccessAt: '2026-01-01T00:00:58.000Z', ageSeconds: 2 });
    assert.equal(health.inventory?.syncAgeSeconds, 50);
    assert.deepEqual(health.engine, { running: false, addons: 0, phases: {}, since: null, ageSeconds: null });
    assert.equal(health.lastSweep, null);
    assert.equal(health.leader?.holder, 'pod-a_1234abcd');
    const features = JSON.stringify(agentFeatures(SETTINGS, inventory));
    assert.ok(!features.includes('secret') && !features.includes('pass') && !features.includes('aaaaaaaa'), features);
    assert.deepEqual(Object.keys(AGENT_SETTINGS).includes('token'), true, 'the settings do hold the token the features leave out');
  });
});
