import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CallerClusterView } from '../../hub/api/clusters.ts';
import { buildProgram } from '../program.ts';
import { clusterRow, sweepCell } from './clusters.ts';

const SWEEP = {
  lastSweepAt: '2026-03-04T10:00:00.000Z', sweepDurationSeconds: 1, addonsInspected: 3, intervalSeconds: 60,
  reportedAt: '2026-03-04T10:00:00.000Z', lagSeconds: 12.3, stopped: false,
};

const VIEW: CallerClusterView = {
  id: 'c_prod', name: 'prod', labels: { env: 'prod' }, createdAt: '2026-03-01T00:00:00.000Z', status: 'online', connected: true,
  agentVersion: '1.0.0', connectedAt: '2026-03-04T09:00:00.000Z', disconnectedAt: null, lastHeartbeatAt: '2026-03-04T10:00:00.000Z',
  lastHeartbeatAgeSeconds: 3, facts: null, addonSweep: SWEEP, role: 'admin',
};

describe('clusters command', () => {
  it('clusters command - the SWEEP cell shows the lag, marks stopped sweeps, and - before any report', () => {
    assert.equal(sweepCell(SWEEP), '12s');
    assert.equal(sweepCell({ ...SWEEP, lagSeconds: 900, stopped: true }), '15m (sweeps stopped)');
    assert.equal(sweepCell(null), '-');
    // A hub that predates sweep reports sends no field at all.
    assert.equal(sweepCell(undefined), '-');
  });

  it('clusters command - -o wide has the sweep lag before the labels; the plain table does not', () => {
    assert.deepEqual(clusterRow(VIEW, true).slice(-3), ['1.0.0', '12s', 'env=prod']);
    assert.equal(clusterRow(VIEW, false).length, 7);
  });

  it('clusters command - --help of list and get names the sweep lag', () => {
    const clusters = buildProgram().commands.find((c) => c.name() === 'clusters');
    for (const name of ['list', 'get']) {
      const help = clusters?.commands.find((c) => c.name() === name)?.helpInformation() ?? '';
      assert.match(help.replace(/\s+/g, ' '), /add-on sweep lag/);
    }
  });
});
