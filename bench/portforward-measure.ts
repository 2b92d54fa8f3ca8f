// How bench/portforward.ts and bench/forward.ts measure a stream: read it
// whole from a local port, timing it and reading the CPU time each process
// on the path spent (/proc/PID/stat), per MiB carried; and the tables they
// print.
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { loadavg } from 'node:os';
import { percentile } from '../test/helpers/resources.ts';

const MIB = 1024 * 1024;
/** A stream that stalls this long is a failure, not a figure. */
const STREAM_TIMEOUT_MS = 120_000;
/** Linux's clock ticks per second for /proc/PID/stat. */
const CLOCK_TICKS = 100;

/** User plus system CPU milliseconds of a process so far. */
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

/** One stream: MiB/s, and the CPU milliseconds per MiB of each watched process. */
export interface Run {
  mibs: number;
  cpuPerMib: Record<string, number>;
}

export interface ReadStreamOptions {
  label: string;
  /** Where to connect; the host is 127.0.0.1 unless given. */
  port: number;
  host?: string;
  /** The stream's length: it is read until this many MiB came. */
  mib: number;
  /** Processes whose CPU time is read before and after, by name. */
  pids: Record<string, number>;
}

/** Reads one whole stream, watching the CPU time of `pids`. */
export async function readStream(options: ReadStreamOptions): Promise<Run> {
  const { label, mib, pids } = options;
  const bytes = mib * MIB;
  const before = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, cpuMs(pid)]));
  const started = performance.now();
  const socket = connect(options.port, options.host ?? '127.0.0.1');
  let received = 0;
  const finished = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => { socket.destroy(new Error(`${label}: no end after ${STREAM_TIMEOUT_MS} ms, ${received} bytes`)); }, STREAM_TIMEOUT_MS);
    socket.on('data', (chunk: Buffer) => {
      received += chunk.length;
      // kubectl keeps the local connection open a moment after the pod's side ended; the count is what matters.
      if (received >= bytes) {
        clearTimeout(timer);
        socket.destroy();
        resolve();
      }
    });
    socket.on('error', (error) => { clearTimeout(timer); reject(error); });
    socket.on('close', () => {
      clearTimeout(timer);
      if (received < bytes) reject(new Error(`${label}: the stream ended after ${received} of ${bytes} bytes`));
    });
  });
  await finished;
  const seconds = (performance.now() - started) / 1000;
  const cpuPerMib = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, (cpuMs(pid) - (before[name] ?? 0)) / mib]));
  return { mibs: mib / seconds, cpuPerMib };
}

export function median(values: number[]): number {
  return percentile(values, 50);
}

/** The load averages over 1, 5 and 15 minutes. */
export function load(): string {
  return loadavg().map((l) => l.toFixed(2)).join(' ');
}

/** CPU milliseconds per MiB of each process, median over the runs of each path. */
export function printCpu(labels: string[], runs: Run[][], names: string[]): void {
  console.log(`\nCPU per MiB carried (user + system, median of the runs; a process off a path shows its idle cost)`);
  console.log(`${'process'.padEnd(20)} ${labels.map((l) => l.padStart(14)).join(' ')}`);
  const totals = labels.map(() => 0);
  for (const name of names) {
    const cells = labels.map((_, index) => {
      const value = median((runs[index] ?? []).map((run) => run.cpuPerMib[name] ?? 0));
      totals[index] = (totals[index] ?? 0) + value;
      return `${value.toFixed(2)} ms`.padStart(14);
    });
    console.log(`${name.padEnd(20)} ${cells.join(' ')}`);
  }
  console.log(`${'sum'.padEnd(20)} ${totals.map((v) => `${v.toFixed(2)} ms`.padStart(14)).join(' ')}`);
}
