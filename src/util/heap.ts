// A full garbage collection on demand, for the rare moments a long-lived
// process knows it has just dropped a lot (the agent after its initial sync
// or a relist). V8 otherwise keeps the grown heap for a long time, and the
// process's RSS with it. setFlagsFromString + a fresh context is the
// documented way to reach gc() without starting Node with --expose-gc.
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
