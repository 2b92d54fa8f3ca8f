import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseKubeRequest } from '../../kube/request-info.ts';
import { KubeUrlError, splitKubeUrl } from './proxy.ts';

describe('kubectl endpoint URL', () => {
  it('split - the cluster reference is decoded once; the API path and query are kept as sent', () => {
    assert.deepEqual(splitKubeUrl('/k8s/clusters/prod/api/v1/pods?watch=1'), { ref: 'prod', apiPath: '/api/v1/pods?watch=1' });
    assert.deepEqual(splitKubeUrl('/k8s/clusters/pr%6Fd?timeout=32s'), { ref: 'prod', apiPath: '/?timeout=32s' });
    assert.deepEqual(splitKubeUrl('/k8s/clusters/prod'), { ref: 'prod', apiPath: '/' });
    assert.deepEqual(splitKubeUrl('/k8s/clusters/%2e%2e/api'), { ref: '..', apiPath: '/api' });
  });

  it('split - a malformed percent-escape in the reference or the path is a KubeUrlError, never a URIError', () => {
    for (const url of ['/k8s/clusters/%E0%A4%A/api', '/k8s/clusters/%E0%A4%A', '/k8s/clusters/%zz', '/k8s/clusters/%C0%AE/api',
      '/k8s/clusters/c/api/%E0%A4%A', '/k8s/clusters/c/api/v1/namespaces/%ff/pods', '/k8s/clusters/c//[']) {
      assert.throws(() => splitKubeUrl(url), (error: unknown) => error instanceof KubeUrlError && error.code === 'KUBE_URL_INVALID', url);
    }
  });

  it('split - whatever it accepts, the request parser reads without throwing (property over mutated paths)', () => {
    const pieces = ['/', 'api', 'v1', '%', '%2', '%2f', '%E0', '%A4', '%C0%AE', '..', '?', '=', '%00', '\\', 'ü', '//', '['];
    fc.assert(fc.property(fc.array(fc.oneof(fc.constantFrom(...pieces), fc.string({ maxLength: 4 })), { maxLength: 8 }), (parts) => {
      const url = `/k8s/clusters/c${parts.join('')}`;
      let apiPath: string;
      try {
        ({ apiPath } = splitKubeUrl(url));
      } catch (error) {
        assert.ok(error instanceof KubeUrlError, `${url}: ${String(error)}`);
        return;
      }
      assert.doesNotThrow(() => parseKubeRequest('GET', apiPath), url);
    }), { numRuns: 5000 });
  });
});
