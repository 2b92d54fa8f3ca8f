// The process-level last net of the hub and the agent. Each failure path has
// its own guard (a catch that answers, logs and counts); this only decides
// what happens to one that was missed.
//
// A rejected promise nobody handled leaves no half-done synchronous state
// behind: it is logged as the bug it is and the process keeps serving, so a
// missed catch costs one request, not every agent's link. An uncaught
// exception is different: Node's documentation says it is not safe to resume
// normal operation after 'uncaughtException' (the throw may have left any
// state half-changed), so it is logged and the process exits with
// EXIT_UNCAUGHT for its supervisor (Kubernetes, systemd) to restart it.
import type { Logger } from './logger.ts';

/** Exit status after an uncaught exception (EX_SOFTWARE: an internal software error). */
export const EXIT_UNCAUGHT = 70;

export interface LastNetHandlers {
  unhandledRejection: (reason: unknown) => void;
  uncaughtException: (error: Error, origin: string) => void;
}

/** The handlers, apart from process, so they can be tested. */
export function lastNetHandlers(log: Pick<Logger, 'error' | 'fatal'>, exit: (code: number) => void): LastNetHandlers {
  return {
    unhandledRejection: (reason) => {
      log.error({ err: reason }, 'a promise rejection was not handled; the process keeps serving (a bug: please report it)');
    },
    uncaughtException: (error, origin) => {
      log.fatal({ err: error, origin }, 'an uncaught exception; exiting, since the process state can no longer be trusted');
      exit(EXIT_UNCAUGHT);
    },
  };
}

/** Installs the last net on this process (hub and agent daemons). */
export function installLastNet(log: Pick<Logger, 'error' | 'fatal'>): void {
  const handlers = lastNetHandlers(log, (code) => process.exit(code));
  process.on('unhandledRejection', handlers.unhandledRejection);
  process.on('uncaughtException', handlers.uncaughtException);
}
