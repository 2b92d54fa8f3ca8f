import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import {
  ChartSourceError, ChartSources, chartVersionSatisfies, ociRegistryHost,
  type ChartSource, type ChartSourceOptions, type GitTrees,
} from './chart-source.ts';
import { buildGitEnv, GitError, MAX_GIT_DETAIL_CHARS, redactGitOutput, type GitTreeRequest } from './git-checkout.ts';

const COMMIT = 'a'.repeat(40);
const TOKEN = 'tok-3f9a1c';

function gitSource(overrides: Partial<Extract<ChartSource, { git: unknown }>['git']> = {}): ChartSource {
  return { git: { url: 'https://git.example.com/charts.git', path: 'charts/webapp', ref: 'main', tokenSecret: null, ...overrides } };
}

/** A git tree source that serves one directory (with the given Chart.yaml text, or none) and records the requests. */
function fakeGit(t: TestContext, chartYaml: string | undefined): GitTrees & { dir: string; requests: GitTreeRequest[] } {
  const dir = mkdtempSync(join(tmpdir(), 'uplink-chart-source-'));
  t.after(() => { rmSync(dir, { recursive: true, force: true }); });
  if (chartYaml !== undefined) writeFileSync(join(dir, 'Chart.yaml'), chartYaml);
  const requests: GitTreeRequest[] = [];
  return {
    dir,
    requests,
    exportTree: (request) => {
      requests.push(request);
      return Promise.resolve({ commit: COMMIT, dir });
    },
  };
}

function sources(options: Partial<ChartSourceOptions> = {}): ChartSources {
  return new ChartSources({ workDir: '/nonexistent', plainHttpRegistries: [], readSecret: () => Promise.resolve(undefined), ...options });
}

async function assertFails(promise: Promise<unknown>, reason: ChartSourceError['reason'], message: RegExp): Promise<ChartSourceError> {
  const error = await promise.then(() => assert.fail('resolved'), (e: unknown) => e);
  assert.ok(error instanceof ChartSourceError, String(error));
  assert.equal(error.code, 'CHART_SOURCE_FAILED');
  assert.equal(error.reason, reason);
  assert.match(error.message, message);
  return error;
}

describe('chart source - repo and oci', () => {
  it('chart source - a repo chart is its name with --repo and --version', async () => {
    const resolved = await sources().resolve({ repo: { url: 'https://charts.example.com', chart: 'webapp' } }, '^1.2');
    assert.deepEqual(resolved, { chart: 'webapp', args: ['--repo', 'https://charts.example.com', '--version', '^1.2'] });
  });

  it('chart source - an oci chart gets --plain-http only for a listed host:port', async () => {
    const resolver = sources({ plainHttpRegistries: ['127.0.0.1:5000', 'Registry.Local'] });
    const plain = await resolver.resolve({ oci: { ref: 'oci://127.0.0.1:5000/charts/webapp' } }, '1.0.0');
    assert.deepEqual(plain, { chart: 'oci://127.0.0.1:5000/charts/webapp', args: ['--version', '1.0.0', '--plain-http'] });
    assert.deepEqual((await resolver.resolve({ oci: { ref: 'oci://registry.local/webapp' } }, '1.0.0')).args, ['--version', '1.0.0', '--plain-http']);
    assert.deepEqual((await resolver.resolve({ oci: { ref: 'oci://127.0.0.1:5001/charts/webapp' } }, '1.0.0')).args, ['--version', '1.0.0']);
    assert.deepEqual((await resolver.resolve({ oci: { ref: 'oci://registry.local:443/webapp' } }, '1.0.0')).args, ['--version', '1.0.0']);
  });

  it('chart source - ociRegistryHost is host[:port], lower-cased, IPv6 in brackets', () => {
    assert.equal(ociRegistryHost('oci://Ghcr.IO/org/charts/app'), 'ghcr.io');
    assert.equal(ociRegistryHost('oci://[::1]:5000/app'), '[::1]:5000');
  });
});

