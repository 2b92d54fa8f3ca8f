import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AccessReviewError, AccessReviewer, identityFromHeaders, subjectAccessReview, type AccessQuestion } from './access-review.ts';
import type { KubeClient } from './kube.ts';
import { ResourceAccess, MAX_NAMESPACE_REVIEWS } from './resource-access.ts';

const ALICE = { user: 'uplink:alice', groups: ['uplink:view', 'system:authenticated'] };
const ROLES: AccessQuestion = { verb: 'list', group: 'rbac.authorization.k8s.io', resource: 'roles', namespace: 'default' };
const ROLES_KIND = { resource: 'roles', kind: 'Role', group: 'rbac.authorization.k8s.io', version: 'v1', namespaced: true, shortNames: [] };

describe('access review', () => {
  it('access review - takes the identity from the hub impersonation and refuses anything else', () => {
    assert.deepEqual(identityFromHeaders({ 'impersonate-user': 'uplink:alice', 'impersonate-group': 'uplink:view' }), ALICE);
    assert.match(identityFromHeaders({}) as string, /must impersonate an uplink: user/);
    assert.match(identityFromHeaders({ 'impersonate-user': 'uplink:alice', 'impersonate-group': 'system:masters' }) as string, /exactly one of/);
  });

  it('access review - asks the API server a SubjectAccessReview for the user and groups', async () => {
    const sent: unknown[] = [];
    const answer = (status: number, body: unknown): KubeClient['request'] => (method: string, path: string, sentBody?: unknown) => {
      sent.push({ method, path, body: sentBody });
      return Promise.resolve({ status, body: body as never });
    };
    const review = subjectAccessReview({ request: answer(201, { status: { allowed: false } }) });
    assert.equal(await review(ALICE, ROLES), false);
    assert.deepEqual(sent, [{
      method: 'POST', path: '/apis/authorization.k8s.io/v1/subjectaccessreviews',
      body: {
        apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview',
        spec: { user: 'uplink:alice', groups: ['uplink:view', 'system:authenticated'], resourceAttributes: { verb: 'list', group: 'rbac.authorization.k8s.io', resource: 'roles', namespace: 'default' } },
      },
    }]);
    const refused = subjectAccessReview({ request: answer(403, { message: 'no' }) });
    await assert.rejects(refused(ALICE, ROLES), AccessReviewError);
  });

  it('access review - caches answers for the TTL, bounded, and never caches a failure', async () => {
    let now = 0;
    let calls = 0;
    let fail = false;
    const outcomes: string[] = [];
    const reviewer = new AccessReviewer({
      review: () => {
        calls += 1;
        return fail ? Promise.reject(new Error('unreachable')) : Promise.resolve(true);
      },
      onOutcome: (outcome) => { outcomes.push(outcome); },
      ttlMs: 1000, maxEntries: 2, now: () => now,
    });
    assert.equal(await reviewer.allowed(ALICE, ROLES), true);
    assert.equal(await reviewer.allowed(ALICE, ROLES), true);
    assert.equal(calls, 1);
    now = 1000;
    await reviewer.allowed(ALICE, ROLES);
    assert.equal(calls, 2);
    await reviewer.allowed(ALICE, { ...ROLES, namespace: 'a' });
    await reviewer.allowed(ALICE, { ...ROLES, namespace: 'b' });
    assert.equal(reviewer.size, 2);
    fail = true;
    await assert.rejects(reviewer.allowed(ALICE, { ...ROLES, namespace: 'c' }), AccessReviewError);
    await assert.rejects(reviewer.allowed(ALICE, { ...ROLES, namespace: 'c' }), AccessReviewError);
    assert.equal(calls, 6);
    assert.deepEqual(outcomes, ['allowed', 'cached', 'allowed', 'allowed', 'allowed', 'failed', 'failed']);
  });

  it('access review - a list over all namespaces narrows to the allowed ones, or is refused', async () => {
    const allowedIn = new Set(['team-a', 'team-b']);
    const access = new ResourceAccess({
      reviewer: { allowed: (_identity, question) => Promise.resolve(allowedIn.has(question.namespace)) },
      namespaceNames: () => ['default', 'team-a', 'team-b', 'kube-system'],
    });
    assert.deepEqual(await access.scope(ALICE, ROLES_KIND, ['list', 'watch'], undefined), { namespaces: new Set(['team-a', 'team-b']) });
    assert.deepEqual(await access.scope(ALICE, ROLES_KIND, ['list'], 'team-a'), {});
    await assert.rejects(access.scope(ALICE, ROLES_KIND, ['list'], 'default'), /roles\.rbac\.authorization\.k8s\.io is forbidden: User "uplink:alice" cannot list resource "roles" in API group "rbac\.authorization\.k8s\.io" in the namespace "default"/);
    allowedIn.clear();
    await assert.rejects(access.scope(ALICE, ROLES_KIND, ['list'], undefined), /at the cluster scope/);
    const many = new ResourceAccess({
      reviewer: { allowed: () => Promise.resolve(false) },
      namespaceNames: () => Array.from({ length: MAX_NAMESPACE_REVIEWS + 1 }, (_, i) => `ns-${i}`),
    });
    await assert.rejects(many.scope(ALICE, ROLES_KIND, ['list'], undefined), /forbidden/);
  });
});
