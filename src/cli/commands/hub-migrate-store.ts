// `uplink hub migrate-store`: moves a hub's state from its SQLite file to a
// PostgreSQL database, the step before running several hub replicas.
import type { Command } from 'commander';
import { formatTable } from '../output.ts';
import { print } from '../terminal-text.ts';

const HELP_AFTER = `
Stop the hub first: the copy is a snapshot of the file. The SQLite file is
brought to the current schema (as a hub does at start) and otherwise left as
it is. The PostgreSQL database is migrated, must hold no rows, and receives
every row in one transaction (all or nothing): clusters with their token
hashes, users, grants, API tokens, add-ons with their generations and
statuses, and the audit log with its ids. Agents and API tokens keep working.
Then start the hub with --database-url (and --database-password-file).

Example:
  uplink hub migrate-store --from sqlite:/var/lib/uplink/hub.db \\
    --to postgres://uplink@db.internal:5432/uplink --database-password-file /run/secrets/db-password`;

/** The SQLite path of `--from`: sqlite:PATH or a plain path. */
function sqlitePathOf(from: string): string {
  const path = from.startsWith('sqlite:') ? from.slice('sqlite:'.length) : from;
  if (path === '' || /^[a-z][a-z0-9+.-]*:\/\//i.test(path)) throw new Error(`--from must be sqlite:PATH or a file path, got '${from}'`);
  return path;
}

export function addMigrateStoreCommand(hub: Command): void {
  hub.command('migrate-store')
    .description('copy a hub\'s SQLite database into an empty PostgreSQL database (stop the hub first)')
    .requiredOption('--from <sqlite>', 'the hub\'s SQLite database: sqlite:PATH or PATH (<data-dir>/hub.db)')
    .requiredOption('--to <url>', 'the PostgreSQL database: postgres://user@host:5432/database (migrated here; must be empty)')
    .option('--database-password-file <file>', 'file holding the PostgreSQL password, rather than a password in the URL')
    .addHelpText('after', HELP_AFTER)
    .action(async (flags: { from: string; to: string; databasePasswordFile?: string }) => {
      const sqlitePath = sqlitePathOf(flags.from);
      // Loaded only for this command, so the rest of the CLI stays light.
      const { copySqliteToPostgres } = await import('../../hub/store/copy-to-postgres.ts');
      const { openPostgresStore, redactUrl } = await import('../../hub/store/index.ts');
      const { createLogger } = await import('../../util/logger.ts');
      const passwordFile = flags.databasePasswordFile;
      const target = openPostgresStore({
        url: flags.to, ...(passwordFile === undefined ? {} : { passwordFile }), log: createLogger({ name: 'migrate-store', level: 'silent' }),
      });
      let counts;
      try {
        counts = await copySqliteToPostgres({ sqlitePath, target });
      } finally {
        await target.close();
      }
      print(`Copied ${sqlitePath} into ${redactUrl(flags.to)}:`);
      print(formatTable(['TABLE', 'ROWS'], Object.entries(counts).map(([table, rows]) => [table, String(rows)])));
      print('Start the hub with --database-url (and --database-password-file) to use it.');
    });
}
