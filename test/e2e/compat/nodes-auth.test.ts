// Nodes and identity compared: cordon, uncordon and drain with eviction (and
// a PodDisruptionBudget that blocks it) on a node of this test's own, auth
// can-i and whoami, ServiceAccount tokens, and certificate signing requests
// approved or denied and signed by the controller manager.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runChecked } from '../../../src/util/run-process.ts';
import { kubectl, kubectlJson, testTempDir } from '../../helpers/cluster.ts';
import {
  compare, compareInTurn, COMPAT_PREFIX, eachSide, HUB_USER, normaliseText, runSide, startCompat, twinName, type Compat, type Normaliser, type Side,
} from '../../helpers/kubectl-compare.ts';
import { addresses, ages, generated, identity, repeats, sortedLines } from '../../helpers/kubectl-normalise.ts';
import { eventually, suiteContext } from '../../helpers/uplink.ts';

const { t: suite, runCleanups } = suiteContext('compat-nodes');

/** A node of this test alone, so draining it touches no other test's pods. */
const NODE = `${COMPAT_PREFIX}-node`;

/**
 * Who each side is: the admin kubeconfig's client certificate straight to
 * the API server, the impersonated hub user through the hub.
 */
const IDENTITY = {
  api: { user: 'uplink-test-admin', group: 'system:masters' },
  hub: { user: `uplink:${HUB_USER}`, group: 'uplink:admin' },
};

/** Each side's user and group as `<user>` and `<group>`, in text or a table. */
const who: Normaliser = (text, side) => text
  .replaceAll(IDENTITY[side.name].user, '<user>')
  .replaceAll(IDENTITY[side.name].group, '<group>');

/**
 * The node carries kwok's annotation (kwok runs every node here) but not the
 * cluster script's `type=kwok` label, which `test/cluster/cluster nodes N`
 * counts as its own; a taint keeps every other test's pods off it.
 */
