import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseAddonSpec } from './spec.ts';
import { assertRefused, minimalSpec } from './spec.test-helper.ts';

const sourceOf = (source: unknown): unknown => parseAddonSpec(minimalSpec({ source })).source;
const GIT = { url: 'https://git.example.com/charts.git', path: 'charts/web' };

describe('add-on chart source', () => {
  it('source - exactly one of repo, oci and git', () => {
    assertRefused({ source: {} }, 'source', 'source must name exactly one of repo, oci, git, got none');
    assertRefused({ source: undefined }, 'source', 'source is required');
    assertRefused({ source: 'https://charts.example.com' }, 'source', "source must be an object, got 'https://charts.example.com'");
    assertRefused({ source: { repo: { url: 'https://x', chart: 'a' }, oci: { ref: 'oci://r/a' } } }, 'source',
      'source must name exactly one of repo, oci, git, got repo, oci');
    assertRefused({ source: { helm: {} } }, 'source.helm', /^unknown field 'source.helm'/);
  });

  it('source - repo: an http(s) URL without credentials and a chart name', () => {
    assert.deepEqual(sourceOf({ repo: { url: 'http://127.0.0.1:8080/charts', chart: 'my_chart.v2' } }),
      { repo: { url: 'http://127.0.0.1:8080/charts', chart: 'my_chart.v2' } });
    assertRefused({ source: { repo: { url: 'ftp://x/charts', chart: 'web' } } }, 'source.repo.url', "source.repo.url 'ftp://x/charts' must be an https (or http) URL");
    assertRefused({ source: { repo: { url: 'charts.example.com', chart: 'web' } } }, 'source.repo.url', "source.repo.url 'charts.example.com' is not a URL");
    assertRefused({ source: { repo: { url: 'https://bob:s3cret@x/charts', chart: 'web' } } }, 'source.repo.url',
      'source.repo.url must not carry credentials (user:password@); a token goes in a Secret');
    assertRefused({ source: { repo: { url: 'https://x', chart: '../web' } } }, 'source.repo.chart', /^source.repo.chart '..\/web' is not a chart name/);
    assertRefused({ source: { repo: { url: 'https://x', chart: '-web' } } }, 'source.repo.chart', /is not a chart name/);
    assertRefused({ source: { repo: { url: 'https://x' } } }, 'source.repo.chart', 'source.repo.chart is required');
  });

  it('source - oci: oci://host/path/chart, without a tag or digest', () => {
    for (const ref of ['oci://registry.example.com/charts/web', 'oci://127.0.0.1:5000/web', 'oci://[::1]:5000/a/b-c/d_e', 'oci://ghcr.io/org/charts/web']) {
      assert.deepEqual(sourceOf({ oci: { ref } }), { oci: { ref } }, ref);
    }
    assertRefused({ source: { oci: { ref: 'oci://r.example.com/web:1.2.3' } } }, 'source.oci.ref',
      "source.oci.ref 'oci://r.example.com/web:1.2.3' must not carry a tag or digest: the chart version goes in version");
    assertRefused({ source: { oci: { ref: 'oci://r.example.com/web@sha256:abc' } } }, 'source.oci.ref', /must not carry a tag or digest/);
    for (const ref of ['https://r.example.com/web', 'oci://r.example.com', 'oci://r.example.com/Web', 'oci://r.example.com//web', 'oci://-r/web']) {
      assertRefused({ source: { oci: { ref } } }, 'source.oci.ref', `source.oci.ref '${ref}' is not an OCI reference like oci://registry.example.com/charts/name`);
    }
  });

  it('source - git: url, relative path, ref defaulting to HEAD, a token Secret by name', () => {
    assert.deepEqual(sourceOf({ git: GIT }), { git: { ...GIT, ref: 'HEAD', tokenSecret: null } });
    const full = { url: 'http://127.0.0.1:9418/repo.git', path: '.', ref: 'release/1.x', tokenSecret: 'git-token' };
    assert.deepEqual(sourceOf({ git: full }), { git: full });
    for (const ref of ['main', 'v1.2.3', '3f786850e387550fdab836ed7e6dc881de23001b', 'feature/a_b+c']) {
      assert.doesNotThrow(() => sourceOf({ git: { ...GIT, ref } }), ref);
    }
  });

  it('source - git: bad paths, refs and token secrets are refused by field', () => {
    for (const path of ['/charts/web', '../web', 'charts/../../web', 'charts\\web']) {
      assertRefused({ source: { git: { ...GIT, path } } }, 'source.git.path', /must be a relative path inside the repository, without '..'$/);
    }
    for (const ref of ['-upload-pack=x', 'a..b', 'main/', 'x.lock', 'a b', 'a//b']) {
      assertRefused({ source: { git: { ...GIT, ref } } }, 'source.git.ref', `source.git.ref '${ref}' is not a branch, tag or commit name git accepts`);
    }
    assertRefused({ source: { git: { ...GIT, url: 'git@github.com:org/repo.git' } } }, 'source.git.url', /is not a URL$/);
    assertRefused({ source: { git: { ...GIT, url: 'ssh://git@github.com/org/repo.git' } } }, 'source.git.url', /must be an https \(or http\) URL$/);
    assertRefused({ source: { git: { url: GIT.url } } }, 'source.git.path', 'source.git.path is required');
  });

  it('source - git: a token pasted as tokenSecret is refused without being echoed', () => {
    const token = 'ghp_abcDEF1234567890';
    assert.throws(() => sourceOf({ git: { ...GIT, tokenSecret: token } }), (error: unknown) => {
      assert.ok(error instanceof Error);
      assert.equal(error.message, 'source.git.tokenSecret must be the name of a Secret (a DNS-1123 subdomain) that holds the token, never the token itself');
      assert.ok(!error.message.includes(token));
      return true;
    });
  });
});
