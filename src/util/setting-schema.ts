// The small schema language of process settings (flags, variables, the
// config file): strings with length and pattern, bounded numbers, booleans,
// literal unions and lists. It replaces a general JSON-schema library here
// because the agent loads nothing else of it, and that library's validator
// alone kept about 18 MiB of the agent's RSS for the whole life of the process
// (bench/inventory.ts; docs/decisions.md). The builders keep the JSON-schema
// shape (`type`, `minLength`, `pattern`, ...) and its error wording.

/** The phantom key that carries a schema's value type. */
declare const VALUE: unique symbol;

interface Base<T> {
  readonly [VALUE]?: T;
}

export interface StringSchema extends Base<string> {
  readonly type: 'string';
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly pattern?: string;
}

export interface NumberSchema extends Base<number> {
  readonly type: 'number' | 'integer';
  readonly minimum?: number;
  readonly maximum?: number;
}

export interface BooleanSchema extends Base<boolean> {
  readonly type: 'boolean';
}

export interface LiteralSchema<L extends string> extends Base<L> {
  readonly type: 'string';
  readonly const: L;
}

export interface UnionSchema<L extends string> extends Base<L> {
  readonly type: 'string';
  readonly enum: readonly L[];
}

export interface ArraySchema<I extends SettingSchema> extends Base<Static<I>[]> {
  readonly type: 'array';
  readonly items: I;
}

/** Any schema a setting may have. */
export type SettingSchema = StringSchema | NumberSchema | BooleanSchema | LiteralSchema<string> | UnionSchema<string> | ArraySchema<StringSchema>;

/** The value type a schema admits. */
export type Static<S> = S extends Base<infer T> ? T : never;

type Bounds<S> = Omit<S, 'type' | typeof VALUE>;

/** The builders, named as in JSON-schema libraries so setting tables read the same. */
export const Type = {
  String: (bounds: Bounds<StringSchema> = {}): StringSchema => ({ type: 'string', ...bounds }),
  Integer: (bounds: Bounds<NumberSchema> = {}): NumberSchema => ({ type: 'integer', ...bounds }),
  Number: (bounds: Bounds<NumberSchema> = {}): NumberSchema => ({ type: 'number', ...bounds }),
  Boolean: (): BooleanSchema => ({ type: 'boolean' }),
  Literal: <const L extends string>(value: L): LiteralSchema<L> => ({ type: 'string', const: value }),
  /** A choice among literals. */
  Union: <const L extends string>(members: readonly LiteralSchema<L>[]): UnionSchema<L> => ({ type: 'string', enum: members.map((m) => m.const) }),
  Array: (items: StringSchema): ArraySchema<StringSchema> => ({ type: 'array', items }),
} as const;

/** Why a value does not fit its schema, worded as JSON-schema validators do; undefined when it fits. */
export function schemaError(schema: SettingSchema, value: unknown): string | undefined {
  switch (schema.type) {
    case 'boolean':
      return typeof value === 'boolean' ? undefined : 'must be boolean';
    case 'integer':
    case 'number':
      return numberError(schema, value);
    case 'array': {
      if (!Array.isArray(value)) return 'must be array';
      for (const item of value) {
        const error = schemaError(schema.items, item);
        if (error !== undefined) return error;
      }
      return undefined;
    }
    default:
      return stringError(schema, value);
  }
}

function numberError(schema: NumberSchema, value: unknown): string | undefined {
  if (typeof value !== 'number' || !Number.isFinite(value)) return `must be ${schema.type}`;
  if (schema.type === 'integer' && !Number.isInteger(value)) return 'must be integer';
  if (schema.minimum !== undefined && value < schema.minimum) return `must be >= ${schema.minimum}`;
  if (schema.maximum !== undefined && value > schema.maximum) return `must be <= ${schema.maximum}`;
  return undefined;
}

function stringError(schema: StringSchema | LiteralSchema<string> | UnionSchema<string>, value: unknown): string | undefined {
  if (typeof value !== 'string') return 'must be string';
  if ('const' in schema) return value === schema.const ? undefined : `must be equal to constant ${JSON.stringify(schema.const)}`;
  if ('enum' in schema) return schema.enum.includes(value) ? undefined : `must be one of ${schema.enum.join(', ')}`;
  // Lengths count code points, as JSON schema does: a surrogate pair is one.
  const length = value.replace(/[\uD800-\uDBFF][\uDC00-\uDFFF]/g, '_').length;
  if (schema.minLength !== undefined && length < schema.minLength) return `must not have fewer than ${schema.minLength} characters`;
  if (schema.maxLength !== undefined && length > schema.maxLength) return `must not have more than ${schema.maxLength} characters`;
  if (schema.pattern !== undefined && !new RegExp(schema.pattern).test(value)) return `must match pattern "${schema.pattern}"`;
  return undefined;
}
