// The add-on spec's `ignoreDifferences`, applied to both sides of a drift
// comparison (the predicted object and the live one), as Argo CD and Flux do:
// a difference under an ignored field then cancels out. Every kind of rule is
// tolerant of paths an object lacks, so a rule written for one chart version
// does not break on the next.
//
// The hub checks only a rule's shape; a jq expression outside the supported
// subset (jq-path.ts) is refused here, when the rules are compiled, with an
// IgnoreRuleError naming the rule.
import type { IgnoreRule } from '../../domain/addon-spec/policy.ts';
import { UplinkError } from '../../util/errors.ts';
import { compileJqPath, type JqPath, type PathSegment } from '../../domain/addon-spec/jq-path.ts';
import { formatPointer, parsePointer } from '../../domain/json-pointer.ts';
import { fieldSetsOf, matchingIndices, removeOwnedFields, type FieldSet } from './managed-fields.ts';

/** Which object a rule is applied to; namespace is absent for cluster-scoped kinds. */
export interface ObjectIdentity {
  kind: string;
  name: string;
  namespace?: string;
}

/** A rule that cannot be used (a jq expression outside the subset, or one naming too many paths). */
export class IgnoreRuleError extends UplinkError {
  constructor(index: number, message: string, options?: ErrorOptions) {
    super('IGNORE_RULE_INVALID', `ignoreDifferences[${index}]: ${message}`, options);
  }
}

/** A rule ready to apply: its pointer split into segments, or its jq expression compiled. */
export interface CompiledIgnoreRule {
  readonly rule: IgnoreRule;
  /** Its place in `ignoreDifferences`, for messages. */
  readonly index: number;
  readonly pointer?: readonly string[];
  readonly jq?: JqPath;
}

/** Compiles every rule; throws IgnoreRuleError naming the first that cannot be used. */
export function compileIgnoreRules(rules: readonly IgnoreRule[]): CompiledIgnoreRule[] {
  return rules.map((rule, index) => {
    try {
      if (rule.pointer !== undefined) return { rule, index, pointer: parsePointer(rule.pointer) };
      if (rule.jq !== undefined) return { rule, index, jq: compileJqPath(rule.jq) };
      if (rule.manager !== undefined) return { rule, index };
    } catch (error) {
      const what = rule.pointer === undefined ? `jq ${JSON.stringify(rule.jq)}` : `pointer ${JSON.stringify(rule.pointer)}`;
      throw new IgnoreRuleError(index, `${what}: ${(error as Error).message}`, { cause: error });
    }
    throw new IgnoreRuleError(index, 'has none of pointer, jq, manager');
  });
}

/** Whether the rule's target (kind, name, namespace; an absent field matches any) covers the object. */
export function ruleCovers(rule: IgnoreRule, identity: ObjectIdentity): boolean {
  const target = rule.target;
  if (target === undefined) return true;
  return (target.kind === undefined || target.kind === identity.kind)
    && (target.name === undefined || target.name === identity.name)
    && (target.namespace === undefined || target.namespace === identity.namespace);
}

const isContainer = (value: unknown): value is Record<string, unknown> | unknown[] => typeof value === 'object' && value !== null;
const isMap = (value: unknown): value is Record<string, unknown> => isContainer(value) && !Array.isArray(value);

/** The array index a segment names (a pointer token is a string), or -1 when it names none below `length`. */
function indexOf(segment: PathSegment, length: number): number {
  const index = typeof segment === 'number' ? segment : /^(0|[1-9][0-9]*)$/.test(segment) ? Number(segment) : -1;
  return index >= 0 && index < length ? index : -1;
}

/** Removes one path in place; a path the value lacks (or that crosses a scalar) is skipped. */
export function removePath(root: unknown, path: readonly PathSegment[]): void {
  let node: unknown = root;
  for (const [depth, segment] of path.entries()) {
    if (!isContainer(node)) return;
    const last = depth === path.length - 1;
    if (Array.isArray(node)) {
      const index = indexOf(segment, node.length);
      if (index < 0) return;
      if (last) node.splice(index, 1);
      else node = node[index];
    } else {
      const key = String(segment);
      if (!Object.hasOwn(node, key)) return;
      if (last) Reflect.deleteProperty(node, key);
      else node = node[key];
    }
  }
}

