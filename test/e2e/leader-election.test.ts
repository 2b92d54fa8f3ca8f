// Leader election on a real Lease of the test cluster's API server: two
// electors compete, exactly one leads; a release hands the Lease over long
// before it would expire; a leader cut off from the API server stops at its
// renew deadline, before the other takes over.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { KubeApiError, KubeClient } from '../../src/agent/kube.ts';
import { KubeLeaseApi, type LeaseApi, type LeaseRecord, type LeaseSnapshot } from '../../src/agent/lease-api.ts';
import { LeaderElector, type LeaderElectionTimings, type LeadershipLoss } from '../../src/agent/leader-election.ts';
import { createLogger } from '../../src/util/logger.ts';
import { createTestNamespace, kubeconfigPath, kubectlJson } from '../helpers/cluster.ts';
import { eventually, suiteContext } from '../helpers/uplink.ts';

const { t: suite, runCleanups } = suiteContext('leader-election');
const log = createLogger({ name: 'leader-election-e2e', level: 'warn' });

/** The real Lease API, with a switch that cuts this client off: its requests then get no answer until their timeout. */
class CuttableLeaseApi implements LeaseApi {
  cut = false;
  private readonly inner: LeaseApi;

  constructor(inner: LeaseApi) {
    this.inner = inner;
  }

  get(timeoutMs: number): Promise<LeaseSnapshot | undefined> {
    return this.through(timeoutMs, () => this.inner.get(timeoutMs));
  }

  create(record: LeaseRecord, timeoutMs: number): Promise<LeaseSnapshot> {
    return this.through(timeoutMs, () => this.inner.create(record, timeoutMs));
  }

  update(previous: LeaseSnapshot, record: LeaseRecord, timeoutMs: number): Promise<LeaseSnapshot> {
    return this.through(timeoutMs, () => this.inner.update(previous, record, timeoutMs));
  }

  private through<T>(timeoutMs: number, call: () => Promise<T>): Promise<T> {
    if (!this.cut) return call();
    return new Promise<T>((_resolve, reject) => {
      setTimeout(() => { reject(new KubeApiError(0, `cut off from the API server: no answer within ${timeoutMs} ms`)); }, timeoutMs);
    });
  }
}

interface Candidate {
  elector: LeaderElector;
  api: CuttableLeaseApi;
  events: { at: number; what: 'started' | LeadershipLoss }[];
}

interface LeaseObject {
  spec: { holderIdentity?: string; leaseDurationSeconds?: number; leaseTransitions?: number };
}

describe('leader election on a real Lease', () => {
  let kube: KubeClient;
  let namespace: string;
  const electors: LeaderElector[] = [];

  before(async () => {
    namespace = await createTestNamespace(suite, 'leader');
    kube = new KubeClient({ kubeconfig: await kubeconfigPath() });
  });

  after(async () => {
    await Promise.all(electors.map((e) => e.stop()));
    kube.close();
    await runCleanups();
  });

  function candidate(identity: string, lease: string, timings: LeaderElectionTimings): Candidate {
    const api = new CuttableLeaseApi(new KubeLeaseApi({ kube, namespace, name: lease }));
    const events: Candidate['events'] = [];
    const elector = new LeaderElector({
      api, lease: `${namespace}/${lease}`, identity, timings, log,
      onStartedLeading: () => { events.push({ at: Date.now(), what: 'started' }); },
      onStoppedLeading: (reason) => { events.push({ at: Date.now(), what: reason }); },
    });
    electors.push(elector);
    return { elector, api, events };
  }

  /** `<lease>-a` leading, then `<lease>-b` standing by, on the Lease `lease`. */
  async function leaderThenStandby(lease: string, timings: LeaderElectionTimings): Promise<[Candidate, Candidate]> {
    const a = candidate(`${lease}-a`, lease, timings);
    a.elector.start();
    await eventually('a to lead', 30_000, () => a.elector.isLeader || undefined);
    const b = candidate(`${lease}-b`, lease, timings);
    b.elector.start();
    await eventually('b to stand by', 30_000, () => (b.elector.state === 'standby' || undefined));
    return [a, b];
  }

  const leaseOf = (name: string): Promise<LeaseObject> => kubectlJson<LeaseObject>(['-n', namespace, 'get', 'lease', name]);

  it('leader election e2e - of two electors on one Lease exactly one leads, and the Lease names it', async () => {
    const timings = { leaseDurationMs: 6_000, renewDeadlineMs: 4_000, retryPeriodMs: 1_000 };
    const a = candidate('e2e-a', 'one', timings);
    const b = candidate('e2e-b', 'one', timings);
    a.elector.start();
    b.elector.start();
    const leader = await eventually('a leader', 30_000, () => [a, b].find((c) => c.elector.isLeader));
    const standby = leader === a ? b : a;
    await eventually('the standby to see the leader', 30_000, () => (standby.elector.holder === leader.elector.identity || undefined));
    // Several renewals later, still one leader, and the same one.
    await new Promise((resolve) => setTimeout(resolve, 5 * timings.retryPeriodMs));
    assert.equal(leader.elector.state, 'leader');
    assert.equal(standby.elector.state, 'standby');
    assert.deepEqual(standby.events, []);
    assert.deepEqual(leader.events.map((e) => e.what), ['started'], 'no renewal failed');
    const lease = await leaseOf('one');
    assert.equal(lease.spec.holderIdentity, leader.elector.identity);
    assert.equal(lease.spec.leaseDurationSeconds, 6);
    assert.equal(lease.spec.leaseTransitions ?? 0, 0);
  });

  it('leader election e2e - a released Lease passes to the standby long before it would expire', async () => {
    // A minute-long lease: a takeover within the wait below can only come from the release.
    const timings = { leaseDurationMs: 60_000, renewDeadlineMs: 40_000, retryPeriodMs: 1_000 };
    const [a, b] = await leaderThenStandby('release', timings);
    await a.elector.release();
    const releasedAt = Date.now();
    assert.deepEqual(a.events.map((e) => e.what), ['started', 'stopped']);
    await eventually('b to lead', 30_000, () => b.elector.isLeader || undefined);
    console.log(`# released lease taken over after ${Date.now() - releasedAt} ms (retry period ${timings.retryPeriodMs} ms)`);
    const lease = await leaseOf('release');
    assert.equal(lease.spec.holderIdentity, 'release-b');
    assert.equal(lease.spec.leaseDurationSeconds, 60);
    assert.equal(lease.spec.leaseTransitions, 1);
  });

  it('leader election e2e - a leader cut off from the API server stops at its renew deadline, before the other takes over', async () => {
    const timings = { leaseDurationMs: 8_000, renewDeadlineMs: 5_000, retryPeriodMs: 1_000 };
    const [a, b] = await leaderThenStandby('cut', timings);
    a.api.cut = true;
    const started = await eventually('b to lead', 60_000, () => b.events.find((e) => e.what === 'started'));
    const lost = a.events.find((e) => e.what === 'deadline');
    assert.ok(lost, `a reported the loss at its deadline: ${JSON.stringify(a.events)}`);
    assert.ok(lost.at < started.at, `a stopped (${lost.at}) before b started (${started.at})`);
    console.log(`# the cut-off leader stopped ${started.at - lost.at} ms before the other took over`);
    a.api.cut = false;
    await eventually('a to see b lead', 30_000, () => (a.elector.holder === 'cut-b' && a.elector.state === 'standby') || undefined);
    assert.equal(b.elector.state, 'leader');
    assert.deepEqual(b.events.map((e) => e.what), ['started']);
    assert.equal((await leaseOf('cut')).spec.leaseTransitions, 1);
  });
});
