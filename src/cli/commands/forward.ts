// `uplink forward CLUSTER TARGET PORT...`: TCP forwards to a Service, pod or
// Deployment of a cluster over its link, several local ports at once, as
// `kubectl port-forward` takes them. Each local connection opens its own
// forward through the hub (forward-tunnel.ts).
import type { Command } from 'commander';
import { isIP } from 'node:net';
import { describeForwardTarget, parseForwardPort, ForwardTargetError, type ForwardKind, type ForwardTarget } from '../../link/forward.ts';
import { loadCliConfig } from '../cli-config.ts';
import { listenForwards, type PortMapping } from './forward-tunnel.ts';

/** TARGET prefixes, as kubectl spells them. */
const KIND_PREFIXES: Record<string, ForwardKind> = {
  svc: 'service', service: 'service', services: 'service',
  pod: 'pod', pods: 'pod', po: 'pod',
  deploy: 'deployment', deployment: 'deployment', deployments: 'deployment',
};

/** Local ports a command opens at most. */
export const MAX_PORT_MAPPINGS = 32;

/** TARGET as `svc/NAME`, `pod/NAME`, `deploy/NAME`, or a bare NAME (a pod, as kubectl reads it). */
export function parseTargetArgument(text: string): { kind: ForwardKind; name: string } {
  const slash = text.indexOf('/');
  if (slash === -1) return { kind: 'pod', name: text };
  const kind = KIND_PREFIXES[text.slice(0, slash).toLowerCase()];
  if (kind === undefined) throw new ForwardTargetError(`TARGET must be svc/NAME, pod/NAME or deploy/NAME, got ${JSON.stringify(text)}`);
  return { kind, name: text.slice(slash + 1) };
}

/** A PORT argument: `REMOTE` (the same port locally), `LOCAL:REMOTE`, or `:REMOTE` (any free local port). */
export function parsePortArgument(text: string): { local: number; remote: number | string } {
  const colon = text.indexOf(':');
  const remote = parseForwardPort(colon === -1 ? text : text.slice(colon + 1));
  if (colon === -1) {
    if (typeof remote !== 'number') throw new ForwardTargetError(`the named port ${remote} needs a local port: LOCAL:${remote}`);
    return { local: remote, remote };
  }
  const localText = text.slice(0, colon);
  if (localText === '') return { local: 0, remote };
  const local = Number(localText);
  if (!/^\d{1,5}$/.test(localText) || local > 65_535) throw new ForwardTargetError(`the local port must be a number from 0 to 65535, got ${JSON.stringify(localText)}`);
  return { local, remote };
}

export interface ForwardFlags {
  namespace: string;
  address: string;
}

/** The mappings the arguments ask for; throws ForwardTargetError naming a bad argument. */
export function forwardMappings(targetText: string, ports: readonly string[], flags: ForwardFlags): PortMapping[] {
  if (ports.length === 0) throw new ForwardTargetError('give at least one PORT');
  if (ports.length > MAX_PORT_MAPPINGS) throw new ForwardTargetError(`at most ${MAX_PORT_MAPPINGS} ports at once`);
  if (isIP(flags.address) === 0) throw new ForwardTargetError(`--address must be an IP address, got ${JSON.stringify(flags.address)}`);
  const { kind, name } = parseTargetArgument(targetText);
  return ports.map((text) => {
    const { local, remote } = parsePortArgument(text);
    const target: ForwardTarget = { kind, namespace: flags.namespace, name, port: remote };
    return { address: flags.address, localPort: local, target };
  });
}

export function registerForwardCommand(program: Command): void {
  program.command('forward')
    .description('forward local TCP ports to a Service, pod or Deployment of a cluster, through the hub and the cluster\'s link')
    .argument('<cluster>', 'cluster name or id')
    .argument('<target>', 'svc/NAME, pod/NAME or deploy/NAME (a bare NAME is a pod)')
    .argument('<ports...>', 'PORT (same port locally), LOCAL:REMOTE, or :REMOTE (any free local port); REMOTE may be a port name')
    .option('-n, --namespace <namespace>', 'namespace of the target', 'default')
    .option('--address <ip>', 'local address to listen on', '127.0.0.1')
    .addHelpText('after', `
Each local connection opens one forward through the hub. You need a role on the
cluster, and the cluster's RBAC must let you create pods/portforward in the
namespace, as kubectl port-forward needs. A Service is reached at its ready
endpoints, as an in-cluster client would. When the hub or the cluster's link is
down, a new connection is retried for a few seconds; listening goes on until
Ctrl-C. Every forward is in the hub's audit log.

Example:
  uplink forward prod-eu svc/db -n data 5432 8080:80`)
    .action(async (cluster: string, target: string, ports: string[], flags: ForwardFlags) => {
      const mappings = forwardMappings(target, ports, flags);
      const forwards = await listenForwards({ config: loadCliConfig(), cluster, mappings, warn: (line) => { process.stderr.write(`${line}\n`); } });
      for (const { mapping, port } of forwards.listening) {
        process.stdout.write(`Forwarding ${formatHost(mapping.address)}:${port} -> ${describeForwardTarget(mapping.target)}\n`);
      }
      await new Promise<void>((resolve) => {
        const stop = (): void => {
          forwards.close();
          resolve();
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    });
}

function formatHost(address: string): string {
  return isIP(address) === 6 ? `[${address}]` : address;
}
