// The cluster side of hub roles: each `uplink:<role>` group the hub
// impersonates is bound to the cluster's own role of the same power, so the
// cluster's RBAC decides what a hub user may do.
import { IMPERSONATION } from '../link/protocol.ts';
import type { Logger } from '../util/logger.ts';
import { apiError, type KubeClient } from './kube.ts';

/** Hub role → the built-in ClusterRole its group is bound to. */
export const ROLE_BINDINGS = [
  { group: IMPERSONATION.groups.admin, clusterRole: 'cluster-admin' },
  { group: IMPERSONATION.groups.edit, clusterRole: 'edit' },
  { group: IMPERSONATION.groups.view, clusterRole: 'view' },
] as const;

const BINDINGS_PATH = '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings';

function binding(group: string, clusterRole: string): object {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name: group, labels: { 'app.kubernetes.io/managed-by': 'uplink-agent' } },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: clusterRole },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: group }],
  };
}

/**
 * Creates or updates the three bindings. Returns false (and logs once why)
 * when the agent may not: then the chart's read-only mode must provide them.
 */
export async function ensureRoleBindings(kube: KubeClient, log: Logger): Promise<boolean> {
  for (const { group, clusterRole } of ROLE_BINDINGS) {
    const path = `${BINDINGS_PATH}/${encodeURIComponent(group)}`;
    try {
      const response = await kube.request('PUT', path, binding(group, clusterRole));
      if (response.status < 200 || response.status > 299) throw apiError('PUT', path, response);
    } catch (error) {
      log.warn({ err: error }, `cannot manage the ${group} ClusterRoleBinding; hub users get no rights in this cluster until it exists`);
      return false;
    }
  }
  log.info('bound the uplink:admin, uplink:edit and uplink:view groups to cluster-admin, edit and view');
  return true;
}
