// Checks across the add-ons of one cluster: `dependsOn` names only add-ons
// that exist, never closes a cycle, and an add-on others depend on is not
// removed from under them.
import { HttpError } from '../errors.ts';

/** A 400 about `dependsOn`, coded like the spec's own errors. */
const dependsOnError = (message: string): HttpError => new HttpError('ADDON_SPEC_INVALID', message);

/** The add-ons of one cluster by name, each with the names it depends on. */
export type DependencyGraph = ReadonlyMap<string, readonly string[]>;

export interface DependencyChange {
  /** The add-on being created or replaced. */
  name: string;
  dependsOn: readonly string[];
  /** The cluster's other live add-ons (this one's old spec may be among them; it is replaced). */
  siblings: DependencyGraph;
  /** For messages. */
  cluster: string;
}

/**
 * Throws a 400 when the change names an add-on the cluster does not have, or
 * when the graph with the change would hold a cycle (naming it: `a -> b -> a`).
 */
export function checkDependencies(change: DependencyChange): void {
  const graph = new Map(change.siblings);
  graph.set(change.name, change.dependsOn);
  for (const dependency of change.dependsOn) {
    if (!graph.has(dependency)) {
      throw dependsOnError(`dependsOn names '${dependency}', which is not an add-on of cluster '${change.cluster}'`);
    }
  }
  const cycle = findCycle(graph, change.name);
  if (cycle !== undefined) throw dependsOnError(`dependsOn makes a cycle: ${cycle.join(' -> ')}`);
}

/**
 * A cycle reachable from `start`, as the path that closes it (first and last
 * element the same), or undefined. Depth-first with the path on a stack; a
 * node fully explored without finding one is not explored again.
 */
export function findCycle(graph: DependencyGraph, start: string): string[] | undefined {
  const done = new Set<string>();
  const path: string[] = [];
  const visit = (node: string): string[] | undefined => {
    const onPath = path.indexOf(node);
    if (onPath !== -1) return [...path.slice(onPath), node];
    if (done.has(node)) return undefined;
    path.push(node);
    for (const next of graph.get(node) ?? []) {
      const cycle = visit(next);
      if (cycle !== undefined) return cycle;
    }
    path.pop();
    done.add(node);
    return undefined;
  };
  return visit(start);
}

/** The add-ons that depend on `name`, sorted. */
export function dependentsOf(graph: DependencyGraph, name: string): string[] {
  return [...graph].filter(([other, dependsOn]) => other !== name && dependsOn.includes(name)).map(([other]) => other).sort();
}

/** A 409 when other add-ons depend on the one being deleted. */
export function checkNoDependents(graph: DependencyGraph, name: string): void {
  const dependents = dependentsOf(graph, name);
  if (dependents.length === 0) return;
  const list = dependents.map((d) => `'${d}'`).join(', ');
  throw new HttpError('ADDON_HAS_DEPENDENTS',
    `add-on '${name}' cannot be deleted: ${list} ${dependents.length === 1 ? 'depends' : 'depend'} on it; remove it from their dependsOn first`);
}
