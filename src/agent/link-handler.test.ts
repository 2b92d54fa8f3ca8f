// The agent's link routes when something inside fails: the request is
// answered 500 and logged, and the agent (this process) carries on.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http2 from 'node:http2';
import { describe, it, type TestContext } from 'node:test';
import { AgentMetrics } from './metrics.ts';
import { createLinkHandler, type LinkHandlerOptions } from './link-handler.ts';

async function serve(t: TestContext, options: Partial<LinkHandlerOptions>): Promise<{ get: (path: string) => Promise<number>; errors: string[] }> {
  const errors: string[] = [];
  const log = { error: (_fields: unknown, message: string) => { errors.push(message); }, warn: () => undefined, info: () => undefined, debug: () => undefined };
  const handler = createLinkHandler({ log, metrics: new AgentMetrics(), heartbeatIntervalSeconds: 15, resources: {}, ...options } as unknown as LinkHandlerOptions);
  const server = http2.createServer(handler);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const client = http2.connect(`http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`);
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (session) => { sessions.add(session); });
  t.after(() => {
    client.destroy();
    for (const session of sessions) session.destroy();
    server.close();
  });
  const get = (path: string): Promise<number> => new Promise((resolve, reject) => {
    const stream = client.request({ ':path': path });
    stream.on('response', (headers) => { resolve(Number(headers[':status'])); stream.close(); });
    stream.on('error', reject);
  });
  return { get, errors };
}

describe('link handler', () => {
  it('link handler - a route whose work rejects answers 500 and logs; one that throws at once too', async (t) => {
    const { get, errors } = await serve(t, {
      collectFacts: () => Promise.reject(new Error('inventory gone')),
      kubeProxy: () => { throw new URIError('URI malformed'); },
    });
    assert.equal(await get('/v1/info'), 500);
    assert.equal(await get('/v1/kube/api/%E0%A4%A'), 500);
    assert.deepEqual(errors, ['a link request failed inside the agent', 'a link request failed inside the agent']);
    assert.equal(await get('/v1/nope'), 404, 'the agent carries on');
  });
});
