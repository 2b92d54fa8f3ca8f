// kubectl's reading verbs, straight at the API server and through the hub on
// the same objects, compared: get and list in every output format, watch with
// its events, describe, discovery (api-resources, api-versions, explain),
// events, top without a metrics server, version and cluster-info.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { kubectl } from '../../helpers/cluster.ts';
import { compare, StreamPair, startCompat, type Compat, type SideStream } from '../../helpers/kubectl-compare.ts';
import { ages, sideValue } from '../../helpers/kubectl-normalise.ts';
import { suiteContext } from '../../helpers/uplink.ts';

const { t: suite, runCleanups } = suiteContext('compat-read');

/**
 * Every output format of `get`, for a list or one object (jsonpath and
 * go-template range over `.items` only in a list), each with whether it
 * prints a table, whose ages are normalised.
 */
function formats(list: boolean): { args: string[]; table: boolean }[] {
  const jsonpath = '{.metadata.name}={.metadata.labels}{"\\n"}';
  const template = '{{.metadata.name}}:{{.metadata.resourceVersion}} ';
  return [
    { args: [], table: true },
    { args: ['-o', 'wide'], table: true },
    { args: ['--show-labels'], table: true },
    { args: ['-o', 'json'], table: false },
    { args: ['-o', 'yaml'], table: false },
    { args: ['-o', 'name'], table: false },
    { args: ['-o', `jsonpath=${list ? `{range .items[*]}${jsonpath}{end}` : jsonpath}`], table: false },
    { args: ['-o', 'custom-columns=NAME:.metadata.name,KIND:.kind,LABELS:.metadata.labels'], table: false },
    { args: ['-o', `go-template=${list ? `{{range .items}}${template}{{end}}` : template}`], table: false },
  ];
}

