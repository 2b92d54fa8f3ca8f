import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KindRegistry, builtinKinds, collectionPath, discoveredKind, type KindSpec } from './kinds.ts';
import { LAST_APPLIED_ANNOTATION, stripObject } from './strip.ts';

const specs = builtinKinds();
const spec = (resource: string): KindSpec => specs.find((k) => k.info.resource === resource) as KindSpec;

describe('inventory kinds', () => {
  it('kinds - the 26 built-in kinds, each with its API coordinates', () => {
    assert.equal(specs.length, 26);
    assert.deepEqual(spec('horizontalpodautoscalers').info, {
      resource: 'horizontalpodautoscalers', kind: 'HorizontalPodAutoscaler', group: 'autoscaling', version: 'v2', namespaced: true, shortNames: ['hpa'],
    });
    assert.equal(collectionPath(spec('pods').info), '/api/v1/pods');
    assert.equal(collectionPath(spec('endpointslices').info), '/apis/discovery.k8s.io/v1/endpointslices');
    assert.equal(specs.filter((k) => k.metadataOnly).map((k) => k.info.resource).join(), 'secrets');
  });

  it('kinds - names resolve like kubectl: plural, singular, kind, short name, group-qualified, any case', () => {
    const registry = new KindRegistry(specs);
    for (const name of ['pods', 'pod', 'po', 'Pod', 'PODS', ' pods ', 'pods.v1']) {
      assert.equal(registry.resolve(name)?.info.resource, name === 'pods.v1' ? undefined : 'pods', name);
    }
    for (const name of ['deployments', 'deployment', 'deploy', 'Deployment', 'deployments.apps', 'deploy.apps', 'deployments.v1.apps']) {
      assert.equal(registry.resolve(name)?.info.resource, 'deployments', name);
    }
    assert.equal(registry.resolve('crd')?.info.resource, 'customresourcedefinitions');
    assert.equal(registry.resolve('netpol')?.info.resource, 'networkpolicies');
    assert.equal(registry.resolve('hpa')?.info.resource, 'horizontalpodautoscalers');
    assert.equal(registry.resolve('widgets'), undefined);
  });

  it('kinds - a discovered kind never shadows a built-in name, but answers to its qualified name', () => {
    const registry = new KindRegistry(specs);
    registry.add(discoveredKind({ resource: 'pods.metrics.k8s.io', kind: 'PodMetrics', group: 'metrics.k8s.io', version: 'v1beta1', namespaced: true, shortNames: ['po'] }));
    assert.equal(registry.resolve('po')?.info.resource, 'pods');
    assert.equal(registry.resolve('pods')?.info.resource, 'pods');
    assert.equal(registry.resolve('pods.metrics.k8s.io')?.info.kind, 'PodMetrics');
    assert.equal(registry.resolve('podmetrics')?.info.kind, 'PodMetrics');
    registry.remove('pods.metrics.k8s.io');
    assert.equal(registry.resolve('podmetrics'), undefined);
  });

  it('strip - managedFields and the last-applied annotation are dropped; apiVersion and kind set first', () => {
    const stripped = stripObject(spec('configmaps'), {
      metadata: {
        name: 'c', managedFields: [{ manager: 'kubectl' }],
        annotations: { [LAST_APPLIED_ANNOTATION]: '{"data":{"password":"hunter2"}}', keep: 'me' },
      },
      data: { a: 'b' },
    });
    assert.deepEqual(stripped, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', annotations: { keep: 'me' } }, data: { a: 'b' } });
    assert.deepEqual(Object.keys(stripped), ['apiVersion', 'kind', 'metadata', 'data']);
  });

  it('strip - a Secret keeps its metadata only, even if the API server sent its data', () => {
    const stripped = stripObject(spec('secrets'), {
      apiVersion: 'meta.k8s.io/v1', kind: 'PartialObjectMetadata',
      metadata: { name: 's', namespace: 'n', annotations: { [LAST_APPLIED_ANNOTATION]: '{"stringData":{"k":"plain"}}' } },
      data: { k: 'c2VjcmV0' }, stringData: { k: 'plain' }, type: 'Opaque',
    });
    assert.deepEqual(stripped, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'n', annotations: {} } });
  });
});
