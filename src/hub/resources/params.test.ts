import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ListQuery, LogsQuery, MAX_SELECTOR_LENGTH, WatchQuery, agentPath, checkLogsQuery, checkedQuery, isSecretKind, namesSecrets, validationMessage,
} from './params.ts';
import { createLogger } from '../../util/logger.ts';
import { buildApiApp } from '../api/app.ts';

/** Runs a query string through fastify's validation of `schema`, as the routes do; returns the error message or the query. */
async function validate(schema: Parameters<typeof checkedQuery>[1], query: string, extra?: (q: never) => void): Promise<{ status: number; body: unknown }> {
  const app = buildApiApp({ log: createLogger({ name: 'test', level: 'silent' }) });
  app.get('/q', { schema: { querystring: schema }, attachValidation: true }, async (req) => {
    const checked = checkedQuery(req, schema);
    extra?.(checked as never);
    return Promise.resolve(checked);
  });
  const response = await app.inject({ method: 'GET', url: `/q?${query}` });
  await app.close();
  return { status: response.statusCode, body: response.json() };
}

function messageOf(body: unknown): string {
  return (body as { error: { message: string } }).error.message;
}

describe('resource query parameters', () => {
  it('params - a list query is coerced and bounded', async () => {
    const ok = await validate(ListQuery, 'namespace=default&labelSelector=app%3Dweb&limit=10&continue=abc&name=we');
    assert.equal(ok.status, 200);
    assert.deepEqual(ok.body, { namespace: 'default', labelSelector: 'app=web', limit: 10, continue: 'abc', name: 'we' });
    for (const [query, field] of [['limit=0', 'limit'], ['limit=1001', 'limit'], ['limit=ten', 'limit'], ['namespace=Bad_NS', 'namespace'],
      [`labelSelector=${'a'.repeat(MAX_SELECTOR_LENGTH + 1)}`, 'labelSelector'], [`continue=${'c'.repeat(4097)}`, 'continue']] as const) {
      const bad = await validate(ListQuery, query);
      assert.equal(bad.status, 400, query);
      assert.match(messageOf(bad.body), new RegExp(field), query);
    }
  });

  it('params - validation messages name the parameter plainly', async () => {
    const bad = await validate(ListQuery, 'limit=0');
    assert.equal(messageOf(bad.body), "query parameter 'limit' must be >= 1");
    assert.equal(validationMessage('params/kind must match pattern "^x$"'), 'path parameter \'kind\' must match pattern "^x$"');
    assert.equal(validationMessage('something else'), 'something else');
  });

  it('params - an unknown parameter is a 400 naming it and the allowed ones', async () => {
    const bad = await validate(WatchQuery, 'selector=app%3Dweb');
    assert.equal(bad.status, 400);
    assert.equal(messageOf(bad.body), "unknown query parameter 'selector' (allowed: namespace, labelSelector, name)");
  });

  it('params - log queries: numbers in range, booleans, exactly one of pod and labelSelector', async () => {
    const ok = await validate(LogsQuery, 'pod=web-1&follow=true&tailLines=10&sinceSeconds=60&previous=false&timestamps=true', checkLogsQuery);
    assert.equal(ok.status, 200);
    assert.deepEqual(ok.body, { pod: 'web-1', follow: true, tailLines: 10, sinceSeconds: 60, previous: false, timestamps: true });
    const cases: [string, RegExp][] = [
      ['', /exactly one of the query parameters pod and labelSelector/],
      ['pod=a&labelSelector=app%3Dx', /exactly one of the query parameters pod and labelSelector/],
      ['pod=a&maxPods=2', /maxPods applies only with labelSelector/],
      ['labelSelector=app&maxPods=33', /maxPods/],
      ['labelSelector=app&maxPods=0', /maxPods/],
      ['pod=a&tailLines=-1', /tailLines/],
      ['pod=a&sinceSeconds=0', /sinceSeconds/],
      ['pod=a&follow=maybe', /follow/],
      ['pod=A_B', /pod/],
      ['pod=a&container=C', /container/],
    ];
    for (const [query, message] of cases) {
      const bad = await validate(LogsQuery, query, checkLogsQuery);
      assert.equal(bad.status, 400, query);
      assert.match(messageOf(bad.body), message, query);
    }
  });

  it('params - secrets are recognised by any common spelling, and by the kind the agent resolved', () => {
    for (const kind of ['secrets', 'secret', 'Secret', 'SECRETS', 'secrets.v1', 'Secret.core']) assert.ok(namesSecrets(kind), kind);
    for (const kind of ['configmaps', 'secretstores', 'sealedsecrets', 'pods']) assert.ok(!namesSecrets(kind), kind);
    assert.ok(isSecretKind({ group: '', resource: 'secrets' }));
    assert.ok(!isSecretKind({ group: 'bitnami.com', resource: 'secrets' }));
  });

  it('params - the agent path carries only the parameters that are set, encoded', () => {
    assert.equal(agentPath('/v1/resources/list', { kind: 'pods', namespace: undefined, labelSelector: 'app in (a,b)', limit: 5 }),
      '/v1/resources/list?kind=pods&labelSelector=app+in+%28a%2Cb%29&limit=5');
    assert.equal(agentPath('/v1/logs', { follow: true, previous: false }), '/v1/logs?follow=true&previous=false');
    assert.equal(agentPath('/v1/resources/kinds', {}), '/v1/resources/kinds');
  });
});
