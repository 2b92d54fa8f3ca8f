// Entry point of the `uplink` executable (bin/uplink runs this file on Node 24).
import { buildProgram } from './program.ts';

await buildProgram().parseAsync(process.argv);
