// The one configuration loader: every long-running command (hub, agent)
// declares its settings as a table, and each setting is read from, in order
// of precedence, a command-line flag, an environment variable, the YAML
// config file, then its default. Values are checked against a JSON schema at
// start, and an invalid one stops the process with a message naming the flag,
// the variable and the problem.
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import { UplinkError } from './errors.ts';
import { schemaError, Type, type SettingSchema, type Static } from './setting-schema.ts';

export interface Setting<S extends SettingSchema = SettingSchema> {
  schema: S;
  /** Long flag without dashes, kebab-case; also the key in the config file. */
  flag: string;
  env: string;
  help: string;
  default?: Static<S>;
  /** When true the setting may stay unset. */
  optional?: boolean;
}

export type SettingsTable = Record<string, Setting>;

/** The typed result of loading a table: optional settings may be undefined. */
export type SettingsOf<T extends SettingsTable> = {
  [K in keyof T]: T[K]['optional'] extends true
    ? Static<T[K]['schema']> | undefined
    : Static<T[K]['schema']>;
};

/** A setting has a bad value, or the config file cannot be used. */
export class ConfigError extends UplinkError {
  constructor(message: string, options?: ErrorOptions) {
    super('CONFIG_INVALID', message, options);
  }
}

/** Declares a setting; a helper so the schema's type and `optional: true` flow into SettingsOf. */
export function setting<S extends SettingSchema, const O extends boolean = false>(
  spec: Setting<S> & { optional?: O },
): Setting<S> & { optional: O } {
  return { ...spec, optional: (spec.optional ?? false) as O };
}

function kind(schema: SettingSchema): string {
  return schema.type;
}

/** Adds one commander option per setting. Flags carry strings; load() coerces. */
export function addSettingOptions(command: Command, table: SettingsTable): Command {
  command.option('--config <file>', 'read settings from this YAML file (flags and environment win)');
  for (const spec of Object.values(table)) {
    const def = spec.default === undefined ? '' : ` (default: ${JSON.stringify(spec.default)})`;
    const help = `${spec.help} [env ${spec.env}]${def}`;
    if (kind(spec.schema) === 'boolean') {
      // Both forms, so a setting on by default (or by the environment or the
      // file) can be turned off on the command line. Neither given leaves it
      // unset here, so the environment, the file and the default still apply.
      command.option(`--${spec.flag}`, help);
      command.option(`--no-${spec.flag}`, `turn --${spec.flag} off`);
    } else if (kind(spec.schema) === 'array') command.option(`--${spec.flag} <value...>`, help);
    else command.option(`--${spec.flag} <value>`, help);
  }
  return command;
}

const TRUE_WORDS = new Set(['true', '1', 'yes', 'on']);
const FALSE_WORDS = new Set(['false', '0', 'no', 'off']);

/** Turns a string from a flag or variable into the schema's type, or leaves it for validation to reject. */
function coerce(schema: SettingSchema, raw: unknown): unknown {
  if (typeof raw !== 'string' && !Array.isArray(raw)) return raw;
  switch (kind(schema)) {
    case 'integer':
    case 'number': {
      const text = String(raw).trim();
      return text !== '' && Number.isFinite(Number(text)) ? Number(text) : raw;
    }
    case 'boolean': {
      const text = String(raw).trim().toLowerCase();
      if (TRUE_WORDS.has(text)) return true;
      if (FALSE_WORDS.has(text)) return false;
      return raw;
    }
    case 'array': {
      const items = Array.isArray(raw) ? raw.map(String) : [raw];
      return items.flatMap((item) => item.split(',')).map((s) => s.trim()).filter((s) => s !== '');
    }
    default:
      return raw;
  }
}

function camelCase(flag: string): string {
  return flag.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

function readConfigFile(path: string, table: SettingsTable): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = parseYaml(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new ConfigError(`cannot read config file ${path}: ${(error as Error).message}`, { cause: error });
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ConfigError(`config file ${path} must be a YAML mapping of setting names to values`);
  }
  const known = new Set(Object.values(table).map((s) => s.flag));
  const unknown = Object.keys(parsed).filter((key) => !known.has(key));
  if (unknown.length > 0) {
    throw new ConfigError(`config file ${path} has unknown settings: ${unknown.join(', ')} (known: ${[...known].join(', ')})`);
  }
  return parsed as Record<string, unknown>;
}

function describeValue(value: unknown): string {
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

export interface LoadSettingsOptions<T extends SettingsTable> {
  table: T;
  /** commander's parsed options (camelCase keys of the flags), including `config`. */
  flags: Record<string, unknown>;
  env?: NodeJS.ProcessEnv;
}

/** Reads, coerces and validates every setting of the table; throws ConfigError listing every problem. */
export function loadSettings<T extends SettingsTable>(options: LoadSettingsOptions<T>): SettingsOf<T> {
  const env = options.env ?? process.env;
  const configPath = (options.flags.config as string | undefined) ?? env.UPLINK_CONFIG;
  const file = configPath ? readConfigFile(configPath, options.table) : {};
  const result: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [key, spec] of Object.entries(options.table)) {
    const fromFlag = options.flags[camelCase(spec.flag)];
    const raw = fromFlag ?? env[spec.env] ?? file[spec.flag] ?? spec.default;
    const where = `--${spec.flag} (env ${spec.env})`;
    if (raw === undefined || raw === '') {
      if (!spec.optional) problems.push(`${where} is required: ${spec.help}`);
      continue;
    }
    const value = coerce(spec.schema, raw);
    const error = schemaError(spec.schema, value);
    if (error !== undefined) {
      problems.push(`${where} ${error}, got ${describeValue(value)}`);
      continue;
    }
    result[key] = value;
  }
  if (problems.length > 0) throw new ConfigError(`invalid settings:\n  ${problems.join('\n  ')}`);
  return result as SettingsOf<T>;
}

/** Common schemas for settings. */
export const SettingTypes = {
  port: () => Type.Integer({ minimum: 0, maximum: 65535 }),
  seconds: (minimum = 1, maximum = 86_400) => Type.Number({ minimum, maximum }),
  /** host:port to listen on; host may be empty (all interfaces) or an IPv6 literal in brackets. */
  listen: () => Type.String({ pattern: '^(\\[[0-9a-fA-F:.]+\\]|[A-Za-z0-9.-]*):[0-9]{1,5}$' }),
  url: (schemes: string[]) => Type.String({ pattern: `^(${schemes.join('|')})://[^\\s/]+(/\\S*)?$` }),
  logLevel: () => Type.Union([
    Type.Literal('fatal'), Type.Literal('error'), Type.Literal('warn'), Type.Literal('info'),
    Type.Literal('debug'), Type.Literal('trace'), Type.Literal('silent'),
  ]),
  stringList: () => Type.Array(Type.String({ minLength: 1 })),
  /** A lowercase DNS name without a trailing dot, e.g. `kube.example.com`. */
  dnsName: (maxLength = 253) => Type.String({
    maxLength, pattern: '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$',
  }),
} as const;

/** Splits a validated `host:port` listen setting. */
export function parseListen(listen: string): { host: string; port: number } {
  const index = listen.lastIndexOf(':');
  const host = listen.slice(0, index).replace(/^\[|\]$/g, '');
  return { host: host === '' ? '0.0.0.0' : host, port: Number(listen.slice(index + 1)) };
}
