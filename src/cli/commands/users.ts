import type { Command } from 'commander';
import type { GrantView, UserView, WhoamiView } from '../../hub/api/users.ts';
import { loadCliConfig } from '../cli-config.ts';
import { HubClient } from '../hub-client.ts';
import { formatData, formatTable, parseOutputFormat } from '../output.ts';
import { print } from '../terminal-text.ts';

const ROLE_HELP = 'view, edit or admin';

function client(): HubClient {
  return new HubClient(loadCliConfig());
}

function userPath(name: string, rest = ''): string {
  return `/api/v1/users/${encodeURIComponent(name)}${rest}`;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** `admin@*` for a fleet-wide grant, `view@prod-eu` for one on a cluster. */
export function formatGrant(grant: GrantView): string {
  return `${grant.role}@${grant.cluster ?? '*'}`;
}

function formatGrants(grants: readonly GrantView[]): string {
  return grants.length === 0 ? '-' : grants.map(formatGrant).join(',');
}

function printUsers(items: UserView[], output: string | undefined): void {
  const format = parseOutputFormat(output);
  if (format === 'json' || format === 'yaml') {
    print(formatData({ items }, format));
  } else if (format === 'name') {
    for (const user of items) print(user.name);
  } else {
    const headers = ['NAME', 'GRANTS'];
    if (format === 'wide') headers.push('ID', 'CREATED');
    const rows = items.map((u) => [u.name, formatGrants(u.grants), ...(format === 'wide' ? [u.id, u.createdAt] : [])]);
    print(formatTable(headers, rows));
  }
}

export function registerWhoamiCommand(program: Command): void {
  program.command('whoami').description('show the user of the stored API token and its grants')
    .option('-o, --output <format>', 'text, json or yaml', 'text')
    .action(async (flags: { output: string }) => {
      const me = await client().request<WhoamiView>('GET', '/api/v1/whoami');
      if (flags.output === 'json' || flags.output === 'yaml') {
        print(formatData(me, flags.output));
      } else if (flags.output === 'text') {
        print(`${me.user.name} (id ${me.user.id})`);
        print(`grants: ${formatGrants(me.grants)}`);
      } else {
        throw new Error(`--output must be one of text, json, yaml, got '${flags.output}'`);
      }
    });
}

/** The grants `users create` asks for: none, fleet-wide, or one per --cluster. */
function requestedGrants(role: string | undefined, clusters: readonly string[]): { role: string; cluster?: string }[] {
  if (role === undefined) {
    if (clusters.length > 0) throw new Error('--cluster needs --role');
    return [];
  }
  return clusters.length === 0 ? [{ role }] : clusters.map((cluster) => ({ role, cluster }));
}

function registerGrantCommands(users: Command): void {
  users.command('grant').description('give a user a role on every cluster, or on one with --cluster')
    .argument('<name>', 'user name or id')
    .argument('<role>', ROLE_HELP)
    .option('--cluster <cluster>', 'the cluster (name or id); without it the role applies to every cluster')
    .action(async (name: string, role: string, flags: { cluster?: string }) => {
      const body = flags.cluster === undefined ? { role } : { role, cluster: flags.cluster };
      const user = await client().request<UserView>('POST', userPath(name, '/grants'), body);
      print(`User "${user.name}" now has: ${formatGrants(user.grants)}`);
    });

  users.command('revoke').description('take a role away from a user (fleet-wide, or on one cluster with --cluster)')
    .argument('<name>', 'user name or id')
    .argument('<role>', ROLE_HELP)
    .option('--cluster <cluster>', 'the cluster (name or id) the grant is on')
    .action(async (name: string, role: string, flags: { cluster?: string }) => {
      const query = flags.cluster === undefined ? '' : `?cluster=${encodeURIComponent(flags.cluster)}`;
      await client().request('DELETE', userPath(name, `/grants/${encodeURIComponent(role)}${query}`));
      print(`Revoked ${role}@${flags.cluster ?? '*'} from user "${name}".`);
    });
}

export function registerUsersCommand(program: Command): void {
  const users = program.command('users').alias('user').description('manage hub users and their roles (fleet admins)');

  users.command('create').description('create a user, optionally with a role fleet-wide or on each --cluster')
    .argument('<name>', 'user name (lowercase letters, digits and -)')
    .option('--role <role>', ROLE_HELP)
    .option('--cluster <cluster>', 'grant --role on this cluster only (repeatable)', collect, [])
    .action(async (name: string, flags: { role?: string; cluster: string[] }) => {
      const grants = requestedGrants(flags.role, flags.cluster);
      const user = await client().request<UserView>('POST', '/api/v1/users', { name, ...(grants.length > 0 ? { grants } : {}) });
      print(`User "${user.name}" created (id ${user.id}), grants: ${formatGrants(user.grants)}.`);
      print(`Issue an API token for it: uplink tokens create ${user.name}`);
    });

  users.command('list').alias('ls').description('list users and their grants')
    .option('-o, --output <format>', 'table, wide, json, yaml or name', 'table')
    .action(async (flags: { output: string }) => {
      const { items } = await client().request<{ items: UserView[] }>('GET', '/api/v1/users');
      printUsers(items, flags.output);
    });

  users.command('get').description('show one user')
    .argument('<name>', 'user name or id')
    .option('-o, --output <format>', 'table, wide, json or yaml', 'yaml')
    .action(async (name: string, flags: { output: string }) => {
      const user = await client().request<UserView>('GET', userPath(name));
      const format = parseOutputFormat(flags.output, ['table', 'wide', 'json', 'yaml']);
      if (format === 'json' || format === 'yaml') print(formatData(user, format));
      else printUsers([user], format);
    });

  users.command('delete').alias('rm').description('delete a user with its grants and API tokens')
    .argument('<name>', 'user name or id')
    .action(async (name: string) => {
      await client().request('DELETE', userPath(name));
      print(`User "${name}" deleted.`);
    });

  registerGrantCommands(users);
}
