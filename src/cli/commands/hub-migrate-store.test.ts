// End to end through bin/uplink: a hub's SQLite database with a cluster, a
// user, a token, add-ons and audit rows, copied into a real PostgreSQL, reads
// the same through the PostgreSQL store, and the token still authenticates.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseAddonSpec } from '../../hub/addons/index.ts';
import { authenticateToken } from '../../hub/auth.ts';
import { openPostgresStore, openSqliteStore, type AuditRecord, type Store } from '../../hub/store/index.ts';
import { silentLog, usePostgresServer } from '../../hub/store/store-backends.test-helper.ts';
import { issueApiToken } from '../../hub/users.ts';
import { minimalSpec } from '../../domain/addon-spec/spec.test-helper.ts';
import { sampleStatus } from '../../hub/addons/status.test-helper.ts';
import { runProcess } from '../../util/run-process.ts';

const BIN = resolve(import.meta.dirname, '../../../bin/uplink');
const T = (minute: number): string => new Date(Date.UTC(2026, 0, 2, 3, minute)).toISOString();
const dir = mkdtempSync(join(tmpdir(), 'uplink-migrate-store-'));
after(() => { rmSync(dir, { recursive: true, force: true }); });

function audit(minute: number, name: string): AuditRecord {
  return {
    at: T(minute), userId: 'u-alice', userName: 'alice', clusterId: 'c-prod', clusterName: 'prod', verb: 'get', resource: 'pods',
    subresource: null, namespace: 'default', name, path: `/api/v1/namespaces/default/pods/${name}`, status: 200, bytesIn: 0,
    bytesOut: 2048, durationMs: 3.5, command: 'kubectl get pod',
  };
}

/** A hub's state, as a store hands it out, as plain data. */
async function snapshot(store: Store): Promise<unknown> {
  const users = await store.listUsers();
  const clusters = await store.listClusters();
  return JSON.parse(JSON.stringify({
    clusters, users, grants: await store.listAllGrants(),
    tokens: await Promise.all(users.map((user) => store.listApiTokens(user.id))),
    addons: await Promise.all(clusters.map((cluster) => store.listAddons(cluster.id))),
    statuses: await Promise.all(clusters.map((cluster) => store.listAddonStatuses(cluster.id))),
    exposures: await Promise.all(clusters.map((cluster) => store.getExposureSet(cluster.id))),
    audit: await store.listAudit({ limit: 1000 }),
  })) as unknown;
}

