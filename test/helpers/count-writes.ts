// Counts the writes a socket makes, for tests of how bytes are batched.
import type { Socket } from 'node:net';

/** Counts the writes that reach a socket from now on (each is a syscall, and on TLS a record). */
export function countWrites(of: Socket | null): { count: number } {
  const socket = of as Socket & { _write: (...args: unknown[]) => void; _writev: (...args: unknown[]) => void };
  const counter = { count: 0 };
  const write = socket._write.bind(socket);
  const writev = socket._writev.bind(socket);
  socket._write = (...args) => { counter.count += 1; write(...args); };
  socket._writev = (...args) => { counter.count += 1; writev(...args); };
  return counter;
}
