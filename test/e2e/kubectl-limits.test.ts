// kubectl at the API server's own limits, run directly and through the hub on
// the same objects with the outputs compared: exec arguments and selectors
// far beyond Node's 16 KiB of request line and headers, a CustomResourceDefinition
// over 2 MiB by server-side apply, request bodies just under and over the
// API server's 3 MiB, and what happens beyond the 1 MiB + 4 KiB of request
// line and headers the API server reads: a 431 Status, audited, bounded in a
// flood; and the hub's bound on long heads being received at once, which
// kubectl rides out by retrying. An agent that does not read envelopes is never sent a long head,
// and an upload slower than the hub's --request-timeout is the API server's
// to time out, not the hub's.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import tls from 'node:tls';
import { stringify } from 'yaml';
import type { AuditView } from '../../src/hub/api/audit.ts';
import { ANONYMOUS_BURST } from '../../src/hub/audit-sink.ts';
import { MAX_REQUEST_HEAD_BYTES } from '../../src/hub/connection-guard.ts';
import { LONG_HEAD_BYTES, MAX_LONG_HEADS } from '../../src/hub/request-heads.ts';
import { AGENT_PATHS } from '../../src/link/protocol.ts';
import { createTestNamespace, kubeconfigPath, kubectl, testTempDir, uniqueName } from '../helpers/cluster.ts';
import { kubectlVia, startHubCluster, type HubCluster } from '../helpers/kubectl-hub.ts';
import { linkRawAgent } from '../helpers/raw-agent.ts';
import { eventually, hubMetricsText, metricValue, startHub, suiteContext, type HubHandle } from '../helpers/uplink.ts';

/** The API server's limit on a create, update or patch body (k8s.io/apiserver pkg/server/config.go). */
const MAX_BODY_BYTES = 3 * 1024 * 1024;
/** Oversized requests in the flood: more than the audit log's burst for unauthenticated refusals. */
const FLOOD_REQUESTS = 80;

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One request on a fresh connection to a hub; resolves with its answer, or status 0 and the error code when the connection broke. */
function hubRequest(hub: HubHandle, path: string, token?: string): Promise<Answer> {
  const ca = readFileSync(join(hub.dataDir, 'tls', 'ca.crt'), 'utf8');
  return new Promise((resolve) => {
    const req = https.get(`${hub.url}${path}`, { ca, agent: false, headers: token === undefined ? {} : { authorization: `Bearer ${token}` } }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => { body += chunk.toString(); });
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, headers: res.headers, body }); });
      res.on('error', () => { resolve({ status: res.statusCode ?? 0, headers: res.headers, body }); });
    });
    req.on('error', (error: NodeJS.ErrnoException) => { resolve({ status: 0, headers: {}, body: error.code ?? error.message }); });
  });
}

/** A valid label selector of at least `chars` characters that every pod labelled app=app matches. */
function longLabelSelector(chars: number): string {
  const values: string[] = [];
  for (let length = 0; length < chars; length += `v${values.length}`.length + 1) values.push(`v${values.length}`);
  return `app=app,absent notin (${values.join(',')})`;
}

/** A valid field selector of at least `chars` characters that excludes no real pod. */
function longFieldSelector(chars: number): string {
  const terms: string[] = [];
  for (let length = 0; length < chars; length += `metadata.name!=absent-${terms.length}`.length + 1) terms.push(`metadata.name!=absent-${terms.length}`);
  return terms.join(',');
}

/** A line of a schema description, so that fields differ. */
function describeField(chars: number, seed: string): string {
  return Array.from({ length: Math.ceil(chars / 60) }, (_, i) => `Line ${i} of field ${seed}: what it does, its default and bounds.`).join(' ').slice(0, chars);
}

/**
 * A CustomResourceDefinition with a deep schema: `groups` top-level objects,
 * each with `fields` fields per level down `depth` levels. Its YAML, indented
 * as people write it, is about twice its compact JSON.
 */
