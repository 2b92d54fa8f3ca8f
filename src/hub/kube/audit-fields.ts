// The fields of a kubectl request's audit row that say what was asked: from
// the path exactly as forwarded, or for a refusal, as far as it reads.
import { parseKubeApiPath } from '../../kube/api-path.ts';
import { parseKubeRequest, type KubeRequestInfo } from '../../kube/request-info.ts';
import type { AuditRecord } from '../store/index.ts';

/**
 * Audit fields of a refused request: read like a forwarded one when its path
 * passes the check, else only the method and the path as sent.
 */
export function refusedAuditFields(method: string, requested: string): ReturnType<typeof auditFields> {
  try {
    const { target } = parseKubeApiPath(requested);
    return auditFields(parseKubeRequest(method, target), target);
  } catch {
    return { verb: method.toLowerCase(), resource: '', subresource: null, namespace: null, name: null, path: requested.split('?')[0] ?? '/', command: null };
  }
}

/** Audit fields from the path exactly as forwarded, so they say what the API server was asked. */
export function auditFields(info: KubeRequestInfo, apiPath: string): Pick<AuditRecord, 'verb' | 'resource' | 'subresource' | 'namespace' | 'name' | 'path' | 'command'> {
  return {
    verb: info.verb,
    resource: info.resource,
    subresource: info.subresource,
    namespace: info.namespace,
    name: info.name,
    path: apiPath.split('?')[0] ?? '/',
    command: info.command,
  };
}
