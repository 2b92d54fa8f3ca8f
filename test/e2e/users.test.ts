// Hub users, roles, API tokens and the audit log, through the real hub and
// CLI: a fleet admin creates a user with a view grant on one cluster, the
// user logs in with its own token and sees only that cluster.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import type { AuditView } from '../../src/hub/api/audit.ts';
import type { CallerClusterView } from '../../src/hub/api/clusters.ts';
import type { UserView, WhoamiView } from '../../src/hub/api/users.ts';
import { type AuditRecord, openSqliteStore } from '../../src/hub/store/index.ts';
import { loginWithToken, startHub, uplink, type HubHandle } from '../helpers/uplink.ts';

interface Alice {
  hub: HubHandle;
  /** alice's own CLI settings file. */
  cliConfig: string;
  tokenId: string;
}

async function run(args: string[], cliConfig: string): Promise<string> {
  const result = await uplink(args, cliConfig);
  assert.equal(result.code, 0, `uplink ${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
}

/** A hub with clusters e2e-one and e2e-two, and alice, a viewer of e2e-one, logged in with her own token. */
async function startHubWithAlice(t: TestContext): Promise<Alice> {
  const hub = await startHub(t);
  await run(['clusters', 'create', 'e2e-one'], hub.cliConfig);
  await run(['clusters', 'create', 'e2e-two'], hub.cliConfig);
  const created = await run(['users', 'create', 'alice', '--role', 'view', '--cluster', 'e2e-one'], hub.cliConfig);
  assert.match(created, /User "alice" created .*grants: view@e2e-one/);
  const issued = JSON.parse(await run(['tokens', 'create', 'alice', '--name', 'laptop', '-o', 'json'], hub.cliConfig)) as { id: string; token: string };
  assert.match(issued.token, /^upk_/);
  return { hub, cliConfig: await loginWithToken(hub, issued.token), tokenId: issued.id };
}

function auditRow(at: Date, userName: string, name: string): AuditRecord {
  return {
    at: at.toISOString(), userId: `u-${userName}`, userName, clusterId: 'c-e2e', clusterName: 'e2e-one',
    verb: 'get', resource: 'pods', subresource: null, namespace: 'default', name, path: `/api/v1/namespaces/default/pods/${name}`,
    status: 200, bytesIn: 0, bytesOut: 2048, durationMs: 8.5, command: name === 'with-command' ? 'kubectl get pod with-command' : null,
  };
}

describe('hub users and roles', () => {
  it('users - a viewer of one cluster lists only that cluster, with role view, and whoami says who it is', async (t) => {
    const alice = await startHubWithAlice(t);
    const list = JSON.parse(await run(['clusters', 'list', '-o', 'json'], alice.cliConfig)) as { items: CallerClusterView[] };
    assert.deepEqual(list.items.map((c) => [c.name, c.role]), [['e2e-one', 'view']]);
    const hidden = await uplink(['clusters', 'get', 'e2e-two'], alice.cliConfig);
    assert.match(hidden.stderr, /the hub answered 404: cluster 'e2e-two' not found/);
    const adminList = JSON.parse(await run(['clusters', 'list', '-o', 'json'], alice.hub.cliConfig)) as { items: CallerClusterView[] };
    assert.deepEqual(adminList.items.map((c) => [c.name, c.role]), [['e2e-one', 'admin'], ['e2e-two', 'admin']]);

    const whoami = JSON.parse(await run(['whoami', '-o', 'json'], alice.cliConfig)) as WhoamiView;
    assert.equal(whoami.user.name, 'alice');
    assert.deepEqual(whoami.grants.map((g) => [g.role, g.cluster]), [['view', 'e2e-one']]);
    assert.match(await run(['whoami'], alice.cliConfig), /^alice \(id u[a-z0-9]{12}\)\ngrants: view@e2e-one\n$/);
  });

  it('users - a viewer cannot create clusters or users, nor read the audit log', async (t) => {
    const alice = await startHubWithAlice(t);
    for (const args of [['clusters', 'create', 'e2e-three'], ['users', 'create', 'mallory', '--role', 'admin'], ['audit'], ['clusters', 'delete', 'e2e-one']]) {
      const result = await uplink(args, alice.cliConfig);
      assert.equal(result.code, 1, args.join(' '));
      assert.match(result.stderr, /the hub answered 403: this needs a fleet-wide admin grant/, args.join(' '));
    }
    const users = JSON.parse(await run(['users', 'list', '-o', 'json'], alice.hub.cliConfig)) as { items: UserView[] };
    assert.deepEqual(users.items.map((u) => u.name), ['admin', 'alice']);
    assert.match(await run(['users', 'list'], alice.hub.cliConfig), /admin\s+admin@\*\nalice\s+view@e2e-one/);
  });

  it('users - a grant takes effect on the next call, and revoking the token makes it 401', async (t) => {
    const alice = await startHubWithAlice(t);
    await run(['users', 'grant', 'alice', 'edit', '--cluster', 'e2e-two'], alice.hub.cliConfig);
    const list = JSON.parse(await run(['clusters', 'list', '-o', 'json'], alice.cliConfig)) as { items: CallerClusterView[] };
    assert.deepEqual(list.items.map((c) => [c.name, c.role]), [['e2e-one', 'view'], ['e2e-two', 'edit']]);

    const tokens = await run(['tokens', 'list', 'alice'], alice.hub.cliConfig);
    assert.match(tokens, new RegExp(`${alice.tokenId}\\s+laptop\\s+\\S+Z\\s+\\S+Z`), 'listed with its last use');
    await run(['tokens', 'revoke', alice.tokenId], alice.hub.cliConfig);
    const after = await uplink(['clusters', 'list'], alice.cliConfig);
    assert.equal(after.code, 1);
    assert.match(after.stderr, /the hub answered 401: an API token is required/);
  });

  it('users - deleting the last fleet-wide admin is refused; with a second admin it works', async (t) => {
    const hub = await startHub(t);
    const refused = await uplink(['users', 'delete', 'admin'], hub.cliConfig);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /the hub answered 409: cannot delete user 'admin': it is the last fleet-wide admin/);
    const revoke = await uplink(['users', 'revoke', 'admin', 'admin'], hub.cliConfig);
    assert.match(revoke.stderr, /the hub answered 409: cannot revoke admin on every cluster from user 'admin'/);

    await run(['users', 'create', 'root', '--role', 'admin'], hub.cliConfig);
    await run(['users', 'delete', 'admin'], hub.cliConfig);
    const after = await uplink(['whoami'], hub.cliConfig);
    assert.match(after.stderr, /the hub answered 401/, 'the deleted user\'s token went with it');
  });
});

describe('hub audit log', () => {
  it('audit - the API and CLI list stored rows newest first, filtered by --since and --user', async (t) => {
    const hub = await startHub(t);
    // A second connection on the hub's database (WAL allows it), as the
    // kubectl endpoint would write rows.
    const store = openSqliteStore({ path: join(hub.dataDir, 'hub.db') });
    t.after(() => store.close());
    const now = Date.now();
    await store.insertAudit(auditRow(new Date(now - 3 * 3600_000), 'alice', 'old'));
    await store.insertAudit(auditRow(new Date(now - 10 * 60_000), 'alice', 'recent'));
    await store.insertAudit(auditRow(new Date(now - 5 * 60_000), 'bob', 'with-command'));

    const all = await hub.client.request<{ items: AuditView[] }>('GET', '/api/v1/audit');
    assert.deepEqual(all.items.map((r) => r.name), ['with-command', 'recent', 'old']);
    const recent = JSON.parse(await run(['audit', '--since', '1h', '-o', 'json'], hub.cliConfig)) as { items: AuditView[] };
    assert.deepEqual(recent.items.map((r) => r.name), ['with-command', 'recent']);
    const alice = JSON.parse(await run(['audit', '--user', 'alice', '-o', 'json'], hub.cliConfig)) as { items: AuditView[] };
    assert.deepEqual(alice.items.map((r) => r.name), ['recent', 'old']);
    const both = JSON.parse(await run(['audit', '--user', 'alice', '--since', '1h', '--cluster', 'c-e2e', '-o', 'json'], hub.cliConfig)) as { items: AuditView[] };
    assert.deepEqual(both.items.map((r) => r.name), ['recent']);

    const table = await run(['audit', '--limit', '2'], hub.cliConfig);
    const lines = table.trimEnd().split('\n');
    assert.match(lines[0] ?? '', /^TIME\s+USER\s+CLUSTER\s+VERB\s+RESOURCE\s+NAMESPACE\s+NAME\s+STATUS\s+DURATION\s+IN\s+OUT\s+COMMAND$/);
    assert.match(lines[1] ?? '', /Z\s+bob\s+e2e-one\s+get\s+pods\s+default\s+with-command\s+200\s+9ms\s+0\s+2\.0Ki\s+kubectl get pod with-command$/);
    assert.equal(lines.length, 3);

    const bad = await uplink(['audit', '--since', 'last-week'], hub.cliConfig);
    assert.match(bad.stderr, /the hub answered 400: since must be an ISO 8601 time .* got 'last-week'/);
  });
});
