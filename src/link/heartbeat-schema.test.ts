// The heartbeat parser at the hub's boundary: what an agent sends passes,
// anything partial, mistyped or oversized is refused naming the field, and
// fields from a newer agent are dropped.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { HeartbeatError, MAX_FACT_TEXT_CHARS, MAX_FACT_ZONES, parseHeartbeat, storedFacts } from './heartbeat-schema.ts';
import type { ClusterFacts } from './protocol.ts';

/** Facts as src/agent/heartbeat.ts sends them, every optional field included. */
const FACTS: ClusterFacts = {
  kubernetesVersion: 'v1.36.4+k3s1', platform: 'linux/amd64', distribution: 'k3s', cloud: 'aws', region: 'eu-west-1', zones: ['eu-west-1a', 'eu-west-1b'],
  nodes: { total: 3, ready: 2 }, pods: { total: 10, running: 7, pending: 1, succeeded: 1, failed: 0, unknown: 1 },
  apiServer: { livez: true, readyz: false },
  agent: { version: '0.1.0', nodeVersion: '24.21.0', uptimeSeconds: 12, memoryRssBytes: 81_000_000 },
  collectedAt: '2026-03-04T10:00:00.000Z',
  inventory: { synced: true, objects: 120, kinds: 26, syncedKinds: 26, stalenessSeconds: 0.5 },
  egressIp: '2001:db8::1',
  agentUpgrade: { operationId: 'op1', version: '1.4.0', state: 'failed', message: 'helm: timed out', startedAt: '2026-03-04T09:00:00Z', finishedAt: '2026-03-04T09:05:00+01:00' },
};
const HEARTBEAT = { type: 'heartbeat', intervalSeconds: 15, facts: FACTS };

function refusedField(value: unknown): string {
  try {
    parseHeartbeat(value);
  } catch (error) {
    assert.ok(error instanceof HeartbeatError, `a HeartbeatError, not ${String(error)}`);
    assert.equal(error.code, 'HEARTBEAT_INVALID');
    return error.field;
  }
  assert.fail('the heartbeat was accepted');
}

describe('heartbeat schema', () => {
  it('heartbeat schema - what an agent sends is accepted as it is, with or without the optional facts', () => {
    assert.deepEqual(parseHeartbeat(structuredClone(HEARTBEAT)), HEARTBEAT);
    const older: Partial<ClusterFacts> = structuredClone(FACTS);
    delete older.inventory;
    delete older.egressIp;
    delete older.agentUpgrade;
    assert.deepEqual(parseHeartbeat({ ...HEARTBEAT, facts: structuredClone(older) }).facts, older);
    assert.equal(parseHeartbeat({ ...HEARTBEAT, facts: { ...FACTS, cloud: null, region: null, zones: [] } }).facts.region, null);
  });

  it('heartbeat schema - partial facts are refused, naming the first missing field', () => {
    assert.equal(refusedField({ type: 'heartbeat', intervalSeconds: 15, facts: {} }), 'facts.kubernetesVersion');
    const noRegion: Partial<ClusterFacts> = structuredClone(FACTS);
    delete noRegion.region;
    assert.equal(refusedField({ ...HEARTBEAT, facts: noRegion }), 'facts.region');
    assert.equal(refusedField({ ...HEARTBEAT, facts: { ...FACTS, nodes: { total: 3 } } }), 'facts.nodes.ready');
    assert.equal(refusedField({ type: 'heartbeat', facts: FACTS }), 'intervalSeconds');
  });

  it('heartbeat schema - every required field, removed alone, is refused', () => {
    const required = ['kubernetesVersion', 'platform', 'distribution', 'cloud', 'region', 'zones', 'nodes', 'pods', 'apiServer', 'agent', 'collectedAt'] as const;
    for (const key of required) {
      const facts = Object.fromEntries(Object.entries(FACTS).filter(([name]) => name !== key));
      assert.equal(refusedField({ ...HEARTBEAT, facts }), `facts.${key}`);
    }
  });

  it('heartbeat schema - mistyped and oversized fields are refused, naming the field and never the value', () => {
    const cases: [Partial<Record<keyof ClusterFacts, unknown>>, string][] = [
      [{ region: 42 }, 'facts.region'],
      [{ region: 'x'.repeat(MAX_FACT_TEXT_CHARS + 1) }, 'facts.region'],
      [{ zones: Array.from({ length: MAX_FACT_ZONES + 1 }, (_, i) => `z${i}`) }, 'facts.zones'],
      [{ zones: ['a', 7] }, 'facts.zones.1'],
      [{ nodes: { total: -1, ready: 0 } }, 'facts.nodes.total'],
      [{ pods: { ...FACTS.pods, running: 1.5 } }, 'facts.pods.running'],
      [{ collectedAt: 'yesterday' }, 'facts.collectedAt'],
      [{ egressIp: 'not-an-address' }, 'facts.egressIp'],
      [{ agentUpgrade: { ...FACTS.agentUpgrade, state: 'exploded' } }, 'facts.agentUpgrade.state'],
    ];
    for (const [change, field] of cases) {
      const value = { ...HEARTBEAT, facts: { ...FACTS, ...change } };
      assert.equal(refusedField(value), field, JSON.stringify(change).slice(0, 80));
      try { parseHeartbeat(value); } catch (error) { assert.doesNotMatch((error as Error).message, /not-an-address|yesterday|exploded|xxxx/); }
    }
    assert.equal(refusedField({ ...HEARTBEAT, intervalSeconds: 0 }), 'intervalSeconds');
    assert.equal(refusedField({ ...HEARTBEAT, intervalSeconds: 10 ** 9 }), 'intervalSeconds');
  });

  it('heartbeat schema - fields a newer agent adds are dropped at every level', () => {
    const newer = {
      ...HEARTBEAT, trace: 'x',
      facts: {
        ...FACTS, gpus: 4, agent: { ...FACTS.agent, arch: 'arm64' }, inventory: { ...FACTS.inventory, shards: 2 },
        agentUpgrade: { ...FACTS.agentUpgrade, attempt: 1 }, zones: [...FACTS.zones],
      },
    };
    const sent = structuredClone(newer);
    assert.deepEqual(parseHeartbeat(newer), HEARTBEAT);
    assert.deepEqual(newer, sent, 'what was sent is not changed');
  });

  it('heartbeat schema - any JSON value is either a heartbeat that fits or a HeartbeatError (property)', () => {
    fc.assert(fc.property(fc.oneof(fc.jsonValue(), fc.record({ type: fc.constant('heartbeat'), intervalSeconds: fc.double(), facts: fc.jsonValue() })), (value) => {
      try {
        const parsed = parseHeartbeat(value);
        assert.equal(typeof parsed.facts.kubernetesVersion, 'string');
      } catch (error) {
        assert.ok(error instanceof HeartbeatError);
      }
    }), { numRuns: 2000 });
  });

  it('stored facts - facts of a shape the schema refuses read back as none; good ones as they are', () => {
    assert.deepEqual(storedFacts(structuredClone(FACTS)), FACTS);
    for (const shape of [{}, [], null, 'x', { ...FACTS, region: undefined }, { ...FACTS, egressIp: 'nope' }]) assert.equal(storedFacts(shape), null);
  });
});
