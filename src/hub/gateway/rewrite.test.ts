import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { browserResponseHeaders, rewriteLocation, rewriteSetCookie, serviceHostsOf, serviceRequestHeaders, stripGatewayCookies, type RewriteContext } from './rewrite.ts';

const context: RewriteContext = {
  ...serviceHostsOf('grafana', 'monitoring', 3000),
  prefix: '/gw/prod/grafana', publicHost: 'hub.example.com', proto: 'https', clientAddress: '203.0.113.9',
};

describe('gateway rewrites towards the service', () => {
  it('names the Service, says what the browser asked for, and drops the hub\'s credentials and hop-by-hop headers', () => {
    const out = serviceRequestHeaders({
      host: 'hub.example.com', authorization: 'Bearer upk_x_y', cookie: 'a=1; uplink_gw=secret; uplink_gw_csrf=c; b=2',
      connection: 'keep-alive, x-drop', 'x-drop': '1', 'keep-alive': 'timeout=5', te: 'trailers', 'transfer-encoding': 'chunked',
      'x-forwarded-for': '10.0.0.1', forwarded: 'for=evil', accept: 'text/html', 'proxy-authorization': 'Basic x', upgrade: 'websocket',
    }, context);
    assert.deepEqual(out, {
      accept: 'text/html', cookie: 'a=1; b=2', host: 'grafana.monitoring.svc:3000',
      'x-forwarded-host': 'hub.example.com', 'x-forwarded-proto': 'https', 'x-forwarded-for': '203.0.113.9', 'x-forwarded-prefix': '/gw/prod/grafana',
    });
  });

  it('keeps the upgrade headers of a WebSocket handshake, and sends no prefix on the host form', () => {
    const out = serviceRequestHeaders({ connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-key': 'k' }, { ...context, prefix: '' }, true);
    assert.equal(out.connection, 'Upgrade');
    assert.equal(out.upgrade, 'websocket');
    assert.equal(out['sec-websocket-key'], 'k');
    assert.equal(out['x-forwarded-prefix'], undefined);
  });

  it('leaves no Cookie header when only the gateway\'s were sent', () => {
    assert.equal(stripGatewayCookies('uplink_gw=x'), undefined);
    assert.equal(stripGatewayCookies(undefined), undefined);
    assert.equal(stripGatewayCookies('uplink_gwx=1'), 'uplink_gwx=1');
  });

  it('omits port 80 and named ports from Host', () => {
    assert.equal(serviceHostsOf('web', 'default', 80).serviceHost, 'web.default.svc');
    assert.equal(serviceHostsOf('web', 'default', 'http').serviceHost, 'web.default.svc');
  });
});

describe('gateway rewrites towards the browser', () => {
  it('puts root-relative and service-absolute redirects under the prefix, once', () => {
    assert.equal(rewriteLocation('/login?x=1', context), '/gw/prod/grafana/login?x=1');
    assert.equal(rewriteLocation('/gw/prod/grafana/login', context), '/gw/prod/grafana/login');
    assert.equal(rewriteLocation('http://grafana.monitoring.svc:3000/a#h', context), '/gw/prod/grafana/a#h');
    assert.equal(rewriteLocation('http://grafana:3000/a', context), '/gw/prod/grafana/a');
    assert.equal(rewriteLocation('//grafana.monitoring.svc.cluster.local:3000/b', context), '/gw/prod/grafana/b');
  });

  it('leaves relative redirects and other hosts alone', () => {
    assert.equal(rewriteLocation('next', context), 'next');
    assert.equal(rewriteLocation('../up', context), '../up');
    assert.equal(rewriteLocation('https://accounts.example.com/x', context), 'https://accounts.example.com/x');
    assert.equal(rewriteLocation('http://[bad', context), 'http://[bad');
    assert.equal(rewriteLocation('/x', { ...context, prefix: '' }), '/x');
  });

  it('keeps cookie paths under the prefix, drops Domain, and refuses the gateway\'s own names', () => {
    assert.equal(rewriteSetCookie('sid=1; Path=/; HttpOnly', context.prefix), 'sid=1; Path=/gw/prod/grafana/; HttpOnly');
    assert.equal(rewriteSetCookie('sid=1; path=/api; Domain=grafana.monitoring.svc', context.prefix), 'sid=1; Path=/gw/prod/grafana/api');
    assert.equal(rewriteSetCookie('sid=1', context.prefix), 'sid=1');
    assert.equal(rewriteSetCookie('uplink_gw=evil; Path=/', context.prefix), undefined);
    assert.equal(rewriteSetCookie('__Host-uplink_gw=evil; Path=/', ''), undefined);
    assert.equal(rewriteSetCookie('sid=1; Path=/', ''), 'sid=1; Path=/');
  });

  it('drops hop-by-hop headers of the answer and rewrites Location and Set-Cookie', () => {
    const out = browserResponseHeaders({
      location: '/x', 'set-cookie': ['a=1; Path=/', 'uplink_gw=2'], connection: 'close, x-hop', 'x-hop': '1', 'transfer-encoding': 'chunked',
      'content-type': 'text/html', 'keep-alive': 'timeout=5',
    }, context);
    assert.deepEqual(out, { location: '/gw/prod/grafana/x', 'set-cookie': ['a=1; Path=/gw/prod/grafana/'], 'content-type': 'text/html' });
  });

  it('drops headers that reach the whole origin on the path form, where the origin is the hub\'s, and keeps them on the host form', () => {
    const answer = { 'service-worker-allowed': '/', 'clear-site-data': '"cookies", "storage"', 'content-type': 'text/javascript' };
    assert.deepEqual(browserResponseHeaders(answer, context), { 'content-type': 'text/javascript' });
    assert.deepEqual(browserResponseHeaders(answer, { ...context, prefix: '' }), answer);
  });
});