describe('uplink hub migrate-store', () => {
  const postgres = usePostgresServer();

  it('migrate-store - copies every record into PostgreSQL, where the same token authenticates; a second copy is refused', async () => {
    const sqlitePath = join(dir, 'hub.db');
    const source = openSqliteStore({ path: sqlitePath });
    await source.migrate();
    await source.createCluster({ id: 'c-prod', name: 'prod', labels: { env: 'prod' }, tokenHash: 'sha256:cluster', createdAt: T(0) });
    await source.updateClusterTokens('c-prod', { tokenHash: 'sha256:cluster', nextTokenHash: 'sha256:next' });
    await source.recordConnection('c-prod', { connected: true, at: T(1), agentVersion: '0.1.0' });
    await source.recordHeartbeat('c-prod', { at: T(2), intervalSeconds: 15, facts: null });
    await source.createUser({ id: 'u-alice', name: 'alice', createdAt: T(0) });
    await source.addGrant({ userId: 'u-alice', role: 'view', clusterId: null });
    await source.addGrant({ userId: 'u-alice', role: 'edit', clusterId: 'c-prod' });
    const { token } = await issueApiToken(source, { userId: 'u-alice', name: 'laptop' });
    await source.touchApiToken((await source.listApiTokens('u-alice'))[0]?.id ?? '', T(3));
    const spec = parseAddonSpec(minimalSpec());
    await source.putAddon({ clusterId: 'c-prod', name: 'web', spec, at: T(4) });
    await source.deleteAddon({ clusterId: 'c-prod', name: 'web', at: T(5) });
    await source.putAddon({ clusterId: 'c-prod', name: 'web', spec, at: T(6) });
    await source.putAddonStatus({ clusterId: 'c-prod', name: 'web', status: sampleStatus(), reportedAt: T(7) });
    const exposure = { clusterId: 'c-prod', namespace: 'monitoring', service: 'grafana', minRole: 'edit', createdBy: 'alice', createdAt: T(7) } as const;
    await source.putExposure({ ...exposure, id: 'ex_aaaaaaaaaaaaaaaaaaaa', name: 'grafana', port: 80 });
    await source.putExposure({ ...exposure, id: 'ex_bbbbbbbbbbbbbbbbbbbb', name: 'gone', port: 'http' });
    await source.deleteExposure('c-prod', 'gone');
    for (const [minute, name] of [[8, 'a'], [9, 'b'], [9, 'c']] as const) await source.insertAudit(audit(minute, name));
    await source.pruneAudit(T(9)); // ids 2 and 3 remain: the copy keeps them
    const expected = await snapshot(source);
    await source.close();

    const { user, password } = postgres.server().passwordRole;
    const url = await postgres.server().createDatabase('migrated', { owner: user });
    const passwordFile = join(dir, 'password');
    writeFileSync(passwordFile, `${password}\n`);
    const args = ['hub', 'migrate-store', '--from', `sqlite:${sqlitePath}`, '--to', url, '--database-password-file', passwordFile];
    const result = await runProcess(BIN, args);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /clusters\s+1\n/);
    assert.match(result.stdout, /api_tokens\s+1\n/);
    assert.match(result.stdout, /audit_log\s+2\n/);
    assert.match(result.stdout, /exposures\s+1\n/);

    const target = openPostgresStore({ url, passwordFile, log: silentLog });
    try {
      await target.migrate();
      assert.deepEqual(await snapshot(target), expected);
      const principal = await authenticateToken(target, token, new Map());
      assert.equal(principal?.userName, 'alice');
      assert.deepEqual(principal.grants.map((g) => g.role), ['view', 'edit']);
      assert.equal((await target.getAddon('c-prod', 'web'))?.generation, 3);
      assert.equal((await target.getExposureSet('c-prod')).generation, 3, 'the exposure generation carries over: agents keep refusing older sets');
      await target.insertAudit(audit(10, 'd'));
      assert.deepEqual((await target.listAudit({})).map((row) => row.id), [4, 3, 2], 'new audit rows continue after the copied ids');
    } finally {
      await target.close();
    }

    const again = await runProcess(BIN, args);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /not empty \(1 in clusters, 1 in users/);
  });

  it('migrate-store - a row PostgreSQL refuses leaves the target empty, naming the table', async () => {
    const sqlitePath = join(dir, 'bad.db');
    const source = openSqliteStore({ path: sqlitePath });
    await source.migrate();
    await source.createUser({ id: 'u1', name: 'bob', createdAt: T(0) });
    await source.insertAudit({ ...audit(1, 'x'), at: 'not a time' });
    await source.close();
    const url = await postgres.server().createDatabase('refused');
    const result = await runProcess(BIN, ['hub', 'migrate-store', '--from', sqlitePath, '--to', url]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /copying audit_log failed: invalid input syntax for type timestamp/);
    const target = openPostgresStore({ url, log: silentLog });
    try {
      assert.deepEqual(await target.listUsers(), []);
    } finally {
      await target.close();
    }
  });

  it('migrate-store - refuses a --from that is not SQLite and a missing file', async () => {
    const url = 'postgres://nobody@127.0.0.1:1/none';
    const notSqlite = await runProcess(BIN, ['hub', 'migrate-store', '--from', 'postgres://x@h/d', '--to', url]);
    assert.match(notSqlite.stderr, /--from must be sqlite:PATH or a file path/);
    const missing = await runProcess(BIN, ['hub', 'migrate-store', '--from', join(dir, 'missing.db'), '--to', url]);
    assert.match(missing.stderr, /no SQLite database at .*missing\.db/);
  });
});
