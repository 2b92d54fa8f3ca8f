// Helm's stderr turned into a stable code and one sentence an operator can act
// on. Helm prints its error as `Error: <message>` (possibly over several
// lines) after any warnings; that block is what is classified and quoted.
//
// What reaches the message never carries values or Secret data:
// - everything from a dump section on (`USER-SUPPLIED VALUES:`, `COMPUTED
//   VALUES:`, `MANIFEST:`, `HOOKS:`, a rendered `---`/`# Source:` document) is
//   cut; the runner refuses `--debug`, so these only appear from plugins;
// - what the API server echoes back after `Invalid value:`, `Unsupported
//   value:`, `Duplicate value:` or `Forbidden value:` (a quoted string or a Go
//   struct dump), JSON objects, Go maps (`map[k:v]`), backquoted YAML snippets
//   (`cannot unmarshal !!str \`…\``) and base64-looking runs are replaced by
//   `<redacted>`.
// A chart's own `fail`/`required` message is kept: it is the chart author's
// chosen error text.

/** Stable failure codes; the hub and the CLI branch on these, never on text. */
export type HelmFailureCode =
  | 'RENDER_FAILED' | 'CHART_NOT_FOUND' | 'INVALID_VALUES' | 'MANIFEST_INVALID' | 'IMMUTABLE_FIELD'
  | 'OWNERSHIP' | 'CONFLICT' | 'PENDING_OPERATION' | 'TIMEOUT' | 'FORBIDDEN' | 'UNREACHABLE'
  | 'HOOK_FAILED' | 'RELEASE_NOT_FOUND' | 'UNKNOWN';

export interface HelmFailure {
  code: HelmFailureCode;
  /** One sentence for an operator, then helm's own words, redacted and cut. */
  message: string;
  /** Helm undid the failed operation itself (`--rollback-on-failure`). */
  rolledBack: boolean;
}

/** Longest quote of helm's error kept in a message. */
export const MAX_HELM_DETAIL_CHARS = 300;

interface Rule {
  code: HelmFailureCode;
  pattern: RegExp;
  sentence: string;
}

// First match wins, so the specific comes before the general: a hook that
// timed out is HOOK_FAILED, a chart repository that refuses connections is
// CHART_NOT_FOUND, and only then do timeouts and network errors apply.
const RULES: readonly Rule[] = [
  {
    code: 'PENDING_OPERATION', pattern: /another operation \(install\/upgrade\/rollback\) is in progress/,
    sentence: 'Another Helm operation on this release is in progress, or was interrupted and left the release pending',
  },
  {
    code: 'OWNERSHIP', pattern: /invalid ownership metadata|exists and cannot be imported into the current release/,
    sentence: 'An object of the chart already exists and belongs to another release or was created outside Helm',
  },
  {
    code: 'CONFLICT', pattern: /Apply failed with \d+ conflicts?|conflicts? with "[^"]+"|the object has been modified; please apply your changes/,
    sentence: 'Another field manager owns fields this chart sets (a server-side apply conflict)',
  },
  {
    code: 'IMMUTABLE_FIELD', pattern: /field is immutable|may not change once set|updates to statefulset spec for fields other than .* are forbidden/,
    sentence: 'The change touches a field Kubernetes does not allow to change in place; the object has to be recreated',
  },
  {
    code: 'HOOK_FAILED',
    pattern: /failed (?:pre|post)-(?:install|upgrade|rollback|delete)|(?:pre|post)-(?:install|upgrade|rollback|delete) hooks? failed|Hook (?:pre|post)-\S+ \S+ failed|\bjob (?:\S+ )?failed|BackoffLimitExceeded/i,
    sentence: 'A chart hook failed',
  },
  {
    code: 'FORBIDDEN', pattern: /\bis forbidden: User "|cannot \w+ resource "[^"]*" in API group/,
    sentence: "The agent's Kubernetes permissions do not allow this",
  },
  {
    code: 'INVALID_VALUES',
    pattern: /values don't meet the specifications of the schema|failed to parse [^:\n]+: (?:cannot unmarshal|error converting YAML)|failed to parse [^:]*values|failed parsing --set|cannot unmarshal .* into Go value of type map/,
    sentence: 'The values do not fit the chart',
  },
  {
    code: 'RENDER_FAILED',
    pattern: /parse error at|execution error at|function "[^"]+" not defined|YAML parse error|executing "[^"]*" at <|error calling \w+|^template: |can't evaluate field/m,
    sentence: "The chart's templates failed to render",
  },
  {
    code: 'MANIFEST_INVALID',
    pattern: /unable to build kubernetes objects from release manifest|no matches for kind|resource mapping not found|error validating data/,
    sentence: 'The chart rendered objects this cluster does not accept (an unknown kind or API version, or an invalid field)',
  },
  {
    code: 'RELEASE_NOT_FOUND', pattern: /release: not found|has no deployed releases/,
    sentence: 'The release does not exist',
  },
  {
    code: 'CHART_NOT_FOUND',
    pattern: /not found in .* repository|no chart version found|no chart name found|is not a valid chart repository or cannot be reached|failed to perform "Fetch\w*" on source|failed to (?:fetch|download)|path "[^"]*" not found|Chart\.yaml file is missing|\b404\b/,
    sentence: 'The chart could not be fetched from its source',
  },
  {
    code: 'UNREACHABLE', pattern: /kubernetes cluster unreachable/,
    sentence: 'Helm could not reach the Kubernetes API server',
  },
  {
    code: 'TIMEOUT', pattern: /context deadline exceeded|timed out waiting for the condition|\bnot ready\b.*\btimeout\b/,
    sentence: "Helm timed out waiting for the release's resources to become ready",
  },
  {
    code: 'UNREACHABLE', pattern: /connection refused|no such host|i\/o timeout|no route to host|TLS handshake timeout|connection reset by peer/,
    sentence: 'Helm could not reach a server it needed',
  },
];

