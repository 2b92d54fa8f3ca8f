// The add-on spec's `ignoreDifferences`, applied to both sides of a drift
// comparison (the predicted object and the live one), as Argo CD and Flux do:
// a difference under an ignored field then cancels out. Every kind of rule is
// tolerant of paths an object lacks, so a rule written for one chart version
// does not break on the next.
//
// The hub checks only a rule's shape; a jq expression outside the supported
// subset (jq-path.ts) is refused here, when the rules are compiled, with an
// IgnoreRuleError naming the rule.
import type { IgnoreRule } from '../../hub/addons/policy.ts';
import { UplinkError } from '../../util/errors.ts';
import { compileJqPath, type JqPath, type PathSegment } from './jq-path.ts';
import { fieldSetsOf, removeOwnedFields } from './managed-fields.ts';

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

/** RFC 6901: `''` is the whole document; each `/`-separated token unescapes `~1` to `/`, then `~0` to `~`. */
export function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new Error(`${JSON.stringify(pointer)} does not start with "/"`);
  return pointer.slice(1).split('/').map((token) => {
    if (/~(?![01])/.test(token)) throw new Error(`${JSON.stringify(pointer)} has "~" that is not "~0" or "~1"`);
    return token.replaceAll('~1', '/').replaceAll('~0', '~');
  });
}

/** The JSON pointer of a path: the inverse of parsePointer. */
export function formatPointer(path: readonly PathSegment[]): string {
  return path.map((segment) => `/${String(segment).replaceAll('~', '~0').replaceAll('/', '~1')}`).join('');
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

/** Removes one path in place; a path the value lacks (or that crosses a scalar) is skipped. */
export function removePath(root: unknown, path: readonly PathSegment[]): void {
  let node: unknown = root;
  for (const [depth, segment] of path.entries()) {
    if (!isContainer(node)) return;
    const last = depth === path.length - 1;
    if (Array.isArray(node)) {
      const index = typeof segment === 'number' ? segment : /^(0|[1-9][0-9]*)$/.test(segment) ? Number(segment) : -1;
      if (index < 0 || index >= node.length) return;
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
