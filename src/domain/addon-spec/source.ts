// Where an add-on's chart comes from: a Helm chart repository, an OCI
// registry, or a path inside a Git repository. The agent hands these to helm
// and git as arguments, so every value is held to a shape that cannot be
// read as an option (no leading '-') or escape its place (no '..').
import { AddonSpecError, checkHttpUrl, quote, type SpecObject } from './fields.ts';
import { isDnsSubdomain } from '../kube-names.ts';

/** A chart in a Helm repository: `helm install --repo URL CHART`. */
export interface RepoSource {
  /** The repository's base URL (its `index.yaml` lives below it). */
  url: string;
  chart: string;
}

/** A chart pushed to an OCI registry, without a tag: the version is the spec's `version`. */
export interface OciSource {
  /** `oci://host[:port]/path/chart`. */
  ref: string;
}

/** A chart directory inside a Git repository. */
export interface GitSource {
  url: string;
  /** The chart's directory, relative to the repository root. */
  path: string;
  /** A branch, tag or commit; `HEAD` (the default branch) by default. */
  ref: string;
  /**
   * The name of a Secret in the agent's namespace holding the token for a
   * private repository; never the token itself. null for a public repository.
   */
  tokenSecret: string | null;
}

/** Exactly one of the three. */
export type ChartSource = { repo: RepoSource } | { oci: OciSource } | { git: GitSource };

const SOURCE_KINDS = ['repo', 'oci', 'git'] as const;
const DEFAULT_GIT_REF = 'HEAD';

const MAX_URL_LENGTH = 2048;
const MAX_PATH_LENGTH = 1024;
const MAX_REF_LENGTH = 255;
const MAX_CHART_NAME_LENGTH = 253;
/** Chart names as Helm accepts them; no '/', so a name cannot become a path. */
const CHART_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
/**
 * `oci://` + a host (name or [IPv6]) with an optional port + one or more
 * repository path components as the OCI distribution spec defines them.
 */
const OCI_REF = /^oci:\/\/([A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(:\d{1,5})?(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)+$/;
/** A conservative subset of git-check-ref-format; leading '-' is excluded so a ref is never an option. */
const GIT_REF = /^[A-Za-z0-9_][A-Za-z0-9._/+-]*$/;

/** Checks the spec's `source` and returns it with defaults filled in. */
export function parseChartSource(spec: SpecObject): ChartSource {
  const source = spec.object('source', SOURCE_KINDS);
  const given = source.given(SOURCE_KINDS);
  if (given.length !== 1) {
    const got = given.length === 0 ? 'none' : given.join(', ');
    throw new AddonSpecError(source.path, `${source.path} must name exactly one of ${SOURCE_KINDS.join(', ')}, got ${got}`);
  }
  if (given[0] === 'repo') return { repo: parseRepo(source.object('repo', ['url', 'chart'])) };
  if (given[0] === 'oci') return { oci: parseOci(source.object('oci', ['ref'])) };
  return { git: parseGit(source.object('git', ['url', 'path', 'ref', 'tokenSecret'])) };
}

function parseRepo(repo: SpecObject): RepoSource {
  const url = checkHttpUrl(repo.string('url', { maxLength: MAX_URL_LENGTH }), repo.field('url'));
  const chart = repo.string('chart', { maxLength: MAX_CHART_NAME_LENGTH });
  if (!CHART_NAME.test(chart)) {
    throw new AddonSpecError(repo.field('chart'), `${repo.field('chart')} ${quote(chart)} is not a chart name (letters, digits, '.', '_' and '-')`);
  }
  return { url, chart };
}

function parseOci(oci: SpecObject): OciSource {
  const field = oci.field('ref');
  const ref = oci.string('ref', { maxLength: MAX_URL_LENGTH });
  if (OCI_REF.test(ref)) return { ref };
  const lastPart = ref.slice(ref.lastIndexOf('/') + 1);
  if (ref.startsWith('oci://') && (lastPart.includes(':') || lastPart.includes('@'))) {
    throw new AddonSpecError(field, `${field} ${quote(ref)} must not carry a tag or digest: the chart version goes in version`);
  }
  throw new AddonSpecError(field, `${field} ${quote(ref)} is not an OCI reference like oci://registry.example.com/charts/name`);
}

function parseGit(git: SpecObject): GitSource {
  const url = checkHttpUrl(git.string('url', { maxLength: MAX_URL_LENGTH }), git.field('url'));
  const path = checkRelativePath(git.string('path', { maxLength: MAX_PATH_LENGTH }), git.field('path'));
  const ref = checkGitRef(git.string('ref', { maxLength: MAX_REF_LENGTH, fallback: DEFAULT_GIT_REF }), git.field('ref'));
  const secret = git.raw('tokenSecret') === undefined ? null : git.string('tokenSecret', { maxLength: 253 });
  if (secret !== null && !isDnsSubdomain(secret)) {
    // Not quoted back: someone may have pasted the token itself.
    throw new AddonSpecError(git.field('tokenSecret'),
      `${git.field('tokenSecret')} must be the name of a Secret (a DNS-1123 subdomain) that holds the token, never the token itself`);
  }
  return { url, path, ref, tokenSecret: secret };
}

/** A path inside the repository: relative, '/'-separated, never climbing out with '..'. */
function checkRelativePath(path: string, field: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  const bad = path.startsWith('/') || path.includes('\\') || /[\u0000-\u001f]/.test(path) || path.split('/').includes('..');
  if (bad) throw new AddonSpecError(field, `${field} ${quote(path)} must be a relative path inside the repository, without '..'`);
  return path;
}

function checkGitRef(ref: string, field: string): string {
  const bad = !GIT_REF.test(ref) || ref.includes('..') || ref.includes('//') || ref.endsWith('/') || ref.endsWith('.') || ref.endsWith('.lock');
  if (bad) throw new AddonSpecError(field, `${field} ${quote(ref)} is not a branch, tag or commit name git accepts`);
  return ref;
}
