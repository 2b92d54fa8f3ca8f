// Leader election's logic on mocked timers against an in-memory Lease whose
// network each test controls: acquiring, renewing, losing on 409 and at the
// renew deadline, releasing, and never two leaders on a long random timeline.
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { createLogger } from '../util/logger.ts';
import { FakeLeaseServer, type FakeLeaseClient, type FakeNetwork } from './fake-lease.test-helper.ts';
import { DEFAULT_LEADER_TIMINGS, LeaderElector, checkLeaderTimings, leaderIdentity, leaderPod, type LeadershipLoss } from './leader-election.ts';
import { formatLeaderHeader, parseLeaderHeader } from '../link/leader-header.ts';
import { AGENT_HEADERS } from '../link/protocol.ts';
import { AgentMetrics } from './metrics.ts';

const log = createLogger({ name: 'leader-election-test', level: 'silent' });
const { leaseDurationMs, renewDeadlineMs, retryPeriodMs } = DEFAULT_LEADER_TIMINGS;

interface Candidate {
  name: string;
  elector: LeaderElector;
  client: FakeLeaseClient;
  metrics: AgentMetrics;
  /** `<ms> started` and `<ms> stopped:<reason>`, in order. */
  events: { at: number; what: 'started' | LeadershipLoss }[];
}

/** Electors on one in-memory Lease; asserts in every onStartedLeading that no other candidate leads. */
function setup(t: TestContext, names: string[], random: () => number = () => 0.5): { server: FakeLeaseServer; candidates: Candidate[] } {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
  const server = new FakeLeaseServer();
  const candidates: Candidate[] = [];
  for (const name of names) {
    const client = server.client(name);
    const metrics = new AgentMetrics();
    const events: Candidate['events'] = [];
    const elector = new LeaderElector({
      api: client, lease: 'ns/lease', identity: name, timings: DEFAULT_LEADER_TIMINGS, log, metrics,
      now: () => Date.now(), random,
      onStartedLeading: () => {
        const others = candidates.filter((c) => c.name !== name && c.elector.isLeader).map((c) => c.name);
        assert.deepEqual(others, [], `${name} starts leading at ${Date.now()} ms while another leads`);
        events.push({ at: Date.now(), what: 'started' });
      },
      onStoppedLeading: (reason) => { events.push({ at: Date.now(), what: reason }); },
    });
    candidates.push({ name, elector, client, metrics, events });
  }
  t.after(async () => {
    // Requests still out wait for their mocked timeouts: run the clock past them.
    const stopping = Promise.all(candidates.map((c) => c.elector.stop()));
    t.mock.timers.tick(leaseDurationMs);
    await stopping;
  });
  return { server, candidates };
}

/** Lets every promise chain settle (setImmediate is not mocked). */
async function settle(): Promise<void> {
  await new Promise<void>((resolve) => { setImmediate(resolve); });
}

/** Moves the mocked clock by `ms` in steps, settling after each, and checks at each step that at most one leads. */
async function advance(t: TestContext, candidates: Candidate[], ms: number, step = 100): Promise<void> {
  for (let done = 0; done < ms; done += step) {
    t.mock.timers.tick(Math.min(step, ms - done));
    await settle();
    assert.ok(candidates.filter((c) => c.elector.isLeader).length <= 1, `two leaders at ${Date.now()} ms`);
  }
}

async function sample(metrics: AgentMetrics, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = metrics.registry.getSingleMetric(name);
  assert.ok(metric, `metric ${name}`);
  const { values } = await metric.get();
  return values.filter((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l)).reduce((sum, v) => sum + v.value, 0);
}

/** Two candidates, a leading and b standing by for `standbyMs`. */
async function leaderAndStandby(t: TestContext, standbyMs: number): Promise<{ server: FakeLeaseServer; candidates: Candidate[]; a: Candidate; b: Candidate }> {
  const { server, candidates } = setup(t, ['a', 'b']);
  const [a, b] = [pick(candidates, 0), pick(candidates, 1)];
  a.elector.start();
  await advance(t, candidates, 100);
  b.elector.start();
  await advance(t, candidates, standbyMs);
  return { server, candidates, a, b };
}