function comparePaths(a: readonly PathSegment[], b: readonly PathSegment[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i += 1) {
    const [x, y] = [a[i] as PathSegment, b[i] as PathSegment];
    if (x === y) continue;
    if (typeof x === 'number' && typeof y === 'number') return x - y;
    return String(x) < String(y) ? -1 : 1;
  }
  return a.length - b.length;
}

/**
 * Removes several paths in place, from the last to the first, so that
 * removing an array item never shifts an index still to be removed.
 */
export function removePaths(root: unknown, paths: readonly (readonly PathSegment[])[]): void {
  for (const path of [...paths].sort(comparePaths).reverse()) removePath(root, path);
}

export interface ApplyIgnoreRulesOptions {
  /**
   * The `metadata.managedFields` that manager rules read: the LIVE object's,
   * also when the rules are applied to the predicted one. Default: the
   * object's own.
   */
  managedFields?: unknown;
}

function pathsOf(compiled: CompiledIgnoreRule, object: Record<string, unknown>): PathSegment[][] {
  if (compiled.pointer !== undefined) return [[...compiled.pointer]];
  if (compiled.jq === undefined) return [];
  try {
    return compiled.jq.paths(object);
  } catch (error) {
    throw new IgnoreRuleError(compiled.index, `jq ${JSON.stringify(compiled.jq.expression)}: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * Applies the rules that cover `identity` to `object`, in place. Returns true
 * when a rule names the whole object (pointer `''`, jq `.` or a `select` that
 * keeps the object): the caller then leaves the object out entirely. Throws
 * IgnoreRuleError when a jq rule names more paths than allowed.
 */
export function applyIgnoreRules(
  object: Record<string, unknown>, rules: readonly CompiledIgnoreRule[], identity: ObjectIdentity, options: ApplyIgnoreRulesOptions = {},
): boolean {
  const covering = rules.filter((compiled) => ruleCovers(compiled.rule, identity));
  const managedFields = options.managedFields ?? (object.metadata as { managedFields?: unknown } | undefined)?.managedFields;
  const paths: PathSegment[][] = [];
  for (const compiled of covering) {
    const named = pathsOf(compiled, object);
    if (named.some((path) => path.length === 0)) return true;
    paths.push(...named);
  }
  // Ownership is read before any removal: the rules work on the object as it came.
  const sets = covering.flatMap((compiled) => (compiled.rule.manager === undefined ? [] : fieldSetsOf(managedFields, compiled.rule.manager)));
  removePaths(object, paths);
  removeOwnedFields(object, sets);
  return false;
}

/** Whether a rule covering `identity` names the whole object (pointer `''`, jq `.`, a `select` that keeps it). */
export function ignoresWholeObject(object: Record<string, unknown>, rules: readonly CompiledIgnoreRule[], identity: ObjectIdentity): boolean {
  return rules.some((compiled) => ruleCovers(compiled.rule, identity) && pathsOf(compiled, object).some((path) => path.length === 0));
}

/** Tries are walked this deep, as managed-fields.ts walks them. */
const MAX_OWNED_DEPTH = 64;

/** The value at `path`, wrapped so that a null value differs from none. */
function valueAt(root: unknown, path: readonly PathSegment[]): { value: unknown } | undefined {
  let node = root;
  for (const segment of path) {
    if (Array.isArray(node)) {
      const index = indexOf(segment, node.length);
      if (index < 0) return undefined;
      node = node[index];
    } else if (isMap(node) && Object.hasOwn(node, String(segment))) {
      node = node[String(segment)];
    } else {
      return undefined;
    }
  }
  return { value: node };
}

/**
 * Sets `path` in `body` to a copy of live's value there. A map body lacks on
 * the way is created where live has one; a list item it lacks is not (an
 * item without its key fields would not apply), so such a path is skipped.
 */
function copyPath(live: unknown, body: unknown, path: readonly PathSegment[]): void {
  let [from, to]: unknown[] = [live, body];
  for (const [depth, segment] of path.entries()) {
    const last = depth === path.length - 1;
    if (Array.isArray(from) && Array.isArray(to)) {
      const index = indexOf(segment, Math.min(from.length, to.length));
      if (index < 0) return;
      if (last) to[index] = structuredClone<unknown>(from[index]);
      [from, to] = [from[index], to[index]] as unknown[];
    } else if (isMap(from) && isMap(to) && Object.hasOwn(from, String(segment))) {
      const key = String(segment);
      if (last) to[key] = structuredClone(from[key]);
      else if (!Object.hasOwn(to, key) && isMap(from[key])) to[key] = {};
      [from, to] = [from[key], to[key]];
    } else {
      return;
    }
  }
}

/**
 * Where `body` renders a field the trie owns, gives it live's value; list
 * items are matched by their key, not their place. What body does not render
 * stays out: the trie's manager owns it, so the apply leaves it be.
 */
function copyOwnedValues(set: FieldSet, live: unknown, body: unknown, depth: number): void {
  if (depth > MAX_OWNED_DEPTH) return;
  for (const [key, child] of Object.entries(set)) {
    if (key === '.' || !isMap(child)) continue;
    const leaf = Object.keys(child).length === 0;
    if (key.startsWith('f:') && isMap(live) && isMap(body)) {
      const name = key.slice(2);
      if (!Object.hasOwn(live, name) || !Object.hasOwn(body, name)) continue;
      if (leaf) body[name] = structuredClone(live[name]);
      else copyOwnedValues(child, live[name], body[name], depth + 1);
    } else if (Array.isArray(live) && Array.isArray(body)) {
      const [from] = matchingIndices(live, key);
      const [to] = matchingIndices(body, key);
      if (from === undefined || to === undefined) continue;
      if (leaf) body[to] = structuredClone<unknown>(live[from]);
      else copyOwnedValues(child, live[from], body[to], depth + 1);
    }
  }
}

/**
 * Makes `body`, an object about to be applied over `live` (server-side, with
 * force), keep live's value wherever a rule covering `identity` ignores
 * differences, so re-applying one field never resets an ignored one (an
 * HPA's `/spec/replicas`). Values are copied rather than left out: a field
 * helm stops applying is released, and the server removes or defaults it
 * when no other manager owns it.
 *
 * A pointer or jq path (named in either object) gets live's value, or is
 * removed from body when live has the parent but not the field; a path
 * through a list item body lacks is skipped. A manager rule gives the fields
 * that manager owns in live their live value where body renders them.
 * Returns true, changing nothing, when a rule names the whole object: the
 * caller then leaves it alone. Throws IgnoreRuleError as applyIgnoreRules.
 */
export function keepIgnoredFields(
  body: Record<string, unknown>, live: Record<string, unknown>, rules: readonly CompiledIgnoreRule[], identity: ObjectIdentity,
  options: ApplyIgnoreRulesOptions = {},
): boolean {
  const covering = rules.filter((compiled) => ruleCovers(compiled.rule, identity));
  const paths = new Map<string, PathSegment[]>();
  for (const compiled of covering) {
    for (const path of [...pathsOf(compiled, live), ...pathsOf(compiled, body)]) {
      if (path.length === 0) return true;
      paths.set(formatPointer(path), path);
    }
  }
  const managedFields = options.managedFields ?? (isMap(live.metadata) ? live.metadata.managedFields : undefined);
  for (const compiled of covering) {
    if (compiled.rule.manager === undefined) continue;
    for (const set of fieldSetsOf(managedFields, compiled.rule.manager)) copyOwnedValues(set, live, body, 0);
  }
  const removals: PathSegment[][] = [];
  for (const path of paths.values()) {
    if (valueAt(live, path)) copyPath(live, body, path);
    else if (valueAt(live, path.slice(0, -1))) removals.push(path);
  }
  removePaths(body, removals);
  return false;
}
