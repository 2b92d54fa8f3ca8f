// kubectl's writing verbs compared on twin objects, one namespace per side
// (`...-api` straight to the API server, `...-hub` through the hub): create,
// apply (client- and server-side, with conflicts), diff, patch of each type,
// edit through KUBE_EDITOR, label, annotate, dry-run=server, delete and wait.
import assert from 'node:assert/strict';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { testTempDir } from '../../helpers/cluster.ts';
import { compare, StreamPair, startCompat, type Compat } from '../../helpers/kubectl-compare.ts';
import { ages, identity, withoutLines } from '../../helpers/kubectl-normalise.ts';
import { suiteContext } from '../../helpers/uplink.ts';

const { t: suite, runCleanups } = suiteContext('compat-write');

function configMap(name: string, data: Record<string, string>): string {
  return JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data });
}

/** `kubectl diff` runs `diff -u -N` on two temporary directories: their names and times differ per run. */
const diffHeaders = (text: string): string => text
  .replace(/\/tmp\/(LIVE|MERGED)-\d+/g, '/tmp/$1-<n>')
  .replace(/^((?:---|\+\+\+) \S+)\t.*$/gm, '$1\t<time>');

/** Where kubectl edit keeps a rejected edit: a new temporary file per run. */
const editCopy = (text: string): string => text.replace(/\/tmp\/kubectl-edit-\d+\.yaml/g, '/tmp/kubectl-edit-<n>.yaml');

