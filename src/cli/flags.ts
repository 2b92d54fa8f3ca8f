// Parsers for command-line values shared by commands: whole numbers and
// durations, failing with a message that names the flag.
import { InvalidArgumentError } from 'commander';

/** Go-style durations, as kubectl takes them: `10s`, `5m`, `1h`, `1h30m`, `2m30s`. */
const DURATION = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/;

/** Whole seconds of a duration like `10s`, `5m`, `1h` or `1h30m`; throws naming `flag` for anything else. */
export function parseDurationSeconds(value: string, flag: string): number {
  const match = DURATION.exec(value.trim());
  if (!match || value.trim() === '') throw new InvalidArgumentError(`${flag} must be a duration like 10s, 5m, 1h or 1h30m, got '${value}'`);
  const [, h, m, s] = match;
  const seconds = Number(h ?? 0) * 3600 + Number(m ?? 0) * 60 + Number(s ?? 0);
  if (seconds < 1) throw new InvalidArgumentError(`${flag} must be at least 1s, got '${value}'`);
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
