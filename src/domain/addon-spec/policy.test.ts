import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseAddonSpec } from './spec.ts';
import { assertRefused, minimalSpec } from './spec.test-helper.ts';

const parse = (overrides: Record<string, unknown>): ReturnType<typeof parseAddonSpec> => parseAddonSpec(minimalSpec(overrides));

describe('add-on reconcile policy', () => {
  it('policy - syncPolicy fields default one by one', () => {
    assert.deepEqual(parse({ syncPolicy: { selfHeal: true } }).syncPolicy, { automated: true, selfHeal: true, autoPrune: false });
    assert.deepEqual(parse({ syncPolicy: { automated: false, autoPrune: true } }).syncPolicy, { automated: false, selfHeal: false, autoPrune: true });
    assertRefused({ syncPolicy: { autoPrune: 1 } }, 'syncPolicy.autoPrune', 'syncPolicy.autoPrune must be true or false, got 1');
    assertRefused({ syncPolicy: true }, 'syncPolicy', 'syncPolicy must be an object, got true');
  });

  it('policy - ignoreDifferences: one of pointer, jq or manager, with an optional target', () => {
    const rules = [
      { pointer: '/spec/replicas', target: { kind: 'Deployment', name: 'web' } },
      { pointer: '' },
      { pointer: '/metadata/annotations/a~1b~0c' },
      { jq: '.spec.template.spec.containers[].image' },
      { manager: 'kube-controller-manager', target: { namespace: 'web' } },
    ];
    assert.deepEqual(parse({ ignoreDifferences: rules }).ignoreDifferences, rules);
  });

  it('policy - bad ignore rules are refused by index and field', () => {
    assertRefused({ ignoreDifferences: [{ pointer: '/a', jq: '.a' }] }, 'ignoreDifferences[0]',
      'ignoreDifferences[0] must have exactly one of pointer, jq, manager, got pointer, jq');
    assertRefused({ ignoreDifferences: [{ pointer: '/a' }, { target: { kind: 'Pod' } }] }, 'ignoreDifferences[1]',
      'ignoreDifferences[1] must have exactly one of pointer, jq, manager, got none');
    for (const pointer of ['spec/replicas', '/a~2', '/a~', 3]) {
      assertRefused({ ignoreDifferences: [{ pointer }] }, 'ignoreDifferences[0].pointer', /^ignoreDifferences\[0\]\.pointer .* is not a JSON pointer like \/spec\/replicas$/);
    }
    assertRefused({ ignoreDifferences: [{ jq: '' }] }, 'ignoreDifferences[0].jq', 'ignoreDifferences[0].jq must not be empty');
    // Compiled when written: what the agent could not evaluate never gets stored.
    for (const jq of ['.spec | del(.replicas)', '.a[', 'map(.x)', '.a | length', '$__loc__']) {
      assertRefused({ ignoreDifferences: [{ jq }] }, 'ignoreDifferences[0].jq', /^ignoreDifferences\[0\]\.jq '.*' is not a jq path expression the agent can evaluate: /);
    }
    assertRefused({ ignoreDifferences: [{ manager: 'm', target: { kind: 'deployment' } }] }, 'ignoreDifferences[0].target.kind',
      "ignoreDifferences[0].target.kind 'deployment' is not a Kubernetes kind like Deployment");
    assertRefused({ ignoreDifferences: [{ manager: 'm', target: { group: 'apps' } }] }, 'ignoreDifferences[0].target.group', /^unknown field/);
    assertRefused({ ignoreDifferences: {} }, 'ignoreDifferences', 'ignoreDifferences must be a list, got {}');
  });

  // A backtracking blow-up would not end at all on 1,000 slashes: the deadline catches it without timing a fast run.
  it('policy - a pathological pointer is refused (no backtracking blow-up)', { timeout: 10_000 }, () => {
    assertRefused({ ignoreDifferences: [{ pointer: `${'/'.repeat(1000)}~` }] }, 'ignoreDifferences[0].pointer', /is not a JSON pointer/);
  });

  it('policy - syncWindow: a cron schedule, a duration, a time zone defaulting to UTC', () => {
    assert.equal(parse({}).syncWindow, null);
    assert.deepEqual(parse({ syncWindow: { schedule: '0 22 * * 1-5', duration: '1h30m' } }).syncWindow,
      { schedule: '0 22 * * 1-5', duration: '1h30m', timeZone: 'UTC' });
    assert.equal(parse({ syncWindow: { schedule: '*/15 * * * *', duration: '5m', timeZone: 'Europe/Paris' } }).syncWindow?.timeZone, 'Europe/Paris');
  });

  it('policy - syncWindow: each part is refused with what is wrong', () => {
    assertRefused({ syncWindow: { schedule: '61 * * * *', duration: '1h' } }, 'syncWindow.schedule',
      "syncWindow.schedule '61 * * * *': minute '61' is out of range 0-59");
    assertRefused({ syncWindow: { schedule: '0 22 * *', duration: '1h' } }, 'syncWindow.schedule', /must have 5 fields/);
    assertRefused({ syncWindow: { schedule: '0 22 * * 1-5', duration: '90' } }, 'syncWindow.duration',
      "syncWindow.duration '90' is not a duration like 30s, 5m or 1h30m");
    assertRefused({ syncWindow: { schedule: '0 22 * * *' } }, 'syncWindow.duration', 'syncWindow.duration is required');
    for (const timeZone of ['Mars/Olympus', '+01:00', 'utc offset']) {
      assertRefused({ syncWindow: { schedule: '0 22 * * *', duration: '1h', timeZone } }, 'syncWindow.timeZone',
        `syncWindow.timeZone '${timeZone}' is not an IANA time zone like Europe/Paris or UTC`);
    }
  });

  it('policy - retry: defaults per field, limit -1 for no limit, bounded backoff', () => {
    assert.deepEqual(parse({ retry: { limit: -1 } }).retry, { limit: -1, backoff: { duration: '5s', factor: 2, maxDuration: '3m' } });
    assert.deepEqual(parse({ retry: { limit: 0, backoff: { duration: '10s', factor: 1.5, maxDuration: '1h' } } }).retry,
      { limit: 0, backoff: { duration: '10s', factor: 1.5, maxDuration: '1h' } });
    assertRefused({ retry: { limit: -2 } }, 'retry.limit', 'retry.limit must be a whole number from -1 to 1000 (-1 for no limit), got -2');
    assertRefused({ retry: { backoff: { factor: 0.5 } } }, 'retry.backoff.factor', 'retry.backoff.factor must be a number from 1 to 10, got 0.5');
    assertRefused({ retry: { backoff: { duration: 'soon' } } }, 'retry.backoff.duration', "retry.backoff.duration 'soon' is not a duration like 30s, 5m or 1h30m");
    assertRefused({ retry: { backoff: { duration: '5m', maxDuration: '1m' } } }, 'retry.backoff.maxDuration',
      "retry.backoff.maxDuration '1m' is shorter than retry.backoff.duration '5m'");
  });
});
