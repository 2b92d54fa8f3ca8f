// A Service gateway stream, agent side (AGENT_PATHS.gateway). The request
// carries one thing, the exposure's id (EXPOSURE_HEADER); the agent looks it
// up in the set the hub pushed (held-exposures.ts) and reaches that Service
// and port only, with the forward's resolver, address guard and dial
// (../forward/reach.ts). No header, path or body can name an address, a
// namespace, another Service or another port: a compromised hub session can
// reach what was exposed and nothing else.
import type { Socket } from 'node:net';
import type { ErrorCode } from '../../domain/error-codes.ts';
import { isExposureId } from '../../domain/exposure.ts';
import { EXPOSURE_HEADER, type DesiredExposure } from '../../link/exposures.ts';
import type { LinkRequestHandler } from '../../link/agent-session.ts';
import type { Logger } from '../../util/logger.ts';
import { sendError } from '../answers.ts';
import type { KubeClient } from '../kube.ts';
import { apiServerEndpoints } from '../forward/api-server-endpoints.ts';
import type { Endpoint } from '../forward/endpoints.ts';
import { reachTarget, ReachError } from '../forward/reach.ts';
import { once, splice } from '../forward/splice.ts';
import type { GatewayMetrics, GatewayRefusal } from './gateway-metrics.ts';
import type { HeldExposures } from './held-exposures.ts';

/** Gateway streams open (or being set up) at once per agent: each is one HTTP connection of a browser. */
export const MAX_OPEN_GATEWAY_STREAMS = 512;
/** A gateway stream with no byte either way for this long is closed. */
export const GATEWAY_IDLE_TIMEOUT_MS = 15 * 60_000;

export interface GatewayHandlerOptions {
  kube: Pick<KubeClient, 'request' | 'server'>;
  held: HeldExposures;
  log: Logger;
  metrics: GatewayMetrics;
  maxOpen?: number;
  idleTimeoutMs?: number;
  /** Opens a connection; tests may replace it. */
  connect?: (endpoint: Endpoint) => Socket;
}

/** The exposure the request names, or why it names none. */
function exposureOf(held: HeldExposures, header: string | string[] | undefined): DesiredExposure | 'malformed' | 'unknown' {
  if (!isExposureId(header)) return 'malformed';
  return held.get(header) ?? 'unknown';
}

/** Creates the handler of AGENT_PATHS.gateway. */
export function createGatewayHandler(options: GatewayHandlerOptions): LinkRequestHandler {
  const { metrics, log } = options;
  const maxOpen = options.maxOpen ?? MAX_OPEN_GATEWAY_STREAMS;
  const apiServers = apiServerEndpoints(options.kube);
  let open = 0;
  return (req, res) => {
    const refuse = (reason: GatewayRefusal, code: ErrorCode, message: string): void => {
      metrics.refused.inc({ reason });
      log.warn({ reason, problem: message }, 'refused a gateway stream');
      sendError(res, code, message);
      req.resume(); // bytes the hub already sent are not wanted
    };
    if (open >= maxOpen) {
      refuse('limited', 'TOO_MANY_GATEWAY_STREAMS', `the agent has ${maxOpen} gateway streams open, its most`);
      return;
    }
    const exposure = exposureOf(options.held, req.headers[EXPOSURE_HEADER]);
    if (typeof exposure === 'string') {
      // The same answer either way: a caller learns nothing about which ids exist.
      refuse(exposure, 'EXPOSURE_UNKNOWN', 'the agent holds no such exposure');
      return;
    }
    open++;
    metrics.open.inc();
    const release = once(() => {
      open--;
      metrics.open.dec();
    });
    const cancelled = new AbortController();
    res.on('close', () => { cancelled.abort(); });
    const describe = `svc/${exposure.service}:${exposure.port}`;
    reachTarget({
      kube: options.kube, target: { kind: 'service', namespace: exposure.namespace, name: exposure.service, port: exposure.port },
      describe, apiServers, signal: cancelled.signal, ...(options.connect ? { connect: options.connect } : {}),
      onRefusedAddress: (reason) => {
        metrics.refused.inc({ reason });
        log.warn({ exposure: exposure.id, target: `${exposure.namespace}/${describe}`, reason }, 'an exposed Service resolved to an address the agent never dials');
      },
    }).then(({ socket }) => {
      if (res.stream.destroyed || res.headersSent) {
        socket.destroy();
        release();
        return;
      }
      metrics.opened.inc();
      // A set that withdraws the exposure ends this stream at once.
      const untrack = options.held.track(exposure.id, () => {
        metrics.refused.inc({ reason: 'withdrawn' });
        socket.destroy();
        res.stream.close();
      });
      splice({
        req, res, socket, bytes: metrics.bytes, idleTimeoutMs: options.idleTimeoutMs ?? GATEWAY_IDLE_TIMEOUT_MS,
        done: () => { untrack(); release(); },
      });
    }).catch((error: unknown) => {
      release();
      if (error instanceof ReachError) {
        if (error.kind === 'no_endpoint') refuse('no_endpoint', 'GATEWAY_NO_ENDPOINT', error.message);
        else refuse('unreachable', 'GATEWAY_UNREACHABLE', error.message);
        return;
      }
      log.error({ err: error }, 'a gateway stream failed inside the agent');
      refuse('error', 'INTERNAL', 'the agent failed to set up the gateway stream; see its log');
    });
  };
}
