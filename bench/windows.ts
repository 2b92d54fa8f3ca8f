// Sync windows: the cost of one windowState call (is the window open now,
// and when does that change) for typical windows, next to croner's nextRun
// for the same schedule and zone, the one call a library would give for the
// closed case (the open case needs a backward search and merging on top). Run
// with:
//   scripts/bench.sh windows        (BENCH_CALLS, default 3000)
// See docs/benchmarks.md. No cluster needed.
import { Cron } from 'croner';
import { windowState } from '../src/agent/addons/sync-window.ts';

const CALLS = Number(process.env.BENCH_CALLS ?? 3000);
const WINDOWS = [
  { schedule: '0 18 * * 1-5', duration: '2h', timeZone: 'Europe/Paris' },
  { schedule: '*/15 * * * *', duration: '5m', timeZone: 'America/New_York' },
  { schedule: '0 22 * * 5', duration: '4h', timeZone: 'Asia/Tokyo' },
  { schedule: '30 2 29 2 *', duration: '1h', timeZone: 'Europe/Paris' },
];
/** Instants spread over two years, so calls meet every month and both DST changes. */
const instant = (i: number): Date => new Date(Date.UTC(2026, 0, 1) + i * 21_011_000);

function microsPerCall(run: (i: number) => void): number {
  for (let i = 0; i < 200; i += 1) run(i); // warm-up
  const started = performance.now();
  for (let i = 0; i < CALLS; i += 1) run(i);
  return ((performance.now() - started) * 1000) / CALLS;
}

console.log(`sync windows, ${CALLS} calls each, Node ${process.versions.node}`);
console.log('schedule            zone               windowState  croner nextRun  ratio');
for (const window of WINDOWS) {
  const ours = microsPerCall((i) => { windowState(window, instant(i)); });
  const cron = new Cron(window.schedule, { timezone: window.timeZone });
  const theirs = microsPerCall((i) => { cron.nextRun(instant(i)); });
  console.log(`${window.schedule.padEnd(20)}${window.timeZone.padEnd(19)}${ours.toFixed(1).padStart(8)} µs ${theirs.toFixed(1).padStart(11)} µs  ${(ours / theirs).toFixed(2)}×`);
}
