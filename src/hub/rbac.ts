// Roles: what a user may do on a cluster. A grant gives a role on one
// cluster or, with no cluster, on all of them; a user's role on a cluster is
// the strongest of the grants that cover it. Fleet-wide admin also manages
// the hub itself (clusters, users, tokens, the audit log).
import type { Principal } from './auth.ts';
import type { GrantRecord, Role } from './store/index.ts';

/** Every role, weakest first: each can do what the ones before it can. */
export const ROLES: readonly Role[] = ['view', 'edit', 'admin'];

/** Narrows user input to a role. */
export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}

/** The strongest role the principal holds on the cluster, fleet-wide grants included. */
export function effectiveRole(principal: Principal, clusterId: string): Role | undefined {
  let strongest: Role | undefined;
  for (const grant of principal.grants) {
    if (grant.clusterId !== null && grant.clusterId !== clusterId) continue;
    if (strongest === undefined || ROLES.indexOf(grant.role) > ROLES.indexOf(strongest)) strongest = grant.role;
  }
  return strongest;
}

/** Whether the principal holds any role on the cluster; clusters it cannot see do not exist for it. */
export function canSeeCluster(principal: Principal, clusterId: string): boolean {
  return effectiveRole(principal, clusterId) !== undefined;
}

/** Whether the grant is admin on every cluster, which is what managing the hub needs. */
export function isFleetAdminGrant(grant: GrantRecord): boolean {
  return grant.clusterId === null && grant.role === 'admin';
}

/** Whether the principal holds a fleet-wide admin grant. */
export function isFleetAdmin(principal: Principal): boolean {
  return principal.grants.some(isFleetAdminGrant);
}
