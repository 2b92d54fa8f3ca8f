// Go-style durations, as add-on specs and kubectl's flags write them: `30s`,
// `5m`, `1h30m`. The one parser for them (specs, the agent, the CLI's flags).

/** Each part at most 6 digits, so the sum stays exact. */
const DURATION = /^(?:(\d{1,6})h)?(?:(\d{1,6})m)?(?:(\d{1,6})s)?$/;

/** Seconds in a duration like `1h30m`, or undefined when it is not one (or is zero). */
export function durationSeconds(text: string): number | undefined {
  const match = DURATION.exec(text);
  if (!match || text === '') return undefined;
  const [, h, m, s] = match;
  const seconds = Number(h ?? 0) * 3600 + Number(m ?? 0) * 60 + Number(s ?? 0);
  return seconds > 0 ? seconds : undefined;
}
