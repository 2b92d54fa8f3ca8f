// The agent's chart sources (src/agent/addons/chart-source.ts) against real
// servers and tools: a chart repository, an OCI registry over plain HTTP, and
// public and private Git repositories fetched with the real git; every
// resolved chart is rendered by the real helm. No cluster is needed; this
// lives in e2e because it runs the binaries test/cluster/cluster builds.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { ChartSourceError, ChartSources, type ChartSource, type ResolvedChart } from '../../src/agent/addons/chart-source.ts';
import { KEEP_TREES_PER_REPOSITORY } from '../../src/agent/addons/git-checkout.ts';
import { REPO_ROOT, testTempDir } from '../helpers/cluster.ts';
import { git, helmOffline, pushChart, serveChartRepo, serveGitRepo, startOciRegistry } from '../helpers/chart-sources.ts';

const WEBAPP = join(REPO_ROOT, 'examples/charts/webapp');
const CHART_PATH = 'deploy/charts/webapp';
const TOKEN = 'agent-token-81d2e7';
const TOKEN_SECRET = 'charts-git-token';

interface SourcesOptions {
  workDir?: string;
  plainHttpRegistries?: string[];
  secrets?: Record<string, Record<string, string>>;
  gitBinary?: string;
}

function chartSources(t: TestContext, options: SourcesOptions = {}): ChartSources {
  return new ChartSources({
    workDir: options.workDir ?? testTempDir(t, 'uplink-agent-helm-'),
    plainHttpRegistries: options.plainHttpRegistries ?? [],
    readSecret: (name) => Promise.resolve(options.secrets?.[name]),
    gitBinary: options.gitBinary,
  });
}

function gitSource(url: string, overrides: { ref?: string; path?: string; tokenSecret?: string | null } = {}): ChartSource {
  return { git: { url, path: CHART_PATH, ref: 'main', tokenSecret: null, ...overrides } };
}

/** Renders the resolved chart with the real helm and checks it is the webapp. */
async function assertRendersWebapp(resolved: ResolvedChart): Promise<void> {
  const { stdout } = await helmOffline(['template', 'demo', resolved.chart, ...resolved.args]);
  assert.match(stdout, /^kind: Deployment$/m);
  assert.match(stdout, /^ {2}name: demo-webapp$/m);
}

async function failure(promise: Promise<unknown>): Promise<ChartSourceError> {
  const error = await promise.then(() => assert.fail('resolved'), (e: unknown) => e);
  assert.ok(error instanceof ChartSourceError, String(error));
  return error;
}

