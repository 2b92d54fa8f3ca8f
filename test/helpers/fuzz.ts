// Property-based fuzzing of running hubs and agents with fast-check: each
// target runs for a bounded time (FUZZ_SECONDS, UPLINK_FUZZ_SECONDS for a
// longer run), from a seed that is printed, so a failure replays with
// UPLINK_FUZZ_SEED (and UPLINK_FUZZ_PATH for the exact failing input).
// Also the mutators: real inputs with bytes, characters or JSON values
// changed, inserted, removed or repeated, which reach deeper than random data.
import type { TestContext } from 'node:test';
import fc from 'fast-check';

/** Seconds each fuzz target runs in the suite. */
export const DEFAULT_FUZZ_SECONDS = 60;
/** The run time of each target: UPLINK_FUZZ_SECONDS, else DEFAULT_FUZZ_SECONDS. */
export const FUZZ_SECONDS = Number(process.env.UPLINK_FUZZ_SECONDS ?? DEFAULT_FUZZ_SECONDS);

/** What a fuzz run did, for the test's diagnostics and docs/security.md. */
export interface FuzzSummary {
  runs: number;
  seed: number;
  seconds: number;
}

/**
 * Runs `property` until FUZZ_SECONDS have passed (each input is tried to its
 * end, so a run ends at most one input later). Throws fast-check's report,
 * with the seed and path to replay, on the first failure; no shrinking, since
 * each input costs a round trip to a real process.
 */
export async function fuzz<T>(t: TestContext, name: string, arbitrary: fc.Arbitrary<T>, predicate: (input: T) => Promise<void>): Promise<FuzzSummary> {
  const seed = process.env.UPLINK_FUZZ_SEED === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(process.env.UPLINK_FUZZ_SEED);
  const path = process.env.UPLINK_FUZZ_PATH;
  const started = performance.now();
  let runs = 0;
  t.diagnostic(`fuzz ${name}: seed ${seed} for ${FUZZ_SECONDS} s (replay: UPLINK_FUZZ_SEED=${seed})`);
  const details = await fc.check(fc.asyncProperty(arbitrary, async (input) => {
    runs += 1;
    await predicate(input);
  }), {
    seed, ...(path === undefined ? {} : { path }), numRuns: Number.MAX_SAFE_INTEGER, endOnFailure: true,
    plugins: [fc.interruptAfterTimeLimit(FUZZ_SECONDS * 1000)],
  });
  const seconds = Math.round((performance.now() - started) / 100) / 10;
  if (details.failed) throw new Error(`fuzz ${name} failed (replay: UPLINK_FUZZ_SEED=${seed} UPLINK_FUZZ_PATH=${details.counterexamplePath ?? ''}):\n${fc.defaultReportMessage(details)}`);
  const summary = { runs, seed, seconds };
  t.diagnostic(`fuzz ${name}: ${runs} inputs in ${seconds} s, 0 failures, seed ${seed}`);
  return summary;
}

/** Text that breaks parsers: escapes, separators, traversal, controls, odd Unicode. */
export const NASTY_TEXT: readonly string[] = [
  '\0', '\r', '\n', '\r\n', '\t', ' ', '%', '%0', '%00', '%2e%2e', '%2f', '%2F', '%5c', '%E0%A4%A', '%C0%AE', '%C0%AF', '%ff', '%25', '%252e',
  '../', '..\\', '//', '/./', '?', '#', '&', '=', ';', ',', '"', "'", '\\', '{', '}', '[', ']', ':', '*', '@',
  '\u202e', '\uFEFF', '\uD800', '\u0085', '\u2028', 'ÿ', '\x1b[2J', '\x07', '__proto__', 'constructor', 'A'.repeat(300), '0'.repeat(40),
];

const nasty = fc.constantFrom(...NASTY_TEXT);

/** One edit of a string: insert, delete, replace, repeat or cut. */
type TextEdit =
  | { kind: 'insert'; at: number; text: string }
  | { kind: 'delete'; at: number; length: number }
  | { kind: 'repeat'; at: number; length: number; times: number }
  | { kind: 'cut'; at: number };

