// Entry point of the `uplink` executable (bin/uplink runs this file on Node 24).
import { buildProgram } from './program.ts';
import { printError } from './terminal-text.ts';

try {
  await buildProgram().parseAsync(process.argv);
} catch (error) {
  // Expected failures (bad input, hub errors, not logged in) carry a message
  // meant for the operator; print it without a stack trace.
  // The message may quote the hub's answer: its control characters are shown, not obeyed.
  printError(`uplink: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
}
