// node --test global setup: starts the real test cluster once per test run
// (unless one already runs, e.g. the demo's) and stops it at the end only if
// this run started it.
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';

const CLUSTER_SCRIPT = join(resolve(import.meta.dirname, '../..'), 'test/cluster/cluster');
let startedHere = false;

function cluster(args: string[], inherit: boolean): string {
  const result = spawnSync(CLUSTER_SCRIPT, args, {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', inherit ? 'inherit' : 'pipe'],
    timeout: 30 * 60_000,
  });
  if (result.status !== 0) {
    throw new Error(`test/cluster/cluster ${args.join(' ')} failed (${result.status ?? result.signal}): ${result.stderr}`);
  }
  return result.stdout.trim();
}

export function globalSetup(): void {
  const running = spawnSync(CLUSTER_SCRIPT, ['status'], { stdio: 'ignore' }).status === 0;
  if (!running) {
    cluster(['start'], true);
    startedHere = true;
  }
  process.env.UPLINK_TEST_KUBECONFIG = cluster(['kubeconfig'], false);
}

export function globalTeardown(): void {
  if (startedHere) cluster(['stop'], true);
}
