import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { allowedRequestHeaders, forwardedRequestHeaders, forwardedResponseHeaders, impersonationProblem, kubeStatus } from './headers.ts';

describe('kubectl passthrough headers', () => {
  it('headers - the hub drops client credentials and impersonation and sets its own', () => {
    const out = forwardedRequestHeaders({
      authorization: 'Bearer upk_x', 'impersonate-user': 'admin', 'impersonate-group': 'system:masters',
      'impersonate-extra-scopes': 'all', 'impersonate-uid': '1', cookie: 'a=b', connection: 'Upgrade', upgrade: 'SPDY/3.1',
      host: 'hub', accept: 'application/json', 'user-agent': 'kubectl/v1.36', 'x-uplink-upgrade': 'forged',
    }, { user: 'alice', role: 'view' });
    assert.deepEqual(out, {
      accept: 'application/json', 'user-agent': 'kubectl/v1.36',
      'impersonate-user': 'uplink:alice', 'impersonate-group': 'uplink:view',
    });
  });

  it('headers - a bearer token smuggled in the WebSocket subprotocols is removed', () => {
    const out = forwardedRequestHeaders({
      'sec-websocket-protocol': 'v5.channel.k8s.io, base64url.bearer.authorization.k8s.io.dG9rZW4, v4.channel.k8s.io',
    }, { user: 'bob', role: 'edit' });
    assert.equal(out['sec-websocket-protocol'], 'v5.channel.k8s.io, v4.channel.k8s.io');
    const only = forwardedRequestHeaders({ 'sec-websocket-protocol': 'base64url.bearer.authorization.k8s.io.eA' }, { user: 'b', role: 'edit' });
    assert.equal(only['sec-websocket-protocol'], undefined);
  });

  it('headers - identity headers an authenticating proxy would trust never pass, in any casing', () => {
    const smuggled: Record<string, string> = {};
    for (const name of ['X-Remote-User', 'X-Remote-Group', 'X-Remote-Extra-Scopes', 'X-Forwarded-For', 'X-Forwarded-Host', 'X-Forwarded-Proto',
      'X-Forwarded-User', 'Forwarded', 'X-Real-IP', 'Impersonate-User', 'Impersonate-Group', 'Impersonate-Uid', 'Impersonate-Extra-Foo',
      'Authorization', 'Proxy-Authorization', 'Cookie', 'X-Uplink-Upgrade', 'Host']) {
      for (const casing of [name, name.toLowerCase(), name.toUpperCase(), name.replace(/[a-z]/g, (c, i: number) => (i % 2 ? c.toUpperCase() : c))]) {
        smuggled[casing] = 'evil';
      }
    }
    const out = forwardedRequestHeaders({ ...smuggled, accept: 'application/json' }, { user: 'alice', role: 'view' });
    assert.deepEqual(out, { accept: 'application/json', 'impersonate-user': 'uplink:alice', 'impersonate-group': 'uplink:view' });
  });

  it('headers - what kubectl sends for get, apply, exec over SPDY and WebSocket passes', () => {
    const kubectlHeaders = {
      accept: 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json', 'accept-encoding': 'gzip', 'user-agent': 'kubectl/v1.36.4',
      'kubectl-command': 'kubectl exec', 'kubectl-session': '3f1c', 'content-type': 'application/apply-patch+yaml', 'content-length': '120',
      'x-stream-protocol-version': 'v5.channel.k8s.io, v4.channel.k8s.io', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
      'sec-websocket-version': '13', 'sec-websocket-protocol': 'v5.channel.k8s.io', 'audit-id': 'a1', traceparent: '00-1-2-01',
    };
    assert.deepEqual(allowedRequestHeaders(kubectlHeaders), kubectlHeaders);
  });

  it('headers - an upgrade\'s Content-Length never reaches the link, whose stream carries the upgraded bytes', () => {
    const spdy = { connection: 'Upgrade', upgrade: 'SPDY/3.1', 'content-length': '0', 'x-stream-protocol-version': 'v4.channel.k8s.io' };
    const out = forwardedRequestHeaders(spdy, { user: 'alice', role: 'view' });
    assert.deepEqual(out, { 'x-stream-protocol-version': 'v4.channel.k8s.io', 'impersonate-user': 'uplink:alice', 'impersonate-group': 'uplink:view' });
    assert.equal(forwardedRequestHeaders({ 'content-length': '7' }, { user: 'alice', role: 'view' })['content-length'], '7', 'a body keeps its length');
  });

  it('headers - a header the Connection header names is dropped even if allowed', () => {
    const out = allowedRequestHeaders({ connection: 'keep-alive, Kubectl-Session,  audit-id', 'kubectl-session': 's', 'audit-id': 'a', accept: '*/*' });
    assert.deepEqual(out, { accept: '*/*' });
  });

  it('headers - the agent accepts only an uplink user and one uplink group', () => {
    assert.equal(impersonationProblem({ 'impersonate-user': 'uplink:alice', 'impersonate-group': 'uplink:view' }), undefined);
    assert.match(impersonationProblem({}) ?? '', /must impersonate an uplink: user/);
    assert.match(impersonationProblem({ 'impersonate-user': 'system:admin', 'impersonate-group': 'uplink:view' }) ?? '', /uplink: user/);
    assert.match(impersonationProblem({ 'impersonate-user': 'uplink:', 'impersonate-group': 'uplink:view' }) ?? '', /uplink: user/);
    assert.match(impersonationProblem({ 'impersonate-user': 'uplink:a', 'impersonate-group': 'system:masters' }) ?? '', /exactly one of/);
    assert.match(impersonationProblem({ 'impersonate-user': 'uplink:a', 'impersonate-group': 'uplink:view, uplink:admin' }) ?? '', /exactly one of/);
    assert.match(impersonationProblem({ 'impersonate-user': 'uplink:a', 'impersonate-group': 'uplink:view', 'impersonate-uid': '0' }) ?? '',
      /does not impersonate with impersonate-uid/);
  });

  it('headers - responses lose hop-by-hop and link-internal headers', () => {
    assert.deepEqual(forwardedResponseHeaders({ ':status': 200, 'content-type': 'application/json', connection: 'close', 'x-uplink-switched': '1' }),
      { 'content-type': 'application/json' });
  });

  it('headers - refusals are Kubernetes Status objects', () => {
    assert.deepEqual(JSON.parse(kubeStatus(429, 'TooManyRequests', 'slow down')),
      { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'slow down', reason: 'TooManyRequests', code: 429 });
  });
});
