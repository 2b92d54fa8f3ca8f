// The agent's self-upgrade with a scripted helm: the command it runs, one at
// a time, what the heartbeat reports, recovery from the release's labels
// after a restart, shutdown, and the link route's answers over real HTTP/2.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http2 from 'node:http2';
import { describe, it, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLogger } from '../util/logger.ts';
import { ConfigError } from '../util/settings.ts';
import { HelmError, type HelmCommandOptions, type HelmRunner } from './addons/index.ts';
import {
  AgentSelfUpgrade, recoveredReport, SelfUpgradeError, selfUpgradeSetup, serveAgentUpgrade, upgradeArgs,
  UPGRADE_OPERATION_LABEL, UPGRADE_VERSION_LABEL, type SelfUpgradeSetup,
} from './self-upgrade.ts';

const log = createLogger({ name: 'test', level: 'silent' });
const TARGET = { release: 'uplink-agent', namespace: 'uplink-system', chart: 'oci://ghcr.io/uplink-dev/charts/uplink-agent' };
const NOW = Date.parse('2026-03-04T10:00:00.000Z');
type Metadata = Awaited<ReturnType<HelmRunner['metadata']>>;

/** A helm whose `run` waits for the test to settle it, and whose `metadata` answers from a list in turn. */
function scriptedHelm(releases: (Metadata | Error)[] = []): {
  helm: Pick<HelmRunner, 'run' | 'metadata'>;
  runs: { args: readonly string[]; options: HelmCommandOptions }[];
  settle: (outcome?: Error) => void;
} {
  const runs: { args: readonly string[]; options: HelmCommandOptions }[] = [];
  let settle: (outcome?: Error) => void = () => undefined;
  const helm = {
    run: (args: readonly string[], options: HelmCommandOptions = {}) => {
      runs.push({ args, options });
      return new Promise<never>((resolve, reject) => {
        settle = (outcome) => { if (outcome) reject(outcome); else resolve({ code: 0, stdout: '', stderr: '' } as never); };
        options.signal?.addEventListener('abort', () => { reject(new HelmError('CANCELLED', 'helm upgrade was cancelled')); });
      });
    },
    metadata: () => {
      const next = releases.length > 1 ? releases.shift() : releases[0];
      if (next === undefined) return Promise.reject(new HelmError('RELEASE_NOT_FOUND', 'helm get: release: not found'));
      return next instanceof Error ? Promise.reject(next) : Promise.resolve(next);
    },
  };
  return { helm, runs, settle: (outcome) => { settle(outcome); } };
}

function release(status: string, labels: Record<string, string>, chartVersion = '0.2.0'): Metadata {
  return {
    name: 'uplink-agent', namespace: 'uplink-system', revision: 2, status, chart: 'uplink-agent', chartVersion, appVersion: '0.2.0',
    deployedAt: '2026-03-04T09:59:00Z', labels,
  };
}

function selfUpgrade(helm: Pick<HelmRunner, 'run' | 'metadata'>, setup: SelfUpgradeSetup = { target: TARGET }): AgentSelfUpgrade {
  return new AgentSelfUpgrade({ setup, helm, log, now: () => NOW, recoverPollMs: 1, stopGraceMs: 50 });
}

/** Lets the background helm run settle. */
const tick = (): Promise<void> => sleep(1);

