import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isDnsLabel, isDnsSubdomain, isLabelKey, isLabelValue, isReleaseName, MAX_DNS_SUBDOMAIN_CHARS } from './kube-names.ts';

describe('kube names', () => {
  it('kube names - DNS labels: 1 to 63 lower-case alphanumerics and dashes, alphanumeric at both ends', () => {
    for (const ok of ['a', 'web', 'a-b', '0', 'x'.repeat(63)]) assert.equal(isDnsLabel(ok), true, ok);
    for (const bad of ['', '-a', 'a-', 'A', 'a.b', 'a_b', 'x'.repeat(64), 'é']) assert.equal(isDnsLabel(bad), false, bad);
  });

  it('kube names - subdomains: dotted labels, at most 253 characters', () => {
    for (const ok of ['a', 'a.b', 'kube-system', 'example.com']) assert.equal(isDnsSubdomain(ok), true, ok);
    for (const bad of ['', '.a', 'a.', 'a..b', 'A.b', 'a'.repeat(MAX_DNS_SUBDOMAIN_CHARS + 1)]) assert.equal(isDnsSubdomain(bad), false, bad.slice(0, 20));
  });

  it('kube names - release names stop at 53 characters', () => {
    assert.equal(isReleaseName('x'.repeat(53)), true);
    assert.equal(isReleaseName('x'.repeat(54)), false);
  });

  it('kube names - label keys and values', () => {
    for (const ok of ['app', 'app.kubernetes.io/name', 'A_b.c-d', 'example.com/X']) assert.equal(isLabelKey(ok), true, ok);
    for (const bad of ['', '/a', 'a/', 'Example.com/a', 'a/b/c', '-a', 'x'.repeat(64)]) assert.equal(isLabelKey(bad), false, bad);
    for (const ok of ['', 'v1', 'a.b_c-d']) assert.equal(isLabelValue(ok), true, ok);
    for (const bad of ['-v', 'v-', 'a b', 'x'.repeat(64)]) assert.equal(isLabelValue(bad), false, bad);
  });
});
