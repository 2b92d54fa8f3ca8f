import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CallerClusterView } from '../../hub/api/clusters.ts';
import type { AgentUpgradeReport, ClusterFacts } from '../../link/protocol.ts';
import { HubApiError } from '../hub-client.ts';
import { buildProgram } from '../program.ts';
import { agentCell, agentUpgradeOutcome, clusterRow, sweepCell, waitForAgentUpgrade } from './clusters.ts';

const SWEEP = {
  lastSweepAt: '2026-03-04T10:00:00.000Z', sweepDurationSeconds: 1, addonsInspected: 3, intervalSeconds: 60,
  reportedAt: '2026-03-04T10:00:00.000Z', lagSeconds: 12.3, stopped: false,
};

const VIEW: CallerClusterView = {
  id: 'c_prod', name: 'prod', labels: { env: 'prod' }, createdAt: '2026-03-01T00:00:00.000Z', status: 'online', connected: true, replica: 'hub-a',
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
    assert.deepEqual(clusterRow(VIEW, true).slice(-4), ['1.0.0', '-', '12s', 'env=prod']);
    assert.equal(clusterRow(VIEW, false).length, 7);
  });

  it('clusters command - -o wide shows the egress IP, and the agent cell a running or failed self-upgrade', () => {
    const upgrade: AgentUpgradeReport = { operationId: 'op-1', version: '0.2.0', state: 'running', message: '', startedAt: '', finishedAt: null };
    const facts = { nodes: { ready: 1, total: 1 }, pods: { running: 1, total: 1 }, egressIp: '203.0.113.7', agentUpgrade: upgrade } as unknown as ClusterFacts;
    assert.deepEqual(clusterRow({ ...VIEW, facts }, true).slice(-5, -3), ['203.0.113.7', '1.0.0 (upgrade to 0.2.0 running)']);
    assert.equal(agentCell({ ...VIEW, facts: { ...facts, agentUpgrade: { ...upgrade, state: 'failed' } } }), '1.0.0 (upgrade to 0.2.0 failed)');
    assert.equal(agentCell({ ...VIEW, facts: { ...facts, agentUpgrade: { ...upgrade, state: 'succeeded' } } }), '1.0.0');
    assert.equal(clusterRow(VIEW, true).at(-5), '-');
  });

  it('clusters command - -o wide names the leading agent pod of a leader-elected agent', () => {
    const facts = { nodes: { ready: 1, total: 1 }, pods: { running: 1, total: 1 }, leader: { pod: 'uplink-agent-7d9f-x2x', identity: 'uplink-agent-7d9f-x2x_0a', term: 3, since: '' } } as unknown as ClusterFacts;
    assert.equal(clusterRow({ ...VIEW, facts }, true).at(-3), 'uplink-agent-7d9f-x2x');
  });

  it('clusters command - upgrade-agent waits for its own operation to end: succeeded is ok, failed is not, another or a running one is no outcome', () => {
    const report: AgentUpgradeReport = { operationId: 'op-1', version: '0.2.0', state: 'succeeded', message: 'upgraded', startedAt: '', finishedAt: '' };
    const viewWith = (upgrade: AgentUpgradeReport): CallerClusterView => ({ ...VIEW, facts: { agentUpgrade: upgrade } as unknown as ClusterFacts });
    assert.deepEqual(agentUpgradeOutcome(viewWith(report), 'op-1'), { ok: true, message: 'the upgrade of the agent of cluster "prod" to chart version 0.2.0 succeeded: upgraded' });
    assert.deepEqual(agentUpgradeOutcome(viewWith({ ...report, state: 'failed', message: 'chart not found' }), 'op-1'),
      { ok: false, message: 'the upgrade of the agent of cluster "prod" to chart version 0.2.0 failed: chart not found' });
    assert.equal(agentUpgradeOutcome(viewWith({ ...report, state: 'running' }), 'op-1'), undefined);
    assert.equal(agentUpgradeOutcome(viewWith(report), 'op-0'), undefined);
    assert.equal(agentUpgradeOutcome(VIEW, 'op-1'), undefined);
  });

  it('clusters command - the upgrade wait polls each second through hub outages and an offline agent, and gives up at the timeout', async () => {
    const clock = { now: 0 };
    const running: AgentUpgradeReport = { operationId: 'op-1', version: '0.2.0', state: 'running', message: 'helm upgrade is running', startedAt: '', finishedAt: null };
    const answers: (CallerClusterView | Error)[] = [
      { ...VIEW, facts: null, status: 'offline' }, new HubApiError(0, 'UNREACHABLE', 'down'), new HubApiError(502, 'LINK_CLOSED', 'closed'),
      { ...VIEW, facts: { agentUpgrade: running } as unknown as ClusterFacts },
      { ...VIEW, facts: { agentUpgrade: { ...running, state: 'succeeded' } } as unknown as ClusterFacts },
    ];
    const pauses: number[] = [];
    const wait = (timeoutSeconds: number) => waitForAgentUpgrade({
      operationId: 'op-1', timeoutSeconds, now: () => clock.now,
      sleep: (ms) => { pauses.push(ms); clock.now += ms; return Promise.resolve(); },
      fetch: () => {
        const next = answers.length > 1 ? answers.shift() : answers[0];
        return next instanceof Error ? Promise.reject(next) : Promise.resolve(next ?? VIEW);
      },
    });
    assert.equal((await wait(60)).ok, true);
    assert.deepEqual(pauses, [1000, 1000, 1000, 1000]);
    answers.splice(0, answers.length, { ...VIEW, facts: { agentUpgrade: running } as unknown as ClusterFacts });
    const outcome = await wait(3);
    assert.deepEqual(outcome, { ok: false, message: 'gave up waiting for the agent upgrade after 3s (still running: helm upgrade is running); the agent goes on, see uplink clusters get' });
    answers.splice(0, answers.length, new HubApiError(403, 'FORBIDDEN', 'no'));
    await assert.rejects(wait(3), /no/);
  });

  it('clusters command - --help of list and get names the sweep lag', () => {
    const clusters = buildProgram().commands.find((c) => c.name() === 'clusters');
    for (const name of ['list', 'get']) {
      const help = clusters?.commands.find((c) => c.name() === name)?.helpInformation() ?? '';
      assert.match(help.replace(/\s+/g, ' '), /add-on sweep lag/);
    }
  });

  it('clusters command - upgrade-agent takes the cluster, a required --version, --no-wait and --timeout', () => {
    const clusters = buildProgram().commands.find((c) => c.name() === 'clusters');
    const help = (clusters?.commands.find((c) => c.name() === 'upgrade-agent')?.helpInformation() ?? '').replace(/\s+/g, ' ');
    assert.match(help, /upgrade-agent \[options\] <cluster>/);
    for (const flag of ['--version <version>', '--no-wait', '--timeout <duration>']) assert.ok(help.includes(flag), flag);
    assert.match(help, /--reuse-values/);
  });

  it('clusters command - upgrade-agent --version is the chart version, not the program\'s own --version (which still works first)', async () => {
    const program = buildProgram().exitOverride();
    let parsed: unknown;
    const clusters = program.commands.find((c) => c.name() === 'clusters');
    clusters?.commands.find((c) => c.name() === 'upgrade-agent')?.action((cluster: string, flags: Record<string, unknown>) => { parsed = [cluster, flags]; });
    await program.parseAsync(['node', 'uplink', 'clusters', 'upgrade-agent', 'prod', '--version', '0.2.0', '--timeout', '2m', '--no-wait']);
    assert.deepEqual(parsed, ['prod', { version: '0.2.0', timeout: 120, wait: false }]);
    const versionFlag = buildProgram().exitOverride().configureOutput({ writeOut: () => undefined });
    await assert.rejects(versionFlag.parseAsync(['node', 'uplink', '--version']), { code: 'commander.version' });
  });
});