describe('agent self-upgrade', () => {
  it('self-upgrade - helm upgrade of its own release with the version, --reuse-values, --wait=watcher, a 300 s timeout and the operation labels', () => {
    assert.deepEqual(upgradeArgs(TARGET, 'op-1', '1.4.0'), [
      'upgrade', 'uplink-agent', 'oci://ghcr.io/uplink-dev/charts/uplink-agent', '--namespace', 'uplink-system', '--version', '1.4.0',
      '--reuse-values', '--wait=watcher', '--timeout', '300s', '--labels', `${UPGRADE_OPERATION_LABEL}=op-1,${UPGRADE_VERSION_LABEL}=1.4.0`,
    ]);
    const fromRepo = upgradeArgs({ ...TARGET, chart: 'uplink-agent', chartRepo: 'https://charts.example.com', plainHttp: true }, 'op-2', '1.4.0+build.1');
    assert.deepEqual(fromRepo.slice(0, 7), ['upgrade', 'uplink-agent', 'uplink-agent', '--repo', 'https://charts.example.com', '--plain-http', '--namespace']);
    assert.equal(fromRepo.at(-1), `${UPGRADE_OPERATION_LABEL}=op-2,${UPGRADE_VERSION_LABEL}=1.4.0_build.1`);
  });

  it('self-upgrade - the settings give the target, or why there is none; settings that cannot work stop the agent', () => {
    assert.match((selfUpgradeSetup({}, 'ns') as { unavailable: string }).unavailable, /not installed by its Helm chart \(--self-release is not set\)/);
    assert.match((selfUpgradeSetup({ selfRelease: 'a' }, 'ns') as { unavailable: string }).unavailable, /--self-chart is not set/);
    assert.deepEqual(selfUpgradeSetup({ selfRelease: 'a', selfChart: 'oci://registry.local:5000/charts/agent', plainHttpRegistries: ['registry.local:5000'] }, 'ns'),
      { target: { release: 'a', namespace: 'ns', chart: 'oci://registry.local:5000/charts/agent', plainHttp: true } });
    assert.deepEqual(selfUpgradeSetup({ selfRelease: 'a', selfChart: 'agent', selfChartRepo: 'http://127.0.0.1:1' }, 'ns'),
      { target: { release: 'a', namespace: 'ns', chart: 'agent', chartRepo: 'http://127.0.0.1:1' } });
    assert.throws(() => selfUpgradeSetup({ selfRelease: 'a', selfChart: '--post-renderer=x' }, 'ns'), ConfigError);
    assert.throws(() => selfUpgradeSetup({ selfChartRepo: 'https://x' }, 'ns'), /--self-chart-repo needs --self-chart/);
  });

  it('self-upgrade - an agent not installed by its chart refuses with 409 SELF_UPGRADE_UNAVAILABLE and runs nothing', () => {
    const { helm, runs } = scriptedHelm();
    const upgrade = selfUpgrade(helm, selfUpgradeSetup({}, 'ns'));
    assert.throws(() => upgrade.request({ version: '1.4.0', requestedBy: 'ann' }), (error) =>
      error instanceof SelfUpgradeError && error.status === 409 && error.code === 'SELF_UPGRADE_UNAVAILABLE' && /not installed by its Helm chart/.test(error.message));
    assert.equal(runs.length, 0);
    assert.equal(upgrade.report(), undefined);
  });

  it('self-upgrade - reports running, then succeeded; one at a time (409 AGENT_UPGRADE_RUNNING); a helm failure is reported with its message', async () => {
    const { helm, runs, settle } = scriptedHelm();
    const upgrade = selfUpgrade(helm);
    const { operationId } = upgrade.request({ version: '1.4.0', requestedBy: 'ann' });
    assert.deepEqual(upgrade.report(), {
      operationId, version: '1.4.0', state: 'running', message: 'helm upgrade of release uplink-system/uplink-agent to chart version 1.4.0 is running',
      startedAt: '2026-03-04T10:00:00.000Z', finishedAt: null,
    });
    assert.throws(() => upgrade.request({ version: '1.5.0', requestedBy: 'bob' }), (error) =>
      error instanceof SelfUpgradeError && error.status === 409 && error.code === 'AGENT_UPGRADE_RUNNING' && error.message.includes(operationId));
    assert.deepEqual(runs[0]?.args, upgradeArgs(TARGET, operationId, '1.4.0'));
    assert.equal(runs.at(0)?.options.timeoutMs, 360_000);
    settle();
    await tick();
    assert.deepEqual([upgrade.report()?.state, upgrade.report()?.message, upgrade.report()?.finishedAt],
      ['succeeded', 'upgraded release uplink-system/uplink-agent to chart version 1.4.0', '2026-03-04T10:00:00.000Z']);

    const second = upgrade.request({ version: '9.9.9', requestedBy: 'ann' });
    settle(new HelmError('CHART_NOT_FOUND', 'helm upgrade: chart not found: chart "uplink-agent" version "9.9.9" not found'));
    await tick();
    assert.deepEqual([upgrade.report()?.operationId, upgrade.report()?.state, upgrade.report()?.message],
      [second.operationId, 'failed', 'helm upgrade: chart not found: chart "uplink-agent" version "9.9.9" not found']);
  });

  it('self-upgrade - a release the agent upgraded tells the outcome after a restart, unless it was upgraded to another version since', () => {
    const labels = { [UPGRADE_OPERATION_LABEL]: 'op-1', [UPGRADE_VERSION_LABEL]: '0.2.0' };
    const at = '2026-03-04T10:00:00.000Z';
    assert.deepEqual(recoveredReport(release('deployed', labels), at), {
      operationId: 'op-1', version: '0.2.0', state: 'succeeded', startedAt: '2026-03-04T09:59:00Z', finishedAt: at,
      message: 'release uplink-system/uplink-agent is deployed at revision 2 (chart version 0.2.0); read from the release after the agent restarted',
    });
    assert.deepEqual([recoveredReport(release('pending-upgrade', labels), at)?.state, recoveredReport(release('pending-upgrade', labels), at)?.finishedAt], ['running', null]);
    assert.equal(recoveredReport(release('failed', labels), at)?.state, 'failed');
    assert.equal(recoveredReport(release('deployed', {}), at), undefined);
    assert.equal(recoveredReport(release('deployed', labels, '0.3.0'), at), undefined, 'upgraded by hand since, the labels kept');
  });

  it('self-upgrade - recovery re-reads a pending release until it ends; a failing read is only logged; a newer request wins', async () => {
    const labels = { [UPGRADE_OPERATION_LABEL]: 'op-1', [UPGRADE_VERSION_LABEL]: '0.2.0' };
    const pending = selfUpgrade(scriptedHelm([release('pending-upgrade', labels), release('pending-upgrade', labels), release('deployed', labels)]).helm);
    await pending.recover();
    assert.deepEqual([pending.report()?.operationId, pending.report()?.state], ['op-1', 'succeeded']);

    const unreadable = selfUpgrade(scriptedHelm([new HelmError('FORBIDDEN', 'helm get: forbidden')]).helm);
    await unreadable.recover();
    assert.equal(unreadable.report(), undefined);

    const { helm } = scriptedHelm([release('deployed', labels)]);
    const newer = selfUpgrade(helm);
    const { operationId } = newer.request({ version: '0.3.0', requestedBy: 'ann' });
    await newer.recover();
    assert.equal(newer.report()?.operationId, operationId);
    await newer.stop();
  });

  it('self-upgrade - stop lets a running upgrade finish within the grace period, then cancels it; afterwards requests are refused', async () => {
    const quick = scriptedHelm();
    const finishing = selfUpgrade(quick.helm);
    finishing.request({ version: '1.4.0', requestedBy: 'ann' });
    const stopped = finishing.stop();
    quick.settle();
    await stopped;
    assert.equal(finishing.report()?.state, 'succeeded');
    assert.throws(() => finishing.request({ version: '1.5.0', requestedBy: 'ann' }), (error) => error instanceof SelfUpgradeError && error.status === 503);

    const slow = selfUpgrade(scriptedHelm().helm);
    slow.request({ version: '1.4.0', requestedBy: 'ann' });
    await slow.stop();
    assert.deepEqual([slow.report()?.state, slow.report()?.message], ['failed', 'helm upgrade was cancelled']);
  });

  it('self-upgrade - the link route answers 202 with the id, 400 naming a bad field, 409 when unavailable', async (t) => {
    const { helm } = scriptedHelm();
    const post = await linkRoute(t, selfUpgrade(helm));
    const accepted = await post({ version: '1.4.0', requestedBy: 'ann' });
    assert.equal(accepted.status, 202);
    assert.match(String(accepted.body.operationId), /^[0-9a-f-]{36}$/);
    assert.deepEqual(await post('not json'), { status: 400, body: { error: { code: 'AGENT_UPGRADE_INVALID', message: 'the body must be JSON {version, requestedBy}' } } });
    const range = await post({ version: '^1.4', requestedBy: 'ann' });
    assert.match(JSON.stringify(range), /"status":400.*version must be an exact semantic version/);
    assert.match(JSON.stringify(await post({ version: '1.4.0' })), /requestedBy must name who asked/);
    const unavailable = await (await linkRoute(t, selfUpgrade(helm, selfUpgradeSetup({}, 'ns'))))({ version: '1.4.0', requestedBy: 'ann' });
    assert.deepEqual([unavailable.status, (unavailable.body.error as { code: string }).code], [409, 'SELF_UPGRADE_UNAVAILABLE']);
  });
});

/** The route on a real HTTP/2 server on loopback; returns a function that POSTs a body to it. */
async function linkRoute(t: TestContext, upgrade: AgentSelfUpgrade): Promise<(body: unknown) => Promise<{ status: number; body: Record<string, unknown> }>> {
  const server = http2.createServer((req, res) => { void serveAgentUpgrade(upgrade, req, res); });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const client = http2.connect(`http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`);
  t.after(() => {
    client.close();
    server.close();
  });
  return async (body) => {
    const stream = client.request({ ':method': 'POST', ':path': '/v1/agent/upgrade', 'content-type': 'application/json' });
    stream.end(typeof body === 'string' ? body : JSON.stringify(body));
    const [headers] = await once(stream, 'response') as [http2.IncomingHttpHeaders];
    let text = '';
    for await (const chunk of stream) text += (chunk as Buffer).toString();
    return { status: Number(headers[':status']), body: JSON.parse(text) as Record<string, unknown> };
  };
}
