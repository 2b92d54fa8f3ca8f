import { Command } from 'commander';
import { UPLINK_VERSION } from '../version.ts';
import { registerAddonsCommand } from './commands/addons.ts';
import { registerAgentCommand } from './commands/agent.ts';
import { registerAuditCommand } from './commands/audit.ts';
import { registerClustersCommand } from './commands/clusters.ts';
import { registerExposuresCommand } from './commands/exposures.ts';
import { registerForwardCommand } from './commands/forward.ts';
import { registerGetCommands } from './commands/get.ts';
import { registerHubCommand } from './commands/hub.ts';
import { registerKubeconfigCommand } from './commands/kubeconfig.ts';
import { registerLoginCommand } from './commands/login.ts';
import { registerLogsCommand } from './commands/logs.ts';
import { registerTokensCommand } from './commands/tokens.ts';
import { registerUsersCommand, registerWhoamiCommand } from './commands/users.ts';

function registerVersionCommand(program: Command): void {
  program
    .command('version')
    .description('print the Uplink and Node.js versions')
    .option('-o, --output <format>', 'text or json', 'text')
    .action(function (this: Command, options: { output: string }) {
      const info = { uplink: UPLINK_VERSION, node: process.versions.node };
      if (options.output === 'json') {
        console.log(JSON.stringify(info));
      } else if (options.output === 'text') {
        console.log(`uplink ${info.uplink} (node ${info.node})`);
      } else {
        this.error(`uplink version: --output must be text or json, got '${options.output}'`);
      }
    });
}

/** The `uplink` command tree. */
export function buildProgram(): Command {
  const program = new Command('uplink')
    .description('Connect Kubernetes clusters to a self-hosted hub over one outbound connection.')
    .version(UPLINK_VERSION, '-v, --version', 'print the Uplink version')
    // The program's own options (-v/--version) count only before the first
    // subcommand, so `clusters upgrade-agent --version V` reaches the subcommand.
    .enablePositionalOptions()
    .showHelpAfterError('(run with --help for usage)');
  registerHubCommand(program);
  registerAgentCommand(program);
  registerLoginCommand(program);
  registerClustersCommand(program);
  registerAddonsCommand(program);
  registerGetCommands(program);
  registerLogsCommand(program);
  registerForwardCommand(program);
  registerExposuresCommand(program);
  registerWhoamiCommand(program);
  registerUsersCommand(program);
  registerTokensCommand(program);
  registerAuditCommand(program);
  registerKubeconfigCommand(program);
  registerVersionCommand(program);
  return program;
}