describe('chart source - version check', () => {
  /** [declared by Chart.yaml, wanted by the spec, satisfied] */
  const cases: [string, string, boolean][] = [
    // Exact versions compare equal, with or without a leading v; build metadata does not count.
    ['0.1.0', '0.1.0', true], ['v0.1.0', '0.1.0', true], ['0.1.0', 'v0.1.0', true], ['0.1.0+build.7', '0.1.0', true],
    ['0.1.1', '0.1.0', false], ['1.0.0-rc.1', '1.0.0-rc.1', true], ['1.0.0-rc.1', '1.0.0', false],
    // Ranges leave prereleases out unless they name one of the same version.
    ['1.4.2', '^1.2', true], ['2.0.0', '^1.2', false], ['1.5.0-beta.1', '>=1.0.0 <2.0.0', false], ['1.5.0-beta.2', '>=1.5.0-beta.1', true],
    ['not-semver', '^1', false],
  ];
  for (const [declared, wanted, expected] of cases) {
    it(`chart source - ${declared} ${expected ? 'satisfies' : 'does not satisfy'} ${wanted}`, () => {
      assert.equal(chartVersionSatisfies(declared, wanted), expected);
    });
  }
});

describe('chart source - git', () => {
  it('chart source - a git chart is the exported directory, with its declared version and commit and no helm args', async (t) => {
    const git = fakeGit(t, 'apiVersion: v2\nname: webapp\nversion: 0.1.0\n');
    const resolved = await sources({ git }).resolve(gitSource({ ref: 'v0.1.0' }), '~0.1');
    assert.deepEqual(resolved, { chart: git.dir, args: [], version: '0.1.0', commit: COMMIT });
    const request = git.requests[0];
    assert.equal(request?.url, 'https://git.example.com/charts.git');
    assert.equal(request.ref, 'v0.1.0');
    assert.equal(request.path, 'charts/webapp');
    assert.equal(request.authorization, undefined);
  });

  it('chart source - a token Secret becomes a Basic header (x-access-token unless username is set), trimmed', async (t) => {
    const git = fakeGit(t, 'version: 0.1.0\n');
    const secrets: Record<string, Record<string, string>> = { plain: { token: `${TOKEN}\n` }, named: { token: TOKEN, username: 'deploy' } };
    const resolver = sources({ git, readSecret: (name) => Promise.resolve(secrets[name]) });
    await resolver.resolve(gitSource({ tokenSecret: 'plain' }), '0.1.0');
    await resolver.resolve(gitSource({ tokenSecret: 'named' }), '0.1.0');
    const [plain, named] = git.requests;
    assert.equal(plain?.authorization, `Basic ${Buffer.from(`x-access-token:${TOKEN}`).toString('base64')}`);
    assert.equal(named?.authorization, `Basic ${Buffer.from(`deploy:${TOKEN}`).toString('base64')}`);
    assert.ok(plain.secrets?.includes(TOKEN));
  });

  it('chart source - a missing Secret, a Secret without token, and an unreadable one name the Secret, never a value', async (t) => {
    const git = fakeGit(t, 'version: 0.1.0\n');
    const readSecret = (name: string): Promise<Record<string, string> | undefined> => {
      if (name === 'broken') return Promise.reject(new Error('forbidden'));
      return Promise.resolve(name === 'empty' ? { username: 'deploy', other: TOKEN } : undefined);
    };
    const resolver = sources({ git, readSecret });
    await assertFails(resolver.resolve(gitSource({ tokenSecret: 'gone' }), '0.1.0'), 'TOKEN_SECRET_MISSING', /^the Secret 'gone' .* does not exist/);
    const empty = await assertFails(resolver.resolve(gitSource({ tokenSecret: 'empty' }), '0.1.0'), 'TOKEN_SECRET_MISSING', /Secret 'empty' .* has no key 'token'/);
    assert.doesNotMatch(empty.message, new RegExp(TOKEN));
    await assertFails(resolver.resolve(gitSource({ tokenSecret: 'broken' }), '0.1.0'), 'TOKEN_SECRET_UNREADABLE', /Secret 'broken' .* could not be read/);
    assert.equal(git.requests.length, 0);
  });

  it('chart source - a version outside the range is VERSION_MISMATCH naming both', async (t) => {
    const resolver = sources({ git: fakeGit(t, 'version: 0.1.0\n') });
    await assertFails(resolver.resolve(gitSource(), '^1.0.0'), 'VERSION_MISMATCH',
      /source\.git\.path 'charts\/webapp' \(commit a{12}\) declares version 0\.1\.0, which does not satisfy version '\^1\.0\.0'/);
  });

  it('chart source - a directory without Chart.yaml is CHART_PATH_MISSING; a bad Chart.yaml is CHART_INVALID', async (t) => {
    await assertFails(sources({ git: fakeGit(t, undefined) }).resolve(gitSource(), '0.1.0'), 'CHART_PATH_MISSING', /'charts\/webapp' .* has no Chart\.yaml/);
    await assertFails(sources({ git: fakeGit(t, 'version: [\n') }).resolve(gitSource(), '0.1.0'), 'CHART_INVALID', /not valid YAML/);
    await assertFails(sources({ git: fakeGit(t, 'name: x\n') }).resolve(gitSource(), '0.1.0'), 'CHART_INVALID', /declares no semver version/);
    await assertFails(sources({ git: fakeGit(t, 'version: 1.0\n') }).resolve(gitSource(), '1.0.0'), 'CHART_INVALID', /declares no semver version/);
  });

  it('chart source - git failures keep their reason; a missing path becomes CHART_PATH_MISSING', async () => {
    const failing = (error: GitError): GitTrees => ({ exportTree: () => Promise.reject(error) });
    await assertFails(sources({ git: failing(new GitError('PATH_MISSING', 'commit x has no directory')) }).resolve(gitSource(), '0.1.0'),
      'CHART_PATH_MISSING', /^source\.git\.path 'charts\/webapp' is not a chart: commit x has no directory/);
    await assertFails(sources({ git: failing(new GitError('CANCELLED', 'git fetch was cancelled')) }).resolve(gitSource(), '0.1.0'), 'CANCELLED', /cancelled/);
  });

  it('chart source - a git binary that cannot start is GIT_FAILED naming it', async (t) => {
    const workDir = mkdtempSync(join(tmpdir(), 'uplink-chart-source-'));
    t.after(() => { rmSync(workDir, { recursive: true, force: true }); });
    await assertFails(sources({ workDir, gitBinary: join(workDir, 'no-git') }).resolve(gitSource(), '0.1.0'), 'GIT_FAILED', /could not start git at .*no-git/);
  });
});

