import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseLabelSelector, type LabelSelectorError } from './label-selector.ts';

const labels = { app: 'web', tier: 'frontend', 'app.kubernetes.io/name': 'shop', replicas: '3', empty: '' };

function matches(selector: string, on: Record<string, string> = labels): boolean {
  return parseLabelSelector(selector).matches(on);
}

function problem(selector: string): string {
  try {
    parseLabelSelector(selector);
  } catch (error) {
    assert.equal((error as LabelSelectorError).code, 'BAD_SELECTOR');
    assert.equal((error as LabelSelectorError).name, 'LabelSelectorError');
    return (error as Error).message;
  }
  return assert.fail(`${selector} parsed`);
}

describe('label selectors', () => {
  it('selector - empty and blank selectors match everything', () => {
    assert.equal(matches(''), true);
    assert.equal(matches('   '), true);
    assert.equal(parseLabelSelector('').empty, true);
  });

  it('selector - equality with =, == and !=', () => {
    assert.equal(matches('app=web'), true);
    assert.equal(matches('app==web'), true);
    assert.equal(matches('app=api'), false);
    assert.equal(matches('app!=api'), true);
    assert.equal(matches('app!=web'), false);
    assert.equal(matches('missing!=x'), true, '!= matches an absent label, as in Kubernetes');
    assert.equal(matches('empty='), true, 'an empty value matches an empty label');
    assert.equal(matches('missing='), false);
    assert.equal(matches('app.kubernetes.io/name=shop'), true);
  });

  it('selector - set-based in, notin, exists and does-not-exist', () => {
    assert.equal(matches('tier in (frontend,backend)'), true);
    assert.equal(matches('tier in (backend)'), false);
    assert.equal(matches('tier notin (backend, db)'), true);
    assert.equal(matches('tier notin (frontend)'), false);
    assert.equal(matches('missing notin (x)'), true);
    assert.equal(matches('missing in (x)'), false);
    assert.equal(matches('app'), true);
    assert.equal(matches('missing'), false);
    assert.equal(matches('!missing'), true);
    assert.equal(matches('!app'), false);
    assert.equal(matches('empty in (,x)'), true, 'an empty value in a set');
  });

  it('selector - comma-joined requirements must all hold; whitespace is free', () => {
    assert.equal(matches('app=web,tier in (frontend),!missing'), true);
    assert.equal(matches(' app = web ,  tier notin ( frontend ) '), false);
    assert.equal(matches('app=web,app=api'), false);
  });

  it('selector - integer comparisons', () => {
    assert.equal(matches('replicas>2'), true);
    assert.equal(matches('replicas<3'), false);
    assert.equal(matches('app>1'), false, 'a non-integer label never compares');
  });

  it('selector - keys named like operators still parse', () => {
    assert.equal(matches('in', { in: 'x' }), true);
    assert.equal(matches('notin=x', { notin: 'x' }), true);
  });

  it('selector - bad input is BAD_SELECTOR naming the problem', () => {
    assert.match(problem('app=web,'), /expected a key at the end/);
    assert.match(problem(',app'), /expected a key at position 0/);
    assert.match(problem('app in web'), /expected "\(" at position 7/);
    assert.match(problem('app in (web'), /expected "," or "\)" at the end/);
    assert.match(problem('app=web tier=x'), /expected ',' at position 8/);
    assert.match(problem('app===web'), /expected ',' at position 5/);
    assert.match(problem('app=we$b'), /unexpected character in "we\$b"/);
    assert.match(problem('-app=x'), /the key "-app" must be at most 63/);
    assert.match(problem(`a=${'v'.repeat(64)}`), /the value "v+" must be empty or at most 63/);
    assert.match(problem('Example.COM/a=b'), /key prefix "Example.COM" must be a DNS subdomain/);
    assert.match(problem('replicas>two'), /">" needs an integer, got "two"/);
    assert.match(problem('app like web'), /expected an operator after "app" at position 4, got "like"/);
    assert.match(problem('!'), /expected a key after "!" at the end/);
    assert.match(problem('a'.repeat(5000)), /longer than 4096 characters/);
  });
});