/** Every file under `dir`, recursively. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name));
}

async function remoteCommit(url: string, ref: string, token?: string): Promise<string> {
  const config = token === undefined ? [] : ['-c', `http.extraHeader=Authorization: Bearer ${token}`];
  const { stdout } = await git([...config, 'ls-remote', url, ref]);
  const commit = stdout.split(/\s/)[0];
  assert.ok(commit !== undefined && /^[0-9a-f]{40}$/.test(commit), `ls-remote ${ref}: ${stdout}`);
  return commit;
}

describe('chart source agent', () => {
  it('chart source agent - a repo chart renders by name with --repo, exactly and by range', async (t) => {
    const repo = await serveChartRepo(t, [WEBAPP]);
    const sources = chartSources(t);
    for (const version of ['0.1.0', '^0.1.0']) {
      const resolved = await sources.resolve({ repo: { url: repo, chart: 'webapp' } }, version);
      assert.deepEqual(resolved, { chart: 'webapp', args: ['--repo', repo, '--version', version] });
      await assertRendersWebapp(resolved);
    }
  });

  it('chart source agent - an oci chart renders from a plain-HTTP registry, exactly and by range', async (t) => {
    const registry = await startOciRegistry(t);
    const ref = await pushChart(registry, WEBAPP);
    const sources = chartSources(t, { plainHttpRegistries: [registry] });
    for (const version of ['0.1.0', '~0.1']) {
      const resolved = await sources.resolve({ oci: { ref } }, version);
      assert.deepEqual(resolved, { chart: ref, args: ['--version', version, '--plain-http'] });
      await assertRendersWebapp(resolved);
    }
  });

  it('chart source agent - a git chart at a branch, an annotated tag and a commit id, resolved at once', async (t) => {
    const url = await serveGitRepo(t, { [CHART_PATH]: WEBAPP }, { tag: 'v0.1.0' });
    const commit = await remoteCommit(url, 'refs/heads/main');
    const workDir = testTempDir(t, 'uplink-agent-helm-');
    const sources = chartSources(t, { workDir });
    const resolved = await Promise.all(['main', 'v0.1.0', commit].map((ref) => sources.resolve(gitSource(url, { ref }), '>=0.1.0 <1')));
    for (const chart of resolved) {
      assert.equal(chart.commit, commit);
      assert.equal(chart.version, '0.1.0');
      assert.deepEqual(chart.args, []);
      assert.ok(chart.chart.endsWith(`/${CHART_PATH}`), chart.chart);
      await assertRendersWebapp(chart);
    }
    // Once a commit's tree is there, asking for that commit again runs no git at all.
    const again = await chartSources(t, { workDir, gitBinary: join(workDir, 'no-git') }).resolve(gitSource(url, { ref: commit }), '0.1.0');
    assert.equal(again.chart, resolved[2]?.chart);
    assert.equal(readdirSync(join(workDir, 'git')).length, 1);
  });

  it('chart source agent - a repository keeps only its most recently used trees', async (t) => {
    const paths = Array.from({ length: KEEP_TREES_PER_REPOSITORY + 2 }, (_, i) => `charts/copy-${i}`);
    const url = await serveGitRepo(t, Object.fromEntries(paths.map((path) => [path, WEBAPP])));
    const workDir = testTempDir(t, 'uplink-agent-helm-');
    const sources = chartSources(t, { workDir });
    const resolved: ResolvedChart[] = [];
    for (const path of paths) resolved.push(await sources.resolve(gitSource(url, { path }), '0.1.0'));
    const [repoDir = ''] = readdirSync(join(workDir, 'git'));
    assert.equal(readdirSync(join(workDir, 'git', repoDir, 'trees')).length, KEEP_TREES_PER_REPOSITORY);
    assert.ok(existsSync(resolved.at(-1)?.chart ?? ''));
  });

  it('chart source agent - a private git repository is fetched with the token from the Secret, which is never written down', async (t) => {
    const url = await serveGitRepo(t, { [CHART_PATH]: WEBAPP }, { token: TOKEN });
    const workDir = testTempDir(t, 'uplink-agent-helm-');
    const sources = chartSources(t, { workDir, secrets: { [TOKEN_SECRET]: { token: `${TOKEN}\n` } } });
    const resolved = await sources.resolve(gitSource(url, { tokenSecret: TOKEN_SECRET }), '0.1.0');
    assert.equal(resolved.commit, await remoteCommit(url, 'refs/heads/main', TOKEN));
    await assertRendersWebapp(resolved);
    for (const file of filesUnder(workDir)) assert.doesNotMatch(readFileSync(file, 'latin1'), new RegExp(TOKEN), file);
  });

  it('chart source agent - a wrong token, a missing Secret and no Secret at all fail clearly, without the token', async (t) => {
    const url = await serveGitRepo(t, { [CHART_PATH]: WEBAPP }, { token: TOKEN });
    const wrongToken = 'wrong-token-5b7c';
    const sources = chartSources(t, { secrets: { [TOKEN_SECRET]: { token: wrongToken, username: 'deploy' } } });

    const wrong = await failure(sources.resolve(gitSource(url, { tokenSecret: TOKEN_SECRET }), '0.1.0'));
    assert.equal(wrong.reason, 'GIT_FAILED');
    assert.match(wrong.message, /^git fetch of ref 'main' of http:\/\/127\.0\.0\.1:\d+\/charts\.git failed: the repository refused the token \(HTTP 401 or 403\)$/);
    assert.doesNotMatch(wrong.message, new RegExp(`${wrongToken}|${Buffer.from(`deploy:${wrongToken}`).toString('base64')}`));

    const missing = await failure(sources.resolve(gitSource(url, { tokenSecret: 'no-such-secret' }), '0.1.0'));
    assert.equal(missing.reason, 'TOKEN_SECRET_MISSING');
    assert.match(missing.message, /Secret 'no-such-secret'/);

    const anonymous = await failure(sources.resolve(gitSource(url), '0.1.0'));
    assert.equal(anonymous.reason, 'GIT_FAILED');
    assert.match(anonymous.message, /the repository needs credentials \(name a Secret holding a token in source\.git\.tokenSecret\)/);
  });

  it('chart source agent - a version outside the range, a path without a chart and an unknown ref are refused', async (t) => {
    const url = await serveGitRepo(t, { [CHART_PATH]: WEBAPP, 'docs/readme': join(WEBAPP, 'templates') });
    const sources = chartSources(t);

    const mismatch = await failure(sources.resolve(gitSource(url), '^1.0.0'));
    assert.equal(mismatch.reason, 'VERSION_MISMATCH');
    assert.match(mismatch.message, /declares version 0\.1\.0, which does not satisfy version '\^1\.0\.0'/);

    const notAChart = await failure(sources.resolve(gitSource(url, { path: 'docs/readme' }), '0.1.0'));
    assert.equal(notAChart.reason, 'CHART_PATH_MISSING');
    assert.match(notAChart.message, /source\.git\.path 'docs\/readme' .* has no Chart\.yaml/);

    const noPath = await failure(sources.resolve(gitSource(url, { path: 'charts/nothing' }), '0.1.0'));
    assert.equal(noPath.reason, 'CHART_PATH_MISSING');
    assert.match(noPath.message, /source\.git\.path 'charts\/nothing' is not a chart: commit [0-9a-f]{40} has no directory 'charts\/nothing'/);

    const unknownRef = await failure(sources.resolve(gitSource(url, { ref: 'release-9' }), '0.1.0'));
    assert.equal(unknownRef.reason, 'GIT_FAILED');
    assert.match(unknownRef.message, /^git fetch of ref 'release-9' of .* failed: fatal: couldn't find remote ref release-9/);
  });
});
