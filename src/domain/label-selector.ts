// Kubernetes label selectors, parsed and matched the way the API server does
// (k8s.io/apimachinery/pkg/labels): comma-joined requirements, each an
// equality (`a=b`, `a==b`, `a!=b`), a set (`a in (x,y)`, `a notin (x)`), an
// existence test (`a`, `!a`) or an integer comparison (`a>1`, `a<3`).
// Every requirement must hold; an empty selector matches everything.
import { isDnsSubdomain, isLabelName, isLabelValue, MAX_LABEL_SELECTOR_CHARS } from './kube-names.ts';
import { UplinkError } from '../util/errors.ts';

export type SelectorOperator = 'equals' | 'notEquals' | 'in' | 'notIn' | 'exists' | 'doesNotExist' | 'greaterThan' | 'lessThan';

export interface LabelRequirement {
  key: string;
  operator: SelectorOperator;
  /** Empty for exists/doesNotExist; one value for equality and comparisons. */
  values: string[];
}

/** A selector that does not parse; the message names the problem and where. */
export class LabelSelectorError extends UplinkError {
  constructor(selector: string, problem: string) {
    super('BAD_SELECTOR', `invalid label selector ${JSON.stringify(selector)}: ${problem}`);
  }
}

/** Longest selector accepted; a bound on work per query. */
export const MAX_SELECTOR_LENGTH = MAX_LABEL_SELECTOR_CHARS;
const INTEGER = /^-?[0-9]+$/;

type Token =
  | { type: 'word'; text: string; at: number }
  | { type: 'op'; text: '=' | '==' | '!=' | '!' | '>' | '<' | ',' | '(' | ')'; at: number };

function tokenize(text: string, fail: (problem: string) => never): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text.charAt(i);
    if (/\s/.test(c)) {
      i += 1;
      continue;
    }
    const two = text.slice(i, i + 2);
    if (two === '==' || two === '!=') {
      tokens.push({ type: 'op', text: two, at: i });
      i += 2;
    } else if ('=!><,()'.includes(c)) {
      tokens.push({ type: 'op', text: c as '=' | '!' | '>' | '<' | ',' | '(' | ')', at: i });
      i += 1;
    } else {
      const start = i;
      while (i < text.length && !/[\s=!><,()]/.test(text.charAt(i))) i += 1;
      const word = text.slice(start, i);
      if (!/^[-A-Za-z0-9_./]+$/.test(word)) fail(`unexpected character in ${JSON.stringify(word)} at position ${start}`);
      tokens.push({ type: 'word', text: word, at: start });
    }
  }
  return tokens;
}

function checkKey(key: string, fail: (problem: string) => never): void {
  const slash = key.indexOf('/');
  const prefix = slash === -1 ? undefined : key.slice(0, slash);
  const name = slash === -1 ? key : key.slice(slash + 1);
  if (prefix !== undefined && !isDnsSubdomain(prefix)) {
    fail(`the key prefix ${JSON.stringify(prefix)} must be a DNS subdomain of at most 253 characters`);
  }
  if (!isLabelName(name)) {
    fail(`the key ${JSON.stringify(key)} must be at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit`);
  }
}

function checkValue(value: string, fail: (problem: string) => never): void {
  if (!isLabelValue(value)) {
    fail(`the value ${JSON.stringify(value)} must be empty or at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit`);
  }
}

/** Reads tokens left to right, one requirement at a time. */
class SelectorParser {
  private index = 0;
  private readonly tokens: Token[];
  private readonly fail: (problem: string) => never;

  constructor(tokens: Token[], fail: (problem: string) => never) {
    this.tokens = tokens;
    this.fail = fail;
  }

  parse(): LabelRequirement[] {
    const requirements: LabelRequirement[] = [];
    if (this.tokens.length === 0) return requirements;
    for (;;) {
      requirements.push(this.requirement());
      const next = this.tokens[this.index];
      if (next === undefined) return requirements;
      if (next.type !== 'op' || next.text !== ',') this.fail(`expected ',' at position ${next.at}, got ${JSON.stringify(next.text)}`);
      this.index += 1;
    }
  }

