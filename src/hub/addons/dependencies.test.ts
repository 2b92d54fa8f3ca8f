import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HttpError } from '../errors.ts';
import { checkDependencies, checkNoDependents, dependentsOf, findCycle } from './dependencies.ts';

const graphOf = (edges: Record<string, string[]>): Map<string, string[]> => new Map(Object.entries(edges));

function refusal(run: () => void): { status: number; code: string; message: string } {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof HttpError);
    return { status: error.status, code: error.code, message: error.message };
  }
  assert.fail('expected a refusal');
}

describe('add-on dependencies', () => {
  it('dependencies - known dependencies without a cycle pass', () => {
    const siblings = graphOf({ 'cert-manager': [], ingress: ['cert-manager'] });
    checkDependencies({ name: 'web', dependsOn: ['ingress', 'cert-manager'], siblings, cluster: 'prod' });
    checkDependencies({ name: 'web', dependsOn: [], siblings: new Map(), cluster: 'prod' });
  });

  it('dependencies - an unknown dependency is a 400 naming it and the cluster', () => {
    const siblings = graphOf({ db: [] });
    assert.deepEqual(refusal(() => { checkDependencies({ name: 'web', dependsOn: ['db', 'cache'], siblings, cluster: 'prod' }); }), {
      status: 400, code: 'ADDON_SPEC_INVALID', message: "dependsOn names 'cache', which is not an add-on of cluster 'prod'",
    });
  });

  it('dependencies - a cycle is a 400 naming its path', () => {
    const siblings = graphOf({ a: ['b'], b: ['c'], c: [] });
    assert.equal(refusal(() => { checkDependencies({ name: 'c', dependsOn: ['a'], siblings, cluster: 'prod' }); }).message,
      'dependsOn makes a cycle: c -> a -> b -> c');
    assert.equal(refusal(() => { checkDependencies({ name: 'b', dependsOn: ['a'], siblings, cluster: 'prod' }); }).message,
      'dependsOn makes a cycle: b -> a -> b');
    assert.equal(refusal(() => { checkDependencies({ name: 'a', dependsOn: ['a'], siblings, cluster: 'prod' }); }).message,
      'dependsOn makes a cycle: a -> a');
  });

  it('dependencies - replacing an add-on uses its new dependencies, not its old ones', () => {
    const siblings = graphOf({ a: ['b'], b: [] });
    checkDependencies({ name: 'a', dependsOn: [], siblings, cluster: 'prod' });
    checkDependencies({ name: 'b', dependsOn: [], siblings, cluster: 'prod' });
  });

  it('dependencies - findCycle reports only cycles reachable from the start, and visits a shared node once', () => {
    const graph = graphOf({ a: ['b', 'c'], b: ['d'], c: ['d'], d: [], x: ['y'], y: ['x'] });
    assert.equal(findCycle(graph, 'a'), undefined);
    assert.deepEqual(findCycle(graph, 'x'), ['x', 'y', 'x']);
    assert.deepEqual(findCycle(graphOf({ a: ['b'], b: ['c'], c: ['b'] }), 'a'), ['b', 'c', 'b']);
  });

  it('dependencies - a long chain is checked without trouble', () => {
    const edges: Record<string, string[]> = {};
    for (let i = 0; i < 500; i++) edges[`a${i}`] = i === 0 ? [] : [`a${i - 1}`];
    checkDependencies({ name: 'top', dependsOn: ['a499'], siblings: graphOf(edges), cluster: 'prod' });
    const message = refusal(() => { checkDependencies({ name: 'a0', dependsOn: ['a2'], siblings: graphOf(edges), cluster: 'prod' }); }).message;
    assert.equal(message, 'dependsOn makes a cycle: a0 -> a2 -> a1 -> a0');
  });

  it('dependencies - an add-on others depend on cannot be deleted: 409 naming them', () => {
    const graph = graphOf({ db: [], web: ['db'], api: ['db', 'cache'], cache: [] });
    assert.deepEqual(dependentsOf(graph, 'db'), ['api', 'web']);
    assert.deepEqual(refusal(() => { checkNoDependents(graph, 'db'); }), {
      status: 409, code: 'ADDON_HAS_DEPENDENTS',
      message: "add-on 'db' cannot be deleted: 'api', 'web' depend on it; remove it from their dependsOn first",
    });
    assert.equal(refusal(() => { checkNoDependents(graph, 'cache'); }).message,
      "add-on 'cache' cannot be deleted: 'api' depends on it; remove it from their dependsOn first");
    checkNoDependents(graph, 'web');
  });
});
