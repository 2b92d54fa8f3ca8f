// A safe subset of jq path expressions for ignore rules (`ignoreDifferences`
// `jq`), evaluated by hand: no eval, no jq binary, no dependency. Argo CD
// runs such rules as gojq `del(expr)`; here an expression is compiled once
// into steps and evaluated to the concrete paths it names in an object, which
// ignore-rules.ts then deletes.
//
// The subset: field access `.a.b`, `."a.b"`, `.["a.b"]`, index `.a[0]`
// (negative from the end), iteration `.a[]` (array items or object values),
// the optional marker `?` (a no-op: evaluation is tolerant anyway), pipes `|`,
// and `select(cond)` where cond compares a path with a literal (`==`, `!=`),
// tests a path's truth, and combines those with `and`/`or`. Anything else is
// refused with a JqPathError naming what was found. A missing path names
// nothing rather than failing, so a rule never breaks on an object lacking
// the field. Work is bounded by MAX_JQ_STEPS and MAX_JQ_PATHS.
import { isDeepStrictEqual } from 'node:util';
import { UplinkError } from '../../util/errors.ts';

/** Longest expression compiled (the hub allows 1024 characters). */
export const MAX_JQ_EXPRESSION_CHARS = 1024;
/** Steps (field, index, iteration, select, comparison) in one expression. */
export const MAX_JQ_STEPS = 64;
/** Paths one evaluation may hold at once: `.[][][]` on a big object would otherwise explode. */
export const MAX_JQ_PATHS = 10_000;

/** One step into a JSON value: an object key or an array index. */
export type PathSegment = string | number;

/** The expression is outside the supported subset, or too much work. */
export class JqPathError extends UplinkError {
  constructor(message: string) {
    super('JQ_PATH_UNSUPPORTED', message);
  }
}

type Literal = string | number | boolean | null;
type Step =
  | { op: 'field'; name: string }
  | { op: 'index'; index: number }
  | { op: 'iterate' }
  | { op: 'select'; condition: Condition };
type Condition =
  | { op: 'compare'; path: Step[]; equal: boolean; value: Literal }
  | { op: 'truthy'; path: Step[] }
  | { op: 'and' | 'or'; left: Condition; right: Condition };

interface Token {
  kind: 'punct' | 'ident' | 'string' | 'number';
  text: string;
  /** The decoded string or number. */
  value?: string | number;
  at: number;
}

const PUNCTUATION = ['==', '!=', '.', '[', ']', '|', '(', ')', '?'];
const IDENT = /[A-Za-z_][A-Za-z0-9_]*/y;
const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?/y;
/** A double-quoted string; JSON.parse then refuses what JSON does not allow (jq's `\(…)` interpolation included). */
const STRING = /"(?:[^"\\]|\\.)*"/y;

function decodeString(text: string, at: number): string {
  try {
    return JSON.parse(text) as string;
  } catch {
    throw new JqPathError(`the string at ${at + 1} is not a plain JSON string (interpolation is not supported)`);
  }
}

function tokenize(expression: string): Token[] {
  const tokens: Token[] = [];
  let at = 0;
  const sticky = (pattern: RegExp): string | undefined => {
    pattern.lastIndex = at;
    return pattern.exec(expression)?.[0];
  };
  while (at < expression.length) {
    if (/\s/.test(expression.charAt(at))) {
      at += 1;
      continue;
    }
    const punct = PUNCTUATION.find((p) => expression.startsWith(p, at));
    const string = punct === undefined ? sticky(STRING) : undefined;
    const number = punct === undefined && string === undefined ? sticky(NUMBER) : undefined;
    const ident = punct === undefined && string === undefined && number === undefined ? sticky(IDENT) : undefined;
    if (punct !== undefined) tokens.push({ kind: 'punct', text: punct, at });
    else if (string !== undefined) tokens.push({ kind: 'string', text: string, value: decodeString(string, at), at });
    else if (number !== undefined) tokens.push({ kind: 'number', text: number, value: Number(number), at });
    else if (ident !== undefined) tokens.push({ kind: 'ident', text: ident, at });
    else throw new JqPathError(`unsupported character ${JSON.stringify(expression.charAt(at))} at ${at + 1}`);
    at += (punct ?? string ?? number ?? ident ?? ' ').length;
  }
  return tokens;
}

