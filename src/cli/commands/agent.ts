import type { Command } from 'commander';
import { AGENT_SETTINGS } from '../../agent/config.ts';
import { addDaemonCommand } from './daemon.ts';

export function registerAgentCommand(program: Command): void {
  addDaemonCommand(program, {
    name: 'agent',
    description: 'run the agent: link this cluster to a hub over one outbound connection',
    table: AGENT_SETTINGS,
    // Loaded only when the agent runs: the rest of the CLI (the hub's web
    // server, its store, X.509) would cost the agent tens of MiB of RSS.
    start: async (settings, log) => (await import('../../agent/index.ts')).startAgent({ settings, log }),
  });
}
