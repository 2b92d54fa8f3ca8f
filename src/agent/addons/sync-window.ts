// Whether an add-on's sync window is open: a window opens at each start time
// its 5-field cron schedule matches, read as wall-clock time in its IANA time
// zone, and stays open for its duration of real time. Pure: no clock, no I/O.
//
// Semantics (docs/addons.md, "Sync windows"):
// - Day of month and day of week as in Vixie cron: when both fields are
//   restricted a day matches if EITHER does; a field starting with `*`
//   (`*/2` included) counts as unrestricted, and then both must match.
// - Day of week 0 and 7 are Sunday; `n/step` means `n-max/step`.
// - DST: a start whose local time does not exist (spring forward) is
//   skipped; one that exists twice (fall back) starts at its first
//   occurrence only. The duration is elapsed time, not wall-clock time.
// - Starts are looked for at most WINDOW_SEARCH_DAYS back and forward.
//
// Cost: the search walks calendar days, skipping months and days the
// schedule rules out; on a matching day without a DST transition, the
// day's starts, merged into intervals once per schedule, are shifted by one
// UTC offset. So a call costs one Intl lookup per matching day it walks
// (about 3 µs each), a year of daily windows about 1 ms.
import { CronError, parseCron, type CronFieldMatch, type CronSchedule } from '../../domain/addon-spec/cron.ts';
import type { SyncWindow } from '../../domain/addon-spec/policy.ts';
import { durationSeconds } from '../../domain/duration.ts';
import { UplinkError } from '../../util/errors.ts';

/** Whether a window is open at an instant, and when that changes. */
export interface WindowState {
  open: boolean;
  /** When closed: the next start, or null when none falls within WINDOW_SEARCH_DAYS. */
  opensAt: Date | null;
  /**
   * When open: the end of the open stretch (overlapping and back-to-back
   * windows count as one), or null when it lasts past WINDOW_SEARCH_DAYS.
   */
  closesAt: Date | null;
}

/** How far back and forward starts are looked for. */
export const WINDOW_SEARCH_DAYS = 366;
/** Parsed schedules and time-zone formatters kept for reuse; each bounded, oldest dropped first. */
const MAX_CACHED_SCHEDULES = 256;
const MAX_CACHED_ZONES = 64;

const DAY_MS = 86_400_000;
const SEARCH_MS = WINDOW_SEARCH_DAYS * DAY_MS;
const ALWAYS_OPEN: WindowState = { open: true, opensAt: null, closesAt: null };

/** A sync window the agent cannot read; `field` is the SyncWindow key at fault. */
export class SyncWindowError extends UplinkError {
  readonly field: keyof SyncWindow;

  constructor(field: keyof SyncWindow, message: string, options?: ErrorOptions) {
    super('SYNC_WINDOW_INVALID', message, options);
    this.field = field;
  }
}

/**
 * The window's state at `now`: open when some start `t` of the schedule has
 * `t <= now < t + duration`. A null window is always open. Throws
 * SyncWindowError for a schedule, duration or time zone it cannot read (the
 * hub refuses those, so it means a hub and agent disagree), and RangeError
 * for an invalid `now`.
 */
export function windowState(window: SyncWindow | null, now: Date): WindowState {
  if (Number.isNaN(now.getTime())) throw new RangeError('windowState: now is an invalid Date');
  if (window === null) return { ...ALWAYS_OPEN };
  const seconds = durationSeconds(window.duration);
  if (seconds === undefined) throw new SyncWindowError('duration', `duration '${window.duration}' is not a duration like 30s, 5m or 1h30m`);
  const plan = planOf(window.schedule, seconds * 1000);
  const zone = new ZoneClock(formatterOf(window.timeZone));
  const coverage = new Coverage(now.getTime());
  walkStarts(plan, zone, coverage);
  return coverage.state();
}

// ---- the schedule ----

/** A parsed schedule with a duration: everything that does not depend on the date. */
interface Plan {
  durationMs: number;
  months: boolean[];
  daysOfMonth: CronFieldMatch;
  /** Index 0-6, Sunday 0 (7 folded onto it). */
  daysOfWeek: CronFieldMatch;
  /** Milliseconds after local midnight of each start on a matching day, ascending. */
  starts: number[];
  /** The same starts each widened by the duration, merged: [from, to) in ms after local midnight. */
  intervals: [number, number][];
}