describe('kubectl compared: writes', () => {
  let env: Compat;

  before(async () => {
    env = await startCompat(suite, 'write', { twins: true });
  });

  after(async () => {
    await runCleanups();
  });

  it('compat - create and client-side apply, then the objects read back alike', async () => {
    const created = await compare(env, ['create', 'configmap', 'conf', '--from-literal=a=1']);
    assert.equal(created.api.stdout, 'configmap/conf created\n');
    const again = await compare(env, ['create', 'configmap', 'conf', '--from-literal=a=1'], { code: 1 });
    assert.match(again.api.stderr, /configmaps "conf" already exists/);
    const manifest = configMap('applied', { a: '1' });
    assert.equal((await compare(env, ['apply', '-f', '-'], { input: manifest })).api.stdout, 'configmap/applied created\n');
    assert.equal((await compare(env, ['apply', '-f', '-'], { input: manifest })).api.stdout, 'configmap/applied unchanged\n');
    const changed = configMap('applied', { a: '2', b: '3' });
    assert.equal((await compare(env, ['apply', '-f', '-'], { input: changed })).api.stdout, 'configmap/applied configured\n');
    await compare(env, ['get', 'configmap', 'applied', '-o', 'yaml'], { normalise: [identity] });
    await compare(env, ['get', 'configmaps', '--show-managed-fields', '-o', 'json'], { normalise: [identity] });
  });

  it('compat - server-side apply with two field managers: the conflict, then --force-conflicts', async () => {
    const ssa = ['apply', '--server-side', '-f', '-'];
    const first = await compare(env, [...ssa, '--field-manager=first'], { input: configMap('ssa', { a: '1' }) });
    assert.equal(first.api.stdout, 'configmap/ssa serverside-applied\n');
    const conflict = await compare(env, [...ssa, '--field-manager=second'], { input: configMap('ssa', { a: '2' }), code: 1 });
    assert.match(conflict.api.stderr, /Apply failed with 1 conflict: conflict with "first": \.data\.a/);
    const forced = await compare(env, [...ssa, '--field-manager=second', '--force-conflicts'], { input: configMap('ssa', { a: '2' }) });
    assert.equal(forced.api.stdout, 'configmap/ssa serverside-applied\n');
    const fields = await compare(env, ['get', 'configmap', 'ssa', '--show-managed-fields', '-o', 'yaml'], { normalise: [identity] });
    assert.match(fields.api.stdout, /manager: second/);
    await compare(env, [...ssa, '--field-manager=first', '--dry-run=server', '-o', 'yaml'], { input: configMap('ssa', { b: '1' }), normalise: [identity] });
  });

  it('compat - diff against the live object, client- and server-side', async () => {
    await compare(env, ['apply', '-f', '-'], { input: configMap('diffed', { a: '1' }) });
    const changed = await compare(env, ['diff', '-f', '-'], { input: configMap('diffed', { a: '2' }), normalise: [diffHeaders, identity], code: 1 });
    assert.match(changed.api.stdout, /^-\s+a: "1"\n\+\s+a: "2"$/m);
    await compare(env, ['diff', '--server-side', '-f', '-'], { input: configMap('diffed', { a: '3' }), normalise: [diffHeaders, identity], code: 1 });
    const same = await compare(env, ['diff', '-f', '-'], { input: configMap('diffed', { a: '1' }) });
    assert.equal(same.api.stdout, '');
    await compare(env, ['diff', '-f', '-'], { input: configMap('new-one', { a: '1' }), normalise: [diffHeaders, identity], code: 1 });
  });

  it('compat - patch of each type, a failing JSON patch, no change, dry-run and the scale subresource', async () => {
    await compare(env, ['create', 'deployment', 'patched', '--image=registry.invalid/p:1', '--replicas=0']);
    const strategic = '{"spec":{"template":{"spec":{"containers":[{"name":"p","env":[{"name":"A","value":"1"}]}]}}}}';
    const results = [
      await compare(env, ['patch', 'deployment', 'patched', '--type=strategic', '-p', strategic]),
      await compare(env, ['patch', 'deployment', 'patched', '--type=merge', '-p', '{"metadata":{"labels":{"merged":"yes"}}}']),
      await compare(env, ['patch', 'deployment', 'patched', '--type=json', '-p', '[{"op":"add","path":"/metadata/annotations","value":{"json":"yes"}}]']),
    ];
    for (const { api } of results) assert.equal(api.stdout, 'deployment.apps/patched patched\n');
    const noChange = await compare(env, ['patch', 'deployment', 'patched', '--type=merge', '-p', '{"metadata":{"labels":{"merged":"yes"}}}']);
    assert.equal(noChange.api.stdout, 'deployment.apps/patched patched (no change)\n');
    const failing = await compare(env, ['patch', 'deployment', 'patched', '--type=json', '-p', '[{"op":"test","path":"/spec/replicas","value":7}]'], { code: 1 });
    assert.match(failing.api.stderr, /The request is invalid/);
    await compare(env, ['patch', 'deployment', 'patched', '--type=merge', '-p', '{"spec":{"paused":true}}', '--dry-run=server', '-o', 'yaml'], { normalise: [identity] });
    await compare(env, ['patch', 'deployment', 'patched', '--subresource=scale', '--type=merge', '-p', '{"spec":{"replicas":0}}']);
    const patchedYaml = await compare(env, ['get', 'deployment', 'patched', '-o', 'yaml'], { normalise: [identity] });
    assert.match(patchedYaml.api.stdout, /json: "yes"[\s\S]*merged: "yes"[\s\S]*name: A\n\s+value: "1"/);
  });

  it('compat - edit through a KUBE_EDITOR script: a change, no change, and a change the server rejects', async (t) => {
    const dir = testTempDir(t, 'uplink-compat-editor-');
    const editor = (name: string, script: string): string => {
      const file = join(dir, name);
      writeFileSync(file, `#!/bin/sh\n${script}\n`);
      chmodSync(file, 0o755);
      return file;
    };
    await compare(env, ['create', 'configmap', 'edited', '--from-literal=a=1']);
    const change = { KUBE_EDITOR: editor('change', 'sed -i \'s/^  a: "1"$/  a: "edited"/\' "$1"') };
    const edited = await compare(env, ['edit', 'configmap', 'edited'], { env: change });
    assert.equal(edited.api.stdout, 'configmap/edited edited\n');
    await compare(env, ['get', 'configmap', 'edited', '-o', 'jsonpath={.data.a}']).then(({ api }) => { assert.equal(api.stdout, 'edited'); });
    const none = await compare(env, ['edit', 'configmap', 'edited'], { env: { KUBE_EDITOR: editor('none', 'true') } });
    assert.match(none.api.stderr, /Edit cancelled, no changes made/);
    await compare(env, ['create', 'deployment', 'edited', '--image=registry.invalid/e:1', '--replicas=0']);
    const invalid = { KUBE_EDITOR: editor('invalid', 'sed -i \'s/^  replicas: 0$/  replicas: -1/\' "$1"') };
    const rejected = await compare(env, ['edit', 'deployment', 'edited'], { env: invalid, normalise: [editCopy], code: 1 });
    assert.match(rejected.api.stderr, /deployments\.apps "edited" is invalid/);
    assert.match(rejected.api.stderr, /A copy of your changes has been stored to "\/tmp\/kubectl-edit-<n>\.yaml"/);
  });

  it('compat - label and annotate: add, refuse to overwrite, overwrite, list, remove, by selector', async () => {
    await compare(env, ['create', 'configmap', 'tagged', '--from-literal=a=1']);
    for (const verb of ['label', 'annotate']) {
      const past = verb === 'label' ? 'labeled' : 'annotated';
      assert.equal((await compare(env, [verb, 'configmap', 'tagged', 'x=1'])).api.stdout, `configmap/tagged ${past}\n`);
      const refused = await compare(env, [verb, 'configmap', 'tagged', 'x=2'], { code: 1 });
      // label and annotate word this refusal differently, the same on both sides.
      assert.match(refused.api.stderr, /'x' already has a value \(1\)/);
      await compare(env, [verb, 'configmap', 'tagged', 'x=2', '--overwrite']);
      await compare(env, [verb, 'configmap', 'tagged', 'y=3', '--dry-run=server', '-o', 'yaml'], { normalise: [identity] });
      assert.match((await compare(env, [verb, 'configmap', 'tagged', '--list'])).api.stdout, /^x=2$/m);
      // kubectl says "unlabeled" but "annotated" for a removal, on both sides.
      const removed = verb === 'label' ? 'unlabeled' : 'annotated';
      assert.equal((await compare(env, [verb, 'configmap', 'tagged', 'x-'])).api.stdout, `configmap/tagged ${removed}\n`);
    }
    await compare(env, ['label', 'configmaps', '-l', 'x!=1', 'bulk=yes', '--overwrite'], { normalise: [ages] });
    await compare(env, ['get', 'configmaps', '-l', 'bulk=yes', '-o', 'name']);
  });

  it('compat - the API server\'s warnings reach kubectl', async () => {
    const pod = JSON.stringify({
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'warned' },
      spec: {
        nodeSelector: { 'beta.kubernetes.io/arch': 'amd64' },
        containers: [{ name: 'a', image: 'registry.invalid/a:1', ports: [{ containerPort: 80 }, { containerPort: 80 }] }],
      },
    });
    const warned = await compare(env, ['create', '-f', '-', '--dry-run=server'], { input: pod });
    assert.equal(warned.api.stderr, 'Warning: spec.nodeSelector[beta.kubernetes.io/arch]: deprecated since v1.14; use "kubernetes.io/arch" instead\n'
      + 'Warning: spec.containers[0].ports[1]: duplicate port definition with spec.containers[0].ports[0]\n');
  });

  it('compat - dry-run=server for create, apply, delete and replace changes nothing', async () => {
    await Promise.all([
      compare(env, ['create', 'deployment', 'dry', '--image=registry.invalid/d:1', '--dry-run=server', '-o', 'yaml'], { normalise: [identity] }),
      compare(env, ['apply', '--dry-run=server', '-f', '-', '-o', 'json'], { input: configMap('dry', { a: '1' }), normalise: [identity] }),
      compare(env, ['delete', 'configmap', 'conf', '--dry-run=server']),
      compare(env, ['replace', '--dry-run=server', '-f', '-'], { input: configMap('conf', { a: 'replaced' }) }),
    ]);
    const left = await compare(env, ['get', 'configmap', 'conf', 'dry', '-o', 'name'], { code: 1 });
    assert.equal(left.api.stdout, 'configmap/conf\n');
    assert.match(left.api.stderr, /configmaps "dry" not found/);
  });

  it('compat - delete with --wait, by selector, missing and --ignore-not-found', async () => {
    await compare(env, ['create', 'configmap', 'doomed-1', '--from-literal=a=1']);
    await compare(env, ['create', 'configmap', 'doomed-2', '--from-literal=a=1']);
    await compare(env, ['label', 'configmap', 'doomed-2', 'doom=yes']);
    assert.equal((await compare(env, ['delete', 'configmap', 'doomed-1', '--wait=true', '--timeout=60s'])).api.stdout, `configmap "doomed-1" deleted from ${env.api.namespace.replace(/api$/, '<twin>')} namespace\n`);
    assert.equal((await compare(env, ['delete', 'configmaps', '-l', 'doom=yes'])).api.stdout, `configmap "doomed-2" deleted from ${env.api.namespace.replace(/api$/, '<twin>')} namespace\n`);
    const missing = await compare(env, ['delete', 'configmap', 'doomed-1'], { code: 1 });
    assert.match(missing.api.stderr, /configmaps "doomed-1" not found/);
    assert.equal((await compare(env, ['delete', 'configmap', 'doomed-1', '--ignore-not-found'])).api.stdout, '');
  });

  it('compat - wait --for a JSONPath value, creation, deletion and a timeout', async (t) => {
    await compare(env, ['create', 'configmap', 'awaited', '--from-literal=a=1']);
    const met = await compare(env, ['wait', '--for=jsonpath={.data.a}=1', 'configmap/awaited', '--timeout=60s']);
    assert.equal(met.api.stdout, 'configmap/awaited condition met\n');
    // -v=6 logs each request as its answer comes: once a wait's watch is
    // open, the change it waits for is made. The log lines name each side's
    // server, so they are left out of the comparison.
    const verbose = withoutLines(/^I\d{4} /);
    const gone = await StreamPair.start(t, env, ['wait', '--for=delete', 'configmap/awaited', '--timeout=90s', '-v=6']);
    await gone.waitBoth('the wait\'s watch', (s) => s.stderr.includes('"Caches populated"'));
    await compare(env, ['delete', 'configmap', 'awaited']);
    assert.equal((await gone.compare({ untilExit: true, normalise: [verbose] })).api.stdout, 'configmap/awaited condition met\n');
    const later = await StreamPair.start(t, env, ['wait', '--for=create', 'configmap/later', '--timeout=90s', '-v=6']);
    await later.waitBoth('the wait\'s first look', (s) => s.stderr.includes('configmaps/later" status="404 Not Found"'));
    await compare(env, ['create', 'configmap', 'later', '--from-literal=a=1']);
    assert.equal((await later.compare({ untilExit: true, normalise: [verbose] })).api.stdout, 'configmap/later condition met\n');
    const timedOut = await compare(env, ['wait', '--for=condition=Never', 'configmap/later', '--timeout=2s'], { code: 1 });
    assert.match(timedOut.api.stderr, /timed out waiting for the condition on configmaps\/later/);
  });
});