/** Recursive descent over the token list; each method consumes what it parsed. */
class Parser {
  private position = 0;
  private steps = 0;
  private readonly tokens: Token[];

  constructor(tokens: Token[]) {
    this.tokens = tokens;
  }

  parsePipeline(): Step[] {
    const steps = this.parseTerm();
    while (this.take('|')) steps.push(...this.parseTerm());
    const extra = this.peek();
    if (extra !== undefined) throw this.unexpected(extra);
    return steps;
  }

  private parseTerm(): Step[] {
    const token = this.peek();
    if (token?.kind === 'ident' && token.text === 'select') {
      this.position += 1;
      this.expect('(');
      const condition = this.parseOr();
      this.expect(')');
      return [this.count({ op: 'select', condition })];
    }
    return this.parsePath();
  }

  private parseOr(): Condition {
    let left = this.parseAnd();
    while (this.takeWord('or')) left = { op: 'or', left, right: this.parseAnd() };
    return left;
  }

  private parseAnd(): Condition {
    let left = this.parseComparison();
    while (this.takeWord('and')) left = { op: 'and', left, right: this.parseComparison() };
    return left;
  }

  private parseComparison(): Condition {
    const path = this.parsePath();
    const operator = this.take('==') ?? this.take('!=');
    if (operator === undefined) return { op: 'truthy', path };
    this.tick();
    return { op: 'compare', path, equal: operator === '==', value: this.parseLiteral() };
  }

  private parseLiteral(): Literal {
    const token = this.next('a literal (string, number, true, false, null)');
    if (token.kind === 'string' || token.kind === 'number') return token.value as string | number;
    if (token.kind === 'ident' && (token.text === 'true' || token.text === 'false')) return token.text === 'true';
    if (token.kind === 'ident' && token.text === 'null') return null;
    throw this.unexpected(token, 'a literal (string, number, true, false, null)');
  }

  /** `.`, then any of `.name`, `."name"`, `[…]`, `?`; `..` (recursive descent) is refused. */
  private parsePath(): Step[] {
    const start = this.next('a path starting with "."');
    if (start.text !== '.') throw this.unexpected(start, 'a path starting with "."');
    const steps: Step[] = [];
    let afterDot = true;
    for (;;) {
      const token = this.peek();
      if (afterDot && (token?.kind === 'ident' || token?.kind === 'string')) {
        this.position += 1;
        steps.push(this.count({ op: 'field', name: token.kind === 'ident' ? token.text : token.value as string }));
      } else if (token?.text === '[') {
        steps.push(this.parseBracket());
      } else if (token?.text === '.' && !afterDot) {
        this.position += 1;
        afterDot = true;
        continue;
      } else if (token?.text === '?' && !afterDot) {
        this.position += 1;
      } else if (afterDot && steps.length > 0) {
        throw token ? this.unexpected(token, 'a field name after "."') : new JqPathError('the expression ends with "."');
      } else if (token?.text === '.' && afterDot) {
        throw new JqPathError(`recursive descent ".." at ${token.at + 1} is not supported`);
      } else {
        return steps;
      }
      afterDot = false;
    }
  }

  private parseBracket(): Step {
    this.expect('[');
    if (this.take(']')) return this.count({ op: 'iterate' });
    const token = this.next('an index, a quoted key or "]"');
    let step: Step;
    if (token.kind === 'string') step = { op: 'field', name: token.value as string };
    else if (token.kind === 'number' && Number.isInteger(token.value)) step = { op: 'index', index: token.value as number };
    else throw this.unexpected(token, 'an index, a quoted key or "]"');
    this.expect(']');
    return this.count(step);
  }

  private count(step: Step): Step {
    this.tick();
    return step;
  }

  private tick(): void {
    this.steps += 1;
    if (this.steps > MAX_JQ_STEPS) throw new JqPathError(`more than ${MAX_JQ_STEPS} steps`);
  }

