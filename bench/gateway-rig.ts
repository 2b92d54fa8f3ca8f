// The rig of bench/gateway.ts: a real hub and agent (the agent with the test
// cluster's admin kubeconfig: the bench measures the path, not RBAC), a
// fresh namespace whose selector-less Service has a hand-made EndpointSlice
// pointing at the bench's HTTP server on this machine's non-loopback
// address, an exposure of it made through the API, and a user with the view
// role (the exposure's minimum) and an API token.
import type { TestContext } from 'node:test';
import { createTestNamespace, kubeconfigPath } from '../test/helpers/cluster.ts';
import { hubCa } from '../test/helpers/hub-http.ts';
import { applyService } from '../test/helpers/service-endpoints.ts';
import type { AgentHandle, HubHandle } from '../test/helpers/uplink.ts';
import type { BenchServer } from './gateway-server.ts';
import { startLinkedHub } from './portforward-rig.ts';

const CLUSTER = 'bench-gw';
const EXPOSURE = 'bench';
const USER = 'bench-viewer';

export interface GatewayRig {
  hub: HubHandle;
  agent: AgentHandle;
  /** `https://HUB/gw/<cluster>/<exposure>`: the service's paths follow. */
  gatewayBase: string;
  /** The hub's CA (PEM), for the client's TLS. */
  ca: string;
  /** The viewer's API token, sent as Bearer. */
  token: string;
  namespace: string;
}

/** Starts everything; cleanups (the namespace included) go to `t`. */
export async function startGatewayRig(t: TestContext, options: { server: BenchServer; profileDir: string | undefined }): Promise<GatewayRig> {
  const namespace = await createTestNamespace(t, 'bench-gw');
  await applyService(namespace, 'bench', options.server.host, [{ name: 'http', port: 80, target: options.server.port }]);
  const { hub, agent } = await startLinkedHub(t, { kubeconfig: await kubeconfigPath(), clusterName: CLUSTER, profileDir: options.profileDir });
  await hub.client.request('POST', `/api/v1/clusters/${CLUSTER}/exposures`, { name: EXPOSURE, namespace, service: 'bench', port: 80 });
  await hub.client.request('POST', '/api/v1/users', { name: USER });
  await hub.client.request('POST', `/api/v1/users/${USER}/grants`, { role: 'view', cluster: CLUSTER });
  const { token } = await hub.client.request<{ token: string }>('POST', `/api/v1/users/${USER}/tokens`, { name: 'bench' });
  return { hub, agent, gatewayBase: `${hub.url}/gw/${CLUSTER}/${EXPOSURE}`, ca: hubCa(hub), token, namespace };
}
