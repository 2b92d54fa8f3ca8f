// The time values of a spec: 5-field cron expressions, Go-style durations
// and IANA time zones. parseCron is the one reader of a schedule: the hub
// checks a spec with it, the agent evaluates its sync windows from what it
// returns. It takes what any cron library reads: numbers, ranges, steps,
// lists and `*`, no names (MON, JAN) and no macros (@daily).
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

/** One field of a schedule: which values match, and whether it was written as unrestricted (starting with `*`). */
export interface CronFieldMatch {
  values: boolean[];
  star: boolean;
}

/** A schedule read field by field: minute, hour, day of month, month, day of week (Sunday is 0; 7 is folded onto it). */
export interface CronSchedule {
  minutes: CronFieldMatch;
  hours: CronFieldMatch;
  daysOfMonth: CronFieldMatch;
  months: CronFieldMatch;
  daysOfWeek: CronFieldMatch;
}

/** A schedule parseCron cannot read; the message says which field and why. */
export class CronError extends Error {}

/**
 * Reads a 5-field cron schedule; throws CronError naming the field, e.g.
 * "minute '61' is out of range 0-59". `n/step` runs to the field's end, as
 * in most cron implementations.
 */
export function parseCron(expression: string): CronSchedule {
  const texts = expression.trim().split(/\s+/);
  if (texts.length !== CRON_FIELDS.length) {
    throw new CronError(`must have 5 fields (minute hour day-of-month month day-of-week), got ${texts.length}`);
  }
  const [minutes, hours, daysOfMonth, months, daysOfWeek] = CRON_FIELDS.map((field, index) => parseField(texts[index] ?? '', field)) as
    [CronFieldMatch, CronFieldMatch, CronFieldMatch, CronFieldMatch, CronFieldMatch];
  if (daysOfWeek.values[7]) daysOfWeek.values[0] = true;
  return { minutes, hours, daysOfMonth, months, daysOfWeek };
}

/** Why `expression` is not a 5-field cron schedule, or undefined when it is. */
export function cronProblem(expression: string): string | undefined {
  try {
    parseCron(expression);
    return undefined;
  } catch (error) {
    if (error instanceof CronError) return error.message;
    throw error;
  }
}

function parseField(text: string, field: CronField): CronFieldMatch {
  const values = new Array<boolean>(field.max + 1).fill(false);
  for (const item of text.split(',')) {
    const problem = cronItemProblem(item, field);
    if (problem !== undefined) throw new CronError(`${field.name} ${problem}`);
    const [, , first, last, stepText] = CRON_ITEM.exec(item) ?? [];
    const from = first === undefined ? field.min : Number(first);
    const to = last !== undefined ? Number(last) : first === undefined || stepText !== undefined ? field.max : from;
    const step = stepText === undefined ? 1 : Number(stepText);
    for (let value = from; value <= to; value += step) values[value] = true;
  }
  return { values, star: text.startsWith('*') };
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
