// The agent's credentials and the hub's audit under attack through the
// kubectl endpoint: a path that tries to name another host or leave the API
// server's path never makes the agent dial anything, and what the audit log
// records is what was forwarded, whatever the encoding.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { TLSSocket } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { createTestNamespace, kubeconfigPath } from '../../helpers/cluster.ts';
import { createUserLogin, startHubCluster, type HubCluster } from '../../helpers/kubectl-hub.ts';
import { eventually, suiteContext } from '../../helpers/uplink.ts';

const { t: suite, runCleanups } = suiteContext('agent-link');

interface Arrival {
  tcp: number;
  requests: { authorization: string | undefined; clientCert: string | undefined; path: string | undefined }[];
}

/**
 * An HTTPS listener with the test cluster's own serving certificate (so the
 * agent, which trusts the cluster CA, would finish a handshake with it and
 * present its credentials, as it did with the kubelet), recording every TCP
 * connection and every request that reaches it.
 */
async function credentialTrap(t: typeof suite): Promise<{ port: number; seen: Arrival; ca: string }> {
  const pki = join(dirname(await kubeconfigPath()), 'pki');
  const seen: Arrival = { tcp: 0, requests: [] };
  const server = https.createServer({
    key: readFileSync(join(pki, 'admin.key')), cert: readFileSync(join(pki, 'admin.crt')),
    requestCert: true, rejectUnauthorized: false,
  }, (req, res) => {
    // Without a client certificate the peer certificate is an empty object.
    const peer = (req.socket instanceof TLSSocket ? req.socket.getPeerCertificate() : {}) as { subject?: { CN?: string } };
    seen.requests.push({ authorization: req.headers.authorization, clientCert: peer.subject?.CN, path: req.url });
    res.writeHead(200, { 'content-type': 'text/plain' }).end('uid=0(root)\n');
  });
  server.on('connection', () => { seen.tcp += 1; });
  server.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  t.after(() => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); }));
  return { port: (server.address() as AddressInfo).port, seen, ca: readFileSync(join(pki, 'ca.crt'), 'utf8') };
}

interface Answer {
  status: number;
  body: string;
}

describe('agent-link: the agent lends its credentials only to its API server', () => {
  let env: HubCluster;
  let caPem: string;
  let viewerToken: string;
  let namespace: string;

  before(async () => {
    env = await startHubCluster(suite, 'agent-link-e2e');
    namespace = await createTestNamespace(suite, 'agent-link');
    caPem = readFileSync(`${env.hub.dataDir}/tls/ca.crt`, 'utf8');
    const login = await createUserLogin(env.hub, 'viewer', 'view', env.clusterName);
    viewerToken = (JSON.parse(readFileSync(login, 'utf8')) as { token: string }).token;
  });

  after(async () => {
    await runCleanups();
  });

  /** A request to the hub's kubectl endpoint with the path sent exactly as written. */
  function raw(method: string, apiPath: string, token: string): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const req = https.request({
        host: '127.0.0.1', port: env.hub.port, method, path: `/k8s/clusters/${env.clusterId}${apiPath}`,
        ca: caPem, servername: 'localhost', agent: false, headers: { authorization: `Bearer ${token}` },
      }, (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => { body += chunk.toString(); });
        res.on('end', () => { resolve({ status: res.statusCode ?? 0, body }); });
      });
      req.on('error', reject);
      req.end();
    });
  }

  it('agent-link - a view user naming another host:port in the path gets 400 and nothing reaches that host', async (t) => {
    const trap = await credentialTrap(t);
    // The trap itself works: a client trusting the cluster CA completes a request.
    await new Promise<void>((resolve, reject) => {
      https.get({ host: '127.0.0.1', port: trap.port, path: '/probe', ca: trap.ca, servername: 'localhost' }, (res) => {
        res.resume();
        res.on('end', resolve);
      }).on('error', reject);
    });
    assert.equal(trap.seen.requests.length, 1, 'the trap records what reaches it');
    trap.seen.tcp = 0;
    trap.seen.requests.length = 0;

    const host = `127.0.0.1:${trap.port}`;
    const attacks = [
      `//${host}/exec/${namespace}/p/c?command=id&output=1`,
      `//${host}/api/v1/namespaces`,
      `///${host}/api`,
      `/%2F${host}/exec/${namespace}/p/c?command=id`,
      `/%2f%2f${host}/api`,
      `/./api/v1/namespaces`,
      `/api/../..//${host}/x`,
      `/api/%2e%2e/%2e%2e//${host}/x`,
      `/\\\\${host}/api`,
      `/api\\..\\..\\${host}`,
      `/api/v1/%5C%5C${host}`,
      `/api/%E0%A4%A`,
      `/exec/${namespace}/p/c?command=id`,
    ];
    for (const path of attacks) {
      for (const method of ['GET', 'POST']) {
        const answer = await raw(method, path, viewerToken);
        assert.equal(answer.status, 400, `${method} ${path}: ${answer.body}`);
        assert.match(answer.body, /"kind":"Status".*"reason":"BadRequest"/, path);
        assert.doesNotMatch(answer.body, new RegExp(String(trap.port)), 'the refusal does not echo the target');
      }
    }
    // The normal path still works for the same user, through the same agent.
    assert.equal((await raw('GET', `/api/v1/namespaces/${namespace}/configmaps`, viewerToken)).status, 200);
    assert.equal(trap.seen.tcp, 0, `connections reached the trap: ${JSON.stringify(trap.seen.requests)}`);
    assert.deepEqual(trap.seen.requests, [], 'no credential reached the trap');

    type Row = { userName: string; status: number };
    await eventually('an audit row for each refused attempt', 10_000, async () => {
      const { items } = await env.hub.client.request<{ items: Row[] }>('GET', '/api/v1/audit?limit=1000');
      // A malformed percent-escape is refused before the token is read, and not audited (it names no user).
      const audited = attacks.filter((path) => !path.includes('%E0%A4%A')).length * 2;
      return items.filter((r) => r.userName === 'viewer' && r.status === 400).length === audited ? true : undefined;
    });
  });

  it('agent-link - an exec with a percent-encoded path and query is audited as exec with its command', async () => {
    const answer = await raw('POST', `/api/v1/namespaces/${namespace}/pods/web-0/%65xec?%63ommand=i%64&command=-u&stdout=1`, viewerToken);
    assert.equal(answer.status, 403, `the cluster refuses exec to a view user: ${answer.body}`);
    type Row = { userName: string; verb: string; resource: string; subresource: string | null; namespace: string | null; name: string | null; command: string | null; status: number };
    const row = await eventually('the audit row of the exec', 10_000, async () => {
      const { items } = await env.hub.client.request<{ items: Row[] }>('GET', '/api/v1/audit?limit=1000');
      return items.find((r) => r.userName === 'viewer' && r.status === 403 && r.name === 'web-0');
    });
    assert.equal(row.subresource, 'exec');
    assert.equal(row.resource, 'pods');
    assert.equal(row.namespace, namespace);
    assert.equal(row.command, 'id -u');
    assert.equal(row.verb, 'create');
  });
});
