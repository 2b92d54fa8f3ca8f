// Authorization through the hub against the real test cluster: what a hub
// user reads from the inventory is what the cluster's RBAC lets that user's
// impersonated identity read, the same as kubectl through the hub.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { DatabaseSync } from 'node:sqlite';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { createTestNamespace, kubectl, uniqueName, writePodLogLine } from '../../helpers/cluster.ts';
import { OpenStream, apiAs, tokenOf } from '../../helpers/authz.ts';
import { KubectlStream, createUserLogin, kubeconfigThroughHub, kubectlVia, startHubCluster, type HubCluster } from '../../helpers/kubectl-hub.ts';
import { eventually, hubMetricsText, metricValue, startHub, suiteContext, uplink } from '../../helpers/uplink.ts';

const { t: suite, runCleanups } = suiteContext('authz');

/** Streams per cluster on this hub, and a user's share of them: 8 each, room for one user's every kind of stream. */
const MAX_STREAMS = 40;
const USER_SHARE_PERCENT = 20;
const USER_STREAMS = (MAX_STREAMS * USER_SHARE_PERCENT) / 100;

/** How long a revoked stream may take to end: the re-check runs every few seconds, revocations through the API act at once. */
const REVOKED_WITHIN_MS = 30_000;

/** Kinds the cluster's `view` ClusterRole does not grant (Nodes are cluster-scoped, RBAC and Secrets are left out). */
const REFUSED_TO_VIEW = ['roles', 'rolebindings', 'clusterrolebindings', 'nodes', 'secrets'];