function pick<T>(candidates: T[], index: number): T {
  const value = candidates[index];
  assert.ok(value !== undefined);
  return value;
}

describe('leader election', () => {
  it('leader election - the first candidate creates the Lease and leads; the second stays standby while it renews', async (t) => {
    const { server, candidates } = setup(t, ['a', 'b']);
    const [a, b] = [pick(candidates, 0), pick(candidates, 1)];
    assert.equal(a.elector.state, 'unknown');
    a.elector.start();
    await advance(t, candidates, 1, 1);
    assert.equal(a.elector.state, 'leader');
    assert.deepEqual(server.read()?.record.holderIdentity, 'a');
    assert.equal(server.read()?.record.leaseDurationSeconds, leaseDurationMs / 1000);
    assert.equal(server.read()?.record.leaseTransitions, 0);
    assert.match(server.read()?.record.renewTime ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    assert.equal(await sample(a.metrics, 'uplink_agent_leader'), 1);
    b.elector.start();
    await advance(t, candidates, 60_000);
    assert.equal(b.elector.state, 'standby');
    assert.equal(b.elector.holder, 'a');
    assert.equal(a.elector.state, 'leader');
    const renewals = server.writes.filter((w) => w.by === 'a').length;
    assert.ok(renewals >= 60_000 / retryPeriodMs - 1 && renewals <= 60_000 / retryPeriodMs + 1, `one renewal per retry period, got ${renewals}`);
    assert.equal(server.read()?.record.acquireTime, server.writes[0]?.record.acquireTime, 'renewals keep the acquire time');
    assert.deepEqual(b.events, []);
    assert.equal(await sample(b.metrics, 'uplink_agent_leader'), 0);
  });

  it('leader election - a standby takes an abandoned Lease only once it has not changed for the lease duration, counting a transition', async (t) => {
    const { server, candidates, a, b } = await leaderAndStandby(t, 10_000);
    await a.elector.stop();
    const lastWrite = server.writes.at(-1)?.at ?? 0;
    assert.deepEqual(a.events.map((e) => e.what), ['started', 'stopped']);
    await advance(t, candidates, leaseDurationMs - 1_000);
    assert.equal(b.elector.state, 'standby', 'not before the lease duration has passed');
    await advance(t, candidates, 2 * retryPeriodMs + 1_000);
    assert.equal(b.elector.state, 'leader');
    const took = b.events[0]?.at ?? 0;
    assert.ok(took - lastWrite >= leaseDurationMs, `took over ${took - lastWrite} ms after the last renewal`);
    assert.equal(server.read()?.record.holderIdentity, 'b');
    assert.equal(server.read()?.record.leaseTransitions, 1);
    assert.equal(await sample(b.metrics, 'uplink_agent_leader_transitions_total', { to: 'leader' }), 1);
  });

  it('leader election - a leader frozen past its renew deadline may not write before its deadline timer has run; its term is the Lease\'s transitions', async (t) => {
    const { candidates, a, b } = await leaderAndStandby(t, 10_000);
    assert.equal(a.elector.leadingNow, true);
    assert.equal(a.elector.leadership?.term, 0);
    assert.equal(a.elector.leadership.identity, 'a');
    assert.equal(b.elector.leadership, undefined);
    // The clock jumps as after a SIGSTOP; no timer has run yet.
    t.mock.timers.setTime(Date.now() + renewDeadlineMs + 1);
    assert.equal(a.elector.isLeader, true, 'the deadline timer has not run');
    assert.equal(a.elector.leadingNow, false, 'but the deadline has passed');
    await advance(t, candidates, 1, 1);
    assert.equal(a.elector.isLeader, false);
    assert.equal(a.elector.leadership, undefined);
  });

  it('leader election - a renewal refused with 409 ends leadership at once', async (t) => {
    const { server, candidates } = setup(t, ['a']);
    const a = pick(candidates, 0);
    a.elector.start();
    await advance(t, candidates, 1_000);
    assert.equal(a.elector.isLeader, true);
    const record = server.read()?.record;
    assert.ok(record);
    server.overwrite({ ...record, holderIdentity: 'intruder' });
    const at = Date.now();
    await advance(t, candidates, retryPeriodMs);
    assert.deepEqual(a.events.map((e) => e.what), ['started', 'conflict']);
    assert.ok((a.events[1]?.at ?? 0) - at <= retryPeriodMs, 'at the first renewal after the write');
    assert.equal(await sample(a.metrics, 'uplink_agent_lease_renew_failures_total'), 1);
    await advance(t, candidates, retryPeriodMs * 1.2);
    assert.equal(a.elector.state, 'standby', 'the intruder\'s record is new to it: valid for its duration');
    assert.equal(a.elector.holder, 'intruder');
  });

  for (const network of ['down', 'deaf'] as const satisfies FakeNetwork[]) {
    it(`leader election - a leader whose API server is ${network} stops at the renew deadline, before the standby may take over`, async (t) => {
      const { server, candidates, a, b } = await leaderAndStandby(t, 5_000);
      a.client.network = network;
      await advance(t, candidates, 30_000);
      const lost = a.events.find((e) => e.what === 'deadline');
      const took = b.events.find((e) => e.what === 'started');
      assert.ok(lost && took, `a lost (${JSON.stringify(a.events)}) and b took over (${JSON.stringify(b.events)})`);
      const lastRenewal = server.writes.filter((w) => w.by === 'a').at(-1)?.at ?? 0;
      assert.ok(lost.at <= lastRenewal + renewDeadlineMs, `a stopped ${lost.at - lastRenewal} ms after its last renewal landed`);
      assert.ok(took.at >= lastRenewal + leaseDurationMs, `b took over ${took.at - lastRenewal} ms after it`);
      assert.equal(a.elector.state, 'unknown');
      assert.ok(await sample(a.metrics, 'uplink_agent_lease_renew_failures_total') >= 1);
    });
  }

  it('leader election - a leader that reaches the API server again before anyone took over leads again without a transition', async (t) => {
    const { server, candidates } = setup(t, ['a']);
    const a = pick(candidates, 0);
    a.elector.start();
    await advance(t, candidates, 1_000);
    a.client.network = 'down';
    await advance(t, candidates, renewDeadlineMs + 1_000);
    assert.equal(a.elector.isLeader, false);
    a.client.network = 'up';
    await advance(t, candidates, 2 * renewDeadlineMs);
    assert.deepEqual(a.events.map((e) => e.what), ['started', 'deadline', 'started']);
    assert.equal(server.read()?.record.leaseTransitions, 0);
  });

  it('leader election - release() stops leading at once and hands the Lease to the standby within about a retry period', async (t) => {
    const { server, candidates, a, b } = await leaderAndStandby(t, 5_000);
    const releasing = a.elector.release();
    assert.deepEqual(a.events.map((e) => e.what), ['started', 'stopped'], 'onStoppedLeading before the Lease is written');
    await settle();
    await releasing;
    assert.equal(server.read()?.record.holderIdentity, '');
    assert.equal(server.read()?.record.leaseDurationSeconds, 1);
    const releasedAt = Date.now();
    await advance(t, candidates, 2 * retryPeriodMs);
    const took = b.events.find((e) => e.what === 'started');
    assert.ok(took, 'b leads within two retry periods');
    assert.ok(took.at - releasedAt <= retryPeriodMs * 1.2 + 100, `after ${took.at - releasedAt} ms`);
    assert.equal(server.read()?.record.leaseTransitions, 1);
  });

  it('leader election - a nudged standby (its watch saw the release) takes the Lease at once; a nudge changes nothing for a leader or while the Lease is held', async (t) => {
    const { server, candidates, a, b } = await leaderAndStandby(t, 5_000);
    const writes = server.writes.length;
    a.elector.nudge();
    b.elector.nudge();
    await advance(t, candidates, 1, 1);
    assert.equal(b.elector.state, 'standby', 'a held Lease stays held');
    assert.equal(a.elector.state, 'leader');
    assert.ok(server.writes.length <= writes + 1, 'no extra writes');
    await a.elector.release();
    const releasedAt = Date.now();
    b.elector.nudge();
    await advance(t, candidates, 10, 1);
    const took = b.events.find((e) => e.what === 'started');
    assert.ok(took, 'b leads at once');
    assert.ok(took.at - releasedAt <= 10, `after ${took.at - releasedAt} ms`);
  });

  it('leader election - release() by a standby leaves the Lease alone', async (t) => {
    const { server, a, b } = await leaderAndStandby(t, 3_000);
    const writes = server.writes.length;
    await b.elector.release();
    assert.equal(server.writes.length, writes);
    assert.equal(a.elector.isLeader, true);
    assert.deepEqual(b.events, []);
  });

  it('leader election - a standby that cannot reach the API server reports unknown, then standby again', async (t) => {
    const { candidates, b } = await leaderAndStandby(t, 3_000);
    assert.equal(b.elector.state, 'standby');
    b.client.network = 'down';
    await advance(t, candidates, renewDeadlineMs + 3 * retryPeriodMs);
    assert.equal(b.elector.state, 'unknown');
    b.client.network = 'up';
    await advance(t, candidates, renewDeadlineMs + 3 * retryPeriodMs);
    assert.equal(b.elector.state, 'standby');
  });

  it('leader election - three candidates on flaky, slow networks never lead at once over an hour, and one leads once all heal', async (t) => {
    let seed = 0x5eed;
    const random = (): number => {
      // mulberry32: a seeded generator, so a failure replays the same timeline.
      seed = (seed + 0x6d2b79f5) | 0;
      let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
      return ((x ^ (x >>> 14)) >>> 0) / 4_294_967_296;
    };
    const { candidates } = setup(t, ['a', 'b', 'c'], random);
    for (const c of candidates) c.elector.start();
    const networks: FakeNetwork[] = ['up', 'up', 'up', 'down', 'deaf'];
    for (let second = 0; second < 3_600; second += 1) {
      for (const c of candidates) {
        if (random() < 0.05) c.client.network = networks[Math.floor(random() * networks.length)] ?? 'up';
        if (random() < 0.05) c.client.latencyMs = Math.floor(random() * 3_000);
      }
      await advance(t, candidates, 1_000, 250);
    }
    const starts = candidates.reduce((sum, c) => sum + c.events.filter((e) => e.what === 'started').length, 0);
    assert.ok(starts >= 10, `leadership changed hands ${starts} times`);
    for (const c of candidates) {
      c.client.network = 'up';
      c.client.latencyMs = 0;
    }
    await advance(t, candidates, 2 * leaseDurationMs);
    assert.equal(candidates.filter((c) => c.elector.isLeader).length, 1);
  });

  it('leader election - timings must keep retry < renew deadline < lease duration', () => {
    checkLeaderTimings(DEFAULT_LEADER_TIMINGS);
    assert.throws(() => { checkLeaderTimings({ ...DEFAULT_LEADER_TIMINGS, renewDeadlineMs: 15_000 }); }, /renew deadline \(15 s\) must be shorter than the lease duration \(15 s\)/);
    assert.throws(() => { checkLeaderTimings({ ...DEFAULT_LEADER_TIMINGS, retryPeriodMs: 10_000 }); }, /retry period \(10 s\) must be shorter than the renew deadline/);
  });

  it('leader election - the identity is the pod name, else the host name, with a random suffix', () => {
    assert.match(leaderIdentity({ POD_NAME: 'uplink-agent-7d9f-x2x' }), /^uplink-agent-7d9f-x2x_[0-9a-f]{8}$/);
    assert.notEqual(leaderIdentity({ POD_NAME: 'p' }), leaderIdentity({ POD_NAME: 'p' }));
    assert.match(leaderIdentity({}), /^.+_[0-9a-f]{8}$/);
  });

  it('leader election - a host name that is no DNS name is made one, so the hub takes the link header', () => {
    assert.equal(leaderPod({ POD_NAME: ' My_Host.Example ' }), 'my-host.example');
    assert.equal(leaderPod({ POD_NAME: '__' }), 'agent');
    assert.equal(leaderPod({ POD_NAME: 'x'.repeat(300) }), 'x'.repeat(253));
    for (const pod of ['Ünïcode-Host', '-a-', 'A.B_C']) {
      const parsed = parseLeaderHeader({ [AGENT_HEADERS.leader]: formatLeaderHeader({ term: 1, identity: leaderIdentity({ POD_NAME: pod }) }) });
      assert.notEqual(parsed, 'invalid', pod);
    }
  });
});
