// The agent upgrade route: who may ask, what a version must be, how the
// agent's answers are relayed, and the audit row every request leaves.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LinkRequestError } from '../../link/hub-session.ts';
import { AGENT_PATHS } from '../../link/protocol.ts';
import { createLogger } from '../../util/logger.ts';
import type { OperationLink } from '../addons/index.ts';
import type { AuditRecord, Role } from '../store/index.ts';
import { useMemoryStore } from '../store/memory-store.test-helper.ts';
import { AGENT_UPGRADE_TIMEOUT_MS, parseAgentUpgradeBody, registerAgentUpgradeRoutes } from './agent-upgrade.ts';
import { buildApiApp } from './app.ts';

/** The caller's grant, from a test header: `admin@prod`, `edit@*`, or none. */
const GRANT_HEADER = 'x-test-grant';

interface Asked {
  method: string;
  path: string;
  body: unknown;
  timeoutMs: number | undefined;
}

/** The agent's end of the link: what it was asked, and the answer it gives. */
function fakeLink(answer: { status: number; body: unknown } | Error, asked: Asked[], isOpen = true): OperationLink {
  return {
    isOpen,
    requestJson: (method: string, path: string, body?: unknown, timeoutMs?: number) => {
      asked.push({ method, path, body, timeoutMs });
      return answer instanceof Error ? Promise.reject(answer) : Promise.resolve(answer as { status: number; body: never });
    },
  };
}