describe('authz: inventory reads follow the cluster RBAC', () => {
  let env: HubCluster;
  let namespace: string;
  let viewer: string;
  let viewerCli: string;
  let viewerToken: string;
  let viewerKubeconfig: string;
  let pod: string;
  const clusterScoped: string[] = [];

  before(async () => {
    env = await startHubCluster(suite, 'authz-e2e', ['--kube-max-streams', String(MAX_STREAMS), '--kube-user-share', String(USER_SHARE_PERCENT)]);
    namespace = await createTestNamespace(suite, 'authz');
    await kubectl(['-n', namespace, 'create', 'role', 'authz-role', '--verb=get', '--resource=pods']);
    await kubectl(['-n', namespace, 'create', 'configmap', 'authz-cm', '--from-literal=a=1']);
    await kubectl(['-n', namespace, 'create', 'deployment', 'authz-app', '--image=registry.invalid/app:1', '--replicas=1']);
    await kubectl(['-n', namespace, 'rollout', 'status', 'deployment/authz-app', '--timeout=60s'], { timeoutMs: 70_000 });
    pod = (await kubectl(['-n', namespace, 'get', 'pods', '-l', 'app=authz-app', '-o', 'jsonpath={.items[0].metadata.name}'])).stdout;
    // Users are cluster-wide identities in the shared test cluster: a unique name keeps grants made here to this file.
    viewer = uniqueName('authz-alice');
    viewerCli = await createUserLogin(env.hub, viewer, 'view', env.clusterName);
    viewerToken = tokenOf(viewerCli);
    viewerKubeconfig = await kubeconfigThroughHub(viewerCli, env.clusterName);
    // The inventory answers once it has listed the kinds asked about here.
    await eventually('the inventory to hold the test role', 60_000, async () => {
      const answer = await apiAs(env.hub, env.hub.adminToken, 'GET', `/api/v1/clusters/${env.clusterName}/resources/roles?namespace=${namespace}`);
      return answer.status === 200 && answer.body.includes('authz-role') ? true : undefined;
    });
  });

  after(async () => {
    for (const name of clusterScoped) await kubectl(['delete', name, '--ignore-not-found']);
    await runCleanups();
  });

  const resources = (token: string, kind: string, query = ''): ReturnType<typeof apiAs> =>
    apiAs(env.hub, token, 'GET', `/api/v1/clusters/${env.clusterName}/resources/${kind}${query}`);

  it('authz - a view user is refused what the cluster refuses it, through the API, its watch, the CLI and kubectl alike', async () => {
    for (const kind of REFUSED_TO_VIEW) {
      const list = await resources(viewerToken, kind);
      assert.equal(list.status, 403, `${kind}: ${list.body}`);
      // Secrets are refused to view by the hub itself too, in its own words.
      if (kind !== 'secrets') assert.match(list.body, new RegExp(`is forbidden: User \\\\"uplink:${viewer}\\\\" cannot list resource \\\\"${kind}\\\\"`), kind);
      const watch = await apiAs(env.hub, viewerToken, 'GET', `/api/v1/clusters/${env.clusterName}/watch/${kind}`);
      assert.equal(watch.status, 403, `watch ${kind}: ${watch.body}`);
      const direct = await kubectlVia(viewerKubeconfig, ['get', kind, '-A']);
      assert.notEqual(direct.code, 0, `kubectl get ${kind} through the hub`);
      assert.match(direct.stderr, /Forbidden|forbidden/);
    }
    const inNamespace = await resources(viewerToken, 'roles', `?namespace=${namespace}`);
    assert.equal(inNamespace.status, 403);
    assert.match(inNamespace.body, new RegExp(`in the namespace \\\\"${namespace}\\\\"`));
    const object = await resources(viewerToken, 'roles/authz-role', `?namespace=${namespace}`);
    assert.equal(object.status, 403);
    const events = await resources(viewerToken, 'roles/authz-role/events', `?namespace=${namespace}`);
    assert.equal(events.status, 403);
    const cli = await uplink(['get', env.clusterName, 'clusterrolebindings'], viewerCli);
    assert.notEqual(cli.code, 0);
    assert.match(cli.stderr, /clusterrolebindings\.rbac\.authorization\.k8s\.io is forbidden/);
    const cliRoles = await uplink(['get', env.clusterName, 'roles', '-n', namespace], viewerCli);
    assert.notEqual(cliRoles.code, 0);
    // What `view` grants still reads, through the hub's API and kubectl alike.
    const configmaps = await resources(viewerToken, 'configmaps', `?namespace=${namespace}`);
    assert.equal(configmaps.status, 200, configmaps.body);
    assert.match(configmaps.body, /authz-cm/);
    assert.equal((await kubectlVia(viewerKubeconfig, ['-n', namespace, 'get', 'configmap', 'authz-cm', '-o', 'name'])).code, 0);
    assert.equal((await uplink(['get', env.clusterName, 'configmaps', '-n', namespace], viewerCli)).code, 0);
  });

  it('authz - an admin still reads what a view user may not', async () => {
    const roles = await resources(env.hub.adminToken, 'roles', `?namespace=${namespace}`);
    assert.equal(roles.status, 200, roles.body);
    assert.match(roles.body, /authz-role/);
    for (const kind of ['clusterrolebindings', 'nodes']) assert.equal((await resources(env.hub.adminToken, kind)).status, 200, kind);
    const cli = await uplink(['get', env.clusterName, 'roles', '-n', namespace], env.hub.cliConfig);
    assert.equal(cli.code, 0, cli.stderr);
    assert.match(cli.stdout, /authz-role/);
  });

  it('authz - a grant the cluster gives the user itself is honoured, cluster-wide or in one namespace', async () => {
    const reader = uniqueName('authz-rbac-reader');
    clusterScoped.push(`clusterrole/${reader}`, `clusterrolebinding/${reader}`);
    await kubectl(['create', 'clusterrole', reader, '--verb=get,list,watch', '--resource=clusterrolebindings.rbac.authorization.k8s.io,roles.rbac.authorization.k8s.io']);
    await kubectl(['create', 'clusterrolebinding', reader, `--clusterrole=${reader}`, `--user=uplink:${viewer}`]);
    // Answers are cached for a few seconds: the grant shows within a generous deadline.
    const crbs = await eventually('the viewer to read ClusterRoleBindings', 60_000, async () => {
      const answer = await resources(viewerToken, 'clusterrolebindings');
      return answer.status === 200 ? answer : undefined;
    });
    assert.match(crbs.body, new RegExp(reader));
    assert.equal((await kubectlVia(viewerKubeconfig, ['get', 'clusterrolebindings', reader, '-o', 'name'])).code, 0);
    const watch = await apiAs(env.hub, viewerToken, 'GET', `/api/v1/clusters/${env.clusterName}/resources/roles?namespace=${namespace}`);
    assert.equal(watch.status, 200, watch.body);
    // Taken away again, the cluster refuses and so does the hub.
    await kubectl(['delete', 'clusterrolebinding', reader]);
    await eventually('the viewer to be refused again', 60_000, async () => ((await resources(viewerToken, 'clusterrolebindings')).status === 403 ? true : undefined));
    // In one namespace only: a list over all namespaces shows that namespace and no other.
    await kubectl(['-n', namespace, 'create', 'rolebinding', reader, `--clusterrole=${reader}`, `--user=uplink:${viewer}`]);
    const narrowed = await eventually('the viewer to read roles of its namespace', 60_000, async () => {
      const answer = await resources(viewerToken, 'roles');
      return answer.status === 200 ? answer : undefined;
    });
    const rows = (JSON.parse(narrowed.body) as { items: { namespace: string | null }[] }).items;
    assert.ok(rows.length > 0);
    assert.deepEqual([...new Set(rows.map((row) => row.namespace))], [namespace]);
    assert.equal((await resources(viewerToken, 'roles', '?namespace=kube-system')).status, 403);
  });

  /** A hub user with grants, its token id, a CLI login and a kubeconfig through the hub. */
  async function hubUser(grants: { role: string; cluster?: string }[]): Promise<{ name: string; token: string; tokenId: string; cli: string; kubeconfig: string }> {
    const name = uniqueName('authz-bob');
    await env.hub.client.request('POST', '/api/v1/users', { name, grants });
    const issued = await env.hub.client.request<{ id: string; token: string }>('POST', `/api/v1/users/${name}/tokens`, { name: 'e2e' });
    const admin = JSON.parse(readFileSync(env.hub.cliConfig, 'utf8')) as Record<string, unknown>;
    const cli = join(mkdtempSync(join(tmpdir(), 'uplink-cli-authz-')), 'cli.json');
    writeFileSync(cli, JSON.stringify({ ...admin, token: issued.token }), { mode: 0o600 });
    return { name, token: issued.token, tokenId: issued.id, cli, kubeconfig: await kubeconfigThroughHub(cli, env.clusterName) };
  }

  interface OpenStreams {
    fleet: OpenStream;
    feed: OpenStream;
    hubLogs: OpenStream;
    watch: KubectlStream;
    logs: KubectlStream;
    exec: KubectlStream;
    forward: KubectlStream;
  }

  /** Opens every kind of stream as the user and waits until each is live. */
  async function openStreams(t: TestContext, user: { token: string; kubeconfig: string }): Promise<OpenStreams> {
    const fleet = new OpenStream(env.hub, user.token, '/api/v1/fleet/watch');
    const feed = new OpenStream(env.hub, user.token, `/api/v1/clusters/${env.clusterName}/watch/configmaps?namespace=${namespace}`);
    const hubLogs = new OpenStream(env.hub, user.token, `/api/v1/clusters/${env.clusterName}/logs?namespace=${namespace}&pod=${pod}&follow=true`);
    t.after(() => { for (const s of [fleet, feed, hubLogs]) s.close(); });
    const watch = await KubectlStream.start(t, user.kubeconfig, ['-n', namespace, 'get', 'configmaps', '-w']);
    const logs = await KubectlStream.start(t, user.kubeconfig, ['-n', namespace, 'logs', '-f', pod]);
    const exec = await KubectlStream.start(t, user.kubeconfig, ['-n', namespace, 'exec', '-i', pod, '--', 'sh', '-c', 'echo exec-ready; cat']);
    const forward = await KubectlStream.start(t, user.kubeconfig, ['-n', namespace, 'port-forward', `pod/${pod}`, ':8080']);
    // A followed log counts as streaming once a line came through (kubectl retries a silent follow).
    const line = `authz ${uniqueName('line')}`;
    const writer = setInterval(() => { void writePodLogLine(line); }, 300);
    try {
      await eventually('every stream to be live', 30_000, () => (
        fleet.text.includes('snapshot') && feed.text.includes('SYNCED') && hubLogs.text.includes(line)
        && watch.output.includes('authz-cm') && logs.output.includes(line) && exec.output.includes('exec-ready')
        && /Forwarding from 127\.0\.0\.1:\d+/.test(forward.output) ? true : undefined));
    } finally {
      clearInterval(writer);
    }
    return { fleet, feed, hubLogs, watch, logs, exec, forward };
  }

  /** Waits until every stream has ended, and checks that the SSE feeds say why. */
  async function assertAllEnded(streams: OpenStreams, why: RegExp): Promise<void> {
    const { fleet, feed, hubLogs, watch, logs, exec, forward } = streams;
    await eventually('the hub streams to end', REVOKED_WITHIN_MS, () => (fleet.ended && feed.ended && hubLogs.ended ? true : undefined));
    assert.match(fleet.text, why, 'the fleet feed says why it ended');
    assert.match(feed.text, why, 'the resource feed says why it ended');
    const exits = await Promise.race([
      Promise.all([watch.exited, logs.exited, exec.exited, forward.exited]),
      new Promise<undefined>((resolve) => { setTimeout(() => { resolve(undefined); }, REVOKED_WITHIN_MS); }),
    ]);
    assert.ok(exits, `kubectl streams still open: watch ${watch.child.exitCode}, logs ${logs.child.exitCode}, exec ${exec.child.exitCode}, port-forward ${forward.child.exitCode}`);
    assert.match(watch.output, why, `get -w says why: ${watch.output.slice(-300)}`);
    assert.notEqual(exits[1], 0, `logs -f failed: ${logs.output.slice(-200)}`);
  }

  it('authz - revoking a token ends its fleet feed, feeds, logs, kubectl watch, logs -f, exec and port-forward', async (t) => {
    const user = await hubUser([{ role: 'admin', cluster: env.clusterName }]);
    const before = metricValue(await hubMetricsText(env.hub), 'uplink_hub_streams_revoked_total', 'reason="token-revoked"');
    const streams = await openStreams(t, user);
    await env.hub.client.request('DELETE', `/api/v1/tokens/${user.tokenId}`);
    await assertAllEnded(streams, /API token of this stream was revoked/);
    const after = metricValue(await hubMetricsText(env.hub), 'uplink_hub_streams_revoked_total', 'reason="token-revoked"');
    assert.ok(after - before >= 7, `streams counted as revoked: ${after - before}`);
    assert.equal((await apiAs(env.hub, user.token, 'GET', '/api/v1/fleet/watch')).status, 401);
  });

  it('authz - deleting a user ends every stream of the user', async (t) => {
    const user = await hubUser([{ role: 'admin', cluster: env.clusterName }]);
    const streams = await openStreams(t, user);
    await env.hub.client.request('DELETE', `/api/v1/users/${user.name}`);
    await assertAllEnded(streams, /user of this stream was deleted/);
  });

  it('authz - removing a grant ends the streams it allowed; admin down to view ends exec', async (t) => {
    const user = await hubUser([{ role: 'admin', cluster: env.clusterName }, { role: 'view' }]);
    const streams = await openStreams(t, user);
    await env.hub.client.request('DELETE', `/api/v1/users/${user.name}/grants/admin?cluster=${env.clusterName}`);
    await assertAllEnded(streams, /access to this cluster was reduced or removed/);
    // What the remaining view grant allows opens again, and the cluster refuses it an exec.
    const again = await kubectlVia(user.kubeconfig, ['-n', namespace, 'get', 'configmap', 'authz-cm', '-o', 'name']);
    assert.equal(again.code, 0, again.stderr);
    const exec = await kubectlVia(user.kubeconfig, ['-n', namespace, 'exec', pod, '--', 'true']);
    assert.match(exec.stderr, /forbidden/i);
  });

  it('authz - a token deleted behind the hub\'s back (another replica) ends its streams at the next re-check', async (t) => {
    const user = await hubUser([{ role: 'view', cluster: env.clusterName }]);
    const fleet = new OpenStream(env.hub, user.token, '/api/v1/fleet/watch');
    const feed = new OpenStream(env.hub, user.token, `/api/v1/clusters/${env.clusterName}/watch/configmaps?namespace=${namespace}`);
    t.after(() => { fleet.close(); feed.close(); });
    const watch = await KubectlStream.start(t, user.kubeconfig, ['-n', namespace, 'get', 'configmaps', '-w']);
    await eventually('the streams to be live', 30_000, () => (
      fleet.text.includes('snapshot') && feed.text.includes('SYNCED') && watch.output.includes('authz-cm') ? true : undefined));
    // Straight in the hub's database, as another hub on the same database would: no API call tells this hub.
    const db = new DatabaseSync(join(env.hub.dataDir, 'hub.db'));
    try {
      db.prepare('DELETE FROM api_tokens WHERE id = ?').run(user.tokenId);
    } finally {
      db.close();
    }
    await eventually('the re-check to end the streams', REVOKED_WITHIN_MS, () => (fleet.ended && feed.ended ? true : undefined));
    assert.match(fleet.text, /API token of this stream was revoked/);
    assert.match(feed.text, /API token of this stream was revoked/);
    const code = await Promise.race([watch.exited, new Promise<'open'>((resolve) => { setTimeout(() => { resolve('open'); }, REVOKED_WITHIN_MS); })]);
    assert.notEqual(code, 'open', 'get -w still open');
    assert.match(watch.output, /API token of this stream was revoked/);
  });

  it('authz - a user holding its share of streams gets 429 beyond it, while an admin still gets and execs', async (t) => {
    const watchPath = `/k8s/clusters/${env.clusterName}/api/v1/namespaces/${namespace}/configmaps?watch=1`;
    const held: OpenStream[] = [];
    t.after(() => { for (const s of held) s.close(); });
    for (let i = 0; i < USER_STREAMS; i += 1) {
      // Half through the kubectl endpoint, half through the API's feed: one share for both.
      const path = i % 2 === 0 ? watchPath : `/api/v1/clusters/${env.clusterName}/watch/configmaps?namespace=${namespace}`;
      const stream = new OpenStream(env.hub, viewerToken, path);
      held.push(stream);
      await eventually(`watch ${i} to open`, 15_000, () => (stream.status !== 0 ? true : undefined));
      assert.equal(stream.status, 200, `watch ${i}: ${stream.text}`);
    }
    const beyond = new OpenStream(env.hub, viewerToken, watchPath);
    held.push(beyond);
    await eventually('the watch beyond the share to be answered', 15_000, () => (beyond.ended ? true : undefined));
    assert.equal(beyond.status, 429);
    assert.match(beyond.text, /you hold your share of 8 concurrent streaming requests/);
    const feed = new OpenStream(env.hub, viewerToken, `/api/v1/clusters/${env.clusterName}/watch/configmaps`);
    held.push(feed);
    await eventually('the feed beyond the share to be answered', 15_000, () => (feed.status !== 0 ? true : undefined));
    assert.equal(feed.status, 429);
    const kubectlWatch = await kubectlVia(viewerKubeconfig, ['-n', namespace, 'get', 'configmaps', '-w', '--request-timeout=5s']);
    assert.match(kubectlWatch.stderr, /TooManyRequests|share/, kubectlWatch.stderr);
    // The cluster's other slots are there for everyone else.
    const exec = await kubectlVia(env.adminKubeconfig, ['-n', namespace, 'exec', pod, '--', 'sh', '-c', 'echo admin-exec']);
    assert.equal(exec.code, 0, exec.stderr);
    assert.match(exec.stdout, /admin-exec/);
    const get = await kubectlVia(env.adminKubeconfig, ['-n', namespace, 'get', 'configmap', 'authz-cm', '-o', 'name']);
    assert.equal(get.code, 0, get.stderr);
    // Unary requests of the same user are a class of their own.
    assert.equal((await kubectlVia(viewerKubeconfig, ['-n', namespace, 'get', 'configmap', 'authz-cm', '-o', 'name'])).code, 0);
  });

  it('authz - a user without a grant gets no fleet feed slot, and one user holds at most its feeds', async (t) => {
    const name = uniqueName('authz-nogrant');
    await env.hub.client.request('POST', '/api/v1/users', { name });
    const { token } = await env.hub.client.request<{ token: string }>('POST', `/api/v1/users/${name}/tokens`, { name: 'e2e' });
    const feeds: OpenStream[] = [];
    const refusals: OpenStream[] = [];
    t.after(() => { for (const s of [...feeds, ...refusals]) s.close(); });
    for (let i = 0; i < 3; i += 1) {
      const refused = new OpenStream(env.hub, token, '/api/v1/fleet/watch');
      refusals.push(refused);
      await eventually('the feed without a grant to be answered', 15_000, () => (refused.ended ? true : undefined));
      assert.equal(refused.status, 403, refused.text);
      assert.match(refused.text, /needs a grant on at least one cluster/);
    }
    assert.equal(metricValue(await hubMetricsText(env.hub), 'uplink_hub_fleet_watchers'), 0, 'no slot was taken');
    for (let i = 0; i < 8; i += 1) feeds.push(new OpenStream(env.hub, viewerToken, '/api/v1/fleet/watch'));
    await eventually('8 fleet feeds to open', 15_000, () => (feeds.every((f) => f.text.includes('snapshot')) ? true : undefined));
    // Read as a stream: were it let in, it would stay open rather than end.
    const ninth = new OpenStream(env.hub, viewerToken, '/api/v1/fleet/watch');
    refusals.push(ninth);
    await eventually('the ninth feed to be answered', 15_000, () => (ninth.ended ? true : undefined));
    assert.equal(ninth.status, 429);
    assert.match(ninth.text, /at most 8 fleet watches/);
    const admin = new OpenStream(env.hub, env.hub.adminToken, '/api/v1/fleet/watch');
    feeds.push(admin);
    await eventually('the admin fleet feed to open', 15_000, () => (admin.text.includes('snapshot') ? true : undefined));
  });
});

