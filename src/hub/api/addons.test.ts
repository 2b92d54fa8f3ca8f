// The add-on routes behind the real API-token check, with users holding each
// role: who may read and write, the answer shapes, and the refusals.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ADDON_PATHS, type AddonOperationRequest } from '../../link/addons.ts';
import { LinkRequestError } from '../../link/hub-session.ts';
import { createLogger } from '../../util/logger.ts';
import type { AddonAction, AddonOperationOutcome, OperationLink } from '../addons/index.ts';
import { minimalSpec } from '../../domain/addon-spec/spec.test-helper.ts';
import { sampleStatus } from '../addons/status.test-helper.ts';
import type { AuditRecord, Store } from '../store/index.ts';
import { useMemoryStore } from '../store/memory-store.test-helper.ts';
import { registerAddonRoutes, type AddonView } from './addons.ts';
import { appWithCallers, type Answer, type CallAs, type Caller } from './role-callers.test-helper.ts';

/** The store with listAddons answering a little later, so that concurrent requests interleave around it. */
function withSlowLists(store: Store): Store {
  return new Proxy(store, {
    get(target, property): unknown {
      if (property === 'listAddons') {
        return async (clusterId: string) => {
          const addons = await target.listAddons(clusterId);
          await sleep(10);
          return addons;
        };
      }
      const value: unknown = Reflect.get(target, property);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/** The agent's end of the link as the routes see it: what was asked, and the next answer to give. */
interface FakeAgent {
  link: OperationLink;
  requests: { method: string; path: string; body: AddonOperationRequest; timeoutMs: number | undefined }[];
  answer: { status: number; body: unknown } | Error;
  isOpen: boolean;
}

function fakeAgent(): FakeAgent {
  const agent: FakeAgent = {
    requests: [],
    answer: { status: 202, body: { operationId: 'op-7' } },
    isOpen: true,
    link: {
      get isOpen() { return agent.isOpen; },
      requestJson: (method: string, path: string, body?: unknown, timeoutMs?: number) => {
        agent.requests.push({ method, path, body: body as AddonOperationRequest, timeoutMs });
        const { answer } = agent;
        return answer instanceof Error ? Promise.reject(answer) : Promise.resolve(answer as { status: number; body: never });
      },
    },
  };
  return agent;
}

/** What the routes handed to their audit and metric callbacks. */
interface Recorded {
  audits: AuditRecord[];
  operations: [AddonAction, AddonOperationOutcome][];
}

describe('add-on routes', () => {
  const store = useMemoryStore();

  /** An app with the add-on routes, cluster prod, and a request function per caller. */
  /** An app with the add-on routes, cluster prod, and a request function per caller. */
  function setup(options: { maxAddonsPerCluster?: number; slowLists?: boolean; agent?: FakeAgent; recorded?: Recorded } = {}): Promise<CallAs> {
    return appWithCallers(store(), (api, cluster) => {
      registerAddonRoutes(api, {
        store: options.slowLists === true ? withSlowLists(store()) : store(),
        log: createLogger({ name: 'test', level: 'silent' }),
        maxAddonsPerCluster: options.maxAddonsPerCluster,
        sessionOf: (clusterId) => (clusterId === cluster.id ? options.agent?.link : undefined),
        audit: (record) => { options.recorded?.audits.push(record); },
        onOperation: (action, outcome) => { options.recorded?.operations.push([action, outcome]); },
      });
    });
  }

  const errorOf = (answer: Answer): unknown => answer.body.error;

  it('addons api - PUT creates (201), replaces (200) and leaves the same spec alone; status is null before a report', async () => {
    const call = await setup();
    const created = await call('admin', 'PUT', 'prod/addons/web', minimalSpec());
    assert.equal(created.status, 201);
    const view = created.body as unknown as AddonView;
    assert.deepEqual([view.cluster, view.name, view.generation, view.deletedAt, view.status, view.statusReportedAt], ['prod', 'web', 1, null, null, null]);
    assert.equal(view.spec.revisionHistoryLimit, 10);
    assert.equal(view.createdAt, view.updatedAt);

    const same = await call('admin', 'PUT', 'prod/addons/web', minimalSpec());
    assert.deepEqual([same.status, same.body.generation], [200, 1]);
    const replaced = await call('root', 'PUT', 'c_prod/addons/web', minimalSpec({ version: '^1.3' }));
    assert.deepEqual([replaced.status, replaced.body.generation], [200, 2]);
  });

  it('addons api - GET lists the cluster\'s add-ons and shows one; a missing one is 404', async () => {
    const call = await setup();
    await call('admin', 'PUT', 'prod/addons/web', minimalSpec());
    await call('admin', 'PUT', 'prod/addons/db', minimalSpec({ namespace: 'db' }));
    const list = await call('viewer', 'GET', 'prod/addons');
    assert.equal(list.status, 200);
    assert.deepEqual((list.body.items as AddonView[]).map((a) => [a.name, a.spec.namespace, a.status]), [['db', 'db', null], ['web', 'web', null]]);
    const one = await call('editor', 'GET', 'prod/addons/web');
    assert.deepEqual([one.status, one.body.name, one.body.cluster], [200, 'web', 'prod']);
    const missing = await call('viewer', 'GET', 'prod/addons/nope');
    assert.deepEqual([missing.status, errorOf(missing)], [404, { code: 'NOT_FOUND', message: "add-on 'nope' of cluster 'prod' not found" }]);
  });

  it('addons api - values reach only the roles that may act on the release: view gets them redacted', async () => {
    const call = await setup();
    const values = 'auth:\n  password: s3cr3t-from-values\n';
    await call('admin', 'PUT', 'prod/addons/web', minimalSpec({ values }));
    for (const path of ['prod/addons', 'prod/addons/web']) {
      const viewed = await call('viewer', 'GET', path);
      assert.equal(viewed.status, 200);
      assert.doesNotMatch(JSON.stringify(viewed.body), /s3cr3t/, path);
      const spec = path.endsWith('web') ? (viewed.body as unknown as AddonView).spec : (viewed.body.items as AddonView[])[0]?.spec;
      assert.ok(spec);
      assert.equal(spec.valuesRedacted, true);
      assert.equal(spec.values, undefined);
      assert.equal(spec.namespace, 'web', 'the rest of the spec is shown');
      for (const caller of ['editor', 'admin', 'root'] as const) {
        const full = await call(caller, 'GET', path);
        assert.match(JSON.stringify(full.body), /s3cr3t-from-values/, `${caller} ${path}`);
        assert.doesNotMatch(JSON.stringify(full.body), /valuesRedacted/);
      }
    }
    assert.doesNotMatch(JSON.stringify((await call('viewer', 'GET', 'prod/addons/web/history')).body), /s3cr3t/);
  });

  it('addons api - view and edit may read but not write (403); without a role the cluster does not exist (404)', async () => {
    const call = await setup();
    await call('admin', 'PUT', 'prod/addons/web', minimalSpec());
    for (const caller of ['viewer', 'editor'] as const) {
      const role = caller === 'viewer' ? 'view' : 'edit';
      for (const [method, body] of [['PUT', minimalSpec()], ['DELETE', undefined]] as const) {
        const answer = await call(caller, method, 'prod/addons/web', body);
        assert.deepEqual([answer.status, errorOf(answer)],
          [403, { code: 'FORBIDDEN', message: `changing add-ons needs the admin role on cluster 'prod' (yours is ${role})` }]);
      }
    }
    for (const [method, path] of [['GET', 'prod/addons'], ['GET', 'prod/addons/web'], ['PUT', 'prod/addons/web'], ['DELETE', 'prod/addons/web']]) {
      const answer = await call('stranger', method ?? 'GET', path ?? '', method === 'PUT' ? minimalSpec() : undefined);
      assert.deepEqual([answer.status, errorOf(answer)], [404, { code: 'NOT_FOUND', message: "cluster 'prod' not found" }], `${method} ${path}`);
    }
    assert.equal((await call('root', 'GET', 'nope/addons')).status, 404);
  });

  it('addons api - a bad spec or name is a 400 naming the field', async () => {
    const call = await setup();
    const cases: [string, unknown, string][] = [
      ['prod/addons/web', minimalSpec({ version: '>=1.x.y' }), "version '>=1.x.y' is not a semver version or range"],
      ['prod/addons/web', minimalSpec({ values: '- a\n' }), 'values must be a YAML mapping (key: value), got a list'],
      ['prod/addons/Web', minimalSpec(), "name 'Web' is not a DNS-1123 label (lowercase letters, digits and '-', at most 53 characters)"],
      ['prod/addons/web', ['not', 'an', 'object'], 'the add-on spec must be an object, got ["not","an","object"]'],
      ['prod/addons/web', minimalSpec({ ignoreDifferences: [{ jq: '.spec | del(.replicas)' }] }),
        'ignoreDifferences[0].jq \'.spec | del(.replicas)\' is not a jq path expression the agent can evaluate: unexpected "del" at 9, expected a path starting with "." (functions other than select are not supported)'],
    ];
    for (const [path, body, message] of cases) {
      const answer = await call('admin', 'PUT', path, body);
      assert.deepEqual([answer.status, errorOf(answer)], [400, { code: 'ADDON_SPEC_INVALID', message }]);
    }
    assert.deepEqual((await call('admin', 'GET', 'prod/addons')).body.items, []);
  });

  it('addons api - dependsOn must name add-ons of the cluster and may not close a cycle', async () => {
    const call = await setup();
    const unknown = await call('admin', 'PUT', 'prod/addons/web', minimalSpec({ dependsOn: ['db'] }));
    assert.deepEqual([unknown.status, errorOf(unknown)],
      [400, { code: 'ADDON_SPEC_INVALID', message: "dependsOn names 'db', which is not an add-on of cluster 'prod'" }]);
    assert.equal((await call('admin', 'PUT', 'prod/addons/db', minimalSpec())).status, 201);
    assert.equal((await call('admin', 'PUT', 'prod/addons/web', minimalSpec({ dependsOn: ['db'] }))).status, 201);
    const cycle = await call('admin', 'PUT', 'prod/addons/db', minimalSpec({ dependsOn: ['web'] }));
    assert.deepEqual([cycle.status, errorOf(cycle)], [400, { code: 'ADDON_SPEC_INVALID', message: 'dependsOn makes a cycle: db -> web -> db' }]);
  });

  it('addons api - two concurrent puts that would together close a cycle: one passes, one is refused', async () => {
    const call = await setup({ slowLists: true });
    await call('admin', 'PUT', 'prod/addons/a', minimalSpec());
    await call('admin', 'PUT', 'prod/addons/b', minimalSpec());
    const answers = await Promise.all([
      call('admin', 'PUT', 'prod/addons/a', minimalSpec({ dependsOn: ['b'] })),
      call('admin', 'PUT', 'prod/addons/b', minimalSpec({ dependsOn: ['a'] })),
    ]);
    assert.deepEqual(answers.map((a) => a.status).sort(), [200, 400]);
  });

  it('addons api - DELETE marks for uninstall (202), refused with 409 while others depend on it', async () => {
    const call = await setup();
    await call('admin', 'PUT', 'prod/addons/db', minimalSpec());
    await call('admin', 'PUT', 'prod/addons/web', minimalSpec({ dependsOn: ['db'] }));
    await call('admin', 'PUT', 'prod/addons/api', minimalSpec({ dependsOn: ['db'] }));
    const refused = await call('admin', 'DELETE', 'prod/addons/db');
    assert.deepEqual([refused.status, errorOf(refused)], [409, {
      code: 'ADDON_HAS_DEPENDENTS', message: "add-on 'db' cannot be deleted: 'api', 'web' depend on it; remove it from their dependsOn first",
    }]);

    for (const name of ['web', 'api']) assert.equal((await call('admin', 'DELETE', `prod/addons/${name}`)).status, 202);
    const deleted = await call('root', 'DELETE', 'prod/addons/db');
    assert.equal(deleted.status, 202);
    assert.equal(deleted.body.generation, 2);
    assert.equal(typeof deleted.body.deletedAt, 'string');
    assert.equal((await call('viewer', 'GET', 'prod/addons/db')).body.deletedAt, deleted.body.deletedAt);

    const onDeleted = await call('admin', 'PUT', 'prod/addons/web', minimalSpec({ dependsOn: ['db'] }));
    assert.equal(onDeleted.status, 400, 'a deleted add-on cannot be depended on');
    assert.equal((await call('admin', 'DELETE', 'prod/addons/nope')).status, 404);
    const revived = await call('admin', 'PUT', 'prod/addons/db', minimalSpec());
    assert.deepEqual([revived.status, revived.body.generation, revived.body.deletedAt], [201, 3, null]);
  });

  it('addons api - a cluster holds a bounded number of add-ons; replacing one at the bound still works', async () => {
    const call = await setup({ maxAddonsPerCluster: 2 });
    await call('admin', 'PUT', 'prod/addons/a', minimalSpec());
    await call('admin', 'PUT', 'prod/addons/b', minimalSpec());
    const third = await call('admin', 'PUT', 'prod/addons/c', minimalSpec());
    assert.deepEqual([third.status, (errorOf(third) as { code: string }).code], [409, 'ADDON_LIMIT']);
    assert.equal((await call('admin', 'PUT', 'prod/addons/b', minimalSpec({ version: '2.0.0' }))).status, 200);
  });

  it('addons api - every view carries the stored status and when it came; history is the status\'s', async () => {
    const call = await setup();
    await call('admin', 'PUT', 'prod/addons/web', minimalSpec());
    await call('admin', 'PUT', 'prod/addons/db', minimalSpec());
    assert.deepEqual((await call('viewer', 'GET', 'prod/addons/web/history')).body, { items: [] });
    const reportedAt = '2026-01-02T00:00:00.000Z';
    await store().putAddonStatus({ clusterId: 'c_prod', name: 'web', status: sampleStatus(), reportedAt });

    const one = await call('viewer', 'GET', 'prod/addons/web');
    assert.deepEqual([one.body.status, one.body.statusReportedAt], [sampleStatus(), reportedAt]);
    const list = (await call('viewer', 'GET', 'prod/addons')).body.items as AddonView[];
    assert.deepEqual(list.map((a) => [a.name, a.status?.phase ?? null, a.statusReportedAt]), [['db', null, null], ['web', 'Deployed', reportedAt]]);
    assert.deepEqual((await call('admin', 'PUT', 'prod/addons/web', minimalSpec())).body.status, sampleStatus());
    assert.deepEqual((await call('viewer', 'GET', 'prod/addons/web/history')).body, { items: sampleStatus().history });
    assert.deepEqual(errorOf(await call('viewer', 'GET', 'prod/addons/nope/history')), { code: 'NOT_FOUND', message: "add-on 'nope' of cluster 'prod' not found" });
    assert.equal((await call('stranger', 'GET', 'prod/addons/web/history')).status, 404);
  });

  it('addons api - rollback and sync go to the agent as the caller; 202 with the operation id and the add-on; audited', async () => {
    const agent = fakeAgent();
    const recorded: Recorded = { audits: [], operations: [] };
    const call = await setup({ agent, recorded });
    await call('admin', 'PUT', 'prod/addons/web', minimalSpec());
    const rolledBack = await call('editor', 'POST', 'prod/addons/web/rollback', { revision: 1 });
    assert.deepEqual([rolledBack.status, rolledBack.body.operationId, (rolledBack.body.addon as AddonView).name], [202, 'op-7', 'web']);
    assert.equal((await call('admin', 'POST', 'prod/addons/web/sync')).status, 202);
    assert.equal((await call('root', 'POST', 'c_prod/addons/web/sync', {})).status, 202);

    assert.deepEqual(agent.requests, [
      { method: 'POST', path: ADDON_PATHS.operations, body: { addon: 'web', action: 'rollback', revision: 1, requestedBy: 'editor' }, timeoutMs: 15_000 },
      { method: 'POST', path: ADDON_PATHS.operations, body: { addon: 'web', action: 'sync', requestedBy: 'admin' }, timeoutMs: 15_000 },
      { method: 'POST', path: ADDON_PATHS.operations, body: { addon: 'web', action: 'sync', requestedBy: 'root' }, timeoutMs: 15_000 },
    ]);
    assert.deepEqual(recorded.operations, [['rollback', 'accepted'], ['sync', 'accepted'], ['sync', 'accepted']]);
    const operations = recorded.audits.filter((a) => a.subresource !== null);
    const [first] = operations;
    assert.ok(first);
    assert.deepEqual(
      [first.userName, first.clusterId, first.clusterName, first.verb, first.resource, first.subresource, first.namespace, first.name, first.path, first.status],
      ['editor', 'c_prod', 'prod', 'create', 'addons', 'rollback', 'web', 'web', '/api/v1/clusters/prod/addons/web/rollback', 202],
    );
    assert.equal(operations.length, 3);
  });

  it('addons api - a PUT that changes the spec and a DELETE are audited (never the values); the same spec again is not', async () => {
    const recorded: Recorded = { audits: [], operations: [] };
    const call = await setup({ recorded });
    await call('admin', 'PUT', 'prod/addons/web', minimalSpec({ values: 'password: hunter2\n' }));
    await call('admin', 'PUT', 'prod/addons/web', minimalSpec({ values: 'password: hunter2\n' }));
    await call('admin', 'PUT', 'prod/addons/web', minimalSpec({ values: 'password: hunter3\n' }));
    await call('admin', 'DELETE', 'prod/addons/web');
    assert.deepEqual(
      recorded.audits.map((a) => [a.userName, a.clusterName, a.verb, a.resource, a.subresource, a.name, a.status]),
      [['admin', 'prod', 'create', 'addons', null, 'web', 201], ['admin', 'prod', 'update', 'addons', null, 'web', 200], ['admin', 'prod', 'delete', 'addons', null, 'web', 202]],
    );
    assert.doesNotMatch(JSON.stringify(recorded.audits), /hunter/);
  });

  it('addons api - rollback and sync need edit or admin (403 for view, 404 without a role), a live add-on and a good body', async () => {
    const agent = fakeAgent();
    const recorded: Recorded = { audits: [], operations: [] };
    const call = await setup({ agent, recorded });
    await call('admin', 'PUT', 'prod/addons/web', minimalSpec());
    await call('admin', 'PUT', 'prod/addons/old', minimalSpec());
    await call('admin', 'DELETE', 'prod/addons/old');
    recorded.audits.length = 0;
    const refusals: [Caller, string, unknown, number, string, string][] = [
      ['viewer', 'web/rollback', { revision: 1 }, 403, 'FORBIDDEN', "rolling back or syncing add-ons needs the edit or admin role on cluster 'prod' (yours is view)"],
      ['viewer', 'web/sync', undefined, 403, 'FORBIDDEN', "rolling back or syncing add-ons needs the edit or admin role on cluster 'prod' (yours is view)"],
      ['stranger', 'web/sync', undefined, 404, 'NOT_FOUND', "cluster 'prod' not found"],
      ['editor', 'nope/sync', undefined, 404, 'NOT_FOUND', "add-on 'nope' of cluster 'prod' not found"],
      ['editor', 'old/rollback', { revision: 1 }, 409, 'ADDON_DELETED', "add-on 'old' of cluster 'prod' is deleted and being uninstalled; put it again before a rollback"],
      ['editor', 'web/rollback', {}, 400, 'ADDON_OPERATION_INVALID', "revision is required: the release revision to roll back to (see the add-on's history)"],
      ['editor', 'web/rollback', { revision: 0 }, 400, 'ADDON_OPERATION_INVALID', 'revision must be a whole number from 1 to 2147483647, got 0'],
      ['editor', 'web/rollback', { revision: '2' }, 400, 'ADDON_OPERATION_INVALID', 'revision must be a whole number from 1 to 2147483647, got "2"'],
      ['editor', 'web/rollback', { revision: 2, force: true }, 400, 'ADDON_OPERATION_INVALID', "unknown field 'force' (known: revision)"],
      ['editor', 'web/sync', { prune: true }, 400, 'ADDON_OPERATION_INVALID', 'a sync takes only allowOutsideWindow, not prune'],
      ['editor', 'web/sync', { allowOutsideWindow: 'yes' }, 400, 'ADDON_OPERATION_INVALID', 'allowOutsideWindow must be true or false'],
    ];
    for (const [caller, path, body, status, code, message] of refusals) {
      const answer = await call(caller, 'POST', `prod/addons/${path}`, body);
      assert.deepEqual([answer.status, errorOf(answer)], [status, { code, message }], `${caller} ${path}`);
    }
    assert.deepEqual(agent.requests, []);
    assert.deepEqual(recorded.audits.map((a) => [a.userName, a.clusterId, a.status]), refusals.map(([caller, , , status]) => [caller, caller === 'stranger' ? '' : 'c_prod', status]));
    assert.ok(recorded.operations.every(([, outcome]) => outcome === 'refused'));
  });

  it('addons api - an unlinked cluster is 503; the agent\'s errors are relayed with their catalogue status, its timeout is 504, an answer without a known code 502', async () => {
    const agent = fakeAgent();
    const recorded: Recorded = { audits: [], operations: [] };
    const call = await setup({ agent, recorded });
    await call('admin', 'PUT', 'prod/addons/web', minimalSpec());
    const cases: [FakeAgent['answer'], number, string, RegExp][] = [
      [{ status: 409, body: { error: { code: 'REVISION_NOT_FOUND', message: "release 'web' has no revision 9" } } }, 409, 'REVISION_NOT_FOUND', /^release 'web' has no revision 9$/],
      [{ status: 404, body: undefined }, 502, 'AGENT_ERROR', /^the agent of cluster 'prod' answered 404$/],
      [new LinkRequestError('LINK_TIMEOUT', 'timed out'), 504, 'LINK_TIMEOUT', /^cluster 'prod': the agent did not accept the rollback of 'web' within 15 s$/],
      [new LinkRequestError('LINK_CLOSED', 'the agent link is closed'), 502, 'LINK_CLOSED', /^cluster 'prod': the agent link is closed$/],
      [{ status: 500, body: { error: { code: 'INTERNAL', message: 'boom' } } }, 500, 'INTERNAL', /could not run the rollback: boom$/],
      [{ status: 202, body: {} }, 502, 'LINK_BAD_RESPONSE', /without a usable operationId$/],
    ];
    for (const [answer, status, code, message] of cases) {
      agent.answer = answer;
      const got = await call('editor', 'POST', 'prod/addons/web/rollback', { revision: 9 });
      assert.equal(got.status, status, JSON.stringify(got.body));
      assert.equal((errorOf(got) as { code: string }).code, code);
      assert.match((errorOf(got) as { message: string }).message, message);
    }
    agent.isOpen = false;
    const offline = await call('editor', 'POST', 'prod/addons/web/sync');
    assert.deepEqual([offline.status, errorOf(offline)], [503, {
      code: 'CLUSTER_OFFLINE', message: "cluster 'prod' is offline: its agent is not linked to the hub, and a sync runs on the agent",
    }]);
    assert.deepEqual(recorded.operations.map(([, outcome]) => outcome), ['refused', 'failed', 'failed', 'failed', 'failed', 'failed', 'offline']);
  });
});
