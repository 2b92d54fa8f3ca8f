// `uplink logs`: a pod's log, or the logs of the pods a label selector
// names (each line prefixed `[pod/container] `), streamed to stdout as the
// hub relays it. The cluster's RBAC decides, as the calling user, whose logs
// may be read.
import { pipeline } from 'node:stream/promises';
import type { Command } from 'commander';
import { LOG_LIMITS } from '../../link/resources.ts';
import { loadCliConfig } from '../cli-config.ts';
import { countFlag, durationFlag } from '../flags.ts';
import { HubClient, withQuery } from '../hub-client.ts';

export interface LogsFlags {
  selector?: string;
  namespace: string;
  container?: string;
  follow?: boolean;
  tail?: number;
  since?: number;
  previous?: boolean;
  timestamps?: boolean;
  maxPods?: number;
}

/** The hub's log route for the arguments; throws when they name neither or both of a pod and a selector. */
export function logsPath(cluster: string, pod: string | undefined, flags: LogsFlags): string {
  if ((pod === undefined) === (flags.selector === undefined)) throw new Error('give a POD or -l SELECTOR (exactly one of them)');
  if (flags.maxPods !== undefined && flags.selector === undefined) throw new Error('--max-pods goes with -l SELECTOR');
  return withQuery(`/api/v1/clusters/${encodeURIComponent(cluster)}/logs`, {
    namespace: flags.namespace, pod, labelSelector: flags.selector, container: flags.container,
    follow: flags.follow === true ? true : undefined, tailLines: flags.tail, sinceSeconds: flags.since,
    previous: flags.previous === true ? true : undefined, timestamps: flags.timestamps === true ? true : undefined, maxPods: flags.maxPods,
  });
}

export function registerLogsCommand(program: Command): void {
  program.command('logs')
    .description('print the log of a pod, or of the pods a label selector names, as it arrives')
    .argument('<cluster>', 'cluster name or id')
    .argument('[pod]', 'pod name (or use -l)')
    .option('-l, --selector <selector>', `pods matching this label selector, each line prefixed [pod/container] (at most --max-pods)`)
    .option('-n, --namespace <namespace>', 'namespace of the pods', 'default')
    .option('-c, --container <name>', 'this container (default: the pod\'s default container)')
    .option('-f, --follow', 'keep streaming new lines until interrupted or the pods stop')
    .option('--tail <n>', 'only the last N lines of each log', countFlag('--tail'))
    .option('--since <duration>', 'only lines newer than this: 10s, 5m, 1h, 1h30m', durationFlag('--since'))
    .option('--previous', 'the log of the previous (crashed) container instance')
    .option('--timestamps', 'prefix each line with its RFC 3339 timestamp')
    .option('--max-pods <n>', `with -l: refuse if more pods match (default ${LOG_LIMITS.defaultMaxPods}, at most ${LOG_LIMITS.maxPods})`, countFlag('--max-pods'))
    .action(async (cluster: string, pod: string | undefined, flags: LogsFlags) => {
      const path = logsPath(cluster, pod, flags);
      const body = await new HubClient(loadCliConfig()).openStream(path, 'text/plain');
      try {
        await pipeline(body, process.stdout, { end: false });
      } catch (error) {
        // A reader that stopped early (`| head`) is not a failure.
        if ((error as NodeJS.ErrnoException).code === 'EPIPE') {
          body.destroy();
          return;
        }
        throw new Error(`the log stream broke before its end: ${(error as Error).message}`, { cause: error });
      }
    });
}
