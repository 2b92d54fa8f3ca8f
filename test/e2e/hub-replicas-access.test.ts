// A user's access changed through one hub replica reaches the kubectl
// endpoint of another, which remembers tokens, users and grants for a moment
// (src/hub/access-cache.ts): two replicas on a real PostgreSQL, a cluster
// with no agent linked, so the kubectl endpoint answers by who is asking
// (401 unknown token, 404 no role on the cluster, 503 offline: let through).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { hubRequest } from '../helpers/hub-http.ts';
import { startHubTier, type HubTier, type Replica } from '../helpers/hub-tier.ts';
import { eventually, suiteContext, type HubHandle } from '../helpers/uplink.ts';

const { t: suite, runCleanups } = suiteContext('hub-replicas-access');
const CLUSTER = 'unlinked';
/** Far longer than the news or the cache's 1 s take: a deadline, not a speed. */
const SEEN_WITHIN_MS = 15_000;

describe('hub replicas - access changes', () => {
  let tier: HubTier;
  let a: Replica;
  let b: Replica;

  before(async () => {
    tier = await startHubTier(suite, 2);
    [a, b] = tier.replicas as [Replica, Replica];
    await tier.clientOf(a).request('POST', '/api/v1/clusters', { name: CLUSTER });
  });
  after(runCleanups);

  /** The status of a kubectl GET through `replica` with `token`. */
  async function kubectlStatus(replica: Replica, token: string): Promise<number> {
    const answer = await hubRequest(replica as unknown as HubHandle, { path: `/k8s/clusters/${CLUSTER}/api/v1/namespaces`, headers: { authorization: `Bearer ${token}` } });
    return answer.status;
  }

  /** A user with a token, and a view grant on the cluster unless `grant` is false; made through A. */
  async function user(name: string, grant: boolean): Promise<{ token: string; tokenId: string }> {
    const client = tier.clientOf(a);
    await client.request('POST', '/api/v1/users', { name, ...(grant ? { grants: [{ role: 'view', cluster: CLUSTER }] } : {}) });
    const { token, id } = await client.request<{ token: string; id: string }>('POST', `/api/v1/users/${name}/tokens`, { name: 'e2e' });
    return { token, tokenId: id };
  }

  it('replicas access - a token revoked through A is refused by B, and by A at once', async () => {
    const alice = await user('alice', true);
    // Let through (the cluster is offline), and remembered by both replicas.
    assert.equal(await kubectlStatus(b, alice.token), 503);
    assert.equal(await kubectlStatus(a, alice.token), 503);
    await tier.clientOf(a).request('DELETE', `/api/v1/tokens/${alice.tokenId}`);
    assert.equal(await kubectlStatus(a, alice.token), 401, 'the replica that revoked it');
    await eventually('B to refuse the revoked token', SEEN_WITHIN_MS, async () => ((await kubectlStatus(b, alice.token)) === 401 ? true : undefined));
  });

  it('replicas access - a grant added or removed through A is seen by B\'s kubectl endpoint', async () => {
    const bob = await user('bob', false);
    assert.equal(await kubectlStatus(b, bob.token), 404, 'no role on the cluster');
    await tier.clientOf(a).request('POST', '/api/v1/users/bob/grants', { role: 'view', cluster: CLUSTER });
    await eventually('B to let bob through', SEEN_WITHIN_MS, async () => ((await kubectlStatus(b, bob.token)) === 503 ? true : undefined));
    await tier.clientOf(a).request('DELETE', `/api/v1/users/bob/grants/view?cluster=${CLUSTER}`);
    assert.equal(await kubectlStatus(a, bob.token), 404, 'the replica that removed it');
    await eventually('B to refuse bob again', SEEN_WITHIN_MS, async () => ((await kubectlStatus(b, bob.token)) === 404 ? true : undefined));
  });
});
