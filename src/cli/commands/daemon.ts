// Shared by the long-running commands (hub, agent): load settings, start,
// and stop gracefully on SIGTERM or SIGINT (a second signal exits at once).
// Both run with the last net of util/last-net.ts.
import type { Command } from 'commander';
import { installLastNet } from '../../util/last-net.ts';
import { createLogger, type Logger } from '../../util/logger.ts';
import { ConfigError, addSettingOptions, loadSettings, type SettingsOf, type SettingsTable } from '../../util/settings.ts';

export interface Daemon {
  stop(): Promise<void>;
}

export function addDaemonCommand<T extends SettingsTable>(
  program: Command,
  spec: { name: string; description: string; table: T; start: (settings: SettingsOf<T>, log: Logger) => Promise<Daemon> },
): Command {
  const command = program.command(spec.name).description(spec.description);
  addSettingOptions(command, spec.table);
  command.action(async (flags: Record<string, unknown>) => {
    let settings: SettingsOf<T>;
    try {
      settings = loadSettings({ table: spec.table, flags });
    } catch (error) {
      if (error instanceof ConfigError) command.error(`uplink ${spec.name}: ${error.message}`, { exitCode: 2 });
      throw error;
    }
    const level = (settings as { logLevel?: 'info' }).logLevel ?? 'info';
    const log = createLogger({ name: spec.name, level });
    installLastNet(log);
    let daemon: Daemon;
    try {
      daemon = await spec.start(settings, log);
    } catch (error) {
      if (error instanceof ConfigError) command.error(`uplink ${spec.name}: ${error.message}`, { exitCode: 2 });
      log.fatal({ err: error }, `${spec.name} failed to start`);
      process.exit(1);
    }
    let stopping = false;
    const stop = (signal: NodeJS.Signals): void => {
      if (stopping) process.exit(1);
      stopping = true;
      log.info({ signal }, 'shutting down');
      daemon.stop().then(() => process.exit(0), (error: unknown) => {
        log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      });
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
  return command;
}
