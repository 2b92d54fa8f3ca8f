import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { EXEC_EXPIRY_MARGIN_MS } from './kube-exec-credential.ts';
import { KubeConfigSource, TOKEN_REREAD_MS, type KubeConfigLoadOptions } from './kubeconfig.ts';

const root = mkdtempSync(join(tmpdir(), 'uplink-kubeconfig-'));
after(() => { rmSync(root, { recursive: true, force: true }); });
let dirs = 0;

function tempDir(): string {
  const dir = join(root, String(dirs++));
  mkdirSync(dir);
  return dir;
}

function write(path: string, content: string): string {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content);
  return path;
}

const b64 = (text: string): string => Buffer.from(text).toString('base64');

/** A one-context kubeconfig (YAML) with the given cluster and user fields. */
function kubeconfig(path: string, cluster: object, user: object, extra: object = {}): string {
  return write(path, stringify({
    apiVersion: 'v1', kind: 'Config', 'current-context': 'main',
    clusters: [{ name: 'c', cluster: { server: 'https://api.example:6443', ...cluster } }],
    users: [{ name: 'u', user }],
    contexts: [{ name: 'main', context: { cluster: 'c', user: 'u' } }],
    ...extra,
  }));
}

/** A clock the test moves by hand. */
function manualClock(): { now: () => number; advance: (ms: number) => void } {
  let now = Date.now();
  return { now: () => now, advance: (ms) => { now += ms; } };
}

function assertConfigError(load: () => unknown, pattern: RegExp): void {
  assert.throws(load, (error: Error & { code?: string }) => {
    assert.equal(error.code, 'KUBE_CONFIG_INVALID');
    assert.match(error.message, pattern);
    return true;
  });
}

