import { Command } from 'commander';
import { UPLINK_VERSION } from '../version.ts';

/** The `uplink` command tree. Subcommands register here as they are built. */
export function buildProgram(): Command {
  const program = new Command('uplink')
    .description('Connect Kubernetes clusters to a self-hosted hub over one outbound connection.')
    .version(UPLINK_VERSION, '-v, --version', 'print the Uplink version')
    .showHelpAfterError();

  program
    .command('version')
    .description('print the Uplink and Node.js versions')
    .option('-o, --output <format>', 'text or json', 'text')
    .action((options: { output: string }) => {
      const info = { uplink: UPLINK_VERSION, node: process.versions.node };
      if (options.output === 'json') {
        console.log(JSON.stringify(info));
      } else if (options.output === 'text') {
        console.log(`uplink ${info.uplink} (node ${info.node})`);
      } else {
        program.error(`uplink version: --output must be text or json, got '${options.output}'`);
      }
    });

  return program;
}
