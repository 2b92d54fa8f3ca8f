import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseKubeRequest } from './request-info.ts';

describe('parseKubeRequest', () => {
  it('request-info - lists and gets of core and group resources', () => {
    assert.deepEqual(parseKubeRequest('GET', '/api/v1/pods?limit=500'), {
      verb: 'list', resource: 'pods', subresource: null, namespace: null, name: null, command: null, streaming: false,
    });
    const get = parseKubeRequest('GET', '/apis/apps/v1/namespaces/prod/deployments/web');
    assert.deepEqual([get.verb, get.resource, get.namespace, get.name], ['get', 'deployments.apps', 'prod', 'web']);
  });

  it('request-info - watches, both styles, are streaming', () => {
    const watch = parseKubeRequest('GET', '/api/v1/namespaces/a/pods?watch=true&resourceVersion=10');
    assert.deepEqual([watch.verb, watch.streaming, watch.namespace], ['watch', true, 'a']);
    const legacy = parseKubeRequest('GET', '/api/v1/watch/namespaces/a/pods/p1');
    assert.deepEqual([legacy.verb, legacy.resource, legacy.name, legacy.streaming], ['watch', 'pods', 'p1', true]);
  });

  it('request-info - writes map to create, update, patch and delete', () => {
    assert.equal(parseKubeRequest('POST', '/api/v1/namespaces/a/configmaps').verb, 'create');
    assert.equal(parseKubeRequest('PUT', '/api/v1/namespaces/a/configmaps/c').verb, 'update');
    assert.equal(parseKubeRequest('PATCH', '/api/v1/namespaces/a/configmaps/c').verb, 'patch');
    assert.equal(parseKubeRequest('DELETE', '/api/v1/namespaces/a/configmaps/c').verb, 'delete');
    assert.equal(parseKubeRequest('DELETE', '/api/v1/namespaces/a/configmaps').verb, 'deletecollection');
  });

  it('request-info - exec carries its command and is streaming', () => {
    const exec = parseKubeRequest('POST', '/api/v1/namespaces/a/pods/p/exec?command=sh&command=-c&command=echo%20hi&stdin=true');
    assert.deepEqual([exec.verb, exec.subresource, exec.command, exec.streaming], ['create', 'exec', 'sh -c echo hi', true]);
    assert.equal(parseKubeRequest('POST', '/api/v1/namespaces/a/pods/p/portforward').streaming, true);
  });

  it('request-info - logs follow is streaming, a plain log read is not', () => {
    assert.equal(parseKubeRequest('GET', '/api/v1/namespaces/a/pods/p/log?follow=true').streaming, true);
    const plain = parseKubeRequest('GET', '/api/v1/namespaces/a/pods/p/log?tailLines=10');
    assert.deepEqual([plain.verb, plain.subresource, plain.streaming], ['get', 'log', false]);
  });

  it('request-info - a namespace object is not a namespace scope', () => {
    const ns = parseKubeRequest('GET', '/api/v1/namespaces/kube-system');
    assert.deepEqual([ns.resource, ns.namespace, ns.name], ['namespaces', null, 'kube-system']);
  });

  it('request-info - non-resource paths keep the path', () => {
    assert.deepEqual(parseKubeRequest('GET', '/version'), {
      verb: 'get', resource: '/version', subresource: null, namespace: null, name: null, command: null, streaming: false,
    });
    assert.equal(parseKubeRequest('GET', '/apis').resource, '/apis');
  });
});
