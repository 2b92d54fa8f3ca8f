import type { Command } from 'commander';
import { AGENT_SETTINGS, startAgent } from '../../agent/index.ts';
import { addDaemonCommand } from './daemon.ts';

export function registerAgentCommand(program: Command): void {
  addDaemonCommand(program, {
    name: 'agent',
    description: 'run the agent: link this cluster to a hub over one outbound connection',
    table: AGENT_SETTINGS,
    start: (settings, log) => startAgent({ settings, log }),
  });
}
