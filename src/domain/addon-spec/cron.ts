// Shape checks for the time values of a spec: 5-field cron expressions,
// Go-style durations and IANA time zones. Only the shape is checked here; the
// agent evaluates the schedule (its sync windows), so what passes must be a subset of
// what any cron library reads: numbers, ranges, steps, lists and `*`, no
// names (MON, JAN) and no macros (@daily).
export { durationSeconds } from '../duration.ts';

/** A cron field's name and its inclusive range. */
interface CronField {
  name: string;
  min: number;
  max: number;
}

const CRON_FIELDS: readonly CronField[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12 },
  // 0 and 7 are both Sunday, as in Vixie cron.
  { name: 'day of week', min: 0, max: 7 },
];

/** `*`, `n` or `n-m`, then an optional `/step`. */
const CRON_ITEM = /^(\*|(\d{1,2})(?:-(\d{1,2}))?)(?:\/(\d{1,2}))?$/;

/**
 * Why `expression` is not a 5-field cron schedule, or undefined when it is.
 * E.g. "minute '61' is out of range 0-59".
 */
export function cronProblem(expression: string): string | undefined {
  const fields = expression.trim().split(/\s+/);
  if (fields.length !== CRON_FIELDS.length) {
    return `must have 5 fields (minute hour day-of-month month day-of-week), got ${fields.length}`;
  }
  for (const [index, text] of fields.entries()) {
    const field = CRON_FIELDS[index];
    if (field === undefined) break;
    for (const item of text.split(',')) {
      const problem = cronItemProblem(item, field);
      if (problem !== undefined) return `${field.name} ${problem}`;
    }
  }
  return undefined;
}

function cronItemProblem(item: string, field: CronField): string | undefined {
  const match = CRON_ITEM.exec(item);
  if (!match) return `'${item}' is not a number, a range (1-5), a step (*/15) or * (names like MON are not accepted)`;
  const [, , start, end, step] = match;
  for (const value of [start, end]) {
    if (value !== undefined && (Number(value) < field.min || Number(value) > field.max)) {
      return `'${value}' is out of range ${field.min}-${field.max}`;
    }
  }
  if (start !== undefined && end !== undefined && Number(start) > Number(end)) return `range '${item}' runs backwards`;
  if (step !== undefined && (Number(step) < 1 || Number(step) > field.max)) return `step '${step}' must be from 1 to ${field.max}`;
  return undefined;
}

/** An IANA zone name: letters first, no offsets ('+01:00'), which Intl takes but cron libraries do not. */
const ZONE_NAME = /^[A-Za-z][A-Za-z0-9_+/-]*$/;

/** Whether the runtime knows `zone` as an IANA time zone. */
export function isTimeZone(zone: string): boolean {
  if (!ZONE_NAME.test(zone)) return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}
