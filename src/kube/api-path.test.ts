import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { KubeApiPathError, MAX_KUBE_PATH_CHARS, MAX_KUBE_QUERY_CHARS, parseKubeApiPath } from './api-path.ts';
import { parseKubeRequest } from './request-info.ts';

describe('parseKubeApiPath', () => {
  it('api path - accepts the paths kubectl and the agent use, unchanged', () => {
    const accepted = [
      '/',
      '/api',
      '/api/',
      '/apis',
      '/apis/',
      '/api/v1/namespaces/default/pods?limit=500',
      '/api/v1/namespaces/default/pods/web-0/exec?command=sh&command=-c&command=echo%20hi&container=web&stdin=true',
      '/api/v1/namespaces/default/pods/web-0/log?follow=true&tailLines=10',
      '/api/v1/namespaces/default/pods/web-0/portforward?ports=8080',
      '/api/v1/namespaces/default/services/https:web:443/proxy/healthz',
      '/apis/apps/v1/deployments?labelSelector=app%3Dweb%2Ctier%21%3Dcache&watch=1',
      '/apis/apps/v1/namespaces/default/deployments/web/scale',
      '/version',
      '/version?timeout=32s',
      '/openapi/v2',
      '/openapi/v3/apis/apps/v1?hash=ABC123',
      '/healthz', '/livez', '/readyz?verbose',
      '/.well-known/openid-configuration',
      '/openid/v1/jwks',
      '/logs/',
      '/metrics',
      '/api/v1/namespaces/default/configmaps/a.b-c_d~e',
    ];
    for (const target of accepted) {
      const parsed = parseKubeApiPath(target);
      assert.equal(parsed.target, target, target);
      assert.equal(parsed.path + parsed.query, target, target);
    }
  });

  it('api path - splits the query from the path', () => {
    assert.deepEqual(parseKubeApiPath('/api/v1/pods?watch=1&limit=2'), { path: '/api/v1/pods', query: '?watch=1&limit=2', target: '/api/v1/pods?watch=1&limit=2' });
    assert.deepEqual(parseKubeApiPath('/api'), { path: '/api', query: '', target: '/api' });
  });

  it('api path - refuses every path that could name another host or leave the server prefix', () => {
    const refused = [
      '',
      'api/v1/pods',
      '//127.0.0.1:10250/exec/default/p/c?command=id',
      '//127.0.0.1:10250',
      '///127.0.0.1/api',
      '/%2F127.0.0.1:10250/exec/default/p/c',
      '/%2f%2f127.0.0.1/api',
      '/api/%2F/v1',
      '/./api',
      '/api/./v1',
      '/api/..',
      '/api/../..//x',
      '/api/v1/../../../x',
      '/api/%2e%2e/%2E%2E/x',
      '/api/%2e/v1',
      '/api/.%2E/x',
      '/\\127.0.0.1/api',
      '/api\\..\\..\\x',
      '/api/%5C%5C127.0.0.1',
      '/api//v1',
      '/api/v1//pods',
      '/api/v1/pods//',
      '/api/%00',
      '/api/v1/pods\u0000',
      '/api/v1/pods\r\nHost: evil',
      '/api/v1/p\tods',
      '/api/v1/p ods',
      '/api/v1/%0d%0ahost',
      '/api/v1/%7F',
      '/api/%252e%252e/x',
      '/api/%E0%A4%A',
      '/api/%zz',
      '/api/%',
      '/api/v1/pods#frag',
      '/api/v1/p\u00e9ds',
      '/exec/default/p/c',
      '/run/default/p/c',
      '/pods',
      '/configz',
      '/debug/pprof',
      '/API/v1',
      '/api/v1/pods?x=1#frag',
      '/api/v1/pods?command=id;x=y',
      '/api/v1/pods?x=a\\b',
      '/api/v1/pods?x=a b',
      '/api/v1/pods?x=\u0001',
      '/api/v1/pods?x=\u00e9',
      'http://127.0.0.1:10250/api',
      'https:/api',
    ];
    for (const target of refused) {
      assert.throws(() => parseKubeApiPath(target), (error: unknown) => error instanceof KubeApiPathError && error.code === 'KUBE_PATH_INVALID', JSON.stringify(target));
    }
  });

  it('api path - bounds the path and the query', () => {
    const longName = 'a'.repeat(MAX_KUBE_PATH_CHARS);
    assert.throws(() => parseKubeApiPath(`/api/v1/namespaces/${longName}`), /longer than/);
    assert.throws(() => parseKubeApiPath(`/api/v1/pods?x=${'a'.repeat(MAX_KUBE_QUERY_CHARS)}`), /longer than/);
    const fits = `/api/v1/pods?x=${'a'.repeat(MAX_KUBE_QUERY_CHARS - 3)}`;
    assert.equal(parseKubeApiPath(fits).target, fits);
  });

  it('api path - refusal messages do not echo the path', () => {
    try {
      parseKubeApiPath('//secret-host.internal:10250/x');
      assert.fail('expected a refusal');
    } catch (error) {
      assert.doesNotMatch((error as Error).message, /secret-host/);
    }
  });

  it('api path - lets the audit read an encoded exec as the API server does', () => {
    const { target } = parseKubeApiPath('/api/v1/namespaces/default/pods/web-0/%65xec?%63ommand=i%64&command=-u&stdout=1');
    const info = parseKubeRequest('POST', target);
    assert.equal(info.subresource, 'exec');
    assert.equal(info.resource, 'pods');
    assert.equal(info.namespace, 'default');
    assert.equal(info.name, 'web-0');
    assert.equal(info.command, 'id -u');
    assert.equal(info.streaming, true);
  });

  it('api path - whatever it accepts stays on the server, is not rewritten by URL parsing, and reads without throwing', () => {
    // Paths built from the characters that matter: separators, dots, escapes, backslashes.
    const piece = fc.constantFrom('/', '.', '..', '%2e', '%2E', '%2f', '%2F', '%5c', '\\', '%25', '%', ':', '@', '?', '#', ';', 'api', 'apis', 'v1', 'pods', 'exec', 'x', '%00', ' ', '%E0%A4%A', '//');
    fc.assert(fc.property(fc.array(piece, { maxLength: 12 }), fc.boolean(), (pieces, rooted) => {
      const target = (rooted ? '/api/' : '') + pieces.join('');
      let parsed;
      try {
        parsed = parseKubeApiPath(target);
      } catch (error) {
        assert.ok(error instanceof KubeApiPathError, String(error));
        return;
      }
      const url = new URL(parsed.target, 'https://api.example.test:6443');
      assert.equal(url.host, 'api.example.test:6443', target);
      assert.equal(url.pathname, parsed.path, `URL parsing rewrote ${target}`);
      parseKubeRequest('GET', parsed.target);
    }), { numRuns: 20_000 });
  });
});
