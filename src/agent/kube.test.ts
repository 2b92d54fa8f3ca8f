import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { stringify } from 'yaml';
import { KubeApiPathError } from '../kube/api-path.ts';
import { KubeClient } from './kube.ts';

/** A KubeClient for an API server behind a path prefix (as behind a proxy), with a bearer token. */
function client(t: { after: (fn: () => void) => void }, server: string): KubeClient {
  const dir = mkdtempSync(join(tmpdir(), 'uplink-kube-'));
  t.after(() => { rmSync(dir, { recursive: true, force: true }); });
  const file = join(dir, 'config');
  writeFileSync(file, stringify({
    apiVersion: 'v1', kind: 'Config', 'current-context': 'c',
    clusters: [{ name: 'c', cluster: { server, 'insecure-skip-tls-verify': true } }],
    users: [{ name: 'u', user: { token: 'agent-secret-token' } }],
    contexts: [{ name: 'c', context: { cluster: 'c', user: 'u' } }],
  }));
  const kube = new KubeClient({ kubeconfig: file });
  t.after(() => { kube.close(); });
  return kube;
}

describe('KubeClient request target', () => {
  it('kube client - every request goes to the configured server and prefix, with the checked path appended', async (t) => {
    const kube = client(t, 'https://api.example.test:6443/k8s/clusters/c-1/');
    const options = await kube.requestOptions('GET', '/api/v1/namespaces/a%2Db/pods?watch=1');
    assert.deepEqual([options.protocol, options.hostname, options.port, options.path],
      ['https:', 'api.example.test', '6443', '/k8s/clusters/c-1/api/v1/namespaces/a%2Db/pods?watch=1']);
    assert.equal((options.headers as Record<string, string>).authorization, 'Bearer agent-secret-token');
  });

  it('kube client - a path naming another host, or climbing out of the prefix, never gets credentials', async (t) => {
    const kube = client(t, 'https://10.96.0.1:443');
    for (const path of ['//127.0.0.1:10250/exec/default/p/c?command=id', 'https://127.0.0.1:10250/x', '/%2F127.0.0.1/api', '/api/../../x', '/\\127.0.0.1/api']) {
      await assert.rejects(kube.requestOptions('GET', path), (error: unknown) => error instanceof KubeApiPathError, path);
      await assert.rejects(kube.request('GET', path), (error: unknown) => error instanceof KubeApiPathError, path);
    }
  });
});
