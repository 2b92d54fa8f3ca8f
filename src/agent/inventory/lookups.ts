// Lookups across kinds: which Events are about an object, and which
// containers a pod has (for log streams).
import type { ResourceRow } from '../../link/resources.ts';

/** kubectl's annotation naming the container `kubectl logs` and `exec` use by default. */
export const DEFAULT_CONTAINER_ANNOTATION = 'kubectl.kubernetes.io/default-container';

export interface EventTarget {
  kind: string;
  /** Null for cluster-scoped objects. */
  namespace: string | null;
  name: string;
  /** The object's uid when it is cached. */
  uid: string | undefined;
}

/**
 * Matches Event rows about one object: by uid when both sides know it (so
 * the events of an earlier object of the same name are left out), else by
 * kind, namespace and name.
 */
export function eventMatcher(target: EventTarget): (row: ResourceRow) => boolean {
  return (row) => {
    const c = row.columns;
    if (target.uid && c.involvedUid) return c.involvedUid === target.uid;
    return c.involvedKind === target.kind && c.involvedName === target.name && (c.involvedNamespace ?? '') === (target.namespace ?? '');
  };
}

export interface PodContainers {
  name: string;
  containers: string[];
  defaultContainer: string;
}

/** A pod's containers from its stored JSON; the default is the annotated one if it exists, else the first. */
export function podContainers(name: string, json: string): PodContainers {
  const pod = JSON.parse(json) as {
    metadata?: { annotations?: Record<string, string> };
    spec?: { containers?: { name?: string }[] };
  };
  const containers = (pod.spec?.containers ?? []).map((c) => c.name).filter((n): n is string => typeof n === 'string');
  const annotated = pod.metadata?.annotations?.[DEFAULT_CONTAINER_ANNOTATION];
  const defaultContainer = annotated !== undefined && containers.includes(annotated) ? annotated : (containers[0] ?? '');
  return { name, containers, defaultContainer };
}
