// Three hub replicas on one real PostgreSQL behind a real HAProxy, one agent
// linked to replica C, the real kubectl and CLI through every replica and the
// load balancer; then replica C killed, a replica drained under load, and the
// database stopped.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { createTestNamespace, kubectl, mintServiceAccountToken, writePodLogLine } from '../helpers/cluster.ts';
import { startHubTier, type HubTier, type Replica } from '../helpers/hub-tier.ts';
import { KubectlStream, connectThroughPortForward, kubeconfigThroughHub, kubectlVia, startForwardEcho } from '../helpers/kubectl-hub.ts';
import { FeedReader } from '../helpers/resources.ts';
import { eventually, startAgent, suiteContext, uplink, uplinkStream, type AgentHandle, type HubHandle } from '../helpers/uplink.ts';

const { t: suite, runCleanups } = suiteContext('hub-replicas');

interface ClusterView { name: string; status: string; connected: boolean; replica: string | null }

/** /readyz of one replica directly: its status code, 0 when it does not answer. */
function readyz(replica: Replica): Promise<number> {
  return new Promise((resolve) => {
    const req = httpsRequest({ host: '127.0.0.1', port: replica.port, path: '/readyz', rejectUnauthorized: false, timeout: 5_000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => { resolve(0); });
    req.on('timeout', () => { req.destroy(); });
    req.end();
  });
}

/** The host form's domain: requests name its hosts in their Host header (no DNS needed). */
const GATEWAY_DOMAIN = 'gw.replicas.invalid';

/** A GET to one replica directly as the tier's admin, naming `host` in its Host header; the hub's CA is checked. */
function hostRequest(tier: HubTier, replica: Replica, host: string, path: string): Promise<{ status: number; body: string }> {
  const ca = (JSON.parse(readFileSync(tier.cliConfig, 'utf8')) as { caPem: string }).caPem;
  return new Promise((resolve, reject) => {
    const req = httpsRequest({
      host: '127.0.0.1', port: replica.port, path, ca, timeout: 30_000, headers: { host, authorization: `Bearer ${tier.adminToken}` },
    }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => { body += chunk.toString(); });
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, body }); });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.on('timeout', () => { req.destroy(new Error('the replica did not answer in time')); });
    req.end();
  });
}

