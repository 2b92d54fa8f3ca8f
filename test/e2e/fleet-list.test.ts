// The fleet list in pages, through a real hub and the real CLI: a fleet
// larger than the largest page comes back whole from `uplink clusters list`
// and `uplink login`, page by page over the API, and a bad continue token or
// limit is a clear 400 that leaves the hub serving. Needs no Kubernetes.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CLUSTER_LIST_MAX_LIMIT, type ClusterListPage } from '../../src/hub/api/cluster-pages.ts';
import type { CallerClusterView } from '../../src/hub/api/clusters.ts';
import { HubApiError } from '../../src/cli/hub-client.ts';
import { startHub, uplink, type HubHandle } from '../helpers/uplink.ts';

/** One more than the largest page, so the CLI must follow a continue token. */
const CLUSTERS = CLUSTER_LIST_MAX_LIMIT + 1;
const names = Array.from({ length: CLUSTERS }, (_, i) => `fleet-${String(i).padStart(5, '0')}`);

async function createClusters(hub: HubHandle): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: 16 }, async () => {
    while (next < names.length) {
      const name = names[next++] ?? '';
      await hub.client.request('POST', '/api/v1/clusters', { name });
    }
  }));
}

async function page(hub: HubHandle, query: string): Promise<ClusterListPage<CallerClusterView>> {
  return hub.client.request<ClusterListPage<CallerClusterView>>('GET', `/api/v1/clusters${query}`);
}

describe('fleet list pages', () => {
  it('fleet list - a fleet larger than a page comes back whole from the CLI, and in bounded pages from the API', async (t) => {
    const hub = await startHub(t);
    await createClusters(hub);

    const listed = await uplink(['clusters', 'list', '-o', 'name'], hub.cliConfig);
    assert.equal(listed.code, 0, listed.stderr);
    assert.deepEqual(listed.stdout.trim().split('\n'), names, 'every cluster once, in name order');
    const json = JSON.parse((await uplink(['clusters', 'list', '-o', 'json'], hub.cliConfig)).stdout) as { items: CallerClusterView[] };
    assert.equal(json.items.length, CLUSTERS);

    const first = await page(hub, '');
    assert.equal(first.items.length, 500, 'the default page');
    assert.equal(typeof first.metadata.continue, 'string');
    const rest = await page(hub, `?limit=${CLUSTER_LIST_MAX_LIMIT}&continue=${first.metadata.continue ?? ''}`);
    assert.deepEqual([...first.items, ...rest.items].map((c) => c.name), names);
    assert.deepEqual(rest.metadata, {}, 'no continue after the last page');

    const login = await uplink(['login', hub.url, '--token-file', join(hub.dataDir, 'admin-token'), ...(hub.caHash ? ['--ca-hash', hub.caHash] : [])],
      join(hub.dataDir, 'cli-again.json'));
    assert.match(login.stdout, new RegExp(`\\(${CLUSTERS} clusters\\)`), login.stderr);
  });

  it('fleet list - a bad continue token or limit is a 400 naming it, and the hub goes on serving', async (t) => {
    const hub = await startHub(t);
    await hub.client.request('POST', '/api/v1/clusters', { name: 'only' });
    const refusals: [string, RegExp][] = [
      ['?continue=not-a-token', /^the hub answered 400: continue: not a token this hub issued/],
      [`?continue=${Buffer.from('{"v":1,"after":"a/../b"}').toString('base64url')}`, /continue: not a token/],
      [`?continue=${'A'.repeat(4096)}`, /continue: not a token/],
      ['?limit=0', /limit/],
      [`?limit=${CLUSTER_LIST_MAX_LIMIT + 1}`, /limit/],
    ];
    for (const [query, message] of refusals) {
      await assert.rejects(page(hub, query), (error) => error instanceof HubApiError && error.status === 400 && error.code === 'BAD_REQUEST' && message.test(error.message), query);
    }
    assert.deepEqual((await page(hub, '?limit=1')).items.map((c) => c.name), ['only']);
  });
});