describe('authz: add-on values', () => {
  it('authz - a view user gets no add-on value through the API, the CLI, the audit log or the hub log; an editor does', async (t) => {
    const hub = await startHub(t);
    await hub.client.request('POST', '/api/v1/clusters', { name: 'values-e2e' });
    const secret = `pw-${uniqueName('v')}`;
    const values = `auth:\n  password: ${secret}\n`;
    await hub.client.request('PUT', '/api/v1/clusters/values-e2e/addons/web', {
      source: { repo: { url: 'https://charts.example.com', chart: 'web' } }, version: '1.2.3', namespace: 'web', values,
    });
    const viewerCli = await createUserLogin(hub, 'values-viewer', 'view', 'values-e2e');
    const editorCli = await createUserLogin(hub, 'values-editor', 'edit', 'values-e2e');
    for (const path of ['/api/v1/clusters/values-e2e/addons', '/api/v1/clusters/values-e2e/addons/web', '/api/v1/clusters/values-e2e/addons/web/history']) {
      const viewed = await apiAs(hub, tokenOf(viewerCli), 'GET', path);
      assert.equal(viewed.status, 200, path);
      assert.ok(!viewed.body.includes(secret), `${path} shows the view user a value`);
    }
    const one = JSON.parse((await apiAs(hub, tokenOf(viewerCli), 'GET', '/api/v1/clusters/values-e2e/addons/web')).body) as { spec: Record<string, unknown> };
    assert.equal(one.spec.valuesRedacted, true);
    assert.equal(one.spec.values, undefined);
    for (const output of ['yaml', 'json']) {
      const cli = await uplink(['addons', 'get', 'values-e2e', 'web', '-o', output], viewerCli);
      assert.equal(cli.code, 0, cli.stderr);
      assert.ok(!cli.stdout.includes(secret), `uplink addons get -o ${output} shows the view user a value`);
      assert.match(cli.stdout, /valuesRedacted/);
    }
    const listed = await uplink(['addons', 'list', 'values-e2e', '-o', 'json'], viewerCli);
    assert.ok(!listed.stdout.includes(secret));
    const edited = await uplink(['addons', 'get', 'values-e2e', 'web', '-o', 'json'], editorCli);
    assert.equal(edited.code, 0, edited.stderr);
    assert.ok(edited.stdout.includes(secret), 'an editor sees the values');
    const audit = await uplink(['audit', '-o', 'json'], hub.cliConfig);
    assert.equal(audit.code, 0, audit.stderr);
    assert.match(audit.stdout, /addons/);
    assert.ok(!audit.stdout.includes(secret), 'the audit log holds no value');
    assert.ok(!hub.process.dump().includes(secret), 'the hub log holds no value');
  });
});