function bigCrd(group: string, shape: { groups: number; fields: number; descriptionChars: number; depth: number }): Record<string, unknown> {
  const level = (depth: number, prefix: string): Record<string, unknown> => Object.fromEntries(Array.from({ length: shape.fields }, (_, f) => {
    const name = `${prefix}f${f}`;
    const description = describeField(shape.descriptionChars, name);
    return [`field${f}`, depth === 0 ? { type: 'string', description } : { type: 'object', description, properties: level(depth - 1, name) }];
  }));
  const properties = Object.fromEntries(Array.from({ length: shape.groups }, (_, g) => [`group${g}`, {
    type: 'object', description: describeField(shape.descriptionChars, `g${g}`), properties: level(shape.depth, `g${g}`),
  }]));
  return {
    apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: `bigs.${group}` },
    spec: {
      group, scope: 'Namespaced', names: { plural: 'bigs', singular: 'big', kind: 'Big', listKind: 'BigList' },
      versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', description: '', properties: { spec: { type: 'object', properties } } } } }],
    },
  };
}

/** A small CustomResourceDefinition whose compact JSON (what kubectl sends) is exactly `bytes` long. */
function crdOfBytes(group: string, bytes: number): string {
  const crd = bigCrd(group, { groups: 1, fields: 1, descriptionChars: 10, depth: 0 });
  const base = JSON.stringify(crd).length;
  const schema = ((crd.spec as { versions: { schema: { openAPIV3Schema: { description: string } } }[] }).versions[0]?.schema.openAPIV3Schema);
  assert.ok(schema);
  schema.description = 'd'.repeat(bytes - base);
  const json = JSON.stringify(crd);
  assert.equal(json.length, bytes);
  return json;
}

const { t: suite, runCleanups } = suiteContext('limits');