describe('git checkout - environment and messages', () => {
  it('git checkout - credentials are a config entry of the environment; nothing of the parent leaks but PATH, proxies, CAs', () => {
    const env = buildGitEnv('/state', 'Basic abc', { PATH: '/bin', HTTPS_PROXY: 'http://proxy:3128', GIT_DIR: '/elsewhere', SECRET: 'x', SSL_CERT_FILE: '/ca.pem' });
    assert.equal(env.HOME, '/state');
    assert.equal(env.PATH, '/bin');
    assert.equal(env.HTTPS_PROXY, 'http://proxy:3128');
    assert.equal(env.SSL_CERT_FILE, '/ca.pem');
    assert.equal(env.GIT_DIR, undefined);
    assert.equal(env.SECRET, undefined);
    assert.equal(env.GIT_TERMINAL_PROMPT, '0');
    assert.equal(env.GIT_CONFIG_NOSYSTEM, '1');
    assert.equal(env.GIT_CONFIG_GLOBAL, '/dev/null');
    assert.equal(env.GIT_ASKPASS, '');
    const count = Number(env.GIT_CONFIG_COUNT);
    const config = Array.from({ length: count }, (_, i) => [env[`GIT_CONFIG_KEY_${i}`], env[`GIT_CONFIG_VALUE_${i}`]]);
    assert.deepEqual(config.at(-1), ['http.extraHeader', 'Authorization: Basic abc']);
    assert.ok(config.some(([key, value]) => key === 'core.symlinks' && value === 'false'));
    const anonymous = buildGitEnv('/state', undefined, { PATH: '/bin' });
    assert.equal(Object.values(anonymous).some((value) => value.includes('Authorization')), false);
  });

  it('git checkout - messages keep the fatal lines, drop secrets and URL user info, and are cut', () => {
    const stderr = `warning: redirecting\nfatal: unable to access 'https://user:${TOKEN}@git.example.com/x.git/': The requested URL returned error: 403\n`;
    assert.equal(redactGitOutput(stderr, [TOKEN]), "fatal: unable to access 'https://git.example.com/x.git/': The requested URL returned error: 403");
    assert.equal(redactGitOutput(`fatal: header ${TOKEN} refused`, [TOKEN]), 'fatal: header <redacted> refused');
    assert.equal(redactGitOutput('some\nwords'), 'some words');
    const long = redactGitOutput(`fatal: ${'x'.repeat(1000)}`);
    assert.equal(long.length, MAX_GIT_DETAIL_CHARS + 1);
  });
});
