// A full garbage collection on demand, for the rare moments a long-lived
// process knows it has just dropped a lot (the agent after its initial sync
// or a relist). V8 otherwise keeps the grown heap for a long time, and the
// process's RSS with it. setFlagsFromString + a fresh context is the
// documented way to reach gc() without starting Node with --expose-gc.
import { Session } from 'node:inspector/promises';
import v8 from 'node:v8';
import vm from 'node:vm';

let gc: (() => void) | undefined;

/** Runs a full, compacting GC now. */
export function collectGarbage(): void {
  if (gc === undefined) {
    v8.setFlagsFromString('--expose-gc');
    gc = vm.runInNewContext('gc') as () => void;
  }
  gc();
}

/**
 * Everything V8 can give back, as under memory pressure: full collections
 * repeated until the weak callbacks that free native objects (sockets, TLS
 * and HTTP/2 sessions) free nothing more, then its pooled pages returned
 * (V8's low-memory notification). One collection is not enough after
 * thousands of connections closed: a native session is freed only by a
 * callback after the collection that found its wrapper dead. The inspector's
 * HeapProfiler.collectGarbage is the public way to reach it, through a
 * session inside this process (no port is opened).
 */
export async function releaseMemory(): Promise<void> {
  const session = new Session();
  session.connect();
  try {
    await session.post('HeapProfiler.collectGarbage');
  } finally {
    session.disconnect();
  }
}
