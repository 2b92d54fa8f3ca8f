// The cluster script's own contract, on a second cluster with its own
// directory and ports so the suite's shared cluster is left alone: start
// gives 3 Ready nodes, a second start is a no-op, `nodes N` scales, `stop`
// ends exactly the processes start launched, and bad input is refused.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runProcess, type ProcessResult } from '../../src/util/run-process.ts';
import { CLUSTER_SCRIPT, kubectlJson } from '../helpers/cluster.ts';

const dir = mkdtempSync(join(tmpdir(), 'uplink-cluster-script-'));
const env = {
  ...process.env,
  UPLINK_CLUSTER_DIR: dir,
  // Below 32768: ports in Linux's ephemeral range can be held by any outgoing connection.
  UPLINK_CLUSTER_ETCD_PORT: '22379',
  UPLINK_CLUSTER_ETCD_PEER_PORT: '22380',
  UPLINK_CLUSTER_API_PORT: '26443',
  UPLINK_CLUSTER_KCM_PORT: '20257',
  UPLINK_CLUSTER_SCHEDULER_PORT: '20259',
  UPLINK_CLUSTER_KWOK_PORT: '20250',
};

function cluster(...args: string[]): Promise<ProcessResult> {
  return runProcess(CLUSTER_SCRIPT, args, { env, timeoutMs: 180_000 });
}

function readyNodeCount(kubeconfig: string): Promise<number> {
  type Nodes = { items: { status: { conditions: { type: string; status: string }[] } }[] };
  return kubectlJson<Nodes>(['get', 'nodes'], { kubeconfig }).then((nodes) =>
    nodes.items.filter((n) => n.status.conditions.some((c) => c.type === 'Ready' && c.status === 'True')).length);
}

/** True while the process exists and is not a zombie awaiting its reaper. */
function isAlive(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(' ')[2] !== 'Z';
  } catch {
    return false;
  }
}

describe('test/cluster/cluster', () => {
  it('cluster-script - start, nodes, idempotent start, stop leaves nothing running', async (t) => {
    t.after(async () => { await cluster('stop'); });
    const started = performance.now();
    const start = await cluster('start');
    const seconds = (performance.now() - started) / 1000;
    assert.equal(start.code, 0, start.stderr);
    t.diagnostic(`warm start to 3 Ready nodes: ${seconds.toFixed(1)} s`);
    console.log(`# cluster start (warm cache) to 3 Ready nodes: ${seconds.toFixed(1)} s`);
    const kubeconfig = start.stdout.trim();
    assert.equal(kubeconfig, join(dir, 'kubeconfig'));
    assert.equal(await readyNodeCount(kubeconfig), 3);
    assert.ok(seconds < 60, `start took ${seconds.toFixed(1)} s, over the 60 s target`);

    const again = await cluster('start');
    assert.equal(again.code, 0);
    assert.match(again.stderr, /already running/);

    assert.equal((await cluster('nodes', '5')).code, 0);
    assert.equal(await readyNodeCount(kubeconfig), 5);
    assert.equal((await cluster('nodes', '2')).code, 0);
    const nodes = await kubectlJson<{ items: unknown[] }>(['get', 'nodes'], { kubeconfig });
    assert.equal(nodes.items.length, 2);

    const pids = readdirSync(join(dir, 'pids')).map((f) => Number(readFileSync(join(dir, 'pids', f), 'utf8')));
    assert.equal(pids.length, 5, 'etcd, apiserver, controller-manager, scheduler and kwok');
    assert.ok(pids.every(isAlive));
    const stop = await cluster('stop');
    assert.equal(stop.code, 0, stop.stderr);
    assert.deepEqual(pids.filter(isAlive), [], 'no process of the cluster is left');
    assert.equal((await cluster('status')).code, 1);
    assert.equal((await cluster('stop')).code, 0, 'stop is idempotent');
  });

  it('cluster-script - rejects a bad node count with a clear error', async () => {
    const result = await cluster('nodes', 'many');
    assert.equal(result.code, 1);
    assert.match(result.stderr, /nodes needs a count from 0 to 250, got 'many'/);
  });

  it('cluster-script - an unknown command prints usage and fails', async () => {
    const result = await cluster('launch');
    assert.equal(result.code, 2);
    assert.match(result.stderr, /usage: test\/cluster\/cluster COMMAND/);
  });
});
