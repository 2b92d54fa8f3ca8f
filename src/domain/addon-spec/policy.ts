// The reconcile-policy fields of a spec (sync policy, ignore rules, sync
// window, retry). The hub checks and stores them; the agent's reconcile loop
// acts on them. A jq rule is compiled here, so one the agent could not
// evaluate is refused when it is written, not found broken at reconcile.
import { cronProblem, durationSeconds, isTimeZone } from './cron.ts';
import { AddonSpecError, quote, SpecObject } from './fields.ts';
import { compileJqPath, JqPathError } from './jq-path.ts';
import { isPointer } from '../json-pointer.ts';

export interface SyncPolicy {
  /** Apply changes as they come; when false only a manual sync applies them. */
  automated: boolean;
  /** Re-apply the release when live objects drift from it. */
  selfHeal: boolean;
  /** Delete objects the release owned but no longer renders. */
  autoPrune: boolean;
}

/** Which objects an ignore rule covers; an absent field matches any. */
export interface IgnoreTarget {
  kind?: string;
  name?: string;
  namespace?: string;
}

/** One way of leaving differences out of drift: exactly one of pointer, jq, manager. */
export interface IgnoreRule {
  /** An RFC 6901 JSON pointer, e.g. `/spec/replicas`. */
  pointer?: string;
  /** A jq path expression, e.g. `.spec.template.spec.containers[].image`. */
  jq?: string;
  /** A field manager (managedFields) whose fields are ignored, e.g. `kube-controller-manager`. */
  manager?: string;
  target?: IgnoreTarget;
}

/** When changes may be applied: from each cron match for `duration`, in `timeZone`. */
export interface SyncWindow {
  schedule: string;
  duration: string;
  timeZone: string;
}

export interface RetryPolicy {
  /** Attempts after a failure; -1 for no limit, 0 for none. */
  limit: number;
  backoff: {
    /** The first wait, as a duration (`5s`). */
    duration: string;
    /** Each wait is the previous one times this. */
    factor: number;
    /** The longest wait. */
    maxDuration: string;
  };
}

const DEFAULT_SYNC_POLICY: SyncPolicy = { automated: true, selfHeal: false, autoPrune: false };
/** Argo CD's backoff defaults (5s, x2, 3m), with a finite limit so a broken chart stops being retried. */
const DEFAULT_RETRY: RetryPolicy = { limit: 5, backoff: { duration: '5s', factor: 2, maxDuration: '3m' } };
const DEFAULT_TIME_ZONE = 'UTC';
const MAX_IGNORE_RULES = 100;
const MAX_RETRY_LIMIT = 1000;
const MAX_BACKOFF_FACTOR = 10;
const MAX_EXPRESSION_LENGTH = 1024;
const MAX_MANAGER_LENGTH = 128;
const IGNORE_KINDS = ['pointer', 'jq', 'manager'] as const;
const IGNORE_TARGET_FIELDS = ['kind', 'name', 'namespace'] as const;
/** RFC 6901: empty (the whole object) or '/'-prefixed, with '~' only as ~0 or ~1. */
/** A Kubernetes Kind: PascalCase letters and digits. */
const KIND = /^[A-Z][A-Za-z0-9]*$/;

export function parseSyncPolicy(spec: SpecObject): SyncPolicy {
  const policy = spec.objectOrEmpty('syncPolicy', Object.keys(DEFAULT_SYNC_POLICY));
  return {
    automated: policy.boolean('automated', DEFAULT_SYNC_POLICY.automated),
    selfHeal: policy.boolean('selfHeal', DEFAULT_SYNC_POLICY.selfHeal),
    autoPrune: policy.boolean('autoPrune', DEFAULT_SYNC_POLICY.autoPrune),
  };
}

export function parseIgnoreDifferences(spec: SpecObject): IgnoreRule[] {
  const key = 'ignoreDifferences';
  return spec.array(key, MAX_IGNORE_RULES).map((entry, index) =>
    parseIgnoreRule(SpecObject.read(entry, `${spec.field(key)}[${index}]`, [...IGNORE_KINDS, 'target'])));
}

