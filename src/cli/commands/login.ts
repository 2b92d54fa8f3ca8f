import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { fetchPinnedCa } from '../../link/ca-pin.ts';
import { parseCaHash } from '../../link/tls.ts';
import { saveCliConfig, type CliConfig } from '../cli-config.ts';
import { HubClient } from '../hub-client.ts';
import { listClusters } from './clusters.ts';
import { print } from '../terminal-text.ts';

interface LoginFlags {
  token?: string;
  tokenFile?: string;
  caHash?: string;
  caFile?: string;
  insecureSkipTlsVerify?: boolean;
}

function readToken(flags: LoginFlags): string {
  if (flags.token !== undefined && flags.tokenFile !== undefined) throw new Error('use one of --token and --token-file');
  if (flags.tokenFile !== undefined) return readFileSync(flags.tokenFile, 'utf8').trim();
  if (flags.token !== undefined) return flags.token;
  const fromEnv = process.env.UPLINK_API_TOKEN;
  if (fromEnv !== undefined) return fromEnv;
  throw new Error('an API token is needed: --token-file FILE (the hub writes admin-token in its data directory on first start)');
}

export function registerLoginCommand(program: Command): void {
  program
    .command('login')
    .description('check and store a hub URL and API token for later commands')
    .argument('<hub-url>', 'the hub, e.g. https://hub.example.com:8443')
    .option('--token <token>', 'API token (prefer --token-file)')
    .option('--token-file <file>', 'file holding the API token')
    .option('--ca-hash <sha256:...>', 'pin of the hub CA, printed by the hub; the CA is fetched and checked against it')
    .option('--ca-file <file>', 'PEM CA bundle to trust for the hub')
    .option('--insecure-skip-tls-verify', 'do not verify the hub certificate (unsafe)')
    .action(async (hubUrl: string, flags: LoginFlags) => {
      const config: CliConfig = { hubUrl: hubUrl.replace(/\/+$/, ''), token: readToken(flags) };
      if (flags.caFile !== undefined) config.caPem = readFileSync(flags.caFile, 'utf8');
      else if (flags.caHash !== undefined) config.caPem = await fetchPinnedCa({ url: config.hubUrl, caHash: parseCaHash(flags.caHash) });
      if (flags.insecureSkipTlsVerify === true) config.insecureSkipTlsVerify = true;
      const items = await listClusters(new HubClient(config));
      const path = saveCliConfig(config);
      print(`Logged in to ${config.hubUrl} (${items.length} clusters). Saved to ${path}.`);
    });
}