describe('KubeConfigSource', () => {
  it('kubeconfig - inline certificate data, tls-server-name', async () => {
    const file = kubeconfig(join(tempDir(), 'config'),
      { 'certificate-authority-data': b64('CA PEM'), 'tls-server-name': 'kubernetes' },
      { 'client-certificate-data': b64('CERT PEM'), 'client-key-data': b64('KEY PEM') });
    const source = KubeConfigSource.load({ kubeconfig: file });
    assert.equal(source.server.href, 'https://api.example:6443/');
    assert.equal(source.inCluster, false);
    assert.deepEqual(await source.tlsAndAuth(), {
      ca: 'CA PEM', cert: 'CERT PEM', key: 'KEY PEM', rejectUnauthorized: true, servername: 'kubernetes',
    });
  });

  it('kubeconfig - file paths resolve against the kubeconfig directory', async () => {
    const dir = tempDir();
    write(join(dir, 'kube', 'ca.pem'), 'CA FILE');
    write(join(dir, 'certs', 'client.pem'), 'CERT FILE');
    write(join(dir, 'certs', 'client-key.pem'), 'KEY FILE');
    const file = kubeconfig(join(dir, 'kube', 'config'), { 'certificate-authority': 'ca.pem' },
      { 'client-certificate': '../certs/client.pem', 'client-key': join(dir, 'certs', 'client-key.pem') });
    const options = await KubeConfigSource.load({ kubeconfig: file }).tlsAndAuth();
    assert.deepEqual([options.ca, options.cert, options.key], ['CA FILE', 'CERT FILE', 'KEY FILE']);
  });

  it('kubeconfig - a missing certificate file is named with its field', () => {
    const file = kubeconfig(join(tempDir(), 'config'), { 'certificate-authority': 'nope.pem' }, {});
    assertConfigError(() => KubeConfigSource.load({ kubeconfig: file }), /cluster "c": cannot read certificate-authority .*nope\.pem/);
  });

  it('kubeconfig - bearer token, and insecure-skip-tls-verify', async () => {
    const file = kubeconfig(join(tempDir(), 'config'), { 'insecure-skip-tls-verify': true }, { token: 'abc' });
    assert.deepEqual(await KubeConfigSource.load({ kubeconfig: file }).tlsAndAuth(), {
      rejectUnauthorized: false, authorization: 'Bearer abc',
    });
  });

  it('kubeconfig - tokenFile is re-read once a minute', async () => {
    const dir = tempDir();
    write(join(dir, 'token'), 'first\n');
    const clock = manualClock();
    const source = KubeConfigSource.load({ kubeconfig: kubeconfig(join(dir, 'config'), {}, { tokenFile: 'token' }), clock: clock.now });
    assert.equal((await source.tlsAndAuth()).authorization, 'Bearer first');
    write(join(dir, 'token'), 'second\n');
    clock.advance(TOKEN_REREAD_MS - 1);
    assert.equal((await source.tlsAndAuth()).authorization, 'Bearer first');
    clock.advance(1);
    assert.equal((await source.tlsAndAuth()).authorization, 'Bearer second');
    rmSync(join(dir, 'token'));
    clock.advance(TOKEN_REREAD_MS);
    assert.equal((await source.tlsAndAuth()).authorization, 'Bearer second', 'a failed re-read keeps the last token');
  });

  it('kubeconfig - username and password give basic auth', async () => {
    const file = kubeconfig(join(tempDir(), 'config'), {}, { username: 'admin', password: 's3cret' });
    const options = await KubeConfigSource.load({ kubeconfig: file }).tlsAndAuth();
    assert.equal(options.authorization, `Basic ${b64('admin:s3cret')}`);
  });

  it('kubeconfig - a context override picks its cluster and user', async () => {
    const file = kubeconfig(join(tempDir(), 'config'), {}, { token: 'main-token' }, {
      clusters: [
        { name: 'c', cluster: { server: 'https://main.example' } },
        { name: 'other', cluster: { server: 'https://other.example:8443' } },
      ],
      users: [{ name: 'u', user: { token: 'main-token' } }, { name: 'v', user: { token: 'other-token' } }],
      contexts: [
        { name: 'main', context: { cluster: 'c', user: 'u' } },
        { name: 'side', context: { cluster: 'other', user: 'v', namespace: 'x' } },
      ],
    });
    const source = KubeConfigSource.load({ kubeconfig: file, context: 'side' });
    assert.equal(source.server.origin, 'https://other.example:8443');
    assert.equal((await source.tlsAndAuth()).authorization, 'Bearer other-token');
  });

  it('kubeconfig - KUBECONFIG files merge, the first one winning per name and for current-context', async () => {
    const one = tempDir();
    const two = tempDir();
    write(join(two, 'ca.pem'), 'CA OF TWO');
    const first = kubeconfig(join(one, 'config'), { server: 'https://first.example' }, { token: 'first-token' });
    const second = write(join(two, 'config'), stringify({
      'current-context': 'second',
      clusters: [
        { name: 'c', cluster: { server: 'https://ignored.example' } },
        { name: 'c2', cluster: { server: 'https://second.example', 'certificate-authority': 'ca.pem' } },
      ],
      users: [{ name: 'u', user: { token: 'ignored' } }],
      contexts: [{ name: 'second', context: { cluster: 'c2', user: 'u' } }],
    }));
    const env = { KUBECONFIG: [first, join(one, 'missing'), second].join(':') };
    const merged = KubeConfigSource.load({ env });
    assert.equal(merged.server.origin, 'https://first.example');
    assert.equal((await merged.tlsAndAuth()).authorization, 'Bearer first-token');
    const side = await KubeConfigSource.load({ env, context: 'second' }).tlsAndAuth();
    assert.deepEqual([side.ca, side.authorization], ['CA OF TWO', 'Bearer first-token']);
  });

  it('kubeconfig - the default is ~/.kube/config, and none at all is a clear error', () => {
    const home = tempDir();
    assertConfigError(() => KubeConfigSource.load({ env: { HOME: home } }), /KUBECONFIG is unset.*\.kube\/config does not exist; pass --kubeconfig/);
    kubeconfig(join(home, '.kube', 'config'), { server: 'https://home.example' }, {});
    assert.equal(KubeConfigSource.load({ env: { HOME: home } }).server.origin, 'https://home.example');
  });

  it('kubeconfig - an unknown context is named with the contexts there are', () => {
    const file = kubeconfig(join(tempDir(), 'config'), {}, {});
    assertConfigError(() => KubeConfigSource.load({ kubeconfig: file, context: 'nope' }), /config: context "nope" not found \(contexts: main\)/);
  });

  it('kubeconfig - a cluster without a server names file, cluster and field', () => {
    const file = kubeconfig(join(tempDir(), 'config'), { server: null }, {});
    assertConfigError(() => KubeConfigSource.load({ kubeconfig: file }), new RegExp(`kubeconfig ${file}: cluster "c": server is missing`));
  });

  it('kubeconfig - legacy auth providers, proxies and impersonation are refused', () => {
    const dir = tempDir();
    const provider = kubeconfig(join(dir, 'a'), {}, { 'auth-provider': { name: 'oidc', config: {} } });
    assertConfigError(() => KubeConfigSource.load({ kubeconfig: provider }),
      /user "u": legacy auth-provider plugins are not supported; use an exec credential plugin/);
    const proxied = kubeconfig(join(dir, 'b'), { 'proxy-url': 'http://proxy:3128' }, {});
    assertConfigError(() => KubeConfigSource.load({ kubeconfig: proxied }), /cluster "c": proxy-url is not supported/);
    const impersonating = kubeconfig(join(dir, 'c'), {}, { as: 'someone' });
    assertConfigError(() => KubeConfigSource.load({ kubeconfig: impersonating }), /impersonation \(as\) is not supported/);
  });

  it('kubeconfig - a file that is not a kubeconfig is named', () => {
    const file = write(join(tempDir(), 'config'), 'clusters: {a: 1}\n');
    assertConfigError(() => KubeConfigSource.load({ kubeconfig: file }), new RegExp(`kubeconfig ${file}: clusters must be a list`));
  });

  it('kubeconfig - in-cluster uses the service address, the CA and a re-read token', async () => {
    const dir = tempDir();
    write(join(dir, 'token'), 'sa-token-1');
    write(join(dir, 'ca.crt'), 'CLUSTER CA');
    const clock = manualClock();
    const env = { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' };
    const source = KubeConfigSource.load({ env, serviceAccountDir: dir, clock: clock.now });
    assert.equal(source.inCluster, true);
    assert.equal(source.server.href, 'https://10.96.0.1/');
    assert.deepEqual(await source.tlsAndAuth(), { ca: 'CLUSTER CA', rejectUnauthorized: true, authorization: 'Bearer sa-token-1' });
    write(join(dir, 'token'), 'sa-token-2');
    clock.advance(TOKEN_REREAD_MS);
    assert.equal((await source.tlsAndAuth()).authorization, 'Bearer sa-token-2');
    const ipv6 = KubeConfigSource.load({ env: { ...env, KUBERNETES_SERVICE_HOST: 'fd00::1' }, serviceAccountDir: dir });
    assert.equal(ipv6.server.host, '[fd00::1]');
    assertConfigError(() => KubeConfigSource.load({ env, serviceAccountDir: join(dir, 'none') }), /cannot read the cluster CA/);
    assertConfigError(() => KubeConfigSource.load({ env, serviceAccountDir: dir, context: 'x' }), /needs a kubeconfig/);
  });
});

// The plugin logs each KUBERNETES_EXEC_INFO it gets to RUNS_FILE (one line a
// run) and answers as PLUGIN_MODE says.
const PLUGIN = `
import { appendFileSync, readFileSync } from 'node:fs';
appendFileSync(process.env.RUNS_FILE, process.env.KUBERNETES_EXEC_INFO + '\\n');
const runs = readFileSync(process.env.RUNS_FILE, 'utf8').trim().split('\\n').length;
const mode = process.env.PLUGIN_MODE;
if (mode === 'fail') { process.stderr.write('plugin broke: ' + 'x'.repeat(1000)); process.exit(3); }
if (mode === 'garbage') { process.stdout.write('secret-in-garbage'); process.exit(0); }
const status = mode === 'cert' ? { clientCertificateData: 'EXEC CERT', clientKeyData: 'EXEC KEY' } : { token: 'exec-token-' + runs };
if (process.env.EXPIRES) status.expirationTimestamp = process.env.EXPIRES;
setTimeout(() => { console.log(JSON.stringify({ apiVersion: process.env.API, kind: 'ExecCredential', status })); }, 100);
`;

interface PluginSetup {
  mode?: string;
  expires?: string;
  apiVersion?: string;
  provideClusterInfo?: boolean;
  clock?: () => number;
}

function execSource(setup: PluginSetup = {}): { source: KubeConfigSource; runs: () => Record<string, unknown>[]; plugin: string } {
  const dir = tempDir();
  const plugin = write(join(dir, 'plugin.mjs'), PLUGIN);
  const runsFile = join(dir, 'runs');
  const apiVersion = setup.apiVersion ?? 'client.authentication.k8s.io/v1';
  const env = [
    { name: 'RUNS_FILE', value: runsFile }, { name: 'PLUGIN_MODE', value: setup.mode ?? 'token' },
    { name: 'API', value: apiVersion }, { name: 'EXPIRES', value: setup.expires ?? '' },
  ];
  const file = kubeconfig(join(dir, 'config'), {
    'certificate-authority-data': b64('CA PEM'),
    extensions: [{ name: 'client.authentication.k8s.io/exec', extension: { audience: 'uplink' } }],
  }, {
    exec: {
      apiVersion, command: process.execPath, args: [plugin], env, interactiveMode: 'Never',
      provideClusterInfo: setup.provideClusterInfo ?? false, installHint: 'install the plugin',
    },
  });
  const options: KubeConfigLoadOptions = { kubeconfig: file, ...(setup.clock ? { clock: setup.clock } : {}) };
  const runs = (): Record<string, unknown>[] => readFileSync(runsFile, 'utf8').trim().split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
  return { source: KubeConfigSource.load(options), runs, plugin };
}

describe('KubeConfigSource with an exec credential plugin', () => {
  it('exec - concurrent callers share one run; the token is kept until shortly before it expires', async () => {
    const clock = manualClock();
    const expiresIn = 120_000;
    const { source, runs } = execSource({ clock: clock.now, expires: new Date(clock.now() + expiresIn).toISOString() });
    const first = await Promise.all([source.tlsAndAuth(), source.tlsAndAuth(), source.tlsAndAuth()]);
    assert.deepEqual(first.map((options) => options.authorization), Array(3).fill('Bearer exec-token-1'));
    assert.equal(runs().length, 1);
    clock.advance(expiresIn - EXEC_EXPIRY_MARGIN_MS - 1);
    assert.equal((await source.tlsAndAuth()).authorization, 'Bearer exec-token-1');
    clock.advance(1);
    assert.equal((await source.tlsAndAuth()).authorization, 'Bearer exec-token-2');
    assert.equal(runs().length, 2);
  });

  it('exec - a credential without expiry is kept for good', async () => {
    const clock = manualClock();
    const { source, runs } = execSource({ clock: clock.now, apiVersion: 'client.authentication.k8s.io/v1beta1' });
    assert.equal((await source.tlsAndAuth()).authorization, 'Bearer exec-token-1');
    clock.advance(365 * 24 * 3600_000);
    assert.equal((await source.tlsAndAuth()).authorization, 'Bearer exec-token-1');
    assert.equal(runs().length, 1);
  });

  it('exec - KUBERNETES_EXEC_INFO is non-interactive, with the cluster only when asked', async () => {
    const plain = execSource();
    await plain.source.tlsAndAuth();
    assert.deepEqual(plain.runs()[0], {
      apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', spec: { interactive: false },
    });
    const withCluster = execSource({ provideClusterInfo: true });
    await withCluster.source.tlsAndAuth();
    assert.deepEqual((withCluster.runs()[0]?.spec as { cluster?: unknown }).cluster, {
      server: 'https://api.example:6443', 'certificate-authority-data': b64('CA PEM'), config: { audience: 'uplink' },
    });
  });

  it('exec - a client certificate from the plugin', async () => {
    const options = await execSource({ mode: 'cert' }).source.tlsAndAuth();
    assert.deepEqual([options.cert, options.key, options.authorization], ['EXEC CERT', 'EXEC KEY', undefined]);
  });

  it('exec - a relative command path is relative to the kubeconfig', async () => {
    const dir = tempDir();
    const credential = { apiVersion: 'client.authentication.k8s.io/v1beta1', kind: 'ExecCredential', status: { token: 'from-sh' } };
    write(join(dir, 'bin', 'auth.sh'), `#!/bin/sh\necho '${JSON.stringify(credential)}'\n`);
    chmodSync(join(dir, 'bin', 'auth.sh'), 0o755);
    const file = kubeconfig(join(dir, 'config'), {}, { exec: { apiVersion: credential.apiVersion, command: './bin/auth.sh' } });
    assert.equal((await KubeConfigSource.load({ kubeconfig: file }).tlsAndAuth()).authorization, 'Bearer from-sh');
  });

  it('exec - a failing plugin is named with the start of its stderr', async () => {
    const { source, plugin } = execSource({ mode: 'fail' });
    await assert.rejects(source.tlsAndAuth(), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'KUBE_CREDENTIALS_FAILED');
      assert.match(error.message, new RegExp(`${process.execPath} exited with 3: plugin broke: x+$`));
      assert.ok(!error.message.includes(plugin) && error.message.length < 700, 'args are not quoted; stderr is cut at 500 characters');
      return true;
    });
  });

  it('exec - output that is not an ExecCredential is refused without quoting it', async () => {
    await assert.rejects(execSource({ mode: 'garbage' }).source.tlsAndAuth(), (error: Error) => {
      assert.match(error.message, /printed output that is not JSON/);
      assert.ok(!error.message.includes('secret'));
      return true;
    });
  });

  it('exec - a missing command says so with the install hint; a bad apiVersion is refused at load', async () => {
    const file = kubeconfig(join(tempDir(), 'config'), {}, {
      exec: { apiVersion: 'client.authentication.k8s.io/v1', command: '/nonexistent/uplink-auth', installHint: 'install uplink-auth' },
    });
    await assert.rejects(KubeConfigSource.load({ kubeconfig: file }).tlsAndAuth(),
      /exec credential plugin \/nonexistent\/uplink-auth could not be started: .*\(install uplink-auth\)/);
    const alpha = kubeconfig(join(tempDir(), 'config'), {}, { exec: { apiVersion: 'client.authentication.k8s.io/v1alpha1', command: 'x' } });
    assertConfigError(() => KubeConfigSource.load({ kubeconfig: alpha }), /user "u": exec: apiVersion client.authentication.k8s.io\/v1alpha1 is not supported/);
  });
});
