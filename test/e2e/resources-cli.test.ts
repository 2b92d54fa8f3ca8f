// The `uplink get`, `uplink events` and `uplink logs` commands against a
// real hub and agent on the test cluster: tables, JSON and YAML, a live
// watch, events, one pod's log, who may read Secrets, clear errors for a bad
// kind or selector, and an offline cluster named in a 503.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import type { ResourceListResponse } from '../../src/link/resources.ts';
import { createTestNamespace, kubectl, writePodLogLine } from '../helpers/cluster.ts';
import { createUserLogin, startHubCluster, type HubCluster } from '../helpers/kubectl-hub.ts';
import { adminKube, createPods, hubGetText } from '../helpers/resources.ts';
import { eventually, suiteContext, uplink, uplinkStream } from '../helpers/uplink.ts';

const CLUSTER = 'resources-cli-e2e';
const OFFLINE = 'resources-cli-offline';
const { t: suite, runCleanups } = suiteContext('resources-cli');

type ListAnswer = ResourceListResponse & { cluster: { name: string; status: string; connected: boolean } };

describe('uplink get, events and logs', () => {
  let env: HubCluster;
  let namespace: string;
  let admin: string;

  before(async () => {
    env = await startHubCluster(suite, CLUSTER);
    admin = env.hub.cliConfig;
    namespace = await createTestNamespace(suite, 'rescli');
    for (const name of ['cm-a', 'cm-b', 'cm-c']) await kubectl(['-n', namespace, 'create', 'configmap', name, '--from-literal=greeting=hello']);
    await kubectl(['-n', namespace, 'label', 'configmap', 'cm-a', 'app=demo']);
    await kubectl(['-n', namespace, 'create', 'secret', 'generic', 'hidden', '--from-literal=password=not-for-viewers']);
    await createPods(await adminKube(suite), { namespace, prefix: 'logger', count: 1, nodes: ['kwok-node-0'] });
    await eventually('the objects in the inventory', 20_000, async () => {
      const answer = await env.hub.client.request<ListAnswer>('GET', `/api/v1/clusters/${CLUSTER}/resources/pods?namespace=${namespace}`);
      return answer.inventory.synced && answer.items.some((row) => row.status === 'Running') ? true : undefined;
    });
  });

  after(async () => {
    await runCleanups();
  });

  it('get - a table, the hub\'s JSON answer, one object as YAML, and pages with --continue', async () => {
    const table = await uplink(['get', CLUSTER, 'configmaps', '-n', namespace], admin);
    assert.equal(table.code, 0, table.stderr);
    const lines = table.stdout.trim().split('\n');
    assert.match(lines[0] ?? '', /^NAME\s+STATUS\s+HEALTH\s+AGE$/);
    assert.ok(lines.some((line) => /^cm-a\s/.test(line)), table.stdout);
    assert.equal(table.stderr, '', 'no freshness warning for an online, synced cluster');

    const json = await uplink(['get', CLUSTER, 'cm', '-n', namespace, '-l', 'app=demo', '-o', 'json'], admin);
    assert.equal(json.code, 0, json.stderr);
    const answer = JSON.parse(json.stdout) as ListAnswer;
    assert.deepEqual(answer.items.map((row) => row.name), ['cm-a']);
    assert.equal(answer.kind.resource, 'configmaps');
    assert.deepEqual({ name: answer.cluster.name, status: answer.cluster.status, connected: answer.cluster.connected }, { name: CLUSTER, status: 'online', connected: true });
    assert.equal(answer.inventory.synced, true);

    const yaml = await uplink(['get', CLUSTER, 'configmap', 'cm-b', '-n', namespace, '-o', 'yaml'], admin);
    assert.equal(yaml.code, 0, yaml.stderr);
    const object = parseYaml(yaml.stdout) as { metadata: { name: string; managedFields?: unknown }; data: Record<string, string> };
    assert.equal(object.metadata.name, 'cm-b');
    assert.deepEqual(object.data, { greeting: 'hello' });
    assert.equal(object.metadata.managedFields, undefined);

    const page = await uplink(['get', CLUSTER, 'configmaps', '-n', namespace, '--name', 'cm-', '--limit', '2'], admin);
    assert.equal(page.code, 0, page.stderr);
    const token = /--continue (\S+)/.exec(page.stderr)?.[1];
    assert.ok(token, page.stderr);
    const rest = await uplink(['get', CLUSTER, 'configmaps', '-n', namespace, '--name', 'cm-', '--continue', token, '-o', 'json'], admin);
    assert.equal(rest.code, 0, rest.stderr);
    const names = [...page.stdout.matchAll(/^(cm-\S+)/gm)].map((m) => m[1]);
    assert.deepEqual([...names, ...(JSON.parse(rest.stdout) as ListAnswer).items.map((row) => row.name)].sort(), ['cm-a', 'cm-b', 'cm-c']);
  });

  it('get -A - every namespace with a NAMESPACE column, winning over -n as in kubectl; not with a NAME', async () => {
    for (const args of [['-A'], ['--all-namespaces'], ['-A', '-n', 'kube-system']]) {
      const result = await uplink(['get', CLUSTER, 'configmaps', ...args, '-l', 'app=demo'], admin);
      assert.equal(result.code, 0, result.stderr);
      const lines = result.stdout.trim().split('\n');
      assert.match(lines[0] ?? '', /^NAMESPACE\s+NAME\s/, args.join(' '));
      assert.deepEqual(lines.slice(1).map((line) => line.split(/\s+/).slice(0, 2)), [[namespace, 'cm-a']], args.join(' '));
    }
    const named = await uplink(['get', CLUSTER, 'configmap', 'cm-a', '-A'], admin);
    assert.notEqual(named.code, 0);
    assert.match(named.stderr, /a resource cannot be retrieved by name across all namespaces/);
  });

  it('get -w - prints the objects, then a ConfigMap created during the watch as it appears', async (t) => {
    const watch = uplinkStream(t, admin, ['get', CLUSTER, 'configmaps', '-n', namespace, '-w']);
    await eventually('the initial table', 15_000, () => (/^EVENT\s+NAME\s+STATUS/m.test(watch.stdout()) && /^ADDED\s+cm-a\s/m.test(watch.stdout()) ? true : undefined));
    await kubectl(['-n', namespace, 'create', 'configmap', 'cm-live', '--from-literal=a=1']);
    await eventually('the new ConfigMap in the watch', 10_000, () => (/^ADDED\s+cm-live\s/m.test(watch.stdout()) ? true : undefined));
    await kubectl(['-n', namespace, 'delete', 'configmap', 'cm-live']);
    await eventually('its deletion in the watch', 10_000, () => (/^DELETED\s+cm-live\s/m.test(watch.stdout()) ? true : undefined));
    assert.equal(watch.stdout().match(/^EVENT/gm)?.length, 1, 'the header is printed once');
  });

  it('events - the Events about an object as a table', async () => {
    const event = {
      apiVersion: 'v1', kind: 'Event', metadata: { name: 'cm-a.tested', namespace },
      involvedObject: { apiVersion: 'v1', kind: 'ConfigMap', name: 'cm-a', namespace },
      reason: 'Tested', message: 'checked by the e2e test', type: 'Warning', count: 1,
      firstTimestamp: new Date().toISOString(), lastTimestamp: new Date().toISOString(), source: { component: 'e2e' },
    };
    const created = await kubectl(['create', '-f', '-'], { input: JSON.stringify(event) });
    assert.equal(created.code, 0, created.stderr);
    const result = await eventually('the event in the inventory', 10_000, async () => {
      const run = await uplink(['events', CLUSTER, 'configmaps', 'cm-a', '-n', namespace], admin);
      return run.code === 0 && run.stdout.includes('Tested') ? run : undefined;
    });
    const lines = result.stdout.trim().split('\n');
    assert.match(lines[0] ?? '', /^LAST SEEN\s+TYPE\s+REASON\s+MESSAGE$/);
    assert.match(lines[1] ?? '', /^\d+s\s+Warning\s+Tested\s+checked by the e2e test$/);
  });

  it('logs - one pod\'s log to stdout, exit 0 at its end, with an audit row', async () => {
    const marker = `cli-log-${Date.now()}`;
    await writePodLogLine(marker);
    const logs = await uplink(['logs', CLUSTER, 'logger-0', '-n', namespace, '--tail', '20'], admin);
    assert.equal(logs.code, 0, logs.stderr);
    assert.match(logs.stdout, new RegExp(marker));
    const missing = await uplink(['logs', CLUSTER, 'no-such-pod', '-n', namespace], admin);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^uplink: the hub answered 404: .*no-such-pod/);
    const audit = await env.hub.client.request<{ items: { subresource: string | null; name: string | null; status: number; userName: string }[] }>(
      'GET', `/api/v1/audit?cluster=${CLUSTER}`);
    const rows = audit.items.filter((row) => row.subresource === 'log');
    assert.deepEqual(rows.map((row) => [row.name, row.status]).sort(), [['logger-0', 200], ['no-such-pod', 404]]);
  });

  it('access - a view user may list configmaps but not secrets', async () => {
    const viewer = await createUserLogin(env.hub, 'viewer', 'view', CLUSTER);
    const allowed = await uplink(['get', CLUSTER, 'configmaps', '-n', namespace], viewer);
    assert.equal(allowed.code, 0, allowed.stderr);
    assert.match(allowed.stdout, /^cm-a\s/m);
    for (const args of [['secrets'], ['secret', 'hidden'], ['Secret', '-w']]) {
      const refused = await uplink(['get', CLUSTER, ...args, '-n', namespace], viewer);
      assert.equal(refused.code, 1, args.join(' '));
      assert.match(refused.stderr, /^uplink: the hub answered 403: reading secrets needs the edit or admin role/, args.join(' '));
      assert.doesNotMatch(refused.stdout, /hidden/);
    }
    const editor = await createUserLogin(env.hub, 'editor', 'edit', CLUSTER);
    const edit = await uplink(['get', CLUSTER, 'secrets', '-n', namespace], editor);
    assert.equal(edit.code, 0, edit.stderr);
    assert.match(edit.stdout, /^hidden\s/m);
  });

  it('errors - an unknown kind and a bad selector are named; an offline cluster answers 503 naming it', async () => {
    const kind = await uplink(['get', CLUSTER, 'widgets'], admin);
    assert.equal(kind.code, 1);
    assert.match(kind.stderr, /^uplink: the hub answered 404: unknown kind "widgets"/);
    const selector = await uplink(['get', CLUSTER, 'pods', '-l', 'app in (a'], admin);
    assert.equal(selector.code, 1);
    assert.match(selector.stderr, /^uplink: the hub answered 400: .*selector/i);
    const limit = await uplink(['get', CLUSTER, 'pods', '--limit', '5000'], admin);
    assert.equal(limit.code, 1);
    assert.match(limit.stderr, /^uplink: the hub answered 400: .*limit/);

    await env.hub.client.request('POST', '/api/v1/clusters', { name: OFFLINE });
    const offline = await uplink(['get', OFFLINE, 'pods'], admin);
    assert.equal(offline.code, 1);
    assert.match(offline.stderr, /^uplink: the hub answered 503: cluster 'resources-cli-offline' is offline/);
    const raw = await hubGetText(env.hub, `/api/v1/clusters/${OFFLINE}/resources/pods`);
    assert.equal(raw.status, 503);
    assert.deepEqual((JSON.parse(raw.text) as { cluster: unknown }).cluster,
      { name: OFFLINE, status: 'never-connected', connected: false, lastHeartbeatAgeSeconds: null });
  });
});