describe('kubectl at the API server\'s limits, directly and through the hub', () => {
  let env: HubCluster;
  let namespace: string;
  let pod: string;
  let directKubeconfig: string;
  let workDir: string;

  before(async () => {
    env = await startHubCluster(suite, 'limits-e2e');
    namespace = await createTestNamespace(suite, 'limits');
    directKubeconfig = await kubeconfigPath();
    workDir = testTempDir(suite, 'uplink-limits-');
    await kubectl(['-n', namespace, 'create', 'deployment', 'app', '--image=registry.invalid/app:1', '--replicas=1']);
    await kubectl(['-n', namespace, 'rollout', 'status', 'deployment/app', '--timeout=60s'], { timeoutMs: 70_000 });
    pod = (await kubectl(['-n', namespace, 'get', 'pods', '-l', 'app=app', '-o', 'jsonpath={.items[0].metadata.name}'])).stdout;
  });

  after(async () => {
    await runCleanups();
  });

  /** The same kubectl command directly and through the hub. */
  async function both(args: string[]): Promise<{ direct: Awaited<ReturnType<typeof kubectlVia>>; hub: Awaited<ReturnType<typeof kubectlVia>> }> {
    return { direct: await kubectlVia(directKubeconfig, args), hub: await kubectlVia(env.adminKubeconfig, args) };
  }

  const envelopesSent = async (): Promise<number> => {
    const text = await (await fetch(`${env.agent.healthUrl}/metrics`)).text();
    return metricValue(text, 'uplink_agent_link_requests_total', `path="${AGENT_PATHS.kubeEnvelope}"`);
  };

  it('limits - exec with a 70,000-character argument prints the same through the hub as directly', async () => {
    const argument = Array.from({ length: 8750 }, (_, i) => `w${String(i % 1000).padStart(3, '0')}-xyz`).join('');
    assert.equal(argument.length, 70_000);
    const envelopes = await envelopesSent();
    const { direct, hub } = await both(['-n', namespace, 'exec', pod, '--', 'echo', argument]);
    assert.equal(direct.code, 0, direct.stderr);
    assert.equal(direct.stdout, `${argument}\n`);
    assert.equal(hub.code, 0, hub.stderr);
    assert.equal(hub.stdout, direct.stdout);
    assert.ok(await envelopesSent() > envelopes, 'the request head went in an envelope');
    // With stdin: the client's bytes follow the envelope on the same stream.
    const withInput = ['-n', namespace, 'exec', '-i', pod, '--', 'sh', '-c', 'read line; echo "got:$line"; exit 3', argument];
    const directInput = await kubectlVia(directKubeconfig, withInput, 'hello through the envelope\n');
    const hubInput = await kubectlVia(env.adminKubeconfig, withInput, 'hello through the envelope\n');
    assert.equal(directInput.stdout, 'got:hello through the envelope\n', directInput.stderr);
    assert.deepEqual([hubInput.code, hubInput.stdout], [directInput.code, directInput.stdout], hubInput.stderr);
  });

  it('limits - get with a 20,000-character label selector and field selector lists the same through the hub', async () => {
    const labels = longLabelSelector(20_000);
    const fields = longFieldSelector(20_000);
    assert.ok(labels.length >= 20_000 && fields.length >= 20_000);
    for (const args of [['-l', labels], ['--field-selector', fields], ['-l', labels, '--field-selector', fields]]) {
      const { direct, hub } = await both(['-n', namespace, 'get', 'pods', '-o', 'name', ...args]);
      assert.equal(direct.code, 0, direct.stderr);
      assert.equal(direct.stdout.trim(), `pod/${pod}`);
      assert.equal(hub.code, 0, hub.stderr.slice(0, 500));
      assert.equal(hub.stdout, direct.stdout);
    }
  });

  it('limits - apply --server-side of a CustomResourceDefinition over 2 MiB works through the hub', async (t) => {
    const group = `${uniqueName('limits')}.uplink.test`;
    const crd = bigCrd(group, { groups: 5, fields: 6, descriptionChars: 100, depth: 3 });
    const yaml = stringify(crd);
    const file = join(workDir, 'big-crd.yaml');
    writeFileSync(file, yaml);
    t.diagnostic(`CRD manifest: ${yaml.length} bytes of YAML, ${JSON.stringify(crd).length} bytes as compact JSON`);
    assert.ok(yaml.length >= 2 * 1024 * 1024, `${yaml.length} bytes`);
    t.after(async () => { await kubectl(['delete', 'crd', `bigs.${group}`, '--ignore-not-found', '--wait=false']); });
    const applied = await kubectlVia(env.adminKubeconfig, ['apply', '--server-side', '-f', file]);
    assert.equal(applied.code, 0, applied.stderr);
    assert.equal(applied.stdout.trim(), `customresourcedefinition.apiextensions.k8s.io/bigs.${group} serverside-applied`);
    const again = await both(['apply', '--server-side', '-f', file]);
    assert.equal(again.hub.stdout, again.direct.stdout, 'a second apply is the same no-op both ways');
    const read = await both(['get', 'crd', `bigs.${group}`, '-o', 'json']);
    assert.equal(read.direct.code, 0, read.direct.stderr);
    assert.equal(read.hub.stdout, read.direct.stdout, `the ${read.direct.stdout.length}-byte object reads the same through the hub`);
  });

  it('limits - a body just under the API server\'s 3 MiB passes and one over gets its own 413, the same through the hub', async () => {
    const run = async (bytes: number): Promise<Awaited<ReturnType<typeof both>>> => {
      const file = join(workDir, `crd-${bytes}.json`);
      writeFileSync(file, crdOfBytes(`${uniqueName('limits')}.uplink.test`, bytes));
      return both(['create', '--dry-run=server', '-o', 'name', '-f', file]);
    };
    const under = await run(MAX_BODY_BYTES - 64 * 1024);
    assert.equal(under.direct.code, 0, under.direct.stderr);
    assert.match(under.direct.stdout, /^customresourcedefinition\.apiextensions\.k8s\.io\/bigs\./);
    assert.equal(under.hub.code, 0, under.hub.stderr);
    const over = await run(MAX_BODY_BYTES + 64 * 1024);
    assert.notEqual(over.direct.code, 0);
    assert.match(over.direct.stderr, /too large|413|RequestEntityTooLarge/i, over.direct.stderr);
    assert.notEqual(over.hub.code, 0);
    assert.equal(over.hub.stderr.replace(/crd-\d+\.json/g, 'F'), over.direct.stderr.replace(/crd-\d+\.json/g, 'F'));
  });

  it('limits - a 900 KiB query passes the hub in an envelope', async () => {
    const selector = longLabelSelector(740_000);
    const path = `/k8s/clusters/${env.clusterId}/api/v1/namespaces/${namespace}/pods?labelSelector=${encodeURIComponent(selector)}`;
    assert.ok(path.length > 900 * 1024 && path.length < MAX_REQUEST_HEAD_BYTES - 1024, `${path.length} characters`);
    const envelopes = await envelopesSent();
    const answer = await hubRequest(env.hub, path, env.hub.adminToken);
    assert.equal(answer.status, 200, answer.body.slice(0, 300));
    const items = (JSON.parse(answer.body) as { items: { metadata: { name: string } }[] }).items.map((item) => item.metadata.name);
    assert.deepEqual(items, [pod]);
    assert.equal(await envelopesSent(), envelopes + 1);
  });

  it('limits - a request line and headers over 1 MiB + 4 KiB get a 431 Status and an audit row', async () => {
    const path = `/k8s/clusters/${env.clusterId}/api/v1/namespaces/${namespace}/pods?labelSelector=${'a'.repeat(MAX_REQUEST_HEAD_BYTES)}`;
    const before = metricValue(await hubMetricsText(env.hub), 'uplink_hub_request_heads_refused_total', 'reason="too_large"');
    const answer = await hubRequest(env.hub, path, env.hub.adminToken);
    assert.equal(answer.status, 431, answer.body);
    assert.equal(answer.headers['content-type'], 'application/json');
    const status = JSON.parse(answer.body) as { kind: string; status: string; code: number; reason: string; message: string };
    assert.deepEqual([status.kind, status.status, status.code, status.reason], ['Status', 'Failure', 431, 'RequestHeaderFieldsTooLarge']);
    assert.match(status.message, /longer than 1052672 bytes/);
    assert.equal(metricValue(await hubMetricsText(env.hub), 'uplink_hub_request_heads_refused_total', 'reason="too_large"'), before + 1);
    const rows = await env.hub.client.request<{ items: AuditView[] }>('GET', '/api/v1/audit?user=(unauthenticated)');
    assert.deepEqual(rows.items.filter((row) => row.status === 431).map((row) => [row.verb, row.path]),
      [['get', `/k8s/clusters/${env.clusterId}/api/v1/namespaces/${namespace}/pods`]], 'one row, with the method and path (the query is not kept)');
  });

  it('limits - beyond the long heads the hub receives at once, one more gets 429 and kubectl retries it by itself', async (t) => {
    const url = new URL(env.hub.url);
    const caPem = readFileSync(join(env.hub.dataDir, 'tls', 'ca.crt'), 'utf8');
    const held: tls.TLSSocket[] = [];
    t.after(() => { for (const socket of held) socket.destroy(); });
    for (let i = 0; i < MAX_LONG_HEADS; i += 1) {
      const socket = tls.connect({ host: url.hostname, port: Number(url.port), ca: caPem, servername: 'localhost' });
      socket.on('error', () => undefined);
      await once(socket, 'secureConnect');
      socket.write(`GET /k8s/clusters/${env.clusterId}/api/v1/pods?labelSelector=${'h'.repeat(LONG_HEAD_BYTES * 2)}`);
      held.push(socket);
    }
    const refusals = async (): Promise<number> => metricValue(await hubMetricsText(env.hub), 'uplink_hub_request_heads_refused_total', 'reason="too_many_long"');
    await eventually('every held head counted as long', 30_000, async () => (
      metricValue(await hubMetricsText(env.hub), 'uplink_hub_long_request_heads') === MAX_LONG_HEADS ? true : undefined));
    const before = await refusals();
    const selector = longLabelSelector(20_000);
    const refused = await hubRequest(env.hub, `/k8s/clusters/${env.clusterId}/api/v1/namespaces/${namespace}/pods?labelSelector=${encodeURIComponent(selector)}`, env.hub.adminToken);
    assert.equal(refused.status, 429, refused.body);
    assert.equal(refused.headers['retry-after'], '1');
    assert.equal((JSON.parse(refused.body) as { reason: string }).reason, 'TooManyRequests');
    assert.equal((await hubRequest(env.hub, `/k8s/clusters/${env.clusterId}/version`, env.hub.adminToken)).status, 200, 'a short request passes meanwhile');
    const listing = kubectlVia(env.adminKubeconfig, ['-n', namespace, 'get', 'pods', '-o', 'name', '-l', selector]);
    await eventually('kubectl refused once', 30_000, async () => (await refusals() >= before + 2 ? true : undefined));
    for (const socket of held.splice(0)) socket.destroy();
    const listed = await listing;
    assert.equal(listed.code, 0, listed.stderr);
    assert.equal(listed.stdout.trim(), `pod/${pod}`);
  });

  it('limits - a flood of oversized requests gets 431 each and bounded audit rows', async () => {
    const path = `/k8s/clusters/${env.clusterId}/api/v1/pods?labelSelector=${'a'.repeat(MAX_REQUEST_HEAD_BYTES + 64 * 1024)}`;
    const statuses = new Map<number, number>();
    let next = 0;
    await Promise.all(Array.from({ length: 4 }, async () => {
      while (next < FLOOD_REQUESTS) {
        next += 1;
        const { status } = await hubRequest(env.hub, path);
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
      }
    }));
    assert.deepEqual([...statuses], [[431, FLOOD_REQUESTS]], 'every one answered 431, none cut by a reset');
    const rows = await env.hub.client.request<{ items: AuditView[] }>('GET', '/api/v1/audit?user=(unauthenticated)&limit=1000');
    const stored = rows.items.filter((row) => row.status === 431).length;
    assert.ok(stored <= ANONYMOUS_BURST + 1, `${stored} rows of 431`);
    const suppressed = metricValue(await hubMetricsText(env.hub), 'uplink_hub_audit_rows_suppressed_total');
    assert.ok(suppressed >= FLOOD_REQUESTS + 1 - ANONYMOUS_BURST, `${suppressed} counted for the summary row`);
  });
});

