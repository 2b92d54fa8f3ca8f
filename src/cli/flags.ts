// Parsers for command-line values shared by commands: whole numbers and
// durations, failing with a message that names the flag.
import { InvalidArgumentError } from 'commander';
import { durationSeconds } from '../domain/duration.ts';

/** Whole seconds of a duration like `10s`, `5m`, `1h` or `1h30m`; throws naming `flag` for anything else. */
export function parseDurationSeconds(value: string, flag: string): number {
  const text = value.trim();
  const seconds = durationSeconds(text);
  if (seconds === undefined) {
    throw new InvalidArgumentError(/^(?:0+[hms])+$/.test(text) ? `${flag} must be at least 1s, got '${value}'` : `${flag} must be a duration like 10s, 5m, 1h or 1h30m, got '${value}'`);
  }
  return seconds;
}

/** A non-negative whole number; the hub checks the range. */
export function parseCount(value: string, flag: string): number {
  if (!/^\d{1,9}$/.test(value.trim())) throw new InvalidArgumentError(`${flag} must be a whole number, got '${value}'`);
  return Number(value.trim());
}

/** Commander option parsers for the two above. */
export const durationFlag = (flag: string) => (value: string): number => parseDurationSeconds(value, flag);
export const countFlag = (flag: string) => (value: string): number => parseCount(value, flag);