  private requirement(): LabelRequirement {
    const first = this.take('a key');
    if (first.type === 'op' && first.text === '!') {
      const key = this.word('a key after "!"');
      return { key, operator: 'doesNotExist', values: [] };
    }
    if (first.type !== 'word') this.fail(`expected a key at position ${first.at}, got ${JSON.stringify(first.text)}`);
    const key = first.text;
    checkKey(key, this.fail);
    const op = this.tokens[this.index];
    if (op === undefined || (op.type === 'op' && op.text === ',')) return { key, operator: 'exists', values: [] };
    this.index += 1;
    if (op.type === 'word') {
      if (op.text === 'in' || op.text === 'notin') return { key, operator: op.text === 'in' ? 'in' : 'notIn', values: this.valueSet() };
      this.fail(`expected an operator after ${JSON.stringify(key)} at position ${op.at}, got ${JSON.stringify(op.text)}`);
    }
    switch (op.text) {
      case '=':
      case '==':
      case '!=':
        return { key, operator: op.text === '!=' ? 'notEquals' : 'equals', values: [this.optionalValue()] };
      case '>':
      case '<': {
        const value = this.word(`an integer after "${op.text}"`);
        if (!INTEGER.test(value)) this.fail(`"${op.text}" needs an integer, got ${JSON.stringify(value)}`);
        return { key, operator: op.text === '>' ? 'greaterThan' : 'lessThan', values: [value] };
      }
      default:
        return this.fail(`expected an operator after ${JSON.stringify(key)} at position ${op.at}, got ${JSON.stringify(op.text)}`);
    }
  }

  /** `(a, b, c)`; values may be empty, as the API server allows. */
  private valueSet(): string[] {
    const open = this.take('"("');
    if (open.type !== 'op' || open.text !== '(') this.fail(`expected "(" at position ${open.at}`);
    const values: string[] = [];
    for (;;) {
      values.push(this.optionalValue());
      const next = this.take('"," or ")"');
      if (next.type === 'op' && next.text === ')') break;
      if (next.type !== 'op' || next.text !== ',') this.fail(`expected "," or ")" at position ${next.at}, got ${JSON.stringify(next.text)}`);
    }
    return values;
  }

  private optionalValue(): string {
    const next = this.tokens[this.index];
    if (next?.type !== 'word') return '';
    this.index += 1;
    checkValue(next.text, this.fail);
    return next.text;
  }

  private word(what: string): string {
    const token = this.take(what);
    if (token.type !== 'word') this.fail(`expected ${what} at position ${token.at}, got ${JSON.stringify(token.text)}`);
    return token.text;
  }

  private take(what: string): Token {
    const token = this.tokens[this.index];
    if (token === undefined) this.fail(`expected ${what} at the end`);
    this.index += 1;
    return token;
  }
}

/** A parsed selector; `matches` is cheap enough to run over every cached object. */
export class LabelSelector {
  readonly requirements: readonly LabelRequirement[];

  constructor(requirements: LabelRequirement[]) {
    this.requirements = requirements;
  }

  get empty(): boolean {
    return this.requirements.length === 0;
  }

  matches(labels: Readonly<Record<string, string>>): boolean {
    for (const requirement of this.requirements) {
      if (!matchesRequirement(requirement, labels)) return false;
    }
    return true;
  }
}

function matchesRequirement(requirement: LabelRequirement, labels: Readonly<Record<string, string>>): boolean {
  const has = Object.hasOwn(labels, requirement.key);
  const value = has ? labels[requirement.key] : undefined;
  const first = requirement.values[0] ?? '';
  switch (requirement.operator) {
    case 'exists':
      return has;
    case 'doesNotExist':
      return !has;
    case 'equals':
      return value === first;
    case 'notEquals':
      return value !== first;
    case 'in':
      return value !== undefined && requirement.values.includes(value);
    case 'notIn':
      return value === undefined || !requirement.values.includes(value);
    case 'greaterThan':
    case 'lessThan': {
      if (value === undefined || !INTEGER.test(value)) return false;
      return requirement.operator === 'greaterThan' ? Number(value) > Number(first) : Number(value) < Number(first);
    }
  }
}

/** Parses a selector; throws LabelSelectorError (code BAD_SELECTOR) naming the problem. */
export function parseLabelSelector(text: string): LabelSelector {
  const fail = (problem: string): never => {
    throw new LabelSelectorError(text.length > 200 ? `${text.slice(0, 200)}...` : text, problem);
  };
  if (text.length > MAX_SELECTOR_LENGTH) fail(`longer than ${MAX_SELECTOR_LENGTH} characters`);
  return new LabelSelector(new SelectorParser(tokenize(text, fail), fail).parse());
}