describe('authz: names and ids', () => {
  it('authz - a cluster or user named like another record\'s id is refused, so a lookup by that text finds the record it names', async (t) => {
    const hub = await startHub(t);
    const alpha = await hub.client.request<{ cluster: { id: string } }>('POST', '/api/v1/clusters', { name: 'alpha' });
    const token = hub.adminToken;
    const twin = await apiAs(hub, token, 'POST', '/api/v1/clusters', { name: alpha.cluster.id });
    assert.equal(twin.status, 400, twin.body);
    assert.match(twin.body, /NAME_LOOKS_LIKE_ID/);
    assert.match(twin.body, new RegExp(`cluster name '${alpha.cluster.id}' has the form of a record id`));
    // A name of the same form that is no one's id is refused too: it could become one.
    assert.equal((await apiAs(hub, token, 'POST', '/api/v1/clusters', { name: 'cabcdefabcdef' })).status, 400);
    const bob = await hub.client.request<{ id: string }>('POST', '/api/v1/users', { name: 'bob' });
    const userTwin = await apiAs(hub, token, 'POST', '/api/v1/users', { name: bob.id });
    assert.equal(userTwin.status, 400, userTwin.body);
    assert.match(userTwin.body, /user name '.*' has the form of a record id/);
    // So `uplink users grant bob view --cluster <alpha's id>` grants on alpha, and nothing else answers to that text.
    const granted = await uplink(['users', 'grant', 'bob', 'view', '--cluster', alpha.cluster.id], hub.cliConfig);
    assert.equal(granted.code, 0, granted.stderr);
    const view = await hub.client.request<{ grants: { clusterId: string; cluster: string }[] }>('GET', `/api/v1/users/${bob.id}`);
    assert.deepEqual(view.grants.map((g) => [g.clusterId, g.cluster]), [[alpha.cluster.id, 'alpha']]);
    const clusters = await hub.client.request<{ items: { name: string }[] }>('GET', '/api/v1/clusters');
    assert.deepEqual(clusters.items.map((c) => c.name), ['alpha']);
  });
});
