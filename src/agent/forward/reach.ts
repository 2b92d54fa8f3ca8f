// From a named target to one open connection, the way an in-cluster client
// reaches it but without kube-proxy or cluster DNS: resolve its ready
// endpoints (resolve.ts), drop every address the agent never dials
// (address-guard.ts), then dial from a random one on, trying another when
// one refuses (dial.ts). Shared by TCP forwards and the Service gateway.
import type { Socket } from 'node:net';
import type { ForwardTarget } from '../../link/forward.ts';
import type { KubeClient } from '../kube.ts';
import { addressRefusal, type AddressRefusal } from './address-guard.ts';
import { DialError, dialEndpoint } from './dial.ts';
import { NoEndpointError, type Endpoint } from './endpoints.ts';
import { resolveForwardTarget } from './resolve.ts';

/** Why a target could not be reached: it has no ready endpoint (or does not exist), or none could be dialled. */
export class ReachError extends Error {
  override readonly name = 'ReachError';
  readonly kind: 'no_endpoint' | 'unreachable';

  constructor(kind: 'no_endpoint' | 'unreachable', message: string) {
    super(message);
    this.kind = kind;
  }
}

export interface ReachInput {
  kube: Pick<KubeClient, 'request'>;
  target: ForwardTarget;
  /** The target as messages name it, e.g. `svc/db:5432` (never an address: the hub user sees it). */
  describe: string;
  /** The API server's own endpoints (api-server-endpoints.ts). */
  apiServers: () => Promise<Endpoint[]>;
  /** Called for each endpoint the guard refused. */
  onRefusedAddress: (reason: AddressRefusal) => void;
  signal?: AbortSignal;
  /** Opens a connection; tests may replace it. */
  connect?: (endpoint: Endpoint) => Socket;
}

/** Resolves, guards and dials; rejects with ReachError (anything else is a bug). */
export async function reachTarget(input: ReachInput): Promise<{ socket: Socket; endpoint: Endpoint }> {
  let resolved: Endpoint[];
  try {
    resolved = await resolveForwardTarget(input.kube, input.target);
  } catch (error) {
    if (error instanceof NoEndpointError) throw new ReachError('no_endpoint', error.message);
    throw new ReachError('unreachable', `the agent could not resolve the target: ${(error as Error).message}`);
  }
  const apiServers = await input.apiServers();
  const dialable = resolved.filter((endpoint) => {
    const reason = addressRefusal(endpoint, apiServers);
    if (reason !== undefined) input.onRefusedAddress(reason);
    return reason === undefined;
  });
  if (dialable.length === 0) throw new ReachError('unreachable', `${input.describe} resolves to no address the agent dials`);
  try {
    return await dialEndpoint({ endpoints: dialable, ...(input.signal ? { signal: input.signal } : {}), ...(input.connect ? { connect: input.connect } : {}) });
  } catch (error) {
    if (!(error instanceof DialError)) throw error;
    throw new ReachError('unreachable', `${input.describe}: ${error.message}`);
  }
}
