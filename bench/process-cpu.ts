// CPU time of several processes across one measure, per unit of work
// (MiB, requests), on top of portforward-measure.ts's cpuMs; and stopping
// the processes a bench profiles gently, so that they write their profiles.
import { cpuMs } from './portforward-measure.ts';

/** CPU milliseconds of each named process so far, to give cpuSince later. */
export function cpuNow(pids: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, cpuMs(pid)]));
}

/** CPU milliseconds each process used since `before` (from cpuNow), divided by `per` (MiB, requests). */
export function cpuSince(pids: Record<string, number>, before: Record<string, number>, per: number): Record<string, number> {
  return Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, (cpuMs(pid) - (before[name] ?? 0)) / per]));
}

/** Stops `processes` in turn with SIGTERM, so that they write their CPU profiles into `dir`; nothing without a dir. */
export async function stopForProfiles(processes: { stop(signal: NodeJS.Signals): Promise<unknown> }[], dir: string | undefined): Promise<void> {
  if (dir === undefined) return;
  for (const child of processes) await child.stop('SIGTERM');
  console.log(`\nCPU profiles: ${dir}`);
}
