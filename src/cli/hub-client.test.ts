// HubClient.listAll against a real HTTP server on loopback that answers
// pages as the hub does: it follows continue tokens to the last page, works
// with a hub that answers everything at once, and stops on an answer that
// would make it loop.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it, type TestContext } from 'node:test';
import { HubApiError, HubClient } from './hub-client.ts';

type Answer = (query: URLSearchParams) => unknown;

/** A server answering GET /list with `answer(query)` as JSON; returns a client for it and the queries it was sent. */
async function serve(t: TestContext, answer: Answer): Promise<{ client: HubClient; queries: string[] }> {
  const queries: string[] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    queries.push(url.search);
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer(url.searchParams)));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => { server.close(); });
  const { port } = server.address() as AddressInfo;
  return { client: new HubClient({ hubUrl: `http://127.0.0.1:${port}`, token: 'upk_test' }), queries };
}

/** Pages of `limit` out of 0..total-1, the continue token being the next index as text. */
function paged(total: number): Answer {
  return (query) => {
    const limit = Number(query.get('limit'));
    const start = Number(query.get('continue') ?? 0);
    const items = Array.from({ length: Math.max(0, Math.min(limit, total - start)) }, (_, i) => start + i);
    return { items, metadata: start + limit < total ? { continue: String(start + limit) } : {} };
  };
}

describe('hub client', () => {
  it('hub client - listAll follows continue to the last page and returns every item in order', async (t) => {
    const { client, queries } = await serve(t, paged(7));
    assert.deepEqual(await client.listAll<number>('/list', 3), [0, 1, 2, 3, 4, 5, 6]);
    assert.deepEqual(queries, ['?limit=3', '?limit=3&continue=3', '?limit=3&continue=6']);
  });

  it('hub client - listAll takes an answer without metadata (a hub without pages) as the whole list', async (t) => {
    const { client, queries } = await serve(t, () => ({ items: ['a', 'b'] }));
    assert.deepEqual(await client.listAll<string>('/list', 1000), ['a', 'b']);
    assert.equal(queries.length, 1);
  });

  it('hub client - listAll stops with an error when the hub sends the same continue token again', async (t) => {
    const { client, queries } = await serve(t, () => ({ items: [1], metadata: { continue: 'same' } }));
    await assert.rejects(client.listAll('/list', 1), (error) => error instanceof HubApiError && /same continue token twice/.test(error.message));
    assert.equal(queries.length, 2);
  });
});
