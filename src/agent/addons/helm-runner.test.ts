import assert from 'node:assert/strict';
import { chmod, cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { clusterBinDir, REPO_ROOT } from '../../../test/helpers/cluster.ts';
import {
  buildHelmEnv, HelmError, HelmRunner, parseHelmHistory, parseHelmList, parseHelmStatus,
} from './helm-runner.ts';

// These run the real helm binary built for the test cluster, but never talk
// to a cluster: `version` and `template` need none, and `list` is pointed at
// a kubeconfig whose API server refuses connections.

const WEBAPP_CHART = join(REPO_ROOT, 'examples/charts/webapp');

let dir: string;
let helm: HelmRunner;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'uplink-helm-runner-'));
  helm = new HelmRunner({ binary: join(await clusterBinDir(), 'helm'), stateDir: join(dir, 'helm') });
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function fakeHelm(name: string, script: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, `#!/bin/sh\n${script}\n`);
  await chmod(path, 0o755);
  return path;
}

async function rejectsWith(promise: Promise<unknown>, reason: HelmError['reason'], message: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof HelmError, String(error));
    assert.equal(error.code, 'HELM_FAILED');
    assert.equal(error.reason, reason, error.message);
    assert.match(error.message, message);
    return true;
  });
}

describe('HelmRunner with the real helm', () => {
  it('helm-runner - reports the version', async () => {
    assert.match(await helm.version(), /^v4\.\d+\.\d+/);
  });

  it('helm-runner - an agent that no longer leads runs no command that changes a release; reads still run', async () => {
    let leads = false;
    const fenced = new HelmRunner({ binary: join(await clusterBinDir(), 'helm'), stateDir: join(dir, 'fenced'), mayWrite: () => leads });
    for (const args of [['upgrade', '--install', 'web', WEBAPP_CHART], ['install', 'web', WEBAPP_CHART], ['rollback', 'web', '1'], ['uninstall', 'web']]) {
      await rejectsWith(fenced.run(args), 'NOT_LEADER', new RegExp(`helm ${args[0] ?? ''} was not run: this agent no longer leads`));
    }
    assert.match(await fenced.version(), /^v4\./);
    leads = true;
    const rendered = await fenced.run(['template', 'web', WEBAPP_CHART]);
    assert.match(rendered.stdout, /kind: Deployment/);
  });

  it('helm-runner - renders the example web app', async () => {
    const result = await helm.run(['template', 'web', WEBAPP_CHART, '--namespace', 'shop']);
    assert.match(result.stdout, /kind: Deployment/);
    assert.match(result.stdout, /# Source: webapp\/templates\/service\.yaml/);
  });

  it('helm-runner - takes values on stdin', async () => {
    const result = await helm.run(['template', 'web', WEBAPP_CHART, '-f', '-'], { input: 'replicaCount: 7\n' });
    assert.match(result.stdout, /replicas: 7/);
  });

  it('helm-runner - a broken template is RENDER_FAILED naming the template', async () => {
    const chart = join(dir, 'broken-chart');
    await cp(WEBAPP_CHART, chart, { recursive: true });
    await writeFile(join(chart, 'templates/broken.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Values.name | nope }}\n');
    await rejectsWith(helm.run(['template', 'web', chart]), 'RENDER_FAILED', /^helm template: The chart's templates failed to render: .*webapp\/templates\/broken\.yaml:4.*function "nope" not defined$/);
  });

  it('helm-runner - values against the chart are INVALID_VALUES', async () => {
    await rejectsWith(helm.run(['template', 'web', WEBAPP_CHART, '-f', '-'], { input: 'a: [' }), 'INVALID_VALUES', /values do not fit/);
  });

  it('helm-runner - an unreachable API server is UNREACHABLE', async () => {
    const kubeconfig = join(dir, 'refusing.kubeconfig');
    await writeFile(kubeconfig, [
      'apiVersion: v1', 'kind: Config', 'current-context: c',
      'clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]',
      'contexts: [{name: c, context: {cluster: c, user: u}}]',
      'users: [{name: u, user: {token: not-a-real-token}}]',
    ].join('\n'));
    const unreachable = new HelmRunner({ binary: helm.binary, stateDir: join(dir, 'helm'), kubeconfig });
    await rejectsWith(unreachable.list('shop'), 'UNREACHABLE', /^helm list: Helm could not reach the Kubernetes API server: .*connection refused/);
  });

  it('helm-runner - refuses --debug', async () => {
    await assert.rejects(helm.run(['template', 'web', WEBAPP_CHART, '--debug']), /never passed/);
  });
});

describe('HelmRunner bounds', () => {
  it('helm-runner - a command over its time is killed with its process group, and says so', async () => {
    const pidFile = join(dir, 'sleeper.pid');
    // Like helm running a plugin: the grandchild would hold the pipes open.
    const binary = await fakeHelm('slow-helm', `sleep 30 & echo $! > ${pidFile}; wait`);
    const slow = new HelmRunner({ binary, stateDir: join(dir, 'helm'), timeoutMs: 300 });
    const started = performance.now();
    await rejectsWith(slow.run(['upgrade', '--install', 'web', WEBAPP_CHART]), 'TIMEOUT', /^helm upgrade did not finish within 300 ms and was killed with its process group/);
    assert.ok(performance.now() - started < 5_000, 'did not wait for the grandchild');
    const pid = Number((await readFile(pidFile, 'utf8')).trim());
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    assert.ok(stat === '' || / Z /.test(stat.slice(stat.lastIndexOf(')'))), `grandchild ${pid} still runs`);
  });

  it('helm-runner - output over the cap is refused', async () => {
    const binary = await fakeHelm('chatty-helm', 'head -c 5000 /dev/zero');
    const chatty = new HelmRunner({ binary, stateDir: join(dir, 'helm'), maxOutputBytes: 1000 });
    await rejectsWith(chatty.run(['get', 'manifest', 'web']), 'OUTPUT_TOO_LARGE', /more than 1000 bytes/);
  });

  it('helm-runner - a missing binary is START_FAILED', async () => {
    const missing = new HelmRunner({ binary: join(dir, 'no-such-helm'), stateDir: join(dir, 'helm') });
    await rejectsWith(missing.version(), 'START_FAILED', /could not start helm at .*no-such-helm/);
  });

  it('helm-runner - helm sees only the environment it is given', async () => {
    const binary = await fakeHelm('env-helm', 'env');
    const kubeconfig = join(dir, 'kc');
    const printing = new HelmRunner({ binary, stateDir: join(dir, 'helm'), kubeconfig });
    const names = (await printing.run(['version'])).stdout.split('\n').map((line) => line.split('=')[0]).filter(Boolean);
    for (const name of ['PATH', 'HOME', 'KUBECONFIG', 'HELM_CACHE_HOME', 'HELM_CONFIG_HOME', 'HELM_DATA_HOME']) {
      assert.ok(names.includes(name), `${name} missing`);
    }
    assert.ok(!names.includes('NODE_TEST_CONTEXT'), 'the test runner environment leaked into helm');
  });
});

describe('buildHelmEnv', () => {
  it('helm-runner - places helm state under the given directory and inherits only what helm needs', () => {
    const env = buildHelmEnv(
      { binary: 'helm', stateDir: '/var/lib/uplink/helm', kubeconfig: '/run/kc', env: { HELM_DEBUG: 'true', HELM_DRIVER: 'secret' } },
      { PATH: '/bin', HOME: '/root', HTTPS_PROXY: 'http://proxy:3128', UPLINK_HUB_TOKEN: 'secret-token', HELM_DEBUG: 'true' },
    );
    assert.deepEqual(env, {
      PATH: '/bin',
      HTTPS_PROXY: 'http://proxy:3128',
      HELM_DRIVER: 'secret',
      HOME: '/var/lib/uplink/helm',
      HELM_CACHE_HOME: '/var/lib/uplink/helm/cache',
      HELM_CONFIG_HOME: '/var/lib/uplink/helm/config',
      HELM_DATA_HOME: '/var/lib/uplink/helm/data',
      HELM_DEBUG: 'false',
      KUBECONFIG: '/run/kc',
    });
  });

  it('helm-runner - has a PATH even when the agent has none', () => {
    assert.equal(buildHelmEnv({ binary: 'helm', stateDir: '/s' }, {}).PATH, '/usr/local/bin:/usr/bin:/bin');
  });
});

describe('helm -o json parsers', () => {
  it('helm-runner - parses helm list', () => {
    const stdout = JSON.stringify([
      { name: 'web', namespace: 'shop', revision: '3', updated: '2025-03-01 10:00:00.123456 +0000 UTC', status: 'deployed', chart: 'webapp-0.1.0', app_version: '1.0.0' },
      { name: 'db', namespace: 'shop', revision: '1', updated: '2025-03-01 09:00:00 +0000 UTC', status: 'pending-install', chart: 'db-2.0.0', app_version: '' },
    ]);
    assert.deepEqual(parseHelmList(stdout), [
      { name: 'web', namespace: 'shop', revision: 3, updated: '2025-03-01 10:00:00.123456 +0000 UTC', status: 'deployed', chart: 'webapp-0.1.0', appVersion: '1.0.0' },
      { name: 'db', namespace: 'shop', revision: 1, updated: '2025-03-01 09:00:00 +0000 UTC', status: 'pending-install', chart: 'db-2.0.0', appVersion: '' },
    ]);
    assert.deepEqual(parseHelmList('[]\n'), []);
  });

  it('helm-runner - parses helm history', () => {
    const stdout = '[{"revision":1,"updated":"2025-03-01T09:00:00.1Z","status":"superseded","chart":"webapp-0.1.0","app_version":"1.0.0","description":"Install complete"},'
      + '{"revision":2,"updated":"2025-03-01T10:00:00Z","status":"deployed","chart":"webapp-0.1.0","app_version":"1.0.0","description":"Upgrade complete"}]';
    const history = parseHelmHistory(stdout);
    assert.deepEqual(history.map((r) => [r.revision, r.status, r.description]), [[1, 'superseded', 'Install complete'], [2, 'deployed', 'Upgrade complete']]);
    assert.equal(history[0]?.appVersion, '1.0.0');
    assert.deepEqual(parseHelmHistory('null'), []);
  });

  it('helm-runner - parses helm status and keeps no values, manifest or notes', () => {
    const stdout = JSON.stringify({
      name: 'web', namespace: 'shop', version: 2, apply_method: 'ssa',
      info: { first_deployed: '2025-03-01T09:00:00Z', last_deployed: '2025-03-01T10:00:00Z', deleted: '', description: 'Upgrade complete', status: 'deployed', notes: 'password: hunter2' },
      config: { password: 'hunter2' },
      manifest: '---\n# Source: webapp/templates/secret.yaml\n',
    });
    const status = parseHelmStatus(stdout);
    assert.deepEqual(status, {
      name: 'web', namespace: 'shop', revision: 2, status: 'deployed', description: 'Upgrade complete',
      firstDeployed: '2025-03-01T09:00:00Z', lastDeployed: '2025-03-01T10:00:00Z',
    });
    assert.ok(!JSON.stringify(status).includes('hunter2'));
  });

  it('helm-runner - bad output is OUTPUT_INVALID', () => {
    const cases: [() => unknown, RegExp][] = [
      [() => parseHelmList('Error: oops'), /no valid JSON/],
      [() => parseHelmList('{"name":"web"}'), /other than a list/],
      [() => parseHelmList('[{"name":"web","revision":"x"}]'), /revision "x"/],
      [() => parseHelmStatus('[]'), /other than an object/],
    ];
    for (const [parse, message] of cases) {
      assert.throws(parse, (error: unknown) => error instanceof HelmError && error.reason === 'OUTPUT_INVALID' && message.test(error.message));
    }
  });
});
