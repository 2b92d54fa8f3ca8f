// Proves each chart source the add-on engine supports serves the example
// webapp chart to the real helm (and git): a chart repository, an OCI
// registry, and a private Git repository. No cluster is needed; this lives in
// e2e because it runs the binaries test/cluster/cluster builds.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { REPO_ROOT } from '../helpers/cluster.ts';
import {
  git, helmOffline, pushChart, serveChartRepo, serveGitRepo, startOciRegistry,
} from '../helpers/chart-sources.ts';

const WEBAPP = join(REPO_ROOT, 'examples/charts/webapp');
const VERSION = '0.1.0';

function scratch(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'uplink-chart-pull-'));
  t.after(() => { rmSync(dir, { recursive: true, force: true }); });
  return dir;
}

/** Renders a chart (a directory or an archive) and checks it is the webapp. */
async function assertRendersWebapp(chart: string): Promise<void> {
  const { stdout } = await helmOffline(['template', 'demo', chart]);
  assert.match(stdout, /^kind: Deployment$/m);
  assert.match(stdout, /^ {2}name: demo-webapp$/m);
  assert.match(stdout, /image: "registry\.invalid\/webapp:1"/);
}

describe('chart sources', () => {
  it('chart repository - helm pulls the webapp from an index served over HTTP', async (t) => {
    const repo = await serveChartRepo(t, [WEBAPP, join(REPO_ROOT, 'examples/charts/job-hook')]);
    const index = await (await fetch(`${repo}/index.yaml`)).text();
    assert.match(index, new RegExp(`${repo}/webapp-${VERSION}\\.tgz`));
    const dir = scratch(t);
    await helmOffline(['pull', 'webapp', '--repo', repo, '--version', VERSION, '--destination', dir]);
    await assertRendersWebapp(join(dir, `webapp-${VERSION}.tgz`));
  });

  it('OCI registry - helm pulls the webapp pushed with helm push', async (t) => {
    const registry = await startOciRegistry(t);
    const ref = await pushChart(registry, WEBAPP);
    assert.equal(ref, `oci://${registry}/charts/webapp`);
    const dir = scratch(t);
    await helmOffline(['pull', ref, '--version', VERSION, '--plain-http', '--destination', dir]);
    await assertRendersWebapp(join(dir, `webapp-${VERSION}.tgz`));
  });

  it('git repository - a public one clones without credentials', async (t) => {
    const url = await serveGitRepo(t, { 'charts/webapp': WEBAPP });
    const dir = join(scratch(t), 'clone');
    await git(['clone', '--quiet', '--depth=1', '--branch=main', url, dir]);
    await assertRendersWebapp(join(dir, 'charts/webapp'));
  });

  it('git repository - a private one needs the token, as a Basic password or a Bearer token', async (t) => {
    const token = 'test-token-6c1f';
    const url = await serveGitRepo(t, { 'deploy/charts/webapp': WEBAPP }, { token });

    const refs = await fetch(`${url}/info/refs?service=git-upload-pack`);
    assert.equal(refs.status, 401);
    assert.match(refs.headers.get('www-authenticate') ?? '', /^Basic /);

    const dir = scratch(t);
    await assert.rejects(git(['clone', '--quiet', url, join(dir, 'anonymous')]), /could not read Username .*terminal prompts disabled/);
    const wrong = url.replace('http://', 'http://uplink:wrong-token@');
    await assert.rejects(git(['clone', '--quiet', wrong, join(dir, 'wrong')]), /Authentication failed/);

    const withPassword = url.replace('http://', `http://uplink:${token}@`);
    await git(['clone', '--quiet', '--depth=1', '--branch=main', withPassword, join(dir, 'basic')]);
    await assertRendersWebapp(join(dir, 'basic/deploy/charts/webapp'));

    const bearer = `http.extraHeader=Authorization: Bearer ${token}`;
    await git(['-c', bearer, 'clone', '--quiet', '--depth=1', url, join(dir, 'bearer')]);
    await assertRendersWebapp(join(dir, 'bearer/deploy/charts/webapp'));
  });
});
