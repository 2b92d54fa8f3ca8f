// What benches say about the machine and its processes while they measure:
// the CPU time a process has used so far (to divide by the work it carried)
// and the load average (the machine is shared: the figures hold at that load).
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';

/** Linux's clock ticks per second for /proc/PID/stat. */
const CLOCK_TICKS = 100;

/** User plus system CPU milliseconds of a process so far (this process's own, exactly; another's at 10 ms resolution). */
export function cpuMs(pid: number): number {
  if (pid === process.pid) {
    const usage = process.cpuUsage();
    return (usage.user + usage.system) / 1000;
  }
  // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
}

/** CPU milliseconds of each named process so far, to give cpuSince later. */
export function cpuNow(pids: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, cpuMs(pid)]));
}

/** CPU milliseconds each process used since `before` (from cpuNow), divided by `per` (MiB, requests). */
export function cpuSince(pids: Record<string, number>, before: Record<string, number>, per: number): Record<string, number> {
  return Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, (cpuMs(pid) - (before[name] ?? 0)) / per]));
}

/** The 1, 5 and 15 minute load averages, as printed. */
export function loadAverage(): string {
  return loadavg().map((l) => l.toFixed(2)).join(' ');
}

/** The environment that makes a Node process write a .cpuprofile into `dir` when it stops; none without a dir. */
export function profileEnv(dir: string | undefined): { env: Record<string, string> } | Record<string, never> {
  return dir === undefined ? {} : { env: { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${dir}` } };
}

/** Stops `processes` in turn with SIGTERM, gently, so that they write their CPU profiles into `dir` (nothing without a dir). */
export async function stopForProfiles(processes: { stop(signal: NodeJS.Signals): Promise<unknown> }[], dir: string | undefined): Promise<void> {
  if (dir === undefined) return;
  for (const child of processes) await child.stop('SIGTERM');
  console.log(`\nCPU profiles: ${dir}`);
}
