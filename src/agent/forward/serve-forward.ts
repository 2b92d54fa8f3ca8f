// A TCP forward, agent side (AGENT_PATHS.forward): the hub names an object
// and a port and the user it acts for; the agent checks that user may create
// pods/portforward in the namespace (what `kubectl port-forward` needs), finds
// the object's endpoints itself, drops any it never dials, connects to one,
// and then splices the link stream and the connection until either ends.
import type { Socket } from 'node:net';
import type { ErrorCode } from '../../domain/error-codes.ts';
import { describeForwardTarget, forwardTargetFromHeaders, ForwardTargetError, type ForwardTarget } from '../../link/forward.ts';
import type { LinkRequestHandler } from '../../link/agent-session.ts';
import type { Logger } from '../../util/logger.ts';
import { AccessReviewError, identityFromHeaders, type AccessIdentity, type AccessReviewer } from '../access-review.ts';
import { sendError } from '../answers.ts';
import type { KubeClient } from '../kube.ts';
import type { Endpoint } from './endpoints.ts';
import type { ForwardMetrics, ForwardResult } from './forward-metrics.ts';
import { apiServerEndpoints } from './api-server-endpoints.ts';
import { reachTarget, ReachError } from './reach.ts';
import { once, splice } from './splice.ts';

/** Forwards open (or being set up) at once per agent. */
export const MAX_OPEN_FORWARDS = 64;
/** A forward with no byte either way for this long is closed. */
export const FORWARD_IDLE_TIMEOUT_MS = 30 * 60_000;

export interface ForwardHandlerOptions {
  kube: Pick<KubeClient, 'request' | 'server'>;
  reviewer: Pick<AccessReviewer, 'allowed'>;
  log: Logger;
  metrics: ForwardMetrics;
  maxOpen?: number;
  idleTimeoutMs?: number;
  /** Opens a connection; tests may replace it. */
  connect?: (endpoint: Endpoint) => Socket;
}

/** A refusal on the way to a connection: its answer and its metric result. */
class ForwardRefusal extends Error {
  readonly code: ErrorCode;
  readonly result: ForwardResult;

  constructor(code: ErrorCode, result: ForwardResult, message: string) {
    super(message);
    this.code = code;
    this.result = result;
  }
}

/** Creates the handler of AGENT_PATHS.forward. */
export function createForwardHandler(options: ForwardHandlerOptions): LinkRequestHandler {
  const maxOpen = options.maxOpen ?? MAX_OPEN_FORWARDS;
  const apiServers = apiServerEndpoints(options.kube);
  let open = 0;
  return (req, res) => {
    const refuse = (refusal: ForwardRefusal): void => {
      options.metrics.total.inc({ result: refusal.result });
      options.log.warn({ result: refusal.result, problem: refusal.message }, 'refused a forward');
      sendError(res, refusal.code, refusal.message);
      req.resume(); // bytes the hub already sent are not wanted
    };
    if (open >= maxOpen) {
      refuse(new ForwardRefusal('TOO_MANY_FORWARDS', 'limited', `the agent has ${maxOpen} forwards open, its most`));
      return;
    }
    const identity = identityFromHeaders(req.headers);
    if (typeof identity === 'string') {
      refuse(new ForwardRefusal('FORBIDDEN', 'forbidden', identity));
      return;
    }
    let target: ForwardTarget;
    try {
      target = forwardTargetFromHeaders(req.headers);
    } catch (error) {
      if (!(error instanceof ForwardTargetError)) throw error;
      refuse(new ForwardRefusal('BAD_FORWARD', 'bad_request', error.message));
      return;
    }
    open++;
    options.metrics.open.inc();
    const release = once(() => {
      open--;
      options.metrics.open.dec();
    });
    const cancelled = new AbortController();
    res.on('close', () => { cancelled.abort(); });
    connectTarget({ options, identity, target, signal: cancelled.signal, apiServers }).then(({ socket, endpoint }) => {
      if (res.stream.destroyed || res.headersSent) {
        socket.destroy();
        release();
        return;
      }
      options.metrics.total.inc({ result: 'opened' });
      options.log.info({ user: identity.user, target: `${target.namespace}/${describeForwardTarget(target)}`, endpoint: `${endpoint.address}:${endpoint.port}` }, 'forward opened');
      splice({ req, res, socket, bytes: options.metrics.bytes, idleTimeoutMs: options.idleTimeoutMs ?? FORWARD_IDLE_TIMEOUT_MS, done: release });
    }).catch((error: unknown) => {
      release();
      if (error instanceof ForwardRefusal) {
        refuse(error);
        return;
      }
      options.log.error({ err: error }, 'a forward failed inside the agent');
      refuse(new ForwardRefusal('INTERNAL', 'error', 'the agent failed to set up the forward; see its log'));
    });
  };
}

interface ConnectInput {
  options: ForwardHandlerOptions;
  identity: AccessIdentity;
  target: ForwardTarget;
  signal: AbortSignal;
  apiServers: () => Promise<Endpoint[]>;
}

/** Checks, resolves and dials; a failure rejects with a ForwardRefusal (anything else is a bug). */
async function connectTarget(input: ConnectInput): Promise<{ socket: Socket; endpoint: Endpoint }> {
  const { options, identity, target } = input;
  let allowed: boolean;
  try {
    allowed = await options.reviewer.allowed(identity, { verb: 'create', group: '', resource: 'pods', subresource: 'portforward', namespace: target.namespace });
  } catch (error) {
    if (!(error instanceof AccessReviewError)) throw error;
    throw new ForwardRefusal('ACCESS_REVIEW_FAILED', 'review_failed', error.message);
  }
  if (!allowed) throw new ForwardRefusal('FORBIDDEN', 'forbidden', `${identity.user} may not create pods/portforward in namespace ${target.namespace}`);
  const describe = describeForwardTarget(target);
  try {
    return await reachTarget({
      kube: options.kube, target, describe, apiServers: input.apiServers, signal: input.signal,
      ...(options.connect ? { connect: options.connect } : {}),
      onRefusedAddress: (reason) => {
        options.metrics.refusedAddresses.inc({ reason });
        options.log.warn({ target: `${target.namespace}/${describe}`, reason }, 'a forward resolved to an address the agent never dials');
      },
    });
  } catch (error) {
    if (!(error instanceof ReachError)) throw error;
    if (error.kind === 'no_endpoint') throw new ForwardRefusal('NO_FORWARD_ENDPOINT', 'not_found', error.message);
    throw new ForwardRefusal('FORWARD_UNREACHABLE', 'unreachable', error.message);
  }
}
