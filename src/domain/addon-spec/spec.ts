// An add-on's desired state as the hub stores it: a Helm chart, its version,
// target namespace and values, and how the agent should keep it deployed.
// parseAddonSpec checks a spec as it arrives (the body of
// `PUT /api/v1/clusters/:cluster/addons/:name`) and returns it with every
// default filled in, so what is stored is complete and compares byte for byte.
import { valid as validVersion, validRange } from 'semver';
import { isMap, isSeq, parseDocument } from 'yaml';
import { AddonSpecError, checkDnsLabel, quote, SpecObject } from './fields.ts';
import {
  parseIgnoreDifferences, parseRetry, parseSyncPolicy, parseSyncWindow,
  type IgnoreRule, type RetryPolicy, type SyncPolicy, type SyncWindow,
} from './policy.ts';
import { parseChartSource, type ChartSource } from './source.ts';

export interface AddonSpec {
  source: ChartSource;
  /** An exact version (`1.2.3`) or a range (`^1.2`, `>=1.0.0 <2.0.0`) in node-semver syntax. */
  version: string;
  /** The namespace the release is installed in (created when missing). */
  namespace: string;
  /** Helm values as YAML text, kept exactly as given (comments included); '' for none. */
  values: string;
  /** Release revisions Helm keeps (`--history-max`). */
  revisionHistoryLimit: number;
  /** Count only Healthy as healthy; otherwise Progressing and Suspended pass too. */
  strictHealthCheck: boolean;
  /** Add-ons of the same cluster installed before this one. */
  dependsOn: string[];
  syncPolicy: SyncPolicy;
  ignoreDifferences: IgnoreRule[];
  /** null: changes may be applied at any time. */
  syncWindow: SyncWindow | null;
  retry: RetryPolicy;
}

/**
 * Helm release names are at most 53 characters (the release name goes into
 * object names with suffixes), and an add-on's name is its release's name.
 */
const ADDON_NAME_MAX_LENGTH = 53;
const DEFAULT_REVISION_HISTORY_LIMIT = 10;
const MAX_REVISION_HISTORY_LIMIT = 100;
/** Values are stored in Helm's release Secret too, which is capped at 1 MiB with the chart. */
const MAX_VALUES_BYTES = 256 * 1024;
const MAX_DEPENDENCIES = 50;

const SPEC_FIELDS = [
  'source', 'version', 'namespace', 'values', 'revisionHistoryLimit', 'strictHealthCheck', 'dependsOn',
  'syncPolicy', 'ignoreDifferences', 'syncWindow', 'retry',
] as const satisfies readonly (keyof AddonSpec)[];

/** Checks an add-on name (from the URL); throws a 400 naming the problem. */
export function checkAddonName(name: string): string {
  return checkDnsLabel(name, { field: 'name', maxLength: ADDON_NAME_MAX_LENGTH });
}

/** Checks a spec as received and returns it complete; throws AddonSpecError (400) naming the first bad field. */
export function parseAddonSpec(input: unknown): AddonSpec {
  const spec = SpecObject.read(input, '', SPEC_FIELDS);
  return {
    source: parseChartSource(spec),
    version: checkVersion(spec.string('version', { maxLength: 256 })),
    namespace: checkDnsLabel(spec.string('namespace', { maxLength: 63 }), { field: 'namespace' }),
    values: checkValues(spec.raw('values')),
    revisionHistoryLimit: spec.number('revisionHistoryLimit', {
      min: 1, max: MAX_REVISION_HISTORY_LIMIT, fallback: DEFAULT_REVISION_HISTORY_LIMIT,
    }),
    strictHealthCheck: spec.boolean('strictHealthCheck', false),
    dependsOn: parseDependsOn(spec.array('dependsOn', MAX_DEPENDENCIES)),
    syncPolicy: parseSyncPolicy(spec),
    ignoreDifferences: parseIgnoreDifferences(spec),
    syncWindow: parseSyncWindow(spec),
    retry: parseRetry(spec),
  };
}

function checkVersion(text: string): string {
  const version = text.trim();
  // validRange('') is '*', hence the explicit emptiness check.
  if (version === '' || (validVersion(version) === null && validRange(version) === null)) {
    throw new AddonSpecError('version', `version ${quote(text)} is not a semver version or range`);
  }
  return version;
}

/** The values text as given, once it is known to be one YAML mapping (or empty). */
function checkValues(value: unknown): string {
  if (value === undefined) return '';
  if (typeof value !== 'string') throw new AddonSpecError('values', `values must be YAML text, got ${quote(value)}`);
  if (Buffer.byteLength(value) > MAX_VALUES_BYTES) {
    throw new AddonSpecError('values', `values is larger than ${MAX_VALUES_BYTES / 1024} KiB`);
  }
  const document = parseDocument(value);
  const [error] = document.errors;
  if (error !== undefined) throw new AddonSpecError('values', `values is not valid YAML: ${error.message}`);
  const contents = document.contents;
  if (contents !== null && !isMap(contents)) {
    const got = isSeq(contents) ? 'a list' : 'a single value';
    throw new AddonSpecError('values', `values must be a YAML mapping (key: value), got ${got}`);
  }
  return value;
}

function parseDependsOn(entries: unknown[]): string[] {
  const names: string[] = [];
  entries.forEach((entry, index) => {
    const field = `dependsOn[${index}]`;
    if (typeof entry !== 'string') throw new AddonSpecError(field, `${field} must be an add-on name, got ${quote(entry)}`);
    checkDnsLabel(entry, { field, maxLength: ADDON_NAME_MAX_LENGTH });
    if (names.includes(entry)) throw new AddonSpecError(field, `dependsOn lists '${entry}' twice`);
    names.push(entry);
  });
  return names;
}
