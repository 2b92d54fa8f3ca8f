import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Principal } from './auth.ts';
import { canSeeCluster, effectiveRole, isFleetAdmin, isRole, ROLES } from './rbac.ts';
import type { GrantRecord, Role } from './store/index.ts';

function principal(...grants: [Role, string | null][]): Principal {
  return {
    tokenId: 't1', userId: 'u1', userName: 'alice',
    grants: grants.map(([role, clusterId]): GrantRecord => ({ userId: 'u1', role, clusterId })),
  };
}

describe('rbac', () => {
  it('rbac - roles are ordered weakest first', () => {
    assert.deepEqual(ROLES, ['view', 'edit', 'admin']);
    assert.equal(isRole('edit'), true);
    assert.equal(isRole('owner'), false);
    assert.equal(isRole('Admin'), false);
  });

  it('rbac - no grants means no role anywhere', () => {
    assert.equal(effectiveRole(principal(), 'c1'), undefined);
    assert.equal(canSeeCluster(principal(), 'c1'), false);
  });

  it('rbac - a cluster grant applies to that cluster only', () => {
    const p = principal(['edit', 'c1']);
    assert.equal(effectiveRole(p, 'c1'), 'edit');
    assert.equal(effectiveRole(p, 'c2'), undefined);
    assert.equal(canSeeCluster(p, 'c1'), true);
    assert.equal(canSeeCluster(p, 'c2'), false);
  });

  it('rbac - a fleet-wide grant applies to every cluster', () => {
    const p = principal(['view', null]);
    assert.equal(effectiveRole(p, 'c1'), 'view');
    assert.equal(effectiveRole(p, 'any'), 'view');
  });

  it('rbac - the strongest of fleet-wide and cluster grants wins, in either direction', () => {
    const strongerOnCluster = principal(['view', null], ['admin', 'c1']);
    assert.equal(effectiveRole(strongerOnCluster, 'c1'), 'admin');
    assert.equal(effectiveRole(strongerOnCluster, 'c2'), 'view');
    const strongerFleetWide = principal(['view', 'c1'], ['edit', null]);
    assert.equal(effectiveRole(strongerFleetWide, 'c1'), 'edit');
  });

  it('rbac - several grants on one cluster give the strongest, whatever their order', () => {
    assert.equal(effectiveRole(principal(['admin', 'c1'], ['view', 'c1'], ['edit', 'c1']), 'c1'), 'admin');
    assert.equal(effectiveRole(principal(['view', 'c1'], ['edit', 'c1']), 'c1'), 'edit');
  });

  it('rbac - fleet admin needs admin without a cluster', () => {
    assert.equal(isFleetAdmin(principal(['admin', null])), true);
    assert.equal(isFleetAdmin(principal(['admin', 'c1'], ['edit', null])), false);
    assert.equal(isFleetAdmin(principal()), false);
  });
});
