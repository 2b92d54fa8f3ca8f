// An add-on's chart source and version turned into what `helm upgrade
// --install NAME CHART ARGS` needs. A chart repository and an OCI registry
// are helm's to fetch (helm resolves a version range itself); a chart in Git
// is fetched here into a local directory, and since helm ignores `--version`
// for a directory, the version its Chart.yaml declares is checked against the
// spec's here. A chart from Git is used as it is in the repository: its
// dependencies must be vendored (committed under `charts/`); no `helm
// dependency build` runs.
import { stat, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { satisfies, valid as validVersion, eq as versionsEqual } from 'semver';
import { parse as parseYaml } from 'yaml';
import type { DesiredAddonSpec } from '../../link/addons.ts';
import { UplinkError } from '../../util/errors.ts';
import { GitCheckouts, GitError, type GitTree, type GitTreeRequest } from './git-checkout.ts';

/** Exactly one of repo, oci and git (see src/hub/addons/source.ts). */
export type ChartSource = DesiredAddonSpec['source'];
type GitSource = Extract<ChartSource, { git: unknown }>['git'];

/** Largest Chart.yaml read; real ones are a few KiB. */
const MAX_CHART_YAML_BYTES = 1024 * 1024;
/** The user name sent with a token when the Secret names none; GitHub, GitLab and Gitea accept it. */
export const DEFAULT_GIT_USERNAME = 'x-access-token';

/** Where git trees come from: {@link GitCheckouts} in the agent, a fake in unit tests. */
export interface GitTrees {
  exportTree(request: GitTreeRequest): Promise<GitTree>;
}

export interface ChartSourceOptions {
  /** The agent's helm directory (HelmRunner stateDir); git checkouts go under `<workDir>/git`. */
  workDir: string;
  /**
   * `host[:port]` of OCI registries spoken to over plain HTTP (`--plain-http`),
   * e.g. a local test registry. Matched exactly (case aside): `localhost`
   * does not match `localhost:5000`.
   */
  plainHttpRegistries: readonly string[];
  /** Reads a Secret of the agent's namespace: its data decoded to strings, or undefined when it does not exist. */
  readSecret: (name: string) => Promise<Record<string, string> | undefined>;
  /** Path of the git binary; `git` from PATH by default. */
  gitBinary?: string;
  /** Limit per git command; DEFAULT_GIT_TIMEOUT_MS by default. */
  timeoutMs?: number;
  /** Replaces the git checkouts under workDir (tests). */
  git?: GitTrees;
}

/** What to give `helm upgrade --install NAME CHART ARGS...` (or `helm template`). */
export interface ResolvedChart {
  /** The chart argument: a name with `--repo`, an oci:// reference, or a local directory. */
  chart: string;
  /** Further helm args: `--repo URL`, `--version V`, `--plain-http`. */
  args: string[];
  /** For a git chart: the version its Chart.yaml declares (checked against the spec's); else undefined. */
  version?: string;
  /** For a git chart: the commit checked out. */
  commit?: string;
}

export type ChartSourceFailure =
  | 'GIT_FAILED' | 'TOKEN_SECRET_MISSING' | 'TOKEN_SECRET_UNREADABLE' | 'CHART_PATH_MISSING' | 'CHART_INVALID'
  | 'VERSION_MISMATCH' | 'CANCELLED';

/** The chart could not be made ready for helm; `reason` is the stable code, `message` safe to show (never a token). */
export class ChartSourceError extends UplinkError {
  readonly reason: ChartSourceFailure;

  constructor(reason: ChartSourceFailure, message: string, options?: ErrorOptions) {
    super('CHART_SOURCE_FAILED', message, options);
    this.reason = reason;
  }
}

/** `host[:port]` of an `oci://host[:port]/path` reference, lower-cased. */
export function ociRegistryHost(ref: string): string {
  const rest = ref.replace(/^oci:\/\//, '');
  const slash = rest.indexOf('/');
  return (slash < 0 ? rest : rest.slice(0, slash)).toLowerCase();
}

/**
 * Whether a chart's declared version meets the spec's: equal to an exact
 * version (a leading `v` on either side is allowed; build metadata is
 * ignored), or inside a range, where prereleases count only when the range
 * names one of the same major.minor.patch.
 */
export function chartVersionSatisfies(declared: string, wanted: string): boolean {
  const exact = validVersion(wanted);
  if (exact !== null) return validVersion(declared) !== null && versionsEqual(declared, exact);
  return satisfies(declared, wanted, { includePrerelease: false });
}

/** Turns chart sources into helm arguments; one per agent, shared by every add-on. */
export class ChartSources {
  private readonly plainHttp: ReadonlySet<string>;
  private readonly readSecret: ChartSourceOptions['readSecret'];
  private readonly git: GitTrees;

  constructor(options: ChartSourceOptions) {
    this.plainHttp = new Set(options.plainHttpRegistries.map((host) => host.toLowerCase()));
    this.readSecret = options.readSecret;
    this.git = options.git ?? new GitCheckouts({ workDir: options.workDir, binary: options.gitBinary, timeoutMs: options.timeoutMs });
  }

  /**
   * The chart and args for `source` at `version` (an exact version or a
   * node-semver range). Throws {@link ChartSourceError} for a git source that
   * cannot be fetched, lacks a chart at its path, or declares another version.
   */
  async resolve(source: ChartSource, version: string, signal?: AbortSignal): Promise<ResolvedChart> {
    if ('repo' in source) return { chart: source.repo.chart, args: ['--repo', source.repo.url, '--version', version] };
    if ('oci' in source) {
      const plainHttp = this.plainHttp.has(ociRegistryHost(source.oci.ref)) ? ['--plain-http'] : [];
      return { chart: source.oci.ref, args: ['--version', version, ...plainHttp] };
    }
    return this.resolveGit(source.git, version, signal);
  }

  private async resolveGit(source: GitSource, version: string, signal?: AbortSignal): Promise<ResolvedChart> {
    const credentials = source.tokenSecret === null ? {} : await this.gitCredentials(source.tokenSecret);
    let tree: GitTree;
    try {
      tree = await this.git.exportTree({ url: source.url, ref: source.ref, path: source.path, signal, ...credentials });
    } catch (error) {
      if (!(error instanceof GitError)) throw error;
      const reason = error.reason === 'PATH_MISSING' ? 'CHART_PATH_MISSING' : error.reason;
      const message = error.reason === 'PATH_MISSING' ? `source.git.path '${source.path}' is not a chart: ${error.message}` : error.message;
      throw new ChartSourceError(reason, message, { cause: error });
    }
    const declared = await readChartVersion(tree, source.path);
    if (!chartVersionSatisfies(declared, version)) {
      throw new ChartSourceError('VERSION_MISMATCH',
        `the chart at source.git.path '${source.path}' (commit ${tree.commit.slice(0, 12)}) declares version ${declared}, which does not satisfy version '${version}'`);
    }
    return { chart: tree.dir, args: [], version: declared, commit: tree.commit };
  }

  /** The Authorization header for the token in Secret `name`, and the strings to keep out of messages. */
  private async gitCredentials(name: string): Promise<Pick<GitTreeRequest, 'authorization' | 'secrets'>> {
    let data: Record<string, string> | undefined;
    try {
      data = await this.readSecret(name);
    } catch (error) {
      throw new ChartSourceError('TOKEN_SECRET_UNREADABLE', `the Secret '${name}' named by source.git.tokenSecret could not be read`, { cause: error });
    }
    if (data === undefined) {
      throw new ChartSourceError('TOKEN_SECRET_MISSING', `the Secret '${name}' named by source.git.tokenSecret does not exist in the agent's namespace`);
    }
    // Trimmed: a Secret made with --from-file usually ends in a newline.
    const token = data.token?.trim() ?? '';
    if (token === '') {
      throw new ChartSourceError('TOKEN_SECRET_MISSING', `the Secret '${name}' named by source.git.tokenSecret has no key 'token' (or it is empty)`);
    }
    const username = data.username?.trim() || DEFAULT_GIT_USERNAME;
    const basic = Buffer.from(`${username}:${token}`).toString('base64');
    return { authorization: `Basic ${basic}`, secrets: [token, basic] };
  }
}

/** The `version` of `<tree>/Chart.yaml`; CHART_PATH_MISSING without one, CHART_INVALID when it is unreadable or not semver. */
async function readChartVersion(tree: GitTree, path: string): Promise<string> {
  const file = join(tree.dir, 'Chart.yaml');
  const where = `source.git.path '${path}' (commit ${tree.commit.slice(0, 12)})`;
  const info = await stat(file).catch(() => undefined);
  if (info === undefined || !info.isFile()) throw new ChartSourceError('CHART_PATH_MISSING', `${where} has no Chart.yaml: it is not a chart directory`);
  if (info.size > MAX_CHART_YAML_BYTES) throw new ChartSourceError('CHART_INVALID', `${where}: Chart.yaml is larger than ${MAX_CHART_YAML_BYTES} bytes`);
  let chart: unknown;
  try {
    chart = parseYaml(await readFile(file, 'utf8'));
  } catch (error) {
    throw new ChartSourceError('CHART_INVALID', `${where}: Chart.yaml is not valid YAML`, { cause: error });
  }
  const version = typeof chart === 'object' && chart !== null ? (chart as Record<string, unknown>).version : undefined;
  if (typeof version !== 'string' || validVersion(version) === null) {
    throw new ChartSourceError('CHART_INVALID', `${where}: Chart.yaml declares no semver version`);
  }
  return version;
}
