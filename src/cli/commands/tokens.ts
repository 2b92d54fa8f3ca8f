import type { Command } from 'commander';
import type { ApiTokenView } from '../../hub/api/tokens.ts';
import type { IssuedApiToken } from '../../hub/users.ts';
import { caHashOf } from '../../link/tls.ts';
import { type CliConfig, loadCliConfig } from '../cli-config.ts';
import { HubClient } from '../hub-client.ts';
import { formatData, formatTable, parseOutputFormat } from '../output.ts';
import { print } from '../terminal-text.ts';

/** The login line for a new token, with the CA pin when this login trusts a pinned CA. */
function loginHint(config: CliConfig): string {
  let pin = '';
  try {
    if (config.caPem !== undefined) pin = ` --ca-hash ${caHashOf(config.caPem)}`;
  } catch {
    // A CA this CLI cannot parse: leave the pin for the user to add.
  }
  return `uplink login ${config.hubUrl} --token-file FILE${pin}`;
}

function printIssued(issued: IssuedApiToken, user: string, config: CliConfig): void {
  print(`API token "${issued.name}" (id ${issued.id}) for user "${user}", shown once, keep it secret:\n  ${issued.token}\n`);
  print(`Save it to a file (mode 0600) and log in with it:\n  ${loginHint(config)}`);
}

export function registerTokensCommand(program: Command): void {
  const tokens = program.command('tokens').alias('token').description('issue, list and revoke users\' API tokens (fleet admins)');

  tokens.command('create').description('issue an API token for a user and print it once')
    .argument('<user>', 'user name or id')
    .option('--name <name>', 'a label for the token, e.g. laptop or ci (default: the user name)')
    .option('-o, --output <format>', 'text or json', 'text')
    .action(async (user: string, flags: { name?: string; output: string }) => {
      if (flags.output !== 'text' && flags.output !== 'json') throw new Error(`--output must be text or json, got '${flags.output}'`);
      const config = loadCliConfig();
      const body = flags.name === undefined ? {} : { name: flags.name };
      const issued = await new HubClient(config).request<IssuedApiToken>('POST', `/api/v1/users/${encodeURIComponent(user)}/tokens`, body);
      if (flags.output === 'json') print(formatData(issued, 'json'));
      else printIssued(issued, user, config);
    });

  tokens.command('list').alias('ls').description('list a user\'s API tokens (never their secrets)')
    .argument('<user>', 'user name or id')
    .option('-o, --output <format>', 'table, json, yaml or name', 'table')
    .action(async (user: string, flags: { output: string }) => {
      const path = `/api/v1/users/${encodeURIComponent(user)}/tokens`;
      const { items } = await new HubClient(loadCliConfig()).request<{ items: ApiTokenView[] }>('GET', path);
      const format = parseOutputFormat(flags.output, ['table', 'json', 'yaml', 'name']);
      if (format === 'json' || format === 'yaml') print(formatData({ items }, format));
      else if (format === 'name') for (const token of items) print(token.id);
      else print(formatTable(['ID', 'NAME', 'CREATED', 'LAST USED'], items.map((t) => [t.id, t.name, t.createdAt, t.lastUsedAt ?? '-'])));
    });

  tokens.command('revoke').alias('rm').description('revoke an API token; it stops working at once')
    .argument('<id>', 'token id (see tokens list)')
    .action(async (id: string) => {
      await new HubClient(loadCliConfig()).request('DELETE', `/api/v1/tokens/${encodeURIComponent(id)}`);
      print(`API token ${id} revoked.`);
    });
}
