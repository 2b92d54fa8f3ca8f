import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { agentBoundCluster, answersAsApi, relayRouteFor, relayRouteOf } from './relay-route.ts';

const DOMAIN = 'kube.example.com';

function req(method: string, url: string, host = 'hub.example.com'): { method: string; url: string; headers: IncomingHttpHeaders } {
  return { method, url, headers: { host } };
}

describe('relay route', () => {
  it('relay route - the kubectl endpoint, path form and host form, names its cluster', () => {
    assert.deepEqual(relayRouteOf(req('GET', '/k8s/clusters/prod/api/v1/pods?watch=1'), DOMAIN), { cluster: 'prod', form: 'kube' });
    assert.deepEqual(relayRouteOf(req('POST', '/k8s/clusters/c_0123/api/v1/namespaces/d/pods/p/exec?command=sh'), undefined), { cluster: 'c_0123', form: 'kube' });
    assert.deepEqual(relayRouteOf(req('GET', '/k8s/clusters/pr%6Fd'), DOMAIN), { cluster: 'prod', form: 'kube' });
    assert.deepEqual(relayRouteOf(req('GET', '/api/v1/pods', 'prod.kube.example.com:8443'), DOMAIN), { cluster: 'prod', form: 'kube' });
    assert.deepEqual(relayRouteOf(req('GET', '/api/v1/clusters/x/resources', 'PROD.Kube.Example.com.'), DOMAIN), { cluster: 'prod', form: 'kube' }, 'a cluster host is the API server, whatever the path');
    assert.equal(agentBoundCluster(req('GET', '/k8s/clusters/prod/version'), DOMAIN), 'prod');
  });

  it('relay route - the agent-bound API routes name their cluster; their methods only', () => {
    const bound: [string, string][] = [
      ['GET', '/api/v1/clusters/prod/resources'],
      ['GET', '/api/v1/clusters/prod/resources/pods?namespace=d&limit=5'],
      ['HEAD', '/api/v1/clusters/prod/resources/deployments.apps/web'],
      ['GET', '/api/v1/clusters/prod/resources/pods/web-1/events'],
      ['GET', '/api/v1/clusters/prod/watch/pods?namespace=d'],
      ['GET', '/api/v1/clusters/prod/logs?pod=web-1&follow=true'],
      ['GET', '/api/v1/clusters/prod/addons/ingress/history'],
      ['POST', '/api/v1/clusters/prod/addons/ingress/rollback'],
      ['POST', '/api/v1/clusters/prod/addons/ingress/sync'],
      ['POST', '/api/v1/clusters/prod/agent/upgrade'],
      ['GET', '/api/v1/clusters/prod/forward?kind=service&namespace=d&name=db&port=5432'],
      ['GET', '/api/v1/clusters/pr%6Fd/%72esources'],
      ['GET', '/api/v1/clusters/prod/logs#fragment'],
    ];
    for (const [method, url] of bound) assert.deepEqual(relayRouteOf(req(method, url), DOMAIN), { cluster: 'prod', form: 'api' }, `${method} ${url}`);
  });

  it('relay route - the Service gateway\'s path form names its cluster; its pages and slashless URLs are served locally', () => {
    assert.deepEqual(relayRouteOf(req('POST', '/gw/prod/grafana/api/ds?x=1'), DOMAIN), { cluster: 'prod', form: 'api' });
    assert.equal(relayRouteOf(req('POST', '/gw/-/login'), DOMAIN), undefined);
    assert.equal(relayRouteOf(req('GET', '/gw/prod/grafana'), DOMAIN), undefined);
    assert.equal(relayRouteOf(req('GET', '/gw/%zz/grafana/'), DOMAIN), undefined);
  });

  it('relay route - the Service gateway\'s host form names its cluster whatever the path; the hub\'s own host is read as before', () => {
    const domains = { kube: DOMAIN, gateway: 'gw.example.com' };
    assert.deepEqual(relayRouteFor(req('GET', '/api/v1/clusters/other/logs', 'grafana--prod.gw.example.com:8443'), domains), { cluster: 'prod', form: 'api' });
    assert.deepEqual(relayRouteFor(req('GET', '/', 'Grafana--Prod.GW.example.com.'), domains), { cluster: 'prod', form: 'api' });
    // The gateway's own pages on an exposure's host, and a host of the domain that names no exposure, are served where they land.
    assert.equal(relayRouteFor(req('POST', '/gw/-/login', 'grafana--prod.gw.example.com'), domains), undefined);
    assert.equal(relayRouteFor(req('GET', '/', 'grafana.gw.example.com'), domains), undefined);
    // Not the gateway's: the path form, the kubectl endpoint and the API, exactly as relayRouteOf reads them.
    assert.deepEqual(relayRouteFor(req('GET', '/gw/prod/grafana/x'), domains), { cluster: 'prod', form: 'api' });
    assert.deepEqual(relayRouteFor(req('GET', '/api/v1/pods', 'prod.kube.example.com'), domains), { cluster: 'prod', form: 'kube' });
    assert.equal(relayRouteFor(req('GET', '/api/v1/clusters'), domains), undefined);
    // Without a gateway domain, such a host is nobody's: read as the hub's own.
    assert.equal(relayRouteFor(req('GET', '/', 'grafana--prod.gw.example.com'), { kube: DOMAIN, gateway: undefined }), undefined);
  });

  it('relay route - stored data and everything else is served locally', () => {
    const local: [string, string][] = [
      ['GET', '/api/v1/clusters'],
      ['GET', '/api/v1/clusters/prod'],
      ['DELETE', '/api/v1/clusters/prod'],
      ['POST', '/api/v1/clusters/prod/rotate-token'],
      ['GET', '/api/v1/clusters/prod/addons'],
      ['GET', '/api/v1/clusters/prod/addons/ingress'],
      ['PUT', '/api/v1/clusters/prod/addons/ingress'],
      ['GET', '/api/v1/clusters/prod/addons/ingress/rollback'],
      ['POST', '/api/v1/clusters/prod/resources'],
      ['DELETE', '/api/v1/clusters/prod/logs'],
      ['GET', '/api/v1/clusters/prod/agent/upgrade'],
      ['POST', '/api/v1/clusters/prod/forward'],
      ['GET', '/api/v1/clusters/prod/forward/x'],
      ['GET', '/api/v1/clusters/prod/resources/pods/web/events/more'],
      ['GET', '/api/v1/clusters/prod/resources/pods/web/other'],
      ['GET', '/api/v1/clusters/prod/watch'],
      ['GET', '/api/v1/clusters/prod/logs/x'],
      ['GET', '/api/v1/fleet/watch'],
      ['GET', '/api/v1/audit'],
      ['GET', '/agent/connect'],
      ['GET', '/'],
      ['GET', '/readyz'],
      ['GET', '/k8s/cluster/prod/api'],
      ['GET', '/API/v1/clusters/prod/logs'],
    ];
    for (const [method, url] of local) assert.equal(relayRouteOf(req(method, url), DOMAIN), undefined, `${method} ${url}`);
  });

  it('relay route - malformed and hostile input is left to the local routes, which refuse it', () => {
    const local: [string, string, string?][] = [
      ['GET', '/k8s/clusters/%E0%A4%A/api'],
      ['GET', '/k8s/clusters/'],
      ['GET', '/k8s/clusters/?x'],
      ['GET', `/k8s/clusters/${'a'.repeat(254)}/api`],
      ['GET', '/api/v1/clusters/%zz/logs'],
      ['GET', '/api/v1/clusters/prod/%E0%A4%A'],
      ['GET', '/api/v1/clusters//logs'],
      ['GET', '/api/v1/clusters/prod/logs/'],
      ['GET', '/api/v1/clusters/prod/resources//web'],
      ['GET', '/api/v1/clusters/prod%2Flogs'],
      ['GET', '/api/v1/clusters/prod/resources%2Fpods'],
      ['GET', '/api/v1/clusters/prod;x/logs;y'],
      ['GET', `/api/v1/clusters/prod/resources/${'x'.repeat(5000)}`],
      ['GET', '/api/v1/pods', 'bad_label!.kube.example.com'],
      ['GET', '/api/v1/pods', `${'a'.repeat(300)}.kube.example.com`],
    ];
    for (const [method, url, host] of local) assert.equal(relayRouteOf(req(method, url, host), DOMAIN), undefined, `${method} ${url} ${host ?? ''}`);
    // A cluster name may decode to anything; it is looked up, never trusted.
    assert.equal(agentBoundCluster(req('GET', '/api/v1/clusters/%2e%2e/logs'), DOMAIN), '..');
    assert.equal(agentBoundCluster(req('GET', '/api/v1/clusters/a%2Fb/logs'), DOMAIN), 'a/b');
  });

  it('relay route - refusals take the kubectl endpoint\'s form there and the API\'s elsewhere', () => {
    assert.equal(answersAsApi(req('GET', '/k8s/clusters/prod/api'), DOMAIN), false);
    assert.equal(answersAsApi(req('GET', '/api/v1/pods', 'prod.kube.example.com'), DOMAIN), false);
    assert.equal(answersAsApi(req('GET', '/api/v1/clusters/prod/logs'), DOMAIN), true);
  });

  it('relay route - never throws, whatever the method, URL and Host (property)', () => {
    const pieces = ['/', 'api', 'v1', 'clusters', 'k8s', 'prod', 'resources', 'logs', 'watch', 'addons', 'sync', 'agent', 'upgrade',
      '%', '%2', '%2f', '%E0', '%A4', '%C0%AE', '..', '?', '#', ';', '=', '%00', '\\', 'ü', '//', '[', '\u0000', '\ud800'];
    const urls = fc.array(fc.oneof(fc.constantFrom(...pieces), fc.string({ maxLength: 4 })), { maxLength: 10 }).map((parts) => parts.join(''));
    const hosts = fc.oneof(fc.constant(undefined), fc.string({ maxLength: 20 }), fc.constantFrom('prod.kube.example.com', '[::1]:1', ':', '.kube.example.com'));
    fc.assert(fc.property(fc.constantFrom('GET', 'POST', 'HEAD', 'PUT', ''), fc.oneof(urls, urls.map((u) => `/api/v1/clusters/${u}`), urls.map((u) => `/k8s/clusters/${u}`)), hosts, (method, url, host) => {
      const route = relayRouteOf({ method, url, headers: { host } }, DOMAIN);
      if (route !== undefined) assert.ok(route.cluster.length > 0 && route.cluster.length <= 253);
    }), { numRuns: 5000 });
  });
});
