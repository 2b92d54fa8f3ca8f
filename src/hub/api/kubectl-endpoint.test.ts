import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { kubectlEndpointView } from './kubectl-endpoint.ts';

describe('kubectl endpoint view', () => {
  it('kubectl endpoint - without a kube domain only the path form', () => {
    assert.deepEqual(kubectlEndpointView({ kubeDomain: undefined, publicUrl: () => 'https://hub.example.com:8443' }), { pathPrefix: '/k8s/clusters/', hostRouting: null });
  });

  it('kubectl endpoint - the host form takes the public URL\'s scheme and port (null for the scheme\'s default)', () => {
    const view = (publicUrl: string): unknown => kubectlEndpointView({ kubeDomain: 'kube.example.com', publicUrl: () => publicUrl }).hostRouting;
    assert.deepEqual(view('https://hub.example.com:8443'), { domain: 'kube.example.com', scheme: 'https', port: 8443 });
    assert.deepEqual(view('https://hub.example.com/uplink'), { domain: 'kube.example.com', scheme: 'https', port: null });
    assert.deepEqual(view('http://127.0.0.1:9000'), { domain: 'kube.example.com', scheme: 'http', port: 9000 });
  });
});