describe('kubectl compared: reads', () => {
  let env: Compat;
  let pod: string;

  before(async () => {
    env = await startCompat(suite, 'read', { twins: false });
    const ns = ['-n', env.api.namespace];
    await kubectl([...ns, 'create', 'deployment', 'web', '--image=registry.invalid/web:1', '--replicas=2', '--port=8080']);
    await kubectl([...ns, 'expose', 'deployment', 'web', '--port=80', '--target-port=8080']);
    for (const [name, set] of [['one', 'a'], ['two', 'a'], ['three', 'b']] as const) {
      await kubectl([...ns, 'create', 'configmap', name, `--from-literal=key=${name}`]);
      await kubectl([...ns, 'label', 'configmap', name, `set=${set}`, 'compat=read']);
    }
    await kubectl([...ns, 'rollout', 'status', 'deployment/web', '--timeout=120s'], { timeoutMs: 130_000 });
    pod = (await kubectl([...ns, 'get', 'pods', '-l', 'app=web', '-o', 'jsonpath={.items[0].metadata.name}'])).stdout;
  });

  after(async () => {
    await runCleanups();
  });

  it('compat - get of lists and single objects in every output format', async () => {
    const targets = [['configmaps', '-l', 'compat=read'], ['pods', '-l', 'app=web'], ['deployments,services', '-l', 'app=web']];
    for (const target of targets) {
      await Promise.all(formats(true).map(({ args, table }) => compare(env, ['get', ...target, ...args], table ? { normalise: [ages] } : {})));
    }
    await Promise.all(formats(false).map(({ args, table }) => compare(env, ['get', 'deployment', 'web', ...args], table ? { normalise: [ages] } : {})));
    const { api } = await compare(env, ['get', 'configmaps', '-l', 'compat=read', '-o', 'name']);
    assert.equal(api.stdout, 'configmap/one\nconfigmap/three\nconfigmap/two\n');
  });

  it('compat - list selectors, chunking, sorting, several kinds, raw paths and errors', async () => {
    const table = { normalise: [ages] };
    await Promise.all([
      compare(env, ['get', 'configmaps', '-l', 'set=a,compat=read'], table),
      compare(env, ['get', 'configmaps', '-l', 'set in (a,b),set!=b'], table),
      compare(env, ['get', 'configmaps', '--field-selector', 'metadata.name=two', '-o', 'name']),
      compare(env, ['get', 'configmaps', '-l', 'compat=read', '--chunk-size=1', '-o', 'name']),
      compare(env, ['get', 'configmaps', '-l', 'compat=read', '--sort-by=.data.key'], table),
      compare(env, ['get', 'all'], table),
      compare(env, ['get', 'deployment/web', 'service/web', 'configmap/one', '-o', 'name']),
      compare(env, ['get', 'pods', '-A', '-l', 'app=web', '-o', 'wide'], table),
      compare(env, (side) => ['get', '--raw', `/api/v1/namespaces/${side.namespace}/configmaps/one`]),
      compare(env, ['get', '--raw', '/version']),
      compare(env, ['get', '--raw', '/readyz?verbose']),
      compare(env, ['get', '--raw', '/livez?exclude=etcd']),
      compare(env, ['get', 'deployment', 'web', '--subresource=scale', '-o', 'yaml']),
      compare(env, ['get', 'deployment', 'web', '--subresource=status'], table),
      compare(env, ['get', 'pods,services', '--server-print=false'], table),
    ]);
    const missing = await compare(env, ['get', 'configmap', 'absent'], { code: 1 });
    assert.match(missing.api.stderr, /NotFound.*configmaps "absent" not found/);
    const unknown = await compare(env, ['get', 'gizmos'], { code: 1 });
    assert.match(unknown.api.stderr, /the server doesn't have a resource type "gizmos"/);
    const empty = await compare(env, ['get', 'configmaps', '-l', 'set=none']);
    assert.match(empty.api.stderr, /No resources found in .* namespace\./);
  });

  it('compat - a list of several MiB, whole and in pages', async () => {
    // 150 ConfigMaps of 20 KiB: 3 MiB in one answer, or 30 pages of 5.
    const big = 'x'.repeat(20 * 1024);
    const items = Array.from({ length: 150 }, (_, i) => ({
      apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `bulk-${String(i).padStart(3, '0')}`, labels: { compat: 'bulk' } }, data: { big },
    }));
    await kubectl(['-n', env.api.namespace, 'apply', '--server-side', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items }) });
    const whole = await compare(env, ['get', 'configmaps', '-l', 'compat=bulk', '-o', 'json']);
    assert.ok(whole.api.stdout.length > 3 * 1024 * 1024, `${whole.api.stdout.length} bytes`);
    const paged = await compare(env, ['get', 'configmaps', '-l', 'compat=bulk', '--chunk-size=5', '-o', 'jsonpath={.items[*].metadata.name}']);
    assert.equal(paged.api.stdout.split(' ').length, 150);
    await compare(env, ['get', 'configmaps', '-l', 'compat=bulk', '--chunk-size=7'], { normalise: [ages] });
  });

  it('compat - get -w with --output-watch-events in several formats sees the same events', async (t) => {
    const ns = ['-n', env.api.namespace];
    await kubectl([...ns, 'create', 'configmap', 'watch-seed', '--from-literal=a=0']);
    await kubectl([...ns, 'label', 'configmap', 'watch-seed', 'compat=watch']);
    // With --output-watch-events each printed object is the event: custom
    // columns read `.type` and `.object`, on both sides alike.
    const formats = [[], ['-o', 'name'], ['-o', 'json'], ['-o', 'custom-columns=EVENT:.type,NAME:.object.metadata.name,A:.object.data.a']];
    const pairs = await Promise.all(formats.map((format) =>
      StreamPair.start(t, env, ['get', 'configmaps', '-l', 'compat=watch', '-w', '--output-watch-events', ...format])));
    const saw = (text: string) => (stream: SideStream): boolean => stream.stdout.includes(text);
    // Each watch has listed (the seed is in it) before anything changes, so each sees every change as an event.
    for (const pair of pairs) await pair.waitBoth('the initial list', saw('watch-seed'));
    const labelled = (name: string, a: string): string =>
      JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, labels: { compat: 'watch' } }, data: { a } });
    await kubectl([...ns, 'apply', '-f', '-'], { input: labelled('watched', '1') });
    await kubectl([...ns, 'patch', 'configmap', 'watched', '-p', '{"data":{"a":"2"}}']);
    await kubectl([...ns, 'delete', 'configmap', 'watched']);
    // Events come in order: a watch that saw the last one saw all.
    await kubectl([...ns, 'apply', '-f', '-'], { input: labelled('watch-end', '3') });
    for (const pair of pairs) await pair.waitBoth('the last event', saw('watch-end'));
    const results = [];
    for (const pair of pairs) results.push(await pair.compare({ normalise: [ages] }));
    const names = results[1]?.api.stdout.trim().split('\n');
    assert.deepEqual(names, ['configmap/watch-seed', 'configmap/watched', 'configmap/watched', 'configmap/watched', 'configmap/watch-end']);
    assert.match(results[3]?.api.stdout ?? '', /ADDED\s+watched\s+1\nMODIFIED\s+watched\s+2\nDELETED\s+watched\s+2\nADDED\s+watch-end\s+3/);
  });

  it('compat - describe of a deployment, its pod, a service, configmaps and the namespace', async () => {
    const table = { normalise: [ages] };
    const [deployment] = await Promise.all([
      compare(env, ['describe', 'deployment', 'web'], table),
      compare(env, ['describe', 'pod', pod], table),
      compare(env, ['describe', 'service', 'web'], table),
      compare(env, ['describe', 'configmaps', '-l', 'set=a'], table),
      compare(env, (side) => ['describe', 'namespace', side.namespace], table),
    ]);
    assert.match(deployment.api.stdout, /Replicas:\s+2 desired \| 2 updated \| 2 total \| 2 available/);
    const absent = await compare(env, ['describe', 'configmap', 'absent'], { code: 1 });
    assert.match(absent.api.stderr, /configmaps "absent" not found/);
  });

  it('compat - api-resources, api-versions and explain', async () => {
    // The list of APIs is the cluster's, which other tests extend with their
    // own CustomResourceDefinitions: a change between the two runs is retried.
    const cluster = { attempts: 5 };
    await Promise.all([
      compare(env, ['api-resources'], cluster),
      compare(env, ['api-resources', '-o', 'wide', '--sort-by=name'], cluster),
      compare(env, ['api-resources', '--namespaced=false', '-o', 'name'], cluster),
      compare(env, ['api-resources', '--api-group=apps', '--verbs=list'], cluster),
      compare(env, ['api-versions'], cluster),
    ]);
    const explained = await compare(env, ['explain', 'deployment.spec.strategy']);
    assert.match(explained.api.stdout, /KIND:\s+Deployment/);
    await Promise.all([
      compare(env, ['explain', 'pods.spec.containers.ports', '--recursive']),
      compare(env, ['explain', 'configmap', '--api-version=v1', '--output=plaintext-openapiv2']),
      compare(env, ['explain', 'services.spec.type']),
    ]);
    const unknown = await compare(env, ['explain', 'gizmos'], { code: 1 });
    assert.match(unknown.api.stderr, /the server doesn't have a resource type "gizmos"/);
  });

  it('compat - events and get events', async () => {
    // A late event (a pod's status, say) may land between the two runs: retried.
    const options = { normalise: [ages], attempts: 5 };
    const [listed] = await Promise.all([
      compare(env, ['events'], options),
      compare(env, ['events', '--for', 'deployment/web'], options),
      compare(env, ['events', '--types=Normal', '-o', 'json'], { attempts: 5 }),
      compare(env, ['get', 'events', '--sort-by=.metadata.name'], options),
    ]);
    assert.match(listed.api.stdout, /ScalingReplicaSet/);
    const none = await compare(env, ['events', '--for', 'deployment/absent']);
    assert.match(none.api.stderr, /No events found in .* namespace\./);
  });

  it('compat - top fails the same way without a metrics server', async () => {
    const [pods, nodes] = await Promise.all([compare(env, ['top', 'pod'], { code: 1 }), compare(env, ['top', 'node'], { code: 1 })]);
    assert.match(pods.api.stderr, /Metrics API not available/);
    assert.match(nodes.api.stderr, /Metrics API not available/);
  });

  it('compat - version and cluster-info differ only in the server URL', async () => {
    const version = await compare(env, ['version']);
    assert.match(version.api.stdout, /Server Version: v1\.36/);
    const server = async (kubeconfig: string): Promise<string> =>
      (await kubectl(['config', 'view', '--minify', '-o', 'jsonpath={.clusters[0].cluster.server}'], { kubeconfig })).stdout;
    const urls = { api: await server(env.api.kubeconfig), hub: await server(env.hub.kubeconfig) };
    assert.match(urls.hub, /\/k8s\/clusters\//);
    const info = await compare(env, ['cluster-info'], { normalise: [sideValue(urls, '<server>')] });
    assert.match(info.api.stdout, /Kubernetes control plane.* is running at .*<server>/);
  });
});
