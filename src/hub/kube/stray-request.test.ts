import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isStrayKubeRequest, strayKubeRequestBody, strayKubeRequestWarning, strayKubeUpgradeAnswer } from './stray-request.ts';

const HUB = { publicUrl: 'https://hub.example.com:8443/', kubeDomain: undefined };

describe('stray Kubernetes request', () => {
  it('stray - the Kubernetes API\'s own paths are stray on the hub\'s host; the hub\'s other paths are not', () => {
    for (const url of ['/api', '/api/', '/api?timeout=32s', '/apis', '/apis/apps/v1', '/openapi/v2', '/openapi/v3?hash=x', '/api/v1/namespaces/a/pods', '/api/v1/pods/x/exec']) {
      assert.equal(isStrayKubeRequest(url), true, url);
    }
    for (const url of ['/', '/version', '/livez', '/metrics', '/apix', '/apis-x', '/openapix', '/k8s/clusters/c/api', '/dashboard', '/x/api']) {
      assert.equal(isStrayKubeRequest(url), false, url);
    }
  });

  it('stray - the answer is a Kubernetes NotFound Status with the hub\'s error beside it, saying how to reach a cluster', () => {
    const body = JSON.parse(strayKubeRequestBody(HUB, 'GET', '/api/v1/pods?limit=500')) as Record<string, unknown>;
    assert.deepEqual({ ...body, message: undefined }, {
      kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: undefined, reason: 'NotFound', code: 404,
      error: { code: 'NOT_FOUND', message: 'no route for GET /api/v1/pods' },
    });
    assert.match(String(body.message), /^this is the Uplink hub, not a Kubernetes API server: a cluster's API is at https:\/\/hub\.example\.com:8443\/k8s\/clusters\/CLUSTER /);
    assert.match(String(body.message), /--append-server-path/);
    assert.doesNotMatch(String(body.message), /host-routing/, 'no host form without a kube domain');
    const withDomain = JSON.parse(strayKubeRequestBody({ ...HUB, kubeDomain: 'kube.example.com' }, 'GET', '/apis')) as { message: string };
    assert.match(withDomain.message, /`uplink kubeconfig CLUSTER --host-routing` \(server https:\/\/CLUSTER\.kube\.example\.com, no path\)/);
  });

  it('stray - the same text goes in a Warning header kubectl prints: code 299, a quoted string, ASCII', () => {
    const warning = strayKubeRequestWarning({ ...HUB, kubeDomain: 'kube.example.com' });
    assert.match(warning, /^299 - "this is the Uplink hub, [\x20-\x7e]+"$/);
    assert.equal(JSON.parse(warning.slice('299 - '.length)), (JSON.parse(strayKubeRequestBody({ ...HUB, kubeDomain: 'kube.example.com' }, 'GET', '/api')) as { message: string }).message);
    assert.equal(strayKubeRequestWarning({ publicUrl: 'https://h/"\\', kubeDomain: undefined }).includes('https://h/\\"\\\\/k8s/clusters/'), true, 'quotes and backslashes escaped');
    assert.equal(strayKubeRequestWarning({ publicUrl: 'https://hüb\r\n/', kubeDomain: undefined }).includes('https://h?b??/k8s/clusters/'), true, 'no byte a header cannot carry');
  });

  it('stray - an upgrade gets the same answer as raw HTTP/1.1 with its length', () => {
    const answer = strayKubeUpgradeAnswer(HUB, 'POST', '/api/v1/namespaces/a/pods/p/exec?command=id');
    const [head, body] = answer.split('\r\n\r\n');
    assert.match(head ?? '', /^HTTP\/1\.1 404 Not Found\r\ncontent-type: application\/json\r\nwarning: 299 - "this is the Uplink hub[^\r\n]+"\r\ncontent-length: (\d+)\r\nconnection: close$/);
    assert.equal(Number(/content-length: (\d+)/.exec(head ?? '')?.[1]), Buffer.byteLength(body ?? ''));
    assert.equal((JSON.parse(body ?? '') as { reason: string }).reason, 'NotFound');
  });
});
