// Where `uplink login` keeps the hub URL, API token and hub CA for later
// commands: a 0600 JSON file, overridable by environment variables.
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { UplinkError } from '../util/errors.ts';

export interface CliConfig {
  hubUrl: string;
  token: string;
  /** PEM of the hub CA, when it was pinned or given at login. */
  caPem?: string;
  insecureSkipTlsVerify?: boolean;
}

export class CliConfigError extends UplinkError {
  constructor(message: string, options?: ErrorOptions) {
    super('CLI_NOT_LOGGED_IN', message, options);
  }
}

export function cliConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.UPLINK_CLI_CONFIG ?? join(env.XDG_CONFIG_HOME ?? join(homedir(), '.config'), 'uplink', 'cli.json');
}

export function saveCliConfig(config: CliConfig, env: NodeJS.ProcessEnv = process.env): string {
  const path = cliConfigPath(env);
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  chmodSync(temp, 0o600);
  renameSync(temp, path);
  return path;
}

/** The stored login, with UPLINK_HUB_URL and UPLINK_API_TOKEN taking precedence. */
export function loadCliConfig(env: NodeJS.ProcessEnv = process.env): CliConfig {
  const path = cliConfigPath(env);
  let stored: Partial<CliConfig> = {};
  try {
    stored = JSON.parse(readFileSync(path, 'utf8')) as Partial<CliConfig>;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new CliConfigError(`cannot read ${path}: ${(error as Error).message}`, { cause: error });
    }
  }
  const hubUrl = env.UPLINK_HUB_URL ?? stored.hubUrl;
  const token = env.UPLINK_API_TOKEN ?? stored.token;
  if (hubUrl === undefined || token === undefined) {
    throw new CliConfigError('not logged in to a hub: run `uplink login HUB_URL --token-file FILE` (or set UPLINK_HUB_URL and UPLINK_API_TOKEN)');
  }
  return { ...stored, hubUrl, token };
}
