import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HostRoutingUnavailableError, defaultKubeconfigPath, hostRoutedServer, kubeconfigFor, mergeKubeconfig } from './kubeconfig.ts';

const CONFIG = { hubUrl: 'https://hub.example:8443', token: 'upk_t1_secret', caPem: '-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n' };

describe('kubeconfig', () => {
  it('kubeconfig - points at the hub endpoint with the CA and the user token', () => {
    const config = kubeconfigFor(CONFIG, { id: 'c123', name: 'prod' });
    assert.deepEqual(config.clusters, [{
      name: 'uplink-prod',
      cluster: { server: 'https://hub.example:8443/k8s/clusters/c123', 'certificate-authority-data': Buffer.from(CONFIG.caPem).toString('base64') },
    }]);
    assert.deepEqual(config.users, [{ name: 'uplink@hub.example:8443', user: { token: 'upk_t1_secret' } }]);
    assert.equal(config['current-context'], 'uplink-prod');
  });

  it('kubeconfig - merging keeps other entries and replaces same-named ones', () => {
    const existing = {
      apiVersion: 'v1', kind: 'Config', preferences: {},
      clusters: [{ name: 'kind', cluster: { server: 'https://127.0.0.1:6443' } }, { name: 'uplink-prod', cluster: { server: 'old' } }],
      users: [{ name: 'kind', user: {} }],
      contexts: [{ name: 'kind', context: { cluster: 'kind', user: 'kind' } }],
      'current-context': 'kind',
    };
    const merged = mergeKubeconfig(existing, kubeconfigFor(CONFIG, { id: 'c123', name: 'prod' }));
    assert.deepEqual(merged.clusters.map((c) => c.name), ['kind', 'uplink-prod']);
    assert.equal((merged.clusters[1]?.cluster as { server: string }).server, 'https://hub.example:8443/k8s/clusters/c123');
    assert.deepEqual(merged.contexts.map((c) => c.name), ['kind', 'uplink-prod']);
    assert.equal(merged['current-context'], 'uplink-prod');
    assert.deepEqual(merged.preferences, {});
  });

  it('kubeconfig - merges into the first KUBECONFIG file', () => {
    assert.equal(defaultKubeconfigPath({ KUBECONFIG: '/a/config:/b/config' }), '/a/config');
    assert.match(defaultKubeconfigPath({}), /\.kube\/config$/);
  });

  it('kubeconfig - the host form names the cluster in the host, with the same CA and token and no path', () => {
    const endpoint = { pathPrefix: '/k8s/clusters/', hostRouting: { domain: 'kube.example.com', scheme: 'https' as const, port: 8443 } };
    const server = hostRoutedServer(endpoint, { name: 'prod' }, CONFIG.hubUrl);
    assert.equal(server, 'https://prod.kube.example.com:8443');
    assert.equal(hostRoutedServer({ ...endpoint, hostRouting: { ...endpoint.hostRouting, port: null } }, { name: 'prod' }, CONFIG.hubUrl), 'https://prod.kube.example.com');
    const config = kubeconfigFor(CONFIG, { id: 'c123', name: 'prod' }, server);
    assert.deepEqual(config.clusters[0]?.cluster, { server: 'https://prod.kube.example.com:8443', 'certificate-authority-data': Buffer.from(CONFIG.caPem).toString('base64') });
    assert.deepEqual(config.users, kubeconfigFor(CONFIG, { id: 'c123', name: 'prod' }).users);
  });

  it('kubeconfig - a hub without a kube domain gives a clear error for the host form', () => {
    assert.throws(() => hostRoutedServer({ pathPrefix: '/k8s/clusters/', hostRouting: null }, { name: 'prod' }, CONFIG.hubUrl),
      (error: unknown) => error instanceof HostRoutingUnavailableError
        && error.message === 'the hub at https://hub.example:8443 has no kube domain, so it routes kubectl by path only: drop --host-routing, or ask its operator to set uplink hub --kube-domain');
  });
});
