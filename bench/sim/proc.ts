// What a process costs, read from /proc like `ps` and `top` do: resident
// memory from /proc/PID/status and CPU time (user + system, every thread)
// from /proc/PID/stat.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Clock ticks per second of the utime/stime fields (`getconf CLK_TCK`, 100 on Linux). */
const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

export interface ProcSample {
  /** Date.now() when read. */
  at: number;
  /** VmRSS. */
  rssBytes: number;
  /** VmHWM: the highest RSS so far. */
  peakRssBytes: number;
  /** utime + stime of every thread, in seconds. */
  cpuSeconds: number;
}

function statusKib(status: string, field: string): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
  return Number(match?.[1] ?? 0) * 1024;
}

/** One reading of `pid`; throws when the process is gone. */
export function readProc(pid: number): ProcSample {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces; count fields after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return {
    at: Date.now(),
    rssBytes: statusKib(status, 'VmRSS'),
    peakRssBytes: statusKib(status, 'VmHWM'),
    cpuSeconds: (utime + stime) / CLOCK_TICKS,
  };
}

/** Average cores used between two readings of the same process. */
export function coresBetween(from: ProcSample, to: ProcSample): number {
  const wallSeconds = (to.at - from.at) / 1000;
  return wallSeconds > 0 ? (to.cpuSeconds - from.cpuSeconds) / wallSeconds : 0;
}

/** The soft limit on open files of this process (children inherit it). */
export function openFilesLimit(): number {
  const match = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
  return match?.[1] === undefined || match[1] === 'unlimited' ? Infinity : Number(match[1]);
}