function parseIgnoreRule(entry: SpecObject): IgnoreRule {
  const given = entry.given(IGNORE_KINDS);
  if (given.length !== 1) {
    throw new AddonSpecError(entry.path, `${entry.path} must have exactly one of ${IGNORE_KINDS.join(', ')}, got ${given.length === 0 ? 'none' : given.join(', ')}`);
  }
  const rule: IgnoreRule = {};
  if (given[0] === 'pointer') {
    // Empty is a valid pointer (the whole object), so it is not read as a non-empty string.
    const pointer = entry.raw('pointer');
    if (typeof pointer !== 'string' || pointer.length > MAX_EXPRESSION_LENGTH || !isPointer(pointer)) {
      throw new AddonSpecError(entry.field('pointer'), `${entry.field('pointer')} ${quote(pointer)} is not a JSON pointer like /spec/replicas`);
    }
    rule.pointer = pointer;
  } else if (given[0] === 'jq') {
    rule.jq = checkJq(entry.string('jq', { maxLength: MAX_EXPRESSION_LENGTH }), entry.field('jq'));
  } else {
    rule.manager = entry.string('manager', { maxLength: MAX_MANAGER_LENGTH });
  }
  const target = entry.optionalObject('target', IGNORE_TARGET_FIELDS);
  if (target !== undefined) rule.target = parseIgnoreTarget(target);
  return rule;
}

function checkJq(expression: string, field: string): string {
  try {
    compileJqPath(expression);
  } catch (error) {
    if (!(error instanceof JqPathError)) throw error;
    throw new AddonSpecError(field, `${field} ${quote(expression)} is not a jq path expression the agent can evaluate: ${error.message}`);
  }
  return expression;
}

function parseIgnoreTarget(target: SpecObject): IgnoreTarget {
  const result: IgnoreTarget = {};
  for (const key of target.given(IGNORE_TARGET_FIELDS)) result[key] = target.string(key, { maxLength: 253 });
  if (result.kind !== undefined && !KIND.test(result.kind)) {
    throw new AddonSpecError(target.field('kind'), `${target.field('kind')} ${quote(result.kind)} is not a Kubernetes kind like Deployment`);
  }
  return result;
}

/** The sync window, or null when changes may be applied at any time. */
export function parseSyncWindow(spec: SpecObject): SyncWindow | null {
  const window = spec.optionalObject('syncWindow', ['schedule', 'duration', 'timeZone']);
  if (window === undefined) return null;
  const schedule = window.string('schedule', { maxLength: 256 });
  const problem = cronProblem(schedule);
  if (problem !== undefined) throw new AddonSpecError(window.field('schedule'), `${window.field('schedule')} ${quote(schedule)}: ${problem}`);
  const duration = readDuration(window, 'duration');
  const timeZone = window.string('timeZone', { maxLength: 64, fallback: DEFAULT_TIME_ZONE });
  if (!isTimeZone(timeZone)) {
    throw new AddonSpecError(window.field('timeZone'), `${window.field('timeZone')} ${quote(timeZone)} is not an IANA time zone like Europe/Paris or UTC`);
  }
  return { schedule, duration, timeZone };
}

export function parseRetry(spec: SpecObject): RetryPolicy {
  const retry = spec.objectOrEmpty('retry', ['limit', 'backoff']);
  const backoff = retry.objectOrEmpty('backoff', ['duration', 'factor', 'maxDuration']);
  const defaults = DEFAULT_RETRY.backoff;
  const duration = readDuration(backoff, 'duration', defaults.duration);
  const maxDuration = readDuration(backoff, 'maxDuration', defaults.maxDuration);
  if ((durationSeconds(maxDuration) ?? 0) < (durationSeconds(duration) ?? 0)) {
    throw new AddonSpecError(backoff.field('maxDuration'),
      `${backoff.field('maxDuration')} '${maxDuration}' is shorter than ${backoff.field('duration')} '${duration}'`);
  }
  return {
    limit: retry.number('limit', { min: -1, max: MAX_RETRY_LIMIT, fallback: DEFAULT_RETRY.limit, hint: '(-1 for no limit)' }),
    backoff: {
      duration,
      factor: backoff.number('factor', { min: 1, max: MAX_BACKOFF_FACTOR, fallback: defaults.factor, fractional: true }),
      maxDuration,
    },
  };
}

function readDuration(object: SpecObject, key: string, fallback?: string): string {
  const text = object.string(key, { maxLength: 32, ...(fallback === undefined ? {} : { fallback }) });
  if (durationSeconds(text) === undefined) {
    throw new AddonSpecError(object.field(key), `${object.field(key)} ${quote(text)} is not a duration like 30s, 5m or 1h30m`);
  }
  return text;
}