describe('agent upgrade route', () => {
  const store = useMemoryStore();

  async function setup(link: OperationLink | undefined): Promise<{ call: (grant: string | null, body?: unknown) => Promise<{ status: number; body: Record<string, unknown> }>; audits: AuditRecord[] }> {
    if (await store().getCluster('c_prod')) return setupApp(link);
    await store().createCluster({ id: 'c_prod', name: 'prod', labels: {}, tokenHash: 'h', createdAt: '2026-03-04T10:00:00.000Z' });
    return setupApp(link);
  }

  function setupApp(link: OperationLink | undefined): { call: (grant: string | null, body?: unknown) => Promise<{ status: number; body: Record<string, unknown> }>; audits: AuditRecord[] } {
    const audits: AuditRecord[] = [];
    const app = buildApiApp({ log: createLogger({ name: 'test', level: 'silent' }) });
    app.decorateRequest('principal', null);
    app.addHook('onRequest', async (req) => {
      const [role, on] = String(req.headers[GRANT_HEADER] ?? '').split('@');
      const grants = role === '' ? [] : [{ userId: 'u_1', role: role as Role, clusterId: on === '*' ? null : 'c_prod' }];
      req.principal = { tokenId: 't', userId: 'u_1', userName: 'ann', grants };
      return Promise.resolve();
    });
    registerAgentUpgradeRoutes(app, {
      store: store(), log: createLogger({ name: 'test', level: 'silent' }),
      sessionOf: (clusterId) => (clusterId === 'c_prod' ? link : undefined),
      audit: (record) => { audits.push(record); },
    });
    const call = async (grant: string | null, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> => {
      const response = await app.inject({
        method: 'POST', url: '/api/v1/clusters/prod/agent/upgrade', headers: grant === null ? {} : { [GRANT_HEADER]: grant },
        ...(body === undefined ? {} : { payload: body as Record<string, unknown> }),
      });
      return { status: response.statusCode, body: response.json<Record<string, unknown>>() };
    };
    return { call, audits };
  }

  it('agent upgrade route - an admin of the cluster (or of the fleet) gets 202 with the agent\'s operation id; the agent is asked as the caller; audited', async () => {
    const asked: Asked[] = [];
    const { call, audits } = await setup(fakeLink({ status: 202, body: { operationId: 'op-1' } }, asked));
    for (const grant of ['admin@prod', 'admin@*']) {
      const answer = await call(grant, { version: '1.4.0' });
      assert.deepEqual([answer.status, answer.body], [202, { operationId: 'op-1' }]);
    }
    assert.deepEqual(asked[0], { method: 'POST', path: AGENT_PATHS.agentUpgrade, body: { version: '1.4.0', requestedBy: 'ann' }, timeoutMs: AGENT_UPGRADE_TIMEOUT_MS });
    const row = audits[0];
    assert.deepEqual(
      [row?.userName, row?.clusterId, row?.clusterName, row?.verb, row?.resource, row?.subresource, row?.namespace, row?.name, row?.path, row?.status],
      ['ann', 'c_prod', 'prod', 'create', 'agent', 'upgrade', null, '1.4.0', '/api/v1/clusters/prod/agent/upgrade', 202],
    );
  });

  it('agent upgrade route - edit and view are refused with 403 naming the role; without a role the cluster does not exist (404); each is audited', async () => {
    const asked: Asked[] = [];
    const { call, audits } = await setup(fakeLink({ status: 202, body: { operationId: 'op-1' } }, asked));
    for (const role of ['edit', 'view'] as const) {
      const answer = await call(`${role}@prod`, { version: '1.4.0' });
      assert.deepEqual([answer.status, answer.body.error], [403, { code: 'FORBIDDEN', message: `upgrading the agent of cluster 'prod' needs the admin role on it (yours is ${role})` }]);
    }
    const stranger = await call(null, { version: '1.4.0' });
    assert.deepEqual([stranger.status, stranger.body.error], [404, { code: 'NOT_FOUND', message: "cluster 'prod' not found" }]);
    assert.equal(asked.length, 0);
    assert.deepEqual(audits.map((a) => a.status), [403, 403, 404]);
  });

  it('agent upgrade route - the version must be an exact semantic version and the only field (400 naming it)', async () => {
    const { call } = await setup(fakeLink({ status: 202, body: { operationId: 'op-1' } }, []));
    const refused: [unknown, RegExp][] = [
      [undefined, /the body must be \{"version": "X.Y.Z"\}/],
      [{}, /version is required/],
      [{ version: '^1.2' }, /version must be an exact semantic version .* got "\^1.2"/],
      [{ version: 'v1.2.3' }, /no leading v/],
      [{ version: '1.2' }, /exact semantic version/],
      [{ version: 12 }, /version is required/],
      [{ version: `1.2.3-${'a'.repeat(130)}` }, /exact semantic version/],
      [{ version: '1.2.3', force: true }, /unknown field 'force' \(known: version\)/],
    ];
    for (const [body, message] of refused) {
      const answer = await call('admin@prod', body);
      assert.equal(answer.status, 400, JSON.stringify(body));
      assert.equal((answer.body.error as { code: string }).code, 'AGENT_UPGRADE_INVALID');
      assert.match((answer.body.error as { message: string }).message, message);
    }
    for (const version of ['0.2.0', '1.4.0-rc.1', '1.4.0+build.7', '10.20.30-alpha.1+sha.5114f85']) assert.equal(parseAgentUpgradeBody({ version }), version);
  });

  it('agent upgrade route - an unlinked cluster is 503 CLUSTER_OFFLINE; the agent\'s errors are relayed with their catalogue status, its timeout is 504, a bad answer 502', async () => {
    const cases: [OperationLink | undefined, number, string, RegExp][] = [
      [undefined, 503, 'CLUSTER_OFFLINE', /cluster 'prod' is offline: its agent is not linked/],
      [fakeLink({ status: 202, body: {} }, [], false), 503, 'CLUSTER_OFFLINE', /offline/],
      [fakeLink({ status: 409, body: { error: { code: 'SELF_UPGRADE_UNAVAILABLE', message: 'this agent was not installed by its Helm chart' } } }, []), 409, 'SELF_UPGRADE_UNAVAILABLE', /^this agent was not installed by its Helm chart$/],
      [fakeLink({ status: 409, body: { error: { code: 'AGENT_UPGRADE_RUNNING', message: 'already upgrading' } } }, []), 409, 'AGENT_UPGRADE_RUNNING', /already upgrading/],
      [fakeLink(new LinkRequestError('LINK_TIMEOUT', 'timed out'), []), 504, 'LINK_TIMEOUT', /did not accept the upgrade within 15 s/],
      [fakeLink(new LinkRequestError('LINK_CLOSED', 'the agent link is closed'), []), 502, 'LINK_CLOSED', /the agent link is closed/],
      [fakeLink({ status: 503, body: { error: { code: 'AGENT_STOPPING', message: 'the agent is shutting down' } } }, []), 503, 'AGENT_STOPPING', /could not start the upgrade: the agent is shutting down/],
      [fakeLink({ status: 202, body: { operationId: '' } }, []), 502, 'LINK_BAD_RESPONSE', /without a usable operationId/],
    ];
    for (const [link, status, code, message] of cases) {
      const { call, audits } = await setup(link);
      const answer = await call('admin@prod', { version: '1.4.0' });
      assert.deepEqual([answer.status, (answer.body.error as { code: string }).code], [status, code]);
      assert.match((answer.body.error as { message: string }).message, message);
      assert.deepEqual(audits.map((a) => [a.status, a.name]), [[status, '1.4.0']]);
    }
  });
});