const DUMP_MARKER = /^(?:USER-SUPPLIED VALUES|COMPUTED VALUES|MANIFEST|HOOKS|NOTES):|^---\s*$|^# Source: /m;
const DEBUG_HINT = /^Use --debug flag to render out invalid YAML$/;
/** Helm's prefixes that say which command failed; the sentence says it better. */
const FAILED_PREFIX = /^(?:Error: )?(?:(?:INSTALLATION|UPGRADE|ROLLBACK|UNINSTALLATION|UNINSTALL) FAILED: )?/;
const ROLLED_BACK = /release \S+ failed, and has been (?:rolled back|uninstalled) due to [\w-]+ being set: /;
const ECHOED_VALUE = /\b(?:Invalid|Unsupported|Duplicate|Forbidden) value: /g;

/** End (exclusive) of a Go-quoted string starting at `start`. */
function quotedEnd(text: string, start: number): number {
  for (let i = start + 1; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === '"') return i + 1;
  }
  return text.length;
}

/** End (exclusive) of a bracketed run opened at `start`, skipping quoted strings. */
function bracketEnd(text: string, start: number): number {
  let depth = 0;
  for (let i = start; i < text.length; i++) {
    const char = text[i];
    if (char === '"') i = quotedEnd(text, i) - 1;
    else if (char === '{' || char === '[') depth++;
    else if ((char === '}' || char === ']') && --depth === 0) return i + 1;
  }
  return text.length;
}

/** End of the echoed value after `Invalid value: `: a string, a struct dump, or a bare word. */
function echoedValueEnd(text: string, start: number): number {
  if (text[start] === '"') return quotedEnd(text, start);
  const composite = /^[\w.*]*[{[]/.exec(text.slice(start));
  if (composite) return bracketEnd(text, start + composite[0].length - 1);
  const bare = /^[^\s:,;]*/.exec(text.slice(start));
  return start + (bare?.[0].length ?? 0);
}

function redactRuns(text: string, find: RegExp, endOf: (text: string, start: number) => number, keepMatch: boolean): string {
  let out = '';
  let from = 0;
  for (const match of text.matchAll(find)) {
    if (match.index < from) continue;
    const valueStart = match.index + (keepMatch ? match[0].length : 0);
    out += `${text.slice(from, valueStart)}<redacted>`;
    from = endOf(text, keepMatch ? valueStart : match.index);
  }
  return out + text.slice(from);
}

/** Replaces whatever in helm's error text may be a value or Secret data with `<redacted>`. */
export function redactHelmText(text: string): string {
  let out = redactRuns(text, ECHOED_VALUE, echoedValueEnd, true);
  out = redactRuns(out, /\{"|\bmap\[/g, (source, start) => bracketEnd(source, source[start] === 'm' ? start + 3 : start), false);
  out = out.replace(/`[^`]*`/g, '`<redacted>`');
  // Base64 of a secret mixes cases and digits; paths and hex digests do not.
  return out.replace(/[A-Za-z0-9+/]{40,}={0,2}/g, (run) => (/[A-Z]/.test(run) && /[a-z]/.test(run) && /\d/.test(run) ? '<redacted>' : run));
}

/** The non-empty lines of stderr before any dump, without helm's `--debug` hint. */
function meaningfulLines(stderr: string): string[] {
  const dump = DUMP_MARKER.exec(stderr);
  return (dump ? stderr.slice(0, dump.index) : stderr)
    .replace(/\r/g, '')
    .split('\n')
    .filter((line) => line.trim() !== '' && !DEBUG_HINT.test(line.trim()));
}

/** Helm's final `Error:` block, or every line when helm printed none (another program's output). */
function errorBlock(lines: string[]): string[] {
  const start = lines.findLastIndex((line) => line.startsWith('Error: '));
  return start >= 0 ? lines.slice(start) : lines;
}

function quote(lines: string[]): string {
  const text = lines.map((line) => line.trim()).join(' ').replace(FAILED_PREFIX, '').replace(ROLLED_BACK, '');
  return cut(redactHelmText(text), MAX_HELM_DETAIL_CHARS);
}

function cut(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/**
 * Classifies a failed helm command by its stderr. `exitCode` is only used
 * when stderr says nothing. The message never includes values (see the file
 * header for what is redacted).
 */
export function classifyHelmError(stderr: string, exitCode: number | null): HelmFailure {
  const lines = meaningfulLines(stderr);
  const block = errorBlock(lines);
  const text = block.join('\n');
  const rolledBack = ROLLED_BACK.test(text);
  const suffix = rolledBack ? ' (helm rolled the release back)' : '';
  const rule = RULES.find((candidate) => candidate.pattern.test(text));
  if (rule) return { code: rule.code, message: `${rule.sentence}${suffix}: ${quote(block)}`, rolledBack };
  const last = lines.at(-1);
  if (last === undefined) {
    const how = exitCode === null ? 'was killed by a signal' : `exited with code ${exitCode}`;
    return { code: 'UNKNOWN', message: `helm ${how} and printed no error`, rolledBack };
  }
  return { code: 'UNKNOWN', message: `helm failed${suffix}: ${quote([last])}`, rolledBack };
}