const plans = new Map<string, Plan>();

function planOf(schedule: string, durationMs: number): Plan {
  const key = `${durationMs} ${schedule}`;
  let plan = plans.get(key);
  if (plan === undefined) {
    plan = parsePlan(schedule, durationMs);
    remember(plans, key, plan, MAX_CACHED_SCHEDULES);
  }
  return plan;
}

function parsePlan(schedule: string, durationMs: number): Plan {
  let parsed: CronSchedule;
  try {
    parsed = parseCron(schedule);
  } catch (error) {
    if (!(error instanceof CronError)) throw error;
    throw new SyncWindowError('schedule', `schedule '${schedule}': ${error.message}`, { cause: error });
  }
  const { minutes, hours, daysOfMonth, months, daysOfWeek } = parsed;
  const starts: number[] = [];
  for (let hour = 0; hour < 24; hour += 1) {
    for (let minute = 0; minute < 60; minute += 1) {
      if (hours.values[hour] && minutes.values[minute]) starts.push((hour * 60 + minute) * 60_000);
    }
  }
  return { durationMs, months: months.values, daysOfMonth, daysOfWeek, starts, intervals: mergeIntervals(starts, durationMs) };
}

/** [start, start + duration) for each start, overlapping and touching ones merged. */
function mergeIntervals(starts: readonly number[], durationMs: number): [number, number][] {
  const merged: [number, number][] = [];
  for (const start of starts) {
    const last = merged.at(-1);
    if (last !== undefined && start <= last[1]) last[1] = start + durationMs;
    else merged.push([start, start + durationMs]);
  }
  return merged;
}

/** Vixie cron: either day field matches when both are restricted, both must otherwise. */
function matchesDay(plan: Plan, dayOfMonth: number, dayOfWeek: number): boolean {
  const byMonthDay = plan.daysOfMonth.values[dayOfMonth] === true;
  const byWeekDay = plan.daysOfWeek.values[dayOfWeek] === true;
  return plan.daysOfMonth.star || plan.daysOfWeek.star ? byMonthDay && byWeekDay : byMonthDay || byWeekDay;
}

// ---- the time zone ----

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterOf(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (formatter === undefined) {
    try {
      formatter = new Intl.DateTimeFormat('en-US', {
        timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric',
      });
    } catch (error) {
      throw new SyncWindowError('timeZone', `time zone '${timeZone}' is not known to this agent's runtime`, { cause: error });
    }
    remember(formatters, timeZone, formatter, MAX_CACHED_ZONES);
  }
  return formatter;
}

/**
 * UTC offsets of one zone, memoised for one call. Local days are numbered
 * as UTC days: day `d` is the wall-clock date whose midnight, read as UTC,
 * is `d * DAY_MS`.
 */
class ZoneClock {
  readonly #formatter: Intl.DateTimeFormat;
  readonly #atMidnight = new Map<number, number>();

  constructor(formatter: Intl.DateTimeFormat) {
    this.#formatter = formatter;
  }

  /** Local minus UTC, in ms, at `instant`. */
  offsetAt(instant: number): number {
    const fields: Record<string, number> = {};
    for (const part of this.#formatter.formatToParts(instant)) fields[part.type] = Number(part.value);
    const local = Date.UTC(fields.year ?? 0, (fields.month ?? 1) - 1, fields.day ?? 1, fields.hour ?? 0, fields.minute ?? 0, fields.second ?? 0);
    return local - Math.floor(instant / 1000) * 1000;
  }

  /** The offset at UTC midnight of day `day`, memoised: neighbouring days ask for the same ones. */
  offsetAtUtcMidnight(day: number): number {
    let offset = this.#atMidnight.get(day);
    if (offset === undefined) {
      offset = this.offsetAt(day * DAY_MS);
      this.#atMidnight.set(day, offset);
    }
    return offset;
  }

  /** The first second in (from, to] whose offset is `after`, given the offset at `from` is not. */
  transitionBetween(from: number, to: number, after: number): number {
    let [low, high] = [from, to];
    while (high - low > 1000) {
      const middle = low + Math.floor((high - low) / 2000) * 1000;
      if (this.offsetAt(middle) === after) high = middle;
      else low = middle;
    }
    return high;
  }
}

// ---- the walk ----

/**
 * The union of windows, fed in order of start: what covers `now`, and the
 * first change after it. Once decided, later input is ignored.
 */
class Coverage {
  readonly now: number;
  /** The furthest end of the windows seen that started by `now`, extended by those touching it since. */
  #end = -Infinity;
  #decided: WindowState | undefined;