const textEdit: fc.Arbitrary<TextEdit> = fc.oneof(
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), text: fc.oneof(nasty, fc.string({ maxLength: 8 }), fc.string({ unit: 'binary', maxLength: 8 })) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ kind: fc.constant('repeat' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 16 }), times: fc.integer({ min: 2, max: 50 }) }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
);

function applyEdit(text: string, edit: TextEdit): string {
  const at = text.length === 0 ? 0 : edit.at % (text.length + 1);
  switch (edit.kind) {
    case 'insert': return text.slice(0, at) + edit.text + text.slice(at);
    case 'delete': return text.slice(0, at) + text.slice(at + edit.length);
    case 'repeat': return text.slice(0, at) + text.slice(at, at + edit.length).repeat(edit.times) + text.slice(at + edit.length);
    case 'cut': return text.slice(0, at);
  }
}

/** `base` with up to `maxEdits` edits (none is allowed: the real input itself). */
export function mutatedText(base: fc.Arbitrary<string>, maxEdits = 4): fc.Arbitrary<string> {
  return fc.tuple(base, fc.array(textEdit, { maxLength: maxEdits })).map(([text, edits]) => edits.reduce(applyEdit, text));
}

/** Values that break JSON consumers: wrong types, bounds, sizes and depth. */
const nastyJson: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom<unknown>(null, true, 0, -1, 1.5, 1e308, -1e308, 2 ** 53 + 1, '', [], {}, 'x'.repeat(5000), '1970-01-01T00:00:00Z', '::1', 'NaN'),
  fc.constantFrom(...NASTY_TEXT),
  fc.jsonValue({ maxDepth: 3 }),
  fc.integer({ min: 2, max: 200 }).map((depth) => JSON.parse('['.repeat(depth) + ']'.repeat(depth)) as unknown),
);

/** One edit of a JSON value: set, delete or add at a path chosen among the value's own. */
type JsonEdit = { kind: 'set' | 'delete' | 'add'; pick: number; key: string; value: unknown };

const jsonEdit: fc.Arbitrary<JsonEdit> = fc.record({
  kind: fc.constantFrom('set' as const, 'set' as const, 'delete' as const, 'add' as const),
  pick: fc.nat(), key: fc.oneof(fc.string({ maxLength: 10 }), nasty), value: nastyJson,
});

/** Every object or array inside `value`, the root first. */
function containers(value: unknown): (Record<string, unknown> | unknown[])[] {
  if (typeof value !== 'object' || value === null) return [];
  const own = value as Record<string, unknown>;
  return [own, ...Object.values(own).flatMap(containers)];
}

function applyJsonEdit(value: unknown, { value: inserted, ...rest }: JsonEdit): unknown {
  // A copy: generators hand out shared constants ([] and {}), which two edits could nest in each other.
  const edit = { ...rest, value: structuredClone(inserted) };
  const all = containers(value);
  const target = all[edit.pick % Math.max(1, all.length)];
  if (target === undefined) return edit.value;
  const keys = Object.keys(target);
  const key = keys.length === 0 || edit.kind === 'add' ? edit.key : (keys[edit.pick % keys.length] ?? edit.key);
  if (Array.isArray(target)) {
    const index = Number.parseInt(key, 10);
    if (edit.kind === 'delete' && Number.isInteger(index)) target.splice(index, 1);
    else target[Number.isInteger(index) ? index : target.length] = edit.value;
  } else if (edit.kind === 'delete') {
    // eslint-disable-next-line @typescript-eslint/no-dynamic-delete -- the fuzz removes a field chosen at random
    delete target[key];
  } else {
    target[key] = edit.value;
  }
  return value;
}

/** A copy of `base` with up to `maxEdits` fields set to odd values, removed or added. */
export function mutatedJson(base: unknown, maxEdits = 3): fc.Arbitrary<unknown> {
  return fc.array(jsonEdit, { maxLength: maxEdits }).map((edits) => edits.reduce(applyJsonEdit, structuredClone(base)));
}
