// The helm processes this agent has running, recorded in a file beside its
// state, so that an agent restarted after being killed (SIGKILL, OOM) first
// stops what its previous run left behind: two helms on one release would
// race, and the second fails on the first's pending operation. On Linux the
// children normally die with the agent already (runProcess dieWithParent);
// this covers systems without setpriv and the children's own children.
import { readOptionalFile, writePrivateFile } from './own-storage.ts';
import { readFileSync } from 'node:fs';
import type { Logger } from '../util/logger.ts';

/** Entries kept at most; helm runs are bounded by the engine's workers, far below this. */
export const MAX_LEDGER_ENTRIES = 256;

interface Entry {
  /** The process id, also its process group id (children run as group leaders). */
  pid: number;
  /** The kernel's start time of the process (/proc/PID/stat field 22), so a reused id is not mistaken for it. */
  started: string;
}

/** A process's start time from /proc, or undefined when it does not run (or there is no /proc). */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may hold anything.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19];
  } catch {
    return undefined;
  }
}

function parseEntries(text: string | undefined): Entry[] {
  if (text === undefined) return [];
  try {
    const value: unknown = JSON.parse(text);
    if (!Array.isArray(value)) return [];
    return value.filter((e): e is Entry => typeof e === 'object' && e !== null
      && Number.isSafeInteger((e as Entry).pid) && (e as Entry).pid > 1 && typeof (e as Entry).started === 'string');
  } catch {
    return [];
  }
}

export interface ChildLedgerOptions {
  /** The file, beside the agent's state file and named after it. */
  file: string;
  log: Logger;
}

export class ChildLedger {
  private readonly file: string;
  private readonly log: Logger;
  private entries: Entry[] = [];

  constructor(options: ChildLedgerOptions) {
    this.file = options.file;
    this.log = options.log;
  }

  /**
   * SIGKILLs the process group of every recorded child of a previous run that
   * still runs (same id and start time), then starts an empty ledger.
   * Returns how many were killed.
   */
  reapPrevious(): number {
    let killed = 0;
    for (const entry of parseEntries(readOptionalFile(this.file))) {
      if (entry.pid === process.pid || processStartTime(entry.pid) !== entry.started) continue;
      try {
        process.kill(-entry.pid, 'SIGKILL');
        killed += 1;
        this.log.warn({ pid: entry.pid }, 'killed a helm process a previous run of this agent left running');
      } catch {
        // Gone meanwhile, or not ours to signal.
      }
    }
    this.entries = [];
    this.save();
    return killed;
  }

  /** Records a started child. */
  add(pid: number): void {
    const started = processStartTime(pid);
    if (started === undefined) return; // no /proc, or already gone: nothing a restart could check
    this.entries = [...this.entries, { pid, started }].slice(-MAX_LEDGER_ENTRIES);
    this.save();
  }

  /** Forgets a child that ended. */
  remove(pid: number): void {
    const before = this.entries.length;
    this.entries = this.entries.filter((e) => e.pid !== pid);
    if (this.entries.length !== before) this.save();
  }

  private save(): void {
    try {
      writePrivateFile(this.file, JSON.stringify(this.entries));
    } catch (error) {
      this.log.warn({ err: error, file: this.file }, 'cannot record the helm processes this agent runs');
    }
  }
}
