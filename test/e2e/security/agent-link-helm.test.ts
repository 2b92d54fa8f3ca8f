// An agent run outside a pod that is killed with SIGKILL in the middle of a
// helm upgrade: the helm it started must not keep working on the release;
// and two agents whose state files share a directory keep their own desired
// add-ons. A real helm that logs while it waits dies of SIGPIPE at its next
// write once the agent is gone, which hides the problem; one that waits
// quietly (a hook, a slow API server) works on. So helm here is a wrapper:
// every command goes to the real helm, except `upgrade`, which records its
// process id and waits quietly in its place (exec, so the id stays).
import assert from 'node:assert/strict';
import { chmodSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { DesiredAddonSet } from '../../../src/link/addons.ts';
import { webappSpec, AddonHub } from '../../helpers/addons.ts';
import { serveChartRepo } from '../../helpers/chart-sources.ts';
import { clusterBinDir, createTestNamespace, kubectl, mintServiceAccountToken, REPO_ROOT, testTempDir, uniqueName } from '../../helpers/cluster.ts';
import { eventually, startAgent, startHub } from '../../helpers/uplink.ts';

/** Process ids whose command line holds every one of `words`. */
function processesWith(words: string[]): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let cmdline: string[];
    try {
      cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
    } catch {
      continue; // gone meanwhile
    }
    if (words.every((word) => cmdline.includes(word))) found.push(Number(entry));
  }
  return found;
}

/** Running or sleeping; a zombie counts as gone. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/ Z /.test(stat.slice(stat.lastIndexOf(')')));
  } catch {
    return false;
  }
}

describe('agent-link: helm and the agent\'s files', () => {
  it('agent-link - SIGKILL of an agent in a helm upgrade ends that helm; agents sharing a state directory keep separate desired add-ons', async (t) => {
    const agentNamespace = await createTestNamespace(t, 'helm-kill');
    const { kubeconfig } = await mintServiceAccountToken(t, { namespace: agentNamespace, clusterRole: 'cluster-admin' });
    const repo = await serveChartRepo(t, [join(REPO_ROOT, 'examples/charts/webapp')]);
    const hub = await startHub(t);
    const addons = new AddonHub(hub);
    const first = JSON.parse(await addons.cli(['clusters', 'create', 'helm-kill-a', '-o', 'json'])) as { token: string };
    const second = JSON.parse(await addons.cli(['clusters', 'create', 'helm-kill-b', '-o', 'json'])) as { token: string };
    const stateDir = testTempDir(t, 'uplink-shared-state-');
    const pidFile = join(stateDir, 'helm-upgrade.pid');
    const wrapper = join(stateDir, 'helm');
    writeFileSync(wrapper, `#!/bin/sh\ncase "$1" in upgrade) echo $$ > '${pidFile}'; exec sleep 900;; esac\nexec '${join(await clusterBinDir(), 'helm')}' "$@"\n`);
    chmodSync(wrapper, 0o755);
    const common = { hubUrl: hub.url, caHash: hub.caHash, kubeconfig, args: ['--helm', wrapper] };
    const agentA = await startAgent(t, { ...common, token: first.token, stateFile: join(stateDir, 'a.json') });
    await startAgent(t, { ...common, token: second.token, stateFile: join(stateDir, 'b.json') });

    const namespace = uniqueName('helm-kill');
    t.after(() => kubectl(['delete', 'namespace', namespace, '--ignore-not-found', '--wait=false']));
    await addons.put('helm-kill-a', 'stuck', webappSpec(repo, namespace));
    const helm = await eventually('the agent to run helm upgrade on the release', 120_000, () =>
      (existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').trim()) : undefined));
    t.after(() => { if (alive(helm)) process.kill(helm, 'SIGKILL'); });
    assert.ok(alive(helm));
    assert.deepEqual(processesWith(['sleep', '900']).filter((pid) => pid === helm), [helm], 'the upgrade waits quietly');

    // Each agent keeps its own desired add-ons, named after its state file.
    const setOf = (file: string): DesiredAddonSet | undefined =>
      (existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) as DesiredAddonSet : undefined);
    const a = await eventually('agent a to store its set', 30_000, () => setOf(join(stateDir, 'a.addons.json')));
    const b = await eventually('agent b to store its set', 30_000, () => setOf(join(stateDir, 'b.addons.json')));
    assert.deepEqual(a.addons.map((addon) => addon.name), ['stuck']);
    assert.deepEqual(b.addons, []);

    await agentA.process.stop('SIGKILL');
    await eventually(`helm ${helm} to end with its agent`, 30_000, () => (alive(helm) ? undefined : true));
  });
});
