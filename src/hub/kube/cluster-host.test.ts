import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ConfigError } from '../../util/settings.ts';
import { MAX_HOST_CHARS, checkKubeDomain, clusterHostOf } from './cluster-host.ts';
import { KubeUrlError, kubeAddressOf } from './proxy.ts';

const DOMAIN = 'kube.example.com';

describe('cluster host', () => {
  it('cluster host - <cluster>.<domain> names the cluster, with or without a port, in any case, with one trailing dot', () => {
    for (const host of ['prod.kube.example.com', 'prod.kube.example.com:8443', 'PROD.Kube.Example.COM', 'prod.kube.example.com.', 'prod.kube.example.com.:443', 'prod.kube.example.com:']) {
      assert.deepEqual(clusterHostOf(host, DOMAIN), { kind: 'cluster', label: 'prod' }, host);
    }
    assert.deepEqual(clusterHostOf('c0123456789ab.kube.example.com', DOMAIN), { kind: 'cluster', label: 'c0123456789ab' }, 'a cluster id');
    assert.deepEqual(clusterHostOf(`${'a'.repeat(63)}.kube.example.com`, DOMAIN), { kind: 'cluster', label: 'a'.repeat(63) });
  });

  it('cluster host - the hub\'s own hosts, the bare domain, IP literals and other names are not cluster hosts', () => {
    for (const host of [undefined, '', 'kube.example.com', 'kube.example.com:8443', 'KUBE.example.com.', 'hub.example.com', '127.0.0.1:8443', '[::1]:8443', '[::1]',
      '[fe80::1%25eth0]:443', 'prod.kube.example.com.evil.test', 'prodkube.example.com', 'prod.kube.example.co', 'prod.kube.example.com..', 'kube.example.com.:8443']) {
      assert.equal(clusterHostOf(host, DOMAIN), undefined, String(host));
    }
  });

  it('cluster host - a name inside the domain that is no cluster label is invalid, never the hub', () => {
    for (const host of ['.kube.example.com', 'a.b.kube.example.com', 'a_b.kube.example.com', '-prod.kube.example.com', 'prod-.kube.example.com',
      `${'a'.repeat(64)}.kube.example.com`, 'pr od.kube.example.com', 'prod%2e.kube.example.com', 'prod.kube.example.com:84x3', 'prod.kube.example.com:123456',
      'a:b.kube.example.com:443', 'ü.kube.example.com']) {
      assert.equal(clusterHostOf(host, DOMAIN)?.kind, 'invalid', host);
    }
  });

  it('cluster host - an over-long Host is judged by its tail: inside the domain it is invalid, elsewhere the hub\'s', () => {
    const long = `${'a.'.repeat(MAX_HOST_CHARS)}prod.kube.example.com`;
    assert.deepEqual(clusterHostOf(long, DOMAIN), { kind: 'invalid', reason: `the Host header is longer than ${MAX_HOST_CHARS} characters` });
    assert.equal(clusterHostOf(`${'a'.repeat(MAX_HOST_CHARS * 4)}.hub.example.com`, DOMAIN), undefined);
  });

  it('cluster host - any Host value is read without throwing, and a cluster label is always a DNS label (property)', () => {
    const piece = fc.oneof(fc.constantFrom('.', ':', '[', ']', 'prod', DOMAIN, `.${DOMAIN}`, 'KUBE', '8443', '-', '%', '\u0000'), fc.string({ maxLength: 6 }));
    fc.assert(fc.property(fc.array(piece, { maxLength: 8 }), (parts) => {
      const result = clusterHostOf(parts.join(''), DOMAIN);
      if (result?.kind === 'cluster') assert.match(result.label, /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/);
    }), { numRuns: 5000 });
  });

  it('cluster host - the request address takes the cluster from the host and the path as sent', () => {
    const req = (host: string, url: string): { url: string; headers: { host: string } } => ({ url, headers: { host } });
    assert.deepEqual(kubeAddressOf(req('prod.kube.example.com:8443', '/api/v1/pods?watch=1'), DOMAIN), { ref: 'prod', apiPath: '/api/v1/pods?watch=1' });
    // On a cluster host the path is the API server's, even one that looks like the path form.
    assert.deepEqual(kubeAddressOf(req('prod.kube.example.com', '/k8s/clusters/other/api'), DOMAIN), { ref: 'prod', apiPath: '/k8s/clusters/other/api' });
    assert.deepEqual(kubeAddressOf(req('hub.example.com', '/k8s/clusters/other/api'), DOMAIN), { ref: 'other', apiPath: '/api' });
    assert.deepEqual(kubeAddressOf(req('prod.kube.example.com', '/k8s/clusters/other/api'), undefined), { ref: 'other', apiPath: '/api' });
    for (const [host, url] of [['a_b.kube.example.com', '/api'], ['prod.kube.example.com', '/api/%E0%A4%A']]) {
      assert.throws(() => kubeAddressOf(req(host ?? '', url ?? ''), DOMAIN), (error: unknown) => error instanceof KubeUrlError && error.code === 'KUBE_URL_INVALID', `${host} ${url}`);
    }
  });

  it('cluster host - a public URL inside the kube domain is refused at start, naming both settings', () => {
    assert.throws(() => { checkKubeDomain({ kubeDomain: 'example.com', publicUrl: 'https://hub.example.com:8443' }); },
      (error: unknown) => error instanceof ConfigError && /--public-url https:\/\/hub\.example\.com:8443 is inside --kube-domain example\.com/.test(error.message));
    checkKubeDomain({ kubeDomain: DOMAIN, publicUrl: 'https://hub.example.com:8443' });
    checkKubeDomain({ kubeDomain: DOMAIN, publicUrl: 'https://kube.example.com' });
    checkKubeDomain({ kubeDomain: DOMAIN, publicUrl: undefined });
    checkKubeDomain({ kubeDomain: undefined, publicUrl: 'https://hub.kube.example.com' });
  });
});