describe('kubectl heads at an agent that does not read envelopes', () => {
  const { t: setup, runCleanups: cleanup } = suiteContext('limits-old-agent');
  let hub: HubHandle;
  let clusterId: string;
  let agent: Awaited<ReturnType<typeof linkRawAgent>>;

  before(async () => {
    hub = await startHub(setup);
    const created = await hub.client.request<{ token: string; cluster: { id: string } }>('POST', '/api/v1/clusters', { name: 'old-agent' });
    clusterId = created.cluster.id;
    agent = await linkRawAgent(setup, hub, created.token);
  });

  after(async () => {
    await cleanup();
  });

  it('limits - a long head is refused with a 431 saying to upgrade the agent, and never reaches it', async () => {
    const short = await hubRequest(hub, `/k8s/clusters/${clusterId}/api/v1/pods?labelSelector=app%3Dweb`, hub.adminToken);
    assert.equal(short.status, 404, 'the raw agent answers what reaches it 404');
    assert.ok(agent.requests.some((r) => r.path === '/v1/kube/api/v1/pods?labelSelector=app%3Dweb'), 'a short head reaches the agent');
    const selector = encodeURIComponent(longLabelSelector(20_000));
    const long = await hubRequest(hub, `/k8s/clusters/${clusterId}/api/v1/pods?labelSelector=${selector}`, hub.adminToken);
    assert.equal(long.status, 431, long.body);
    const status = JSON.parse(long.body) as { kind: string; reason: string; message: string };
    assert.equal(status.kind, 'Status');
    assert.equal(status.reason, 'RequestHeaderFieldsTooLarge');
    assert.match(status.message, /the agent of cluster "old-agent" takes at most 16384 over its link: upgrade the agent/);
    assert.ok(!agent.requests.some((r) => r.path.includes('absent') || r.path === AGENT_PATHS.kubeEnvelope), 'nothing of it reached the agent');
    assert.ok(agent.open, 'the link is up');
    const rows = await hub.client.request<{ items: AuditView[] }>('GET', '/api/v1/audit?user=admin');
    assert.ok(rows.items.some((row) => row.status === 431 && row.resource === 'pods' && row.verb === 'list'), 'the refusal is audited under the user');
  });
});

