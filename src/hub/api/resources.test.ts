// The resource routes against a fake link: who may read what, how refusals
// look, and that every answer carries the cluster's state.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { HubSession } from '../../link/hub-session.ts';
import { createLogger } from '../../util/logger.ts';
import { Fleet } from '../fleet.ts';
import { ClusterLimiter } from '../kube/limiter.ts';
import { HubMetrics } from '../metrics.ts';
import { StreamAudit, type StreamAuditor } from '../stream-audit.ts';
import { StoreUnavailableError, type AuditRecord, type Role } from '../store/index.ts';
import { useMemoryStore } from '../store/memory-store.test-helper.ts';
import { registerResourceRoutes } from './resources.ts';
import { buildApiApp } from './app.ts';

const INVENTORY = { synced: true, kinds: 2, syncedKinds: 2, objects: 3, stalenessSeconds: 1, startedAt: 't', syncedAt: 't' };
const CONFIGMAPS = { resource: 'configmaps', kind: 'ConfigMap', group: '', version: 'v1', namespaced: true, shortNames: ['cm'] };
const SECRETS = { ...CONFIGMAPS, resource: 'secrets', kind: 'Secret', shortNames: [] };

type Answer = { status: number; body: unknown };

/** A linked session whose unary answers come from `answer`; it records the paths asked. */
function fakeSession(answer: (path: string) => Answer): { session: HubSession; paths: string[] } {
  const paths: string[] = [];
  const session = {
    isOpen: true,
    closed: new Promise(() => undefined),
    close: () => undefined,
    requestJson: (_method: string, path: string) => {
      paths.push(path);
      return Promise.resolve(answer(path));
    },
  } as unknown as HubSession;
  return { session, paths };
}

interface Setup {
  app: FastifyInstance;
  paths: string[];
  audits: AuditRecord[];
  metrics: HubMetrics;
}

function agentAnswers(path: string): Answer {
  const kind = new URLSearchParams(path.split('?')[1]).get('kind');
  if (kind === 'nope') return { status: 404, body: { error: { code: 'UNKNOWN_KIND', message: "unknown kind 'nope'" } } };
  const info = kind === 'secrets' || kind === 'sec-alias' ? SECRETS : CONFIGMAPS;
  if (path.startsWith('/v1/resources/list')) return { status: 200, body: { kind: info, items: [], continue: null, total: 0, inventory: INVENTORY } };
  return { status: 200, body: { items: [], inventory: INVENTORY } };
}