const NODE_MANIFEST = JSON.stringify({
  apiVersion: 'v1', kind: 'Node',
  metadata: {
    name: NODE,
    annotations: { 'kwok.x-k8s.io/node': 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
    labels: { 'kubernetes.io/hostname': NODE, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64', compat: 'node' },
  },
  spec: { taints: [{ key: 'compat', value: 'only', effect: 'NoSchedule' }] },
  status: { allocatable: { cpu: '8', memory: '16Gi', pods: '110' }, capacity: { cpu: '8', memory: '16Gi', pods: '110' } },
});

/** A pod spec that only this node takes. */
const ON_NODE = {
  nodeSelector: { 'kubernetes.io/hostname': NODE },
  tolerations: [{ key: 'compat', operator: 'Equal', value: 'only', effect: 'NoSchedule' }],
  containers: [{ name: 'app', image: 'registry.invalid/app:1' }],
};

function decodeJwt(token: string): Record<string, unknown> {
  const payload = token.trim().split('.')[1] ?? '';
  return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
}

describe('kubectl compared: nodes and identity', () => {
  let env: Compat;

  before(async () => {
    env = await startCompat(suite, 'nodes', { twins: true });
  });

  after(async () => {
    await runCleanups();
  });

  it('compat - cordon, uncordon and drain with eviction, blocked by a PodDisruptionBudget and then not', async (t) => {
    t.after(async () => { await kubectl(['delete', 'node', NODE, '--ignore-not-found', '--wait=false']); });
    await kubectl(['apply', '-f', '-'], { input: NODE_MANIFEST });
    await kubectl(['wait', '--for=condition=Ready', `node/${NODE}`, '--timeout=90s'], { timeoutMs: 100_000 });
    const keeper = JSON.stringify({
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'keeper' },
      spec: { replicas: 1, selector: { matchLabels: { app: 'keeper' } }, template: { metadata: { labels: { app: 'keeper' } }, spec: ON_NODE } },
    });
    const bare = JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'drainee' }, spec: ON_NODE });
    const budget = JSON.stringify({
      apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name: 'keeper' },
      spec: { minAvailable: 1, selector: { matchLabels: { app: 'keeper' } } },
    });
    const admin = (side: Side, args: string[], input?: string): Promise<unknown> =>
      kubectl(['-n', side.namespace, ...args], { timeoutMs: 150_000, ...(input === undefined ? {} : { input }) });
    // Drain prints the evictions as they finish, in parallel: compared sorted.
    const drained = [generated('keeper-'), sortedLines, repeats];
    const results = await compareInTurn(env, [
      { args: ['cordon', NODE] },
      { args: ['cordon', NODE] },
      { args: ['uncordon', NODE] },
      { args: ['cordon', NODE, '--dry-run=server'] },
      async (side) => {
        await admin(side, ['apply', '-f', '-'], keeper);
        await admin(side, ['apply', '-f', '-'], bare);
        await admin(side, ['apply', '-f', '-'], budget);
        await admin(side, ['rollout', 'status', 'deployment/keeper', '--timeout=120s']);
        await admin(side, ['wait', '--for=condition=Ready', 'pod/drainee', '--timeout=120s']);
        // Until the disruption controller has seen the budget, an eviction gets another refusal.
        await admin(side, ['wait', '--for=jsonpath={.status.currentHealthy}=1', 'pdb/keeper', '--timeout=120s']);
      },
      { args: ['get', 'pods', '-o', 'wide', '--field-selector', `spec.nodeName=${NODE}`], options: { normalise: [generated('keeper-'), identity, addresses, ages] } },
      { args: ['drain', NODE], options: { code: 1 } },
      { args: ['drain', NODE, '--force', '--ignore-daemonsets', '--timeout=12s'], options: { code: 1, normalise: drained } },
      async (side) => { await admin(side, ['delete', 'pdb', 'keeper']); },
      { args: ['drain', NODE, '--force', '--ignore-daemonsets', '--delete-emptydir-data', '--timeout=120s'], options: { normalise: drained } },
      { args: ['get', 'node', NODE], options: { normalise: [ages] } },
      { args: ['uncordon', NODE] },
      async (side) => { await admin(side, ['delete', 'deployment', 'keeper', '--wait=true', '--timeout=120s']); },
    ]);
    const [cordoned, again, uncordoned, dryRun, , refused, blocked, done, listed] = results.map((r) => r.api);
    assert.equal(cordoned?.stdout, `node/${NODE} cordoned\n`);
    assert.equal(again?.stdout, `node/${NODE} already cordoned\n`);
    assert.equal(uncordoned?.stdout, `node/${NODE} uncordoned\n`);
    assert.equal(dryRun?.stdout, `node/${NODE} cordoned (server dry run)\n`);
    assert.match(refused?.stderr ?? '', /cannot delete Pods that declare no controller \(use --force to override\): .*\/drainee/);
    assert.match(blocked?.stderr ?? '', /Cannot evict pod as it would violate the pod's disruption budget/);
    assert.match(done?.stdout ?? '', /evicting pod .*\/keeper-[\s\S]*node\/compat-node drained/);
    assert.match(listed?.stdout ?? '', /Ready,SchedulingDisabled/);
  });

  it('compat - auth can-i and whoami; --as is dropped by the hub', async () => {
    await Promise.all([
      compare(env, ['auth', 'can-i', 'create', 'pods']),
      compare(env, ['auth', 'can-i', '*', '*']),
      compare(env, ['auth', 'can-i', 'delete', 'nodes', '--all-namespaces']),
      compare(env, ['auth', 'can-i', 'get', 'pods', '--subresource=log']),
      compare(env, ['auth', 'can-i', 'get', '/healthz']),
      compare(env, ['auth', 'can-i', '--list']),
    ]);
    const table = await compare(env, ['auth', 'whoami'], {
      // The certificate's credential id has no counterpart in an impersonated identity (below).
      normalise: [who, (text) => text.replace(/^Extra: authentication\.kubernetes\.io\/credential-id.*\n/m, ''), ages],
    });
    assert.match(table.api.stdout, /Username\s+<user>\nGroups\s+\[<group> system:authenticated\]/);
    const [api, hub] = await eachSide(env, async (side) => {
      const result = await runSide(side, ['auth', 'whoami', '-o', 'json']);
      return (JSON.parse(result.stdout) as { status: { userInfo: Record<string, unknown> } }).status.userInfo;
    });
    assert.deepEqual(hub, { username: IDENTITY.hub.user, groups: [IDENTITY.hub.group, 'system:authenticated'] });
    assert.equal(api.username, IDENTITY.api.user);
    assert.deepEqual(api.groups, [IDENTITY.api.group, 'system:authenticated']);
    // The hub drops the client's impersonation headers, so --as asks for the hub user itself.
    const [asApi, asHub] = await eachSide(env, (side) => runSide(side, ['auth', 'can-i', 'create', 'pods', '--as=nobody']));
    assert.deepEqual([asApi.code, asApi.stdout], [1, 'no\n']);
    assert.deepEqual([asHub.code, asHub.stdout], [0, 'yes\n']);
  });

  it('compat - create token for a ServiceAccount, with a duration and an audience', async () => {
    await compare(env, ['create', 'serviceaccount', 'robot']);
    const claims = (args: string[]): Promise<[Record<string, unknown>, Record<string, unknown>]> =>
      eachSide(env, async (side) => {
        const result = await runSide(side, args);
        assert.equal(result.code, 0, result.stderr);
        const decoded = decodeJwt(result.stdout);
        const { exp, iat, nbf, jti, ...rest } = decoded;
        assert.ok(typeof jti === 'string' && typeof nbf === 'number');
        // Times and the token id are the API server's own per token; the lifetime is what was asked.
        const kept = { ...rest, lifetime: Number(exp) - Number(iat) };
        return JSON.parse(normaliseText(JSON.stringify(kept), side, env, [identity])) as Record<string, unknown>;
      });
    const [api, hub] = await claims(['create', 'token', 'robot', '--duration=10m', '--audience=compat']);
    assert.deepEqual(hub, api);
    assert.equal(api.lifetime, 600);
    assert.deepEqual(api.aud, ['compat']);
    assert.match(String(api.sub), /^system:serviceaccount:compat-nodes-\w+-<twin>:robot$/);
    const missing = await compare(env, ['create', 'token', 'nobody'], { code: 1 });
    assert.match(missing.api.stderr, /serviceaccounts "nobody" not found/);
  });

  it('compat - certificate signing requests: create, approve, deny, read the signed certificate', async (t) => {
    const dir = testTempDir(t, 'uplink-compat-csr-');
    await runChecked('openssl', ['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'csr.pem'), '-subj', '/O=compat/CN=compat-user']);
    const request = readFileSync(join(dir, 'csr.pem')).toString('base64');
    const csr = (side: Side, base: string): string => JSON.stringify({
      apiVersion: 'certificates.k8s.io/v1', kind: 'CertificateSigningRequest', metadata: { name: twinName(env, side, base) },
      spec: { request, signerName: 'kubernetes.io/kube-apiserver-client', expirationSeconds: 3600, usages: ['client auth'] },
    });
    t.after(async () => {
      for (const side of [env.api, env.hub]) {
        await kubectl(['delete', 'csr', twinName(env, side, 'csr-ok'), twinName(env, side, 'csr-no'), '--ignore-not-found']);
      }
    });
    const created = await compare(env, ['create', '-f', '-'], { input: (side) => csr(side, 'csr-ok') });
    assert.match(created.api.stdout, /^certificatesigningrequest\.certificates\.k8s\.io\/compat-csr-ok-\w+-<twin> created\n$/);
    await compare(env, ['create', '-f', '-'], { input: (side) => csr(side, 'csr-no') });
    // The API server records who asked: each side's own user (see `who`).
    const pending = await compare(env, (side) => ['get', 'csr', twinName(env, side, 'csr-ok')], { normalise: [who, ages] });
    assert.match(pending.api.stdout, /kubernetes\.io\/kube-apiserver-client\s+<user>\s+<age>\s+Pending/);
    await compare(env, (side) => ['certificate', 'approve', twinName(env, side, 'csr-ok')]);
    await compare(env, (side) => ['certificate', 'deny', twinName(env, side, 'csr-no')]);
    const reapprove = await compare(env, (side) => ['certificate', 'approve', twinName(env, side, 'csr-no')], { code: 1 });
    assert.match(reapprove.api.stderr, /is already Denied/);
    const signed = await eachSide(env, (side) => eventually('the signed certificate', 60_000, async () => {
      const object = await kubectlJson<{ status?: { certificate?: string } }>(['get', 'csr', twinName(env, side, 'csr-ok')]);
      return object.status?.certificate;
    }));
    const subjects = await Promise.all(signed.map(async (pem, i) => {
      writeFileSync(join(dir, `cert-${i}.pem`), Buffer.from(pem, 'base64'));
      return (await runChecked('openssl', ['x509', '-in', join(dir, `cert-${i}.pem`), '-noout', '-subject', '-issuer'])).stdout;
    }));
    assert.equal(subjects[1], subjects[0]);
    assert.match(subjects[0] ?? '', /subject=O = compat, CN = compat-user\nissuer=CN = uplink-test-ca/);
    const conditions = await compare(env, (side) => ['get', 'csr', twinName(env, side, 'csr-ok'), twinName(env, side, 'csr-no'), '-o', 'jsonpath={.items[*].status.conditions[*].type}']);
    assert.equal(conditions.api.stdout, 'Approved Denied');
    await compare(env, (side) => ['get', 'csr', twinName(env, side, 'csr-ok'), twinName(env, side, 'csr-no')], { normalise: [who, ages] });
    await compare(env, (side) => ['delete', 'csr', twinName(env, side, 'csr-ok'), twinName(env, side, 'csr-no')]);
  });
});