  private peek(): Token | undefined {
    return this.tokens[this.position];
  }

  private next(wanted: string): Token {
    const token = this.tokens[this.position];
    if (token === undefined) throw new JqPathError(`the expression ends where ${wanted} was expected`);
    this.position += 1;
    return token;
  }

  private take(punct: string): string | undefined {
    if (this.peek()?.text !== punct || this.peek()?.kind !== 'punct') return undefined;
    this.position += 1;
    return punct;
  }

  private takeWord(word: string): boolean {
    const token = this.peek();
    if (token?.kind !== 'ident' || token.text !== word) return false;
    this.position += 1;
    return true;
  }

  private expect(punct: string): void {
    const token = this.next(`"${punct}"`);
    if (token.text !== punct || token.kind !== 'punct') throw this.unexpected(token, `"${punct}"`);
  }

  private unexpected(token: Token, wanted?: string): JqPathError {
    const supported = token.kind === 'ident' ? ' (functions other than select are not supported)' : '';
    return new JqPathError(`unexpected ${JSON.stringify(token.text)} at ${token.at + 1}${wanted ? `, expected ${wanted}` : ''}${supported}`);
  }
}

/** A value reached by a path; `value` is undefined when the path names nothing yet (jq's null). */
interface Located {
  path: PathSegment[];
  value: unknown;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function applyStep(step: Step, from: Located, into: Located[]): void {
  const { path, value } = from;
  if (step.op === 'field') {
    if (isObject(value)) into.push({ path: [...path, step.name], value: Object.hasOwn(value, step.name) ? value[step.name] : undefined });
    else if (value === undefined || value === null) into.push({ path: [...path, step.name], value: undefined });
  } else if (step.op === 'index') {
    if (Array.isArray(value)) {
      const index = step.index < 0 ? value.length + step.index : step.index;
      if (index >= 0) into.push({ path: [...path, index], value: value[index] as unknown });
    } else if (value === undefined || value === null) {
      into.push({ path: [...path, step.index], value: undefined });
    }
  } else if (step.op === 'iterate') {
    if (Array.isArray(value)) value.forEach((item: unknown, index) => into.push({ path: [...path, index], value: item }));
    else if (isObject(value)) for (const [key, item] of Object.entries(value)) into.push({ path: [...path, key], value: item });
  } else if (holds(step.condition, value)) {
    into.push(from);
  }
  if (into.length > MAX_JQ_PATHS) throw new JqPathError(`the expression names more than ${MAX_JQ_PATHS} paths`);
}

function run(steps: readonly Step[], start: Located[]): Located[] {
  let current = start;
  for (const step of steps) {
    const next: Located[] = [];
    for (const located of current) applyStep(step, located, next);
    current = next;
  }
  return current;
}

/** jq's truth: everything but false and null (a missing value is null). */
function holds(condition: Condition, value: unknown): boolean {
  switch (condition.op) {
    case 'and': return holds(condition.left, value) && holds(condition.right, value);
    case 'or': return holds(condition.left, value) || holds(condition.right, value);
    case 'truthy': return run(condition.path, [{ path: [], value }]).some((r) => r.value !== undefined && r.value !== null && r.value !== false);
    case 'compare': return run(condition.path, [{ path: [], value }])
      .some((r) => isDeepStrictEqual(r.value ?? null, condition.value) === condition.equal);
  }
}

/** A compiled expression: `paths(value)` lists the concrete paths it names in `value`. */
export interface JqPath {
  readonly expression: string;
  paths(value: unknown): PathSegment[][];
}

/** Compiles a jq path expression of the supported subset; throws JqPathError otherwise. */
export function compileJqPath(expression: string): JqPath {
  if (expression.length > MAX_JQ_EXPRESSION_CHARS) throw new JqPathError(`the expression is longer than ${MAX_JQ_EXPRESSION_CHARS} characters`);
  const tokens = tokenize(expression);
  if (tokens.length === 0) throw new JqPathError('the expression is empty');
  const steps = new Parser(tokens).parsePipeline();
  return { expression, paths: (value) => run(steps, [{ path: [], value }]).map((located) => located.path) };
}
