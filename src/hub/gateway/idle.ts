// An idle deadline for a proxied request or WebSocket: it fires when no byte
// went either way for `limitMs`. Activity only stamps a time (a 100 MiB
// download touches it thousands of times); the one timer looks at the stamp
// when it fires and sleeps again for what is left.

/** A gateway stream with no byte either way for this long is closed. */
export const GATEWAY_IDLE_TIMEOUT_MS = 5 * 60_000;

export interface IdleWatch {
  /** Something went through now. */
  touch(): void;
  stop(): void;
}

/** Calls `onIdle` once when `touch` was not called for `limitMs`; stop() ends the watch. */
export function watchIdle(limitMs: number, onIdle: () => void, now: () => number = Date.now): IdleWatch {
  let last = now();
  let timer: NodeJS.Timeout | undefined;
  const check = (): void => {
    const quiet = now() - last;
    if (quiet >= limitMs) {
      timer = undefined;
      onIdle();
      return;
    }
    timer = setTimeout(check, limitMs - quiet);
    timer.unref();
  };
  timer = setTimeout(check, limitMs);
  timer.unref();
  return {
    touch: () => { last = now(); },
    stop: () => {
      clearTimeout(timer);
      timer = undefined;
    },
  };
}
