// `uplink forward` with a real PostgreSQL among its ports: one CLI process
// forwards a PostgreSQL server (its wire protocol and SCRAM sign-in through
// the tunnel), an HTTP server and a TCP echo at once; after the agent's link
// dies and a new agent links, the same process carries a new database
// session; the audit log has each forward with its bytes.
import assert from 'node:assert/strict';
import http from 'node:http';
import { createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { createTestNamespace, kubeconfigPath } from '../helpers/cluster.ts';
import { startHubCluster, type HubCluster } from '../helpers/kubectl-hub.ts';
import { startPostgres, type RunningPostgres } from '../helpers/postgres.ts';
import { applyService, exchange, HOST, httpGet, listening, runForward } from '../helpers/service-endpoints.ts';
import { eventually, freePort, startAgent, suiteContext } from '../helpers/uplink.ts';

/** Runs `work` in a fresh session of the database `forwarded` as its owner, the password role, through 127.0.0.1:`port`. */
async function withDatabase<T>(port: number, role: RunningPostgres['passwordRole'], work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ host: '127.0.0.1', port, user: role.user, password: role.password, database: 'forwarded', connectionTimeoutMillis: 30_000 });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

describe('uplink forward to PostgreSQL, HTTP and a TCP echo', () => {
  const suite = suiteContext('forward-postgres');
  const cleanups: (() => void)[] = [];
  let env: HubCluster;
  let namespace: string;
  let database: RunningPostgres;

  before(async () => {
    env = await startHubCluster(suite.t, 'fwd-pg');
    namespace = await createTestNamespace(suite.t, 'fwdpg');
    database = await startPostgres({ alsoListenOn: HOST });
    suite.t.after(() => database.destroy());
    await database.createDatabase('forwarded', { owner: database.passwordRole.user });
    const echo = createServer((socket) => { socket.on('error', () => undefined); socket.pipe(socket); });
    const web = http.createServer((req, res) => { res.end(`web ${req.url ?? ''}`); });
    const [echoPort, webPort] = await Promise.all([listening(echo), listening(web)]);
    cleanups.push(() => { echo.close(); web.close(); web.closeAllConnections(); });
    await applyService(namespace, 'data', HOST, [
      { name: 'postgres', port: 5432, target: database.port }, { name: 'http', port: 80, target: webPort }, { name: 'echo', port: 7000, target: echoPort },
    ]);
  });

  after(async () => {
    for (const cleanup of cleanups.reverse()) cleanup();
    await suite.runCleanups();
  });

  it('carries a database session beside HTTP and an echo, and again after the link is replaced', async () => {
    const locals = { db: await freePort(), web: await freePort(), echo: await freePort() };
    const cli = runForward(env.hub.cliConfig, [env.clusterName, 'svc/data', '-n', namespace, `${locals.db}:5432`, `${locals.web}:http`, `${locals.echo}:7000`], cleanups);
    await eventually('the three mappings printed', 30_000, () => (cli.stdout().split('\n').filter((l) => l.startsWith('Forwarding')).length === 3 ? true : undefined));
    assert.match(cli.stdout(), new RegExp(`Forwarding 127\\.0\\.0\\.1:${locals.db} -> svc/data:5432`));

    const payload = Buffer.alloc(1024 * 1024, 'uplink!');
    const [rows, web, echoed] = await Promise.all([
      withDatabase(locals.db, database.passwordRole, async (client) => {
        await client.query('CREATE TABLE forwarded (n integer PRIMARY KEY, note text NOT NULL)');
        await client.query("INSERT INTO forwarded SELECT n, repeat('x', 100) FROM generate_series(1, 5000) AS n");
        const answer = await client.query<{ count: string; total: string; me: string }>('SELECT count(*) AS count, sum(n) AS total, current_user AS me FROM forwarded');
        return answer.rows[0];
      }),
      httpGet(locals.web, '/through'),
      exchange(locals.echo, payload),
    ]);
    assert.deepEqual(rows, { count: '5000', total: String((5000 * 5001) / 2), me: database.passwordRole.user });
    assert.deepEqual(web, { status: 200, body: 'web /through' });
    assert.ok(echoed.equals(payload), `the echo returned the ${payload.length} bytes sent; stderr: ${cli.stderr()}`);

    // The link dies with its agent; once another agent links, the same CLI process carries a new session.
    const agentArgs = env.agent.process.child.spawnargs;
    const token = String(agentArgs[agentArgs.indexOf('--token') + 1]);
    const kubeconfig = agentArgs[agentArgs.indexOf('--kubeconfig') + 1] ?? await kubeconfigPath();
    await env.agent.process.stop('SIGKILL');
    env.agent = await startAgent(suite.t, { hubUrl: env.hub.url, caHash: env.hub.caHash, token, kubeconfig, stateFile: env.agent.stateFile });
    const after = await withDatabase(locals.db, database.passwordRole, async (client) => (await client.query<{ count: string }>('SELECT count(*) AS count FROM forwarded')).rows[0]);
    assert.deepEqual(after, { count: '5000' });
    assert.equal(cli.child.exitCode, null, 'the CLI kept listening');

    const audit = await eventually('the database forwards in the audit log', 30_000, async () => {
      const { items } = await env.hub.client.request<{ items: { subresource: string | null; status: number; command: string | null; bytesIn: number; bytesOut: number }[] }>('GET', `/api/v1/audit?cluster=${env.clusterName}`);
      const sessions = items.filter((row) => row.subresource === 'forward' && row.status === 101 && row.command === 'uplink forward svc/data:5432');
      return sessions.length >= 2 && sessions.every((row) => row.bytesIn > 0 && row.bytesOut > 0) ? sessions : undefined;
    });
    // The first session sent the 5,000-row insert's statements and read the answers.
    assert.ok(audit.some((row) => row.bytesIn > 200 && row.bytesOut > 200));
  });
});