describe('hub replicas', () => {
  let tier: HubTier;
  let agent: AgentHandle;
  let namespace: string;
  let pod: string;
  const cluster = 'replicated';
  /** kubeconfigs through the load balancer and through each replica directly. */
  const kubeconfigs = new Map<string, string>();

  before(async () => {
    tier = await startHubTier(suite, 3, ['--gateway-domain', GATEWAY_DOMAIN]);
    namespace = await createTestNamespace(suite, 'replicas');
    const { kubeconfig } = await mintServiceAccountToken(suite, { namespace, clusterRole: 'cluster-admin' });
    const created = await tier.client.request<{ token: string }>('POST', '/api/v1/clusters', { name: cluster });
    const c = tier.replicas[2] as Replica;
    // Through the agents' endpoint of the load balancer, which prefers C: the agent links to C, and to a survivor when C is gone.
    agent = await startAgent(suite, { hubUrl: tier.agentUrl, caHash: tier.caHash, token: created.token, kubeconfig });
    await eventually('the link on C', 30_000, async () => ((await tier.client.request<ClusterView>('GET', `/api/v1/clusters/${cluster}`)).replica === c.id ? true : undefined));
    kubeconfigs.set('lb', await kubeconfigThroughHub(tier.cliConfig, cluster));
    for (const replica of tier.replicas) kubeconfigs.set(replica.id, await kubeconfigThroughHub(await tier.cliConfigOf(replica), cluster));
    await kubectl(['-n', namespace, 'create', 'deployment', 'app', '--image=registry.invalid/app:1', '--replicas=1']);
    await kubectl(['-n', namespace, 'rollout', 'status', 'deployment/app', '--timeout=60s'], { timeoutMs: 70_000 });
    pod = (await kubectl(['-n', namespace, 'get', 'pods', '-l', 'app=app', '-o', 'jsonpath={.items[0].metadata.name}'])).stdout;
  });

  after(async () => {
    await runCleanups();
  });

  it('replicas - started together on an empty database: one schema, one admin, one CA, no error', async () => {
    const client = new pg.Client({ connectionString: tier.databaseUrl });
    await client.connect();
    try {
      const { rows } = await client.query<{ version: number; n: string }>('SELECT version, count(*) AS n FROM schema_migrations GROUP BY version');
      assert.ok(rows.length > 0);
      assert.ok(rows.every((row) => row.n === '1'), 'each version applied once');
      const users = await client.query<{ name: string }>('SELECT name FROM users');
      assert.deepEqual(users.rows.map((row) => row.name), ['admin']);
    } finally {
      await client.end();
    }
    for (const replica of tier.replicas) {
      assert.deepEqual(replica.process.lines.filter((l) => l.level === 'error' || l.level === 'fatal' || (typeof l.level === 'number' && l.level >= 50)), [], `${replica.id} logged no error`);
    }
  });

  it('replicas - every replica and the load balancer show the cluster online', async () => {
    for (const replica of tier.replicas) {
      const view = await eventually(`${replica.id} to show the cluster online`, 30_000, async () => {
        const found = await tier.clientOf(replica).request<ClusterView>('GET', `/api/v1/clusters/${cluster}`);
        return found.status === 'online' ? found : undefined;
      });
      assert.equal(view.connected, true);
      assert.equal(view.replica, 'hub-c', 'every replica knows C holds the link');
    }
    const list = await uplink(['clusters', 'list'], tier.cliConfig);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /replicated\s+online/);
  });

  it('replicas - the dashboard\'s fleet feed on every replica shows the cluster online, linked to C', async (t) => {
    for (const replica of tier.replicas) {
      const hub = { url: replica.url, adminToken: tier.adminToken, dataDir: replica.dataDir } as HubHandle;
      const feed = FeedReader.open(t, hub, '/api/v1/fleet/watch');
      await feed.waitFor(`${replica.id}'s fleet feed`, 30_000, (event) => {
        const items = (event as unknown as { items?: { name: string; status: string; replica: string | null }[] }).items ?? [];
        return items.some((item) => item.name === cluster && item.status === 'online' && item.replica === 'hub-c');
      });
      feed.close();
    }
  });

  it('replicas - kubectl get -w and uplink logs -f through every replica directly', async (t) => {
    for (const replica of tier.replicas) {
      const kubeconfig = kubeconfigs.get(replica.id) as string;
      const watch = await KubectlStream.start(t, kubeconfig, ['-n', namespace, 'get', 'configmaps', '-w', '-o', 'name']);
      await eventually(`${replica.id}: the watch to list`, 30_000, () => (watch.output.includes('configmap/kube-root-ca.crt') ? true : undefined));
      await kubectl(['-n', namespace, 'create', 'configmap', `seen-by-${replica.id}`, '--from-literal=x=1']);
      await eventually(`${replica.id}: the change in the watch`, 60_000, () => (watch.output.includes(`configmap/seen-by-${replica.id}`) ? true : undefined));
      watch.child.kill('SIGTERM');
      const logs = uplinkStream(t, await tier.cliConfigOf(replica), ['logs', cluster, pod, '-n', namespace, '-f']);
      const marker = `uplink-logs-via-${replica.id}-${Date.now()}`;
      const writer = setInterval(() => { void writePodLogLine(marker); }, 300);
      t.after(() => { clearInterval(writer); });
      await eventually(`${replica.id}: uplink logs -f to show the line`, 30_000, () => (logs.stdout().includes(marker) ? true : undefined));
      clearInterval(writer);
    }
  });

  it('replicas - kubectl get, exec and port-forward through every replica and the load balancer', async (t) => {
    await startForwardEcho(t);
    for (const [via, kubeconfig] of kubeconfigs) {
      const got = await kubectlVia(kubeconfig, ['-n', namespace, 'get', 'pod', pod, '-o', 'name']);
      assert.equal(got.code, 0, `${via}: ${got.stderr}`);
      assert.equal(got.stdout.trim(), `pod/${pod}`);
      const exec = await kubectlVia(kubeconfig, ['-n', namespace, 'exec', '-i', pod, '--', 'sh', '-c', 'read line; echo "got:$line"; exit 3'], `via ${via}\n`);
      assert.equal(exec.stdout.trim(), `got:via ${via}`, `${via}: ${exec.stderr}`);
      assert.equal(exec.code, 3, `${via}: exec exit code`);
      const { forward, client, received } = await connectThroughPortForward(t, { kubeconfig, namespace, pod, label: via });
      client.write(`ping-${via}`);
      await eventually(`${via}: the answer through port-forward`, 15_000, () => (received() === `pong:ping-${via}` ? true : undefined));
      forward.child.kill('SIGTERM');
    }
  });

  it('replicas - uplink get, an add-on set and an exposure through one replica reach the agent linked to another', async () => {
    const a = tier.replicas[0] as Replica;
    const got = await uplink(['get', cluster, 'pods', '-n', namespace], await tier.cliConfigOf(a));
    assert.equal(got.code, 0, got.stderr);
    assert.ok(got.stdout.includes(pod));
    // The add-on is stored through A; C, which holds the link, pushes it.
    await tier.clientOf(a).request('PUT', `/api/v1/clusters/${cluster}/addons/missing-chart`, {
      source: { repo: { url: 'http://127.0.0.1:1/charts', chart: 'nothing' } }, version: '1.0.0', namespace,
    });
    await agent.process.waitForLog((l) => typeof l.msg === 'string' && /desired add-ons/i.test(l.msg) && JSON.stringify(l).includes('missing-chart'), 30_000);
    // So does an exposure published through A: C, holding the link, pushes the set (tier news `exposures`).
    await tier.clientOf(a).request('POST', `/api/v1/clusters/${cluster}/exposures`, { namespace, service: 'web', port: 80 });
    await agent.process.waitForLog((l) => l.msg === 'holding the exposure set' && l.exposures === 1, 30_000);
    // A gateway request reaching A is relayed to C, whose agent answers it (the Service has no endpoint), rather than refused as offline.
    const refused = await tier.clientOf(a).request('GET', `/gw/${cluster}/web/`).then(() => undefined, (error: unknown) => error);
    assert.equal((refused as { code?: string } | undefined)?.code, 'GATEWAY_NO_ENDPOINT');
    // The host form too: web--<cluster>.<gateway domain>, whatever its path, reaching A is relayed to C.
    const byHost = await hostRequest(tier, a, `web--${cluster}.${GATEWAY_DOMAIN}`, '/api/v1/clusters');
    assert.equal(byHost.status, 503, byHost.body);
    assert.match(byHost.body, /GATEWAY_NO_ENDPOINT/);
    // The agent's add-on sweep reports reach C alone; every replica shows the last one stored (its lag aside).
    const sweepOn = async (r: Replica): Promise<string> => {
      const { addonSweep } = await tier.clientOf(r).request<{ addonSweep: { lagSeconds?: number; stopped?: boolean } | null }>('GET', `/api/v1/clusters/${cluster}`);
      return JSON.stringify(addonSweep === null ? null : { ...addonSweep, lagSeconds: undefined, stopped: undefined });
    };
    await eventually('every replica to show the same add-on sweep', 150_000, async () => {
      const seen = await Promise.all(tier.replicas.map(sweepOn));
      return seen[0] !== 'null' && seen.every((view) => view === seen[0]) ? true : undefined;
    });
  });

  it('replicas - kill -9 the replica holding the link: watch and logs -f through A go on, the cluster is back within seconds, nothing stored is lost', async (t) => {
    const [a, , c] = tier.replicas as [Replica, Replica, Replica];
    const viaA = kubeconfigs.get(a.id) as string;
    type Row = { id: number; verb: string; resource: string; subresource: string | null; namespace: string | null; state: string; replica: string | null };
    const audit = async (): Promise<Row[]> => (await tier.clientOf(a).request<{ items: Row[] }>('GET', `/api/v1/audit?cluster=${cluster}&limit=1000`)).items;
    const firstId = Math.max(0, ...(await audit()).map((r) => r.id));
    const isWatch = (r: Row): boolean => r.verb === 'watch' && r.resource === 'configmaps' && r.namespace === namespace;
    const isLog = (r: Row): boolean => r.subresource === 'log' && r.namespace === namespace;
    const watch = await KubectlStream.start(t, viaA, ['-n', namespace, 'get', 'configmaps', '-w', '-o', 'name']);
    await eventually('the watch to list', 20_000, () => (watch.output.includes('configmap/kube-root-ca.crt') ? true : undefined));
    const logs = await KubectlStream.start(t, viaA, ['-n', namespace, 'logs', '-f', pod]);
    const before = `before-kill-${Date.now()}`;
    const writer = setInterval(() => { void writePodLogLine(before); }, 300);
    t.after(() => { clearInterval(writer); });
    await eventually('the log line before the kill', 20_000, () => (logs.output.includes(before) ? true : undefined));
    clearInterval(writer);
    // Streams are audited from their start, by the replica holding the link: both rows are in the database before the kill.
    const onC = await eventually('the watch and logs -f audited in progress by C', 30_000, async () => {
      const rows = (await audit()).filter((r) => r.id > firstId && r.replica === c.id && r.state === 'in_progress');
      const [opened, followed] = [rows.find(isWatch), rows.find(isLog)];
      return opened !== undefined && followed !== undefined ? [opened, followed] : undefined;
    });

    c.process.child.kill('SIGKILL');
    t.after(() => c.restart());
    await eventually('the cluster online again through A', 60_000, async () => {
      const view = await tier.clientOf(a).request<ClusterView>('GET', `/api/v1/clusters/${cluster}`);
      return view.status === 'online' && view.connected ? true : undefined;
    });
    const got = await kubectlVia(viaA, ['-n', namespace, 'get', 'pod', pod, '-o', 'name']);
    assert.equal(got.code, 0, got.stderr);

    await kubectl(['-n', namespace, 'create', 'configmap', 'after-kill', '--from-literal=x=1']);
    await eventually('the watch through A to see a change made after the kill', 60_000, () => (watch.output.includes('configmap/after-kill') ? true : undefined));
    assert.equal(watch.child.exitCode, null, 'the watch is still open');
    const afterKill = `after-kill-${Date.now()}`;
    const writer2 = setInterval(() => { void writePodLogLine(afterKill); }, 300);
    t.after(() => { clearInterval(writer2); });
    await eventually('logs -f through A to go on after the kill', 60_000, () => (logs.output.includes(afterKill) ? true : undefined));
    assert.equal(logs.child.exitCode, null, 'logs -f is still following');

    const users = await tier.clientOf(a).request<{ items: { name: string }[] }>('GET', '/api/v1/users');
    assert.ok(users.items.some((u) => u.name === 'admin'));
    const addon = await tier.clientOf(a).request<{ name: string }>('GET', `/api/v1/clusters/${cluster}/addons/missing-chart`);
    assert.equal(addon.name, 'missing-chart');
    // Requests that ended before the kill were audited by the replica that served them, into the shared database.
    const { items } = await tier.clientOf(a).request<{ items: { verb: string; subresource: string | null }[] }>('GET', `/api/v1/audit?cluster=${cluster}&limit=1000`);
    assert.ok(items.some((r) => r.verb === 'get'));
    assert.ok(items.filter((r) => r.subresource === 'exec').length >= kubeconfigs.size, 'an exec through each replica and the balancer');
    assert.ok(items.some((r) => r.subresource === 'portforward'));
    // C died with both streams open: a survivor marks their rows interrupted; their resumed halves are in progress on the new holder.
    const after = await eventually('C\'s stream rows marked interrupted', 60_000, async () => {
      const rows = await audit();
      return onC.every((open) => rows.find((r) => r.id === open.id)?.state === 'interrupted') ? rows : undefined;
    });
    const resumed = after.filter((r) => r.id > firstId && r.replica !== c.id && r.state === 'in_progress');
    assert.ok(resumed.some(isWatch), 'the resumed watch, audited by the new holder');
    assert.ok(resumed.some(isLog), 'the resumed logs -f, audited by the new holder');
  });

  it('replicas - SIGTERM on a replica under steady kubectl get through the load balancer: no request fails', async () => {
    const lb = kubeconfigs.get('lb') as string;
    // The replica holding the link, so its agent has to move too.
    const holderId = await eventually('the replica holding the link', 30_000, async () => {
      const view = await tier.client.request<ClusterView>('GET', `/api/v1/clusters/${cluster}`);
      return view.replica ?? undefined;
    });
    const holder = tier.replicas.find((replica) => replica.id === holderId) as Replica;
    const failures: string[] = [];
    let done = 0;
    const stop = new AbortController();
    const load = (async () => {
      while (!stop.signal.aborted) {
        const got = await kubectlVia(lb, ['-n', namespace, 'get', 'pod', pod, '-o', 'name']);
        if (got.code !== 0) failures.push(got.stderr);
        done++;
      }
    })();
    try {
      await eventually('the load to run', 60_000, () => (done >= 3 ? true : undefined));
      const before = done;
      holder.process.child.kill('SIGTERM');
      const [code] = await once(holder.process.child, 'exit') as [number | null];
      assert.equal(code, 0, 'the drained replica exits cleanly');
      await eventually('more requests after the drain', 60_000, () => (done >= before + 10 ? true : undefined));
    } finally {
      stop.abort();
      await load;
    }
    assert.deepEqual(failures, [], `${failures.length} of ${done} requests failed`);
    await holder.restart();
  });

  it('replicas - stopping PostgreSQL: every replica not ready within seconds, ready again by itself when it returns', async () => {
    await tier.postgres.stop();
    for (const replica of tier.replicas) {
      await eventually(`${replica.id} not ready`, 30_000, async () => ((await readyz(replica)) === 503 ? true : undefined));
    }
    await tier.postgres.start();
    for (const replica of tier.replicas) {
      await eventually(`${replica.id} ready again`, 60_000, async () => ((await readyz(replica)) === 200 ? true : undefined));
      assert.equal(replica.process.child.exitCode, null, `${replica.id} is still running`);
    }
    await eventually('the cluster online again', 60_000, async () => {
      const view = await tier.client.request<ClusterView>('GET', `/api/v1/clusters/${cluster}`);
      return view.status === 'online' ? true : undefined;
    });
  });
});