describe('a slow upload through the hub, past --request-timeout', () => {
  const { t: setup, runCleanups: cleanup } = suiteContext('limits-slow');
  /** Seconds the body takes to arrive: twice the hub's --request-timeout here. */
  const UPLOAD_SECONDS = 8;
  let env: HubCluster;
  let namespace: string;
  let caPem: string;

  before(async () => {
    env = await startHubCluster(setup, 'slow-e2e', ['--headers-timeout', '2', '--request-timeout', String(UPLOAD_SECONDS / 2)]);
    namespace = await createTestNamespace(setup, 'limits');
    caPem = readFileSync(join(env.hub.dataDir, 'tls', 'ca.crt'), 'utf8');
  });

  after(async () => {
    await cleanup();
  });

  /** Sends a request whose body arrives in pieces, one a second; resolves with the answer's status line. */
  async function trickle(method: string, path: string, body: string): Promise<string> {
    const socket = tls.connect({ host: '127.0.0.1', port: env.hub.port, ca: caPem, servername: 'localhost' });
    socket.on('error', () => undefined);
    await once(socket, 'secureConnect');
    let answer = '';
    socket.on('data', (chunk: Buffer) => { answer += chunk.toString('latin1'); });
    socket.write(`${method} ${path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${env.hub.adminToken}\r\n`
      + `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`);
    const piece = Math.ceil(body.length / UPLOAD_SECONDS);
    for (let at = 0; at < body.length && !socket.destroyed; at += piece) {
      await sleep(1000);
      socket.write(body.slice(at, at + piece));
    }
    const line = await eventually('an answer', 60_000, () => {
      if (answer.includes('\r\n')) return answer.slice(0, answer.indexOf('\r\n'));
      return socket.destroyed ? answer : undefined;
    });
    socket.destroy();
    return line;
  }

  it('limits - an authenticated upload slower than --request-timeout reaches the API server, as it would directly', async () => {
    const body = JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'slow' }, data: { a: 'x'.repeat(4000) } });
    const status = await trickle('POST', `/k8s/clusters/${env.clusterId}/api/v1/namespaces/${namespace}/configmaps`, body);
    assert.match(status, /^HTTP\/1\.1 201 /);
    assert.equal((await kubectl(['-n', namespace, 'get', 'configmap', 'slow', '-o', 'jsonpath={.data.a}'])).stdout.length, 4000);
  });

  it('limits - the same slow upload to the hub\'s own API is still cut at --request-timeout', async () => {
    const status = await trickle('POST', '/api/v1/clusters', JSON.stringify({ name: 'slow-cluster', labels: { a: 'x'.repeat(2000) } }));
    assert.match(status, /^(HTTP\/1\.1 408 Request Timeout)?$/, status);
    const timedOut = metricValue(await hubMetricsText(env.hub), 'uplink_hub_connections_timed_out_total', 'phase="request"');
    assert.ok(timedOut >= 1, `${timedOut} request timeouts counted`);
  });
});
