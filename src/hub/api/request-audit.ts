// The audit row of a hub API request that changes a cluster (add-on specs,
// rollbacks and syncs, agent upgrades): who, on which cluster and object,
// with which status, timed from when the writer was made.
import type { FastifyRequest } from 'fastify';
import { principalOf } from '../auth.ts';
import type { AuditRecord, ClusterRecord } from '../store/index.ts';

/** What the row names; filled in as the request is resolved (an unknown cluster has id ''). */
export interface AuditTarget {
  cluster: Pick<ClusterRecord, 'id' | 'name'>;
  namespace: string | null;
  name: string | null;
}

/** A writer of one request's row on `resource`/`subresource`; verb `create` unless given. */
export function requestAudit(
  sink: ((record: AuditRecord) => void) | undefined, req: FastifyRequest, resource: string, subresource: string | null,
): (target: AuditTarget, status: number, verb?: string) => void {
  const at = new Date().toISOString();
  const started = performance.now();
  return ({ cluster, namespace, name }, status, verb = 'create') => {
    const principal = principalOf(req);
    sink?.({
      at, userId: principal.userId, userName: principal.userName, clusterId: cluster.id, clusterName: cluster.name,
      verb, resource, subresource, namespace, name, path: req.url.split('?')[0] ?? '', status,
      bytesIn: Number(req.headers['content-length'] ?? 0) || 0, bytesOut: 0,
      durationMs: Math.round((performance.now() - started) * 10) / 10, command: null,
    });
  };
}