describe('resource routes', () => {
  const store = useMemoryStore();

  async function setup(role: Role | null, options: { linked?: boolean; maxUnary?: number; name?: string; streamAudit?: StreamAuditor } = {}): Promise<Setup> {
    const log = createLogger({ name: 'test', level: 'silent' });
    const metrics = new HubMetrics();
    const fleet = new Fleet({ store: store(), log, metrics, offlineAfterMs: 45_000 });
    const name = options.name ?? 'prod';
    const cluster = await store().createCluster({ id: `c_${name}`, name, labels: {}, tokenHash: 'h', createdAt: new Date().toISOString() });
    const { session, paths } = fakeSession(agentAnswers);
    if (options.linked !== false) fleet.attach(cluster.id, session, '1.0.0');
    const audits: AuditRecord[] = [];
    const app = buildApiApp({ log: createLogger({ name: 'test', level: 'silent' }) });
    app.decorateRequest('principal', null);
    app.addHook('onRequest', async (req) => {
      req.principal = { tokenId: 't', userId: 'u_1', userName: 'ann', grants: role ? [{ userId: 'u_1', role, clusterId: cluster.id }] : [] };
      return Promise.resolve();
    });
    registerResourceRoutes(app, {
      store: store(), fleet, log, metrics, audit: (record) => { audits.push(record); },
      streamAudit: options.streamAudit ?? new StreamAudit({ store: store(), replica: null, onEndLost: (error) => { throw error; } }),
      limiter: new ClusterLimiter({ unary: options.maxUnary ?? 4, streaming: 4 }),
      liveStreams: { register: () => () => undefined },
    });
    return { app, paths, audits, metrics };
  }

  it('resources - a list is the agent answer plus the cluster state, with the query passed on', async () => {
    const { app, paths } = await setup('view');
    const response = await app.inject({ url: '/api/v1/clusters/prod/resources/configmaps?namespace=default&limit=5' });
    assert.equal(response.statusCode, 200, response.body);
    const body = response.json<{ kind: unknown; cluster: { name: string; status: string; connected: boolean } }>();
    assert.deepEqual(body.kind, CONFIGMAPS);
    assert.equal(body.cluster.name, 'prod');
    assert.equal(body.cluster.connected, true);
    assert.deepEqual(paths, ['/v1/resources/list?kind=configmaps&namespace=default&limit=5']);
  });

  it('resources - a caller without a role gets 404, as if the cluster did not exist', async () => {
    const { app } = await setup(null);
    const response = await app.inject({ url: '/api/v1/clusters/prod/resources' });
    assert.equal(response.statusCode, 404);
    assert.equal(response.json<{ cluster?: unknown }>().cluster, undefined);
  });

  it('resources - view may not read secrets, by name or by the kind the agent resolved; edit may', async () => {
    const view = await setup('view');
    for (const url of ['/resources/secrets', '/resources/Secret/x', '/watch/secret', '/resources/sec-alias']) {
      const response = await view.app.inject({ url: `/api/v1/clusters/prod${url}` });
      assert.equal(response.statusCode, 403, url);
      const body = response.json<{ error: { message: string }; cluster: { name: string } }>();
      assert.match(body.error.message, /reading secrets needs the edit or admin role/);
      assert.equal(body.cluster.name, 'prod');
    }
    // Only the alias reached the agent: the others were refused by name.
    assert.equal(view.paths.length, 1);
    const edit = await setup('edit', { name: 'dev' });
    assert.equal((await edit.app.inject({ url: '/api/v1/clusters/dev/resources/secrets' })).statusCode, 200);
  });

  it('resources - the agent\'s error is relayed with its status and message, plus the cluster', async () => {
    const { app, metrics } = await setup('admin');
    const response = await app.inject({ url: '/api/v1/clusters/prod/resources/nope' });
    assert.equal(response.statusCode, 404);
    const body = response.json<{ error: { code: string; message: string }; cluster: { name: string } }>();
    assert.deepEqual(body.error, { code: 'UNKNOWN_KIND', message: "unknown kind 'nope'" });
    assert.equal(body.cluster.name, 'prod');
    assert.match(await metrics.registry.metrics(), /uplink_hub_resource_requests_total\{route="list",outcome="agent_error"\} 1/);
  });

  it('resources - an unlinked cluster answers 503 with Retry-After, naming it, with its state', async () => {
    const { app } = await setup('view', { linked: false });
    const response = await app.inject({ url: '/api/v1/clusters/prod/resources/pods/web/events' });
    assert.equal(response.statusCode, 503);
    assert.equal(response.headers['retry-after'], '5');
    const body = response.json<{ error: { code: string; message: string }; cluster: unknown }>();
    assert.equal(body.error.code, 'CLUSTER_OFFLINE');
    assert.match(body.error.message, /cluster 'prod' is offline: its agent has never connected/);
    assert.deepEqual(body.cluster, { name: 'prod', status: 'never-connected', connected: false, lastHeartbeatAgeSeconds: null });
  });

  it('resources - a full limiter answers 429 with Retry-After', async () => {
    const { app } = await setup('view', { maxUnary: 0 });
    const response = await app.inject({ url: '/api/v1/clusters/prod/resources' });
    assert.equal(response.statusCode, 429);
    assert.equal(response.headers['retry-after'], '1');
  });

  it('resources - bad parameters are a 400 naming the parameter', async () => {
    const { app } = await setup('view');
    const limit = await app.inject({ url: '/api/v1/clusters/prod/resources/pods?limit=5000' });
    assert.equal(limit.statusCode, 400);
    assert.match(limit.json<{ error: { message: string } }>().error.message, /limit/);
    const kind = await app.inject({ url: '/api/v1/clusters/prod/resources/no%20spaces' });
    assert.equal(kind.statusCode, 400);
    assert.match(kind.json<{ error: { message: string } }>().error.message, /kind/);
  });

  it('resources - every log request leaves one audit row, refused ones too', async () => {
    const { app, audits } = await setup('view', { linked: false });
    const refused = await app.inject({ url: '/api/v1/clusters/prod/logs?namespace=web&labelSelector=app%3Dweb' });
    assert.equal(refused.statusCode, 503);
    const invalid = await app.inject({ url: '/api/v1/clusters/prod/logs?namespace=web' });
    assert.equal(invalid.statusCode, 400);
    assert.equal(audits.length, 2);
    assert.deepEqual(
      { ...audits[0], at: undefined, durationMs: undefined },
      {
        at: undefined, durationMs: undefined, userId: 'u_1', userName: 'ann', clusterId: 'c_prod', clusterName: 'prod', verb: 'get',
        resource: 'pods', subresource: 'log', namespace: 'web', name: 'app=web', path: '/api/v1/clusters/prod/logs',
        status: 503, bytesIn: 0, bytesOut: 0, command: null,
      },
    );
    assert.equal(audits[1]?.status, 400);
  });

  it('resources - a log stream whose audit row cannot be stored is refused 503 and never reaches the agent', async () => {
    const unwritable: StreamAuditor = { open: () => Promise.reject(new StoreUnavailableError('STORE_UNAVAILABLE', 'the database is away')) };
    const { app, audits, paths } = await setup('view', { streamAudit: unwritable });
    const response = await app.inject({ url: '/api/v1/clusters/prod/logs?namespace=web&pod=web-1&follow=true' });
    assert.equal(response.statusCode, 503, response.body);
    assert.equal(response.json<{ error: { code: string } }>().error.code, 'STORE_UNAVAILABLE');
    assert.deepEqual(paths, [], 'nothing was asked of the agent');
    assert.deepEqual(audits.map((row) => row.status), [503], 'the refusal is recorded as a row at its end, when the store takes it');
  });
});
