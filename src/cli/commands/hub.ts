import type { Command } from 'commander';
import { HUB_SETTINGS } from '../../hub/config.ts';
import { addDaemonCommand } from './daemon.ts';
import { addMigrateStoreCommand } from './hub-migrate-store.ts';

export function registerHubCommand(program: Command): void {
  const hub = addDaemonCommand(program, {
    name: 'hub',
    description: 'run the hub: the API, the agent endpoint, health and metrics on one port',
    table: HUB_SETTINGS,
    start: async (settings, log) => {
      // Loaded only when the hub runs, so the CLI and the agent stay light.
      const { startHub } = await import('../../hub/server.ts');
      const hub = await startHub({ settings, log });
      if (hub.adminTokenFile !== undefined) {
        log.info({ file: hub.adminTokenFile }, 'first start: wrote an admin API token to this file (mode 0600); use it with uplink login');
      }
      return { stop: async () => { await hub.drain(); await hub.close(); } };
    },
  });
  addMigrateStoreCommand(hub);
}