  constructor(now: number) {
    this.now = now;
  }

  get decided(): boolean {
    return this.#decided !== undefined;
  }

  /** One window [from, to); windows come in order of `from`. */
  add(from: number, to: number): void {
    if (this.#decided !== undefined) return;
    if (from <= this.now || (this.#end > this.now && from <= this.#end)) {
      this.#end = Math.max(this.#end, to);
    } else if (this.#end > this.now) {
      this.#decided = { open: true, opensAt: null, closesAt: new Date(this.#end) };
    } else {
      this.#decided = { open: false, opensAt: from <= this.now + SEARCH_MS ? new Date(from) : null, closesAt: null };
    }
  }

  /** The answer once every start within the search horizon was fed. */
  state(): WindowState {
    if (this.#decided !== undefined) return this.#decided;
    if (this.#end <= this.now) return { open: false, opensAt: null, closesAt: null };
    return { open: true, opensAt: null, closesAt: this.#end <= this.now + SEARCH_MS ? new Date(this.#end) : null };
  }
}

/**
 * Feeds `coverage` every start from those that could still cover `now` to
 * the end of the search, local day by local day, until it is decided.
 */
function walkStarts(plan: Plan, zone: ZoneClock, coverage: Coverage): void {
  // A local date is within a day of the UTC date, so one day of margin each side.
  let day = Math.floor((coverage.now - Math.min(plan.durationMs, SEARCH_MS)) / DAY_MS) - 1;
  const lastDay = Math.floor((coverage.now + SEARCH_MS) / DAY_MS) + 1;
  while (day <= lastDay && !coverage.decided) {
    const date = new Date(day * DAY_MS);
    if (plan.months[date.getUTCMonth() + 1] !== true) {
      day = Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 1) / DAY_MS;
      continue;
    }
    if (matchesDay(plan, date.getUTCDate(), date.getUTCDay())) feedDay(plan, zone, day, coverage);
    day += 1;
  }
}

/** The windows starting on local day `day`, in order. */
function feedDay(plan: Plan, zone: ZoneClock, day: number, coverage: Coverage): void {
  const midnight = day * DAY_MS;
  // The local day lies within UTC days day-1 .. day+1 (offsets are -12h..+14h),
  // so equal offsets either side mean no transition inside it (zones change
  // offset months apart, never twice in three days).
  const before = zone.offsetAtUtcMidnight(day - 1);
  const after = zone.offsetAtUtcMidnight(day + 2);
  if (before === after) {
    for (const [from, to] of plan.intervals) coverage.add(midnight + from - before, midnight + to - before);
    return;
  }
  const transition = zone.transitionBetween((day - 1) * DAY_MS, (day + 2) * DAY_MS, after);
  for (const start of plan.starts) {
    const instant = firstInstantOf(midnight + start, before, after, transition);
    if (instant !== null) coverage.add(instant, instant + plan.durationMs);
  }
}

/**
 * The instant a wall-clock time (as UTC ms) first occurs at, around a
 * transition from offset `before` to `after` at instant `transition`; null
 * for a time the transition skips.
 */
function firstInstantOf(local: number, before: number, after: number, transition: number): number | null {
  const early = local - before;
  const late = local - after;
  const candidates = [early < transition ? early : null, late >= transition ? late : null].filter((t) => t !== null);
  return candidates.length === 0 ? null : Math.min(...candidates);
}

/** Stores `value` under `key`, dropping the oldest entry beyond `max`. */
function remember<V>(cache: Map<string, V>, key: string, value: V, max: number): void {
  if (cache.size >= max) {
    const oldest = cache.keys().next();
    if (oldest.done !== true) cache.delete(oldest.value);
  }
  cache.set(key, value);
}
