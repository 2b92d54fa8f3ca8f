import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deploymentEndpoints, dialOrder, labelSelectorQuery, NoEndpointError, podEndpoint, servicePortName, sliceEndpoints, type PodObject } from './endpoints.ts';
import { addressRefusal } from './address-guard.ts';

const service = { spec: { ports: [{ name: 'http', port: 80 }, { name: 'dns', port: 53, protocol: 'UDP' }, { name: 'metrics', port: 9090 }] } };

describe('forward endpoints', () => {
  it('forward endpoints - a Service port by number or name is the slice port of its name; UDP and missing ports are refused', () => {
    assert.equal(servicePortName(service, 80), 'http');
    assert.equal(servicePortName(service, 'metrics'), 'metrics');
    assert.equal(servicePortName({ spec: { ports: [{ port: 5432 }] } }, 5432), '');
    assert.throws(() => servicePortName(service, 53), NoEndpointError);
    assert.throws(() => servicePortName(service, 8080), NoEndpointError);
  });

  it('forward endpoints - takes ready (or unset) endpoints of the named slice port, skipping FQDN slices and not-ready ones', () => {
    const slices = [
      { addressType: 'IPv4', ports: [{ name: 'http', port: 8080 }, { name: 'metrics', port: 9100 }], endpoints: [
        { addresses: ['10.0.0.1'], conditions: { ready: true } },
        { addresses: ['10.0.0.2'], conditions: { ready: false } },
        { addresses: ['10.0.0.3'] },
        { addresses: ['not-an-ip'] },
      ] },
      { addressType: 'FQDN', ports: [{ name: 'http', port: 80 }], endpoints: [{ addresses: ['example.com'] }] },
      { addressType: 'IPv6', ports: [{ name: 'http', port: 8080 }], endpoints: [{ addresses: ['fd00::1'] }, { addresses: ['fd00::1'] }] },
      { addressType: 'IPv4', ports: [{ name: 'http', port: 70_000 }], endpoints: [{ addresses: ['10.0.0.9'] }] },
    ];
    assert.deepEqual(sliceEndpoints(slices, 'http'), [
      { address: '10.0.0.1', port: 8080 }, { address: '10.0.0.3', port: 8080 }, { address: 'fd00::1', port: 8080 },
    ]);
    assert.deepEqual(sliceEndpoints(slices, 'other'), []);
  });

  it('forward endpoints - a pod must run with an IP; named ports come from its containers', () => {
    const pod: PodObject = {
      metadata: { name: 'p' }, spec: { containers: [{ ports: [{ name: 'web', containerPort: 8080 }] }] },
      status: { phase: 'Running', podIP: '10.1.0.5', conditions: [{ type: 'Ready', status: 'True' }] },
    };
    assert.deepEqual(podEndpoint(pod, 'web'), { address: '10.1.0.5', port: 8080 });
    assert.deepEqual(podEndpoint(pod, 9000), { address: '10.1.0.5', port: 9000 });
    assert.throws(() => podEndpoint(pod, 'nope'), NoEndpointError);
    assert.throws(() => podEndpoint({ ...pod, status: { phase: 'Pending', podIP: '10.1.0.5' } }, 80), NoEndpointError);
    assert.throws(() => podEndpoint({ ...pod, metadata: { name: 'p', deletionTimestamp: '2026-01-01T00:00:00Z' } }, 80), NoEndpointError);
    const notReady: PodObject = { ...pod, status: { phase: 'Running', podIP: '10.1.0.6' } };
    assert.deepEqual(deploymentEndpoints([notReady, pod], 80), [{ address: '10.1.0.5', port: 80 }]);
    assert.deepEqual(deploymentEndpoints([notReady], 80), [{ address: '10.1.0.6', port: 80 }]);
  });

  it('forward endpoints - a Deployment selector becomes a list query; an unknown operator or none is refused', () => {
    assert.equal(labelSelectorQuery({ matchLabels: { app: 'web' }, matchExpressions: [
      { key: 'tier', operator: 'In', values: ['a', 'b'] }, { key: 'x', operator: 'NotIn', values: ['c'] }, { key: 'y', operator: 'Exists' }, { key: 'z', operator: 'DoesNotExist' },
    ] }), 'app=web,tier in (a,b),x notin (c),y,!z');
    assert.throws(() => labelSelectorQuery({}), NoEndpointError);
    assert.throws(() => labelSelectorQuery({ matchExpressions: [{ key: 'a', operator: 'Gt' }] }), NoEndpointError);
  });

  it('forward endpoints - dial order starts at a random endpoint and covers all', () => {
    assert.deepEqual(dialOrder(['a', 'b', 'c'], () => 0.5), ['b', 'c', 'a']);
    assert.deepEqual(dialOrder(['a', 'b', 'c'], () => 0.99), ['c', 'a', 'b']);
    assert.deepEqual(dialOrder([], () => 0.3), []);
  });

  it('forward endpoints - never dials loopback, link-local, metadata, unspecified, multicast or the API server', () => {
    const api = [{ address: '10.96.0.1', port: 443 }, { address: '192.0.2.10', port: 6443 }];
    const refusals: [string, number, string | undefined][] = [
      ['127.0.0.1', 80, 'loopback'], ['::1', 80, 'loopback'], ['::ffff:127.0.0.1', 80, 'loopback'],
      ['169.254.169.254', 80, 'link-local'], ['fe80::1', 80, 'link-local'], ['fd00:ec2::254', 80, 'link-local'],
      ['0.0.0.0', 80, 'unspecified'], ['::', 80, 'unspecified'], ['224.0.0.1', 80, 'multicast'],
      ['10.96.0.1', 443, 'api-server'], ['192.0.2.10', 6443, 'api-server'],
      ['10.96.0.1', 80, undefined], ['10.1.0.5', 8080, undefined], ['fd00::1', 80, undefined],
    ];
    for (const [address, port, reason] of refusals) assert.equal(addressRefusal({ address, port }, api), reason, `${address}:${port}`);
  });
});
