// kubectl's workload verbs compared on twin Deployments, one namespace per
// side: scale, set image, rollout status/history/undo/pause/resume/restart,
// and delete with each cascade. The cluster's controller manager rolls them
// out and kwok makes their pods Ready, so every rollout completes.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { compare, startCompat, type Compat } from '../../helpers/kubectl-compare.ts';
import { ages, generated, identity, templateHashes, withoutLines } from '../../helpers/kubectl-normalise.ts';
import { suiteContext } from '../../helpers/uplink.ts';

const { t: suite, runCleanups } = suiteContext('compat-workloads');

/** A Deployment on one node, so the twins' pods differ in nothing the scheduler chose. */
function deployment(name: string, replicas: number): string {
  const labels = { app: name };
  return JSON.stringify({
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, labels },
    spec: {
      replicas, selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: { nodeSelector: { 'kubernetes.io/hostname': 'kwok-node-0' }, containers: [{ name: 'app', image: 'registry.invalid/app:1' }] },
      },
    },
  });
}

/**
 * `rollout status` prints a progress line each time the Deployment's status
 * changes while it watches: how many it prints depends on when the twin's
 * controller got there. The outcome (the last line, the exit code) is compared.
 */
const progress = withoutLines(/^Waiting for deployment /);
const ROLLOUT_STATUS = ['rollout', 'status', 'deployment/web', '--timeout=150s'];

describe('kubectl compared: workloads', () => {
  let env: Compat;

  before(async () => {
    env = await startCompat(suite, 'work', { twins: true });
  });

  after(async () => {
    await runCleanups();
  });

  const rolledOut = async (): Promise<void> => {
    const status = await compare(env, ROLLOUT_STATUS, { normalise: [progress], timeoutMs: 170_000 });
    assert.equal(status.api.stdout, 'deployment "web" successfully rolled out\n');
  };

  it('compat - scale and rollout status', async () => {
    assert.equal((await compare(env, ['apply', '-f', '-'], { input: deployment('web', 2) })).api.stdout, 'deployment.apps/web created\n');
    await rolledOut();
    assert.equal((await compare(env, ['scale', 'deployment', 'web', '--replicas=3'])).api.stdout, 'deployment.apps/web scaled\n');
    const refused = await compare(env, ['scale', 'deployment', 'web', '--current-replicas=5', '--replicas=1'], { code: 1 });
    assert.match(refused.api.stderr, /Expected replicas to be 5, was 3/);
    await rolledOut();
    const pods = generated('web-');
    await compare(env, ['get', 'deployment,replicasets', '-l', 'app=web', '-o', 'wide'], { normalise: [ages] });
    const listed = await compare(env, ['get', 'pods', '-l', 'app=web', '-o', 'name'], { normalise: [pods] });
    assert.equal(listed.api.stdout.trim().split('\n').length, 3);
    await compare(env, ['get', 'deployment', 'web', '-o', 'jsonpath={.status}'], { normalise: [identity] });
  });

  it('compat - set image, rollout history, undo, pause, resume and restart', async () => {
    assert.equal((await compare(env, ['set', 'image', 'deployment/web', 'app=registry.invalid/app:2'])).api.stdout, 'deployment.apps/web image updated\n');
    await rolledOut();
    const history = await compare(env, ['rollout', 'history', 'deployment/web']);
    assert.match(history.api.stdout, /REVISION\s+CHANGE-CAUSE\n1\s+<none>\n2\s+<none>/);
    const second = await compare(env, ['rollout', 'history', 'deployment/web', '--revision=2']);
    assert.match(second.api.stdout, /Image:\s+registry\.invalid\/app:2/);
    assert.equal((await compare(env, ['rollout', 'undo', 'deployment/web'])).api.stdout, 'deployment.apps/web rolled back\n');
    await rolledOut();
    await compare(env, ['rollout', 'history', 'deployment/web', '-o', 'yaml'], { normalise: [identity] });
    const missing = await compare(env, ['rollout', 'undo', 'deployment/web', '--to-revision=9'], { code: 1 });
    assert.match(missing.api.stderr, /unable to find specified revision 9 in history/);
    assert.equal((await compare(env, ['rollout', 'pause', 'deployment/web'])).api.stdout, 'deployment.apps/web paused\n');
    const again = await compare(env, ['rollout', 'pause', 'deployment/web'], { code: 1 });
    assert.match(again.api.stderr, /is already paused/);
    assert.equal((await compare(env, ['get', 'deployment', 'web', '-o', 'jsonpath={.spec.paused}'])).api.stdout, 'true');
    assert.equal((await compare(env, ['rollout', 'resume', 'deployment/web'])).api.stdout, 'deployment.apps/web resumed\n');
    assert.equal((await compare(env, ['rollout', 'restart', 'deployment/web'])).api.stdout, 'deployment.apps/web restarted\n');
    await rolledOut();
    // The twins' events (how each controller stepped through the rollout, how
    // many it combined) are their own; events are compared on shared objects in read.test.ts.
    await compare(env, ['describe', 'deployment', 'web', '--show-events=false'], { normalise: [identity, ages, templateHashes('web-')] });
  });

  it('compat - delete with cascade orphan, foreground (waiting) and background', async () => {
    const ns = env.api.namespace.replace(/api$/, '<twin>');
    const orphaned = await compare(env, ['delete', 'deployment', 'web', '--cascade=orphan']);
    assert.equal(orphaned.api.stdout, `deployment.apps "web" deleted from ${ns} namespace\n`);
    const left = await compare(env, ['get', 'replicasets', '-l', 'app=web', '-o', 'name'], { normalise: [templateHashes('web-')] });
    assert.ok(left.api.stdout.includes('replicaset.apps/web-'), 'the orphaned ReplicaSets stay');
    // The twins' restarts (above) stamped their templates a moment apart, so their ReplicaSets' hashes may differ.
    await compare(env, ['delete', 'replicasets', '-l', 'app=web', '--cascade=foreground', '--wait=true', '--timeout=150s'], {
      timeoutMs: 170_000, normalise: [templateHashes('web-')],
    });
    const none = await compare(env, ['get', 'replicasets,pods', '-l', 'app=web']);
    assert.match(none.api.stderr, /No resources found/);
    await compare(env, ['apply', '-f', '-'], { input: deployment('bg', 1) });
    const background = await compare(env, ['delete', 'deployment', 'bg', '--cascade=background']);
    assert.equal(background.api.stdout, `deployment.apps "bg" deleted from ${ns} namespace\n`);
  });
});
