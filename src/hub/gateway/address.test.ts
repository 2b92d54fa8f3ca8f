import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gatewayAddressOf, gatewayHostOf, isGatewayRequest } from './address.ts';

const at = (url: string, host = 'hub.example.com', domain?: string): ReturnType<typeof gatewayAddressOf> => gatewayAddressOf({ url, headers: { host } }, { domain });

describe('gateway addresses', () => {
  it('reads the path form: cluster, exposure, the path the service sees and the prefix', () => {
    assert.deepEqual(at('/gw/prod-eu/grafana/d/abc?orgId=1'), {
      kind: 'service', form: 'path', clusterRef: 'prod-eu', name: 'grafana', target: '/d/abc?orgId=1', prefix: '/gw/prod-eu/grafana',
    });
    assert.deepEqual(at('/gw/prod-eu/grafana/'), { kind: 'service', form: 'path', clusterRef: 'prod-eu', name: 'grafana', target: '/', prefix: '/gw/prod-eu/grafana' });
  });

  it('sends the slashless form to the slash form, keeping the query', () => {
    assert.deepEqual(at('/gw/prod-eu/grafana'), { kind: 'redirect', location: '/gw/prod-eu/grafana/' });
    assert.deepEqual(at('/gw/prod-eu/grafana?x=1'), { kind: 'redirect', location: '/gw/prod-eu/grafana/?x=1' });
  });

  it('refuses names that are no DNS labels, malformed escapes and missing parts', () => {
    for (const url of ['/gw/Prod/grafana/', '/gw/prod/gra_fana/', '/gw/%zz/x/', '/gw/prod/', '/gw//x/', '/gw/a..b/c/', `/gw/${'a'.repeat(64)}/x/`]) {
      assert.equal(at(url).kind, 'invalid', url);
    }
    assert.equal(at('http://evil/gw/a/b/').kind, 'invalid');
    assert.equal(at(`/gw/a/b/${'x'.repeat(20_000)}`).kind, 'invalid');
  });

  it('sends the gateway\'s root to its sign-in page', () => {
    assert.deepEqual(at('/gw'), { kind: 'redirect', location: '/gw/-/login' });
    assert.deepEqual(at('/gw/?x=1'), { kind: 'redirect', location: '/gw/-/login' });
  });

  it('serves its own pages under /gw/-/ on either form', () => {
    assert.deepEqual(at('/gw/-/login?next=%2Fgw%2Fa%2Fb%2F'), { kind: 'page', page: 'login', form: 'path' });
    assert.deepEqual(at('/gw/-/logout', 'grafana--prod.gw.example.com', 'gw.example.com'), { kind: 'page', page: 'logout', form: 'host' });
  });

  it('reads the host form: <exposure>--<cluster>.<domain>, the whole path for the service, no prefix', () => {
    assert.deepEqual(at('/d/abc?x=1', 'Grafana--Prod-EU.gw.example.com:8443', 'gw.example.com'), {
      kind: 'service', form: 'host', clusterRef: 'prod-eu', name: 'grafana', target: '/d/abc?x=1', prefix: '',
    });
    assert.deepEqual(gatewayHostOf('grafana--prod.gw.example.com.', 'gw.example.com'), { name: 'grafana', clusterRef: 'prod' });
    assert.ok('invalid' in (gatewayHostOf('grafana.gw.example.com', 'gw.example.com') ?? {}));
    assert.ok('invalid' in (gatewayHostOf('--prod.gw.example.com', 'gw.example.com') ?? {}));
    assert.equal(gatewayHostOf('hub.example.com', 'gw.example.com'), undefined);
    assert.equal(gatewayHostOf('gw.example.com', 'gw.example.com'), undefined);
    assert.equal(gatewayHostOf('[::1]:8443', 'gw.example.com'), undefined);
    assert.equal(gatewayHostOf('a--b.gw.example.com:http', 'gw.example.com'), undefined);
  });

  it('tells gateway requests from the hub\'s others', () => {
    assert.equal(isGatewayRequest({ url: '/gw/a/b/', headers: {} }, {}), true);
    assert.equal(isGatewayRequest({ url: '/gw', headers: {} }, {}), true);
    assert.equal(isGatewayRequest({ url: '/gwx', headers: {} }, {}), false);
    assert.equal(isGatewayRequest({ url: '/api/v1/clusters', headers: { host: 'hub' } }, { domain: 'gw.example.com' }), false);
    assert.equal(isGatewayRequest({ url: '/', headers: { host: 'a--b.gw.example.com' } }, { domain: 'gw.example.com' }), true);
  });
});
