// Reading the fields of an add-on spec as it arrives in JSON: each reader
// checks a type and a bound, and fails with an AddonSpecError whose message
// starts with the field's path (`syncWindow.schedule`, `ignoreDifferences[2].jq`),
// so the person who wrote the spec can find the mistake. Shared by the hub
// (which answers it as a 400) and the agent (which refuses a pushed spec).
import { UplinkError } from '../../util/errors.ts';
import { isDnsLabel, MAX_DNS_LABEL_CHARS } from '../kube-names.ts';

/** A spec field is missing, of the wrong type, or outside its rules; code ADDON_SPEC_INVALID. */
export class AddonSpecError extends UplinkError {
  /** The path of the field at fault, e.g. `source.git.path`. */
  readonly field: string;

  constructor(field: string, message: string) {
    super('ADDON_SPEC_INVALID', message);
    this.field = field;
  }
}

/** Longest string quoted back in an error message. */
const QUOTED_MAX = 80;

/** A value as an error message shows it: strings in single quotes (cut short), anything else as JSON. */
export function quote(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value !== 'string') return JSON.stringify(value);
  return value.length > QUOTED_MAX ? `'${value.slice(0, QUOTED_MAX)}…'` : `'${value}'`;
}

export interface StringRule {
  /** Longest accepted value, in characters. */
  maxLength: number;
  /** Used when the field is absent; without it the field is required. */
  fallback?: string;
}

export interface NumberRule {
  min: number;
  max: number;
  fallback: number;
  /** Whether fractions are accepted (a backoff factor); whole numbers otherwise. */
  fractional?: boolean;
  /** Said after the range in the error, e.g. "(-1 for no limit)". */
  hint?: string;
}

/**
 * One JSON object of a spec at a path, every key in a known list. Absent and
 * null fields are the same: both take the default, or are missing.
 */
export class SpecObject {
  /** '' for the spec itself. */
  readonly path: string;
  readonly #fields: Record<string, unknown>;

  private constructor(fields: Record<string, unknown>, path: string) {
    this.#fields = fields;
    this.path = path;
  }

  /** `value` as an object at `path` whose keys are all in `known`; anything else names the field. */
  static read(value: unknown, path: string, known: readonly string[]): SpecObject {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new AddonSpecError(path, `${path === '' ? 'the add-on spec' : path} must be an object, got ${quote(value)}`);
    }
    const object = new SpecObject(value as Record<string, unknown>, path);
    for (const key of Object.keys(value)) {
      if (!known.includes(key)) throw new AddonSpecError(object.field(key), `unknown field '${object.field(key)}' (known: ${known.join(', ')})`);
    }
    return object;
  }

  /** The path of one of this object's fields. */
  field(key: string): string {
    return this.path === '' ? key : `${this.path}.${key}`;
  }

  /** The field as given, undefined when absent or null. */
  raw(key: string): unknown {
    return this.#fields[key] ?? undefined;
  }

  /** Which of `keys` are given, in their order. */
  given<K extends string>(keys: readonly K[]): K[] {
    return keys.filter((key) => this.raw(key) !== undefined);
  }

  /** A required object field. */
  object(key: string, known: readonly string[]): SpecObject {
    if (this.raw(key) === undefined) throw new AddonSpecError(this.field(key), `${this.field(key)} is required`);
    return SpecObject.read(this.raw(key), this.field(key), known);
  }

  /** An optional object field whose own fields all have defaults: absent, it reads as {}. */
  objectOrEmpty(key: string, known: readonly string[]): SpecObject {
    return SpecObject.read(this.raw(key) ?? {}, this.field(key), known);
  }

  /** An optional object field: undefined when absent. */
  optionalObject(key: string, known: readonly string[]): SpecObject | undefined {
    return this.raw(key) === undefined ? undefined : SpecObject.read(this.raw(key), this.field(key), known);
  }

  /** A non-empty string of at most `rule.maxLength` characters. */
  string(key: string, rule: StringRule): string {
    const field = this.field(key);
    const value = this.raw(key);
    if (value === undefined) {
      if (rule.fallback !== undefined) return rule.fallback;
      throw new AddonSpecError(field, `${field} is required`);
    }
    if (typeof value !== 'string') throw new AddonSpecError(field, `${field} must be a string, got ${quote(value)}`);
    if (value === '') throw new AddonSpecError(field, `${field} must not be empty`);
    if (value.length > rule.maxLength) throw new AddonSpecError(field, `${field} is longer than ${rule.maxLength} characters`);
    return value;
  }

  boolean(key: string, fallback: boolean): boolean {
    const value = this.raw(key);
    if (value === undefined) return fallback;
    if (typeof value !== 'boolean') throw new AddonSpecError(this.field(key), `${this.field(key)} must be true or false, got ${quote(value)}`);
    return value;
  }

  /** A number within [min, max]. */
  number(key: string, rule: NumberRule): number {
    const value = this.raw(key);
    if (value === undefined) return rule.fallback;
    const whole = rule.fractional !== true;
    const ok = typeof value === 'number' && Number.isFinite(value) && (!whole || Number.isInteger(value))
      && value >= rule.min && value <= rule.max;
    if (ok) return value;
    const kind = whole ? 'a whole number' : 'a number';
    const hint = rule.hint === undefined ? '' : ` ${rule.hint}`;
    throw new AddonSpecError(this.field(key), `${this.field(key)} must be ${kind} from ${rule.min} to ${rule.max}${hint}, got ${quote(value)}`);
  }

  /** A list of at most `maxItems` entries, [] when absent. */
  array(key: string, maxItems: number): unknown[] {
    const field = this.field(key);
    const value = this.raw(key);
    if (value === undefined) return [];
    if (!Array.isArray(value)) throw new AddonSpecError(field, `${field} must be a list, got ${quote(value)}`);
    if (value.length > maxItems) throw new AddonSpecError(field, `${field} has ${value.length} entries, at most ${maxItems} are allowed`);
    return value;
  }
}

/** Checks a DNS-1123 label of at most `rule.maxLength` (default 63) characters. */
export function checkDnsLabel(value: string, rule: { field: string; maxLength?: number }): string {
  const maxLength = rule.maxLength ?? MAX_DNS_LABEL_CHARS;
  if (value.length > maxLength || !isDnsLabel(value)) {
    throw new AddonSpecError(rule.field, `${rule.field} ${quote(value)} is not a DNS-1123 label (lowercase letters, digits and '-', at most ${maxLength} characters)`);
  }
  return value;
}

/** An http(s) URL without credentials in it (those belong in a Secret). */
export function checkHttpUrl(value: string, field: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new AddonSpecError(field, `${field} ${quote(value)} is not a URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new AddonSpecError(field, `${field} ${quote(value)} must be an https (or http) URL`);
  }
  if (url.username !== '' || url.password !== '') {
    // Not quoted back: the credentials would end up in the error.
    throw new AddonSpecError(field, `${field} must not carry credentials (user:password@); a token goes in a Secret`);
  }
  return value;
}
