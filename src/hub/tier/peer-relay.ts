// The relaying side of the tier: a request that reached this replica for a
// cluster whose link another replica holds is passed to that replica's peer
// port (peer-server.ts) with everything the direct path carries, and its
// answer streamed back. The hub decides where a request goes (relay-route.ts
// and the link records); this class only moves bytes, bounds how many
// streams are relayed to each peer, and counts them.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from '../../util/logger.ts';
import { parseKubeRequest } from '../../kube/request-info.ts';
import { kubeAddressOf } from '../kube/proxy.ts';
import type { ForwardedBodies } from '../client-errors.ts';
import type { HubMetrics } from '../metrics.ts';
import type { PeerCredentials } from './peer-certificates.ts';
import { PeerConnections, type PeerTarget } from './peer-connections.ts';
import { clientAddressOf } from './peer-server.ts';
import { refuseRequest, refuseUpgrade, type RelayRefusal } from './relay-answers.ts';
import { relayRequestHeaders } from './relay-headers.ts';
import { relayPlainRequest, type RelayOutcome } from './relay-request.ts';
import { RESUME_WITHIN_MS, type LocateCluster } from './relay-resume.ts';
import { relayRouteFor } from './relay-route.ts';
import { relayUpgradeRequest } from './relay-upgrade.ts';
import { DEFAULT_CONNECT_TIMEOUT_MS } from './relay-upstream.ts';
import { LogLines, logPlanOf, timestampedPath } from './relay-logs.ts';
import { watchPlanOf, WatchLines, type ResumableTrack } from './relay-watch.ts';

/** Requests and upgrades relayed to one peer at once; each holds a connection to it. */
export const DEFAULT_MAX_STREAMS_PER_PEER = 10_000;
/** Seconds a client refused for a full peer is asked to wait. */
const BUSY_RETRY_AFTER_SECONDS = 1;
/**
 * A stream's relayed bytes reach the metric in batches of about this many,
 * and the rest when it ends: a counter call with labels per chunk (16 KiB
 * at most) was a visible part of a relayed stream's cost.
 */
const BYTES_BATCH = 1024 * 1024;

export type PeerRelayMetrics = Pick<HubMetrics, 'peerRelays' | 'peerRelayStreams' | 'peerRelayBytes' | 'peerRelayResumes'>;

export interface PeerRelayOptions {
  /** This replica's peer certificate (peer-certificates.ts). */
  credentials: PeerCredentials;
  log: Logger;
  /** The hub's --kube-domain, to read host-form kubectl requests. */
  kubeDomain?: string | undefined;
  /** The hub's --gateway-domain, to read host-form gateway requests. */
  gatewayDomain?: string | undefined;
  metrics?: PeerRelayMetrics;
  maxStreamsPerPeer?: number;
  connectTimeoutMs?: number;
  /**
   * Finds the replica holding a cluster's link once it is linked again
   * (relay-resume.ts). With it, a kubectl watch whose peer dies goes on
   * through the next holder instead of ending.
   */
  locate?: LocateCluster;
  /** How long a broken watch waits for its cluster to be linked again. */
  resumeWithinMs?: number;
  /**
   * Where a relayed kubectl request whose body is still arriving is noted,
   * so --request-timeout leaves it to the API server as on the direct path
   * (ForwardedBodies in client-errors.ts).
   */
  forwardedBodies?: ForwardedBodies;
}

export class PeerRelay {
  readonly #options: PeerRelayOptions;
  readonly #connections: PeerConnections;
  readonly #streams = new Map<string, number>();
  readonly #maxStreams: number;

  constructor(options: PeerRelayOptions) {
    this.#options = options;
    this.#maxStreams = options.maxStreamsPerPeer ?? DEFAULT_MAX_STREAMS_PER_PEER;
    // One spare socket per peer: a stream's slot is released just before its connection is.
    this.#connections = new PeerConnections({ credentials: options.credentials, maxSocketsPerPeer: this.#maxStreams + 1 });
  }

  /**
   * Relays a plain request (a kubectl request, or an agent-bound API route)
   * to `target`; call it before anything reads the request's body. Answers
   * the client itself in every case; never throws.
   */
  relayRequest(req: IncomingMessage, res: ServerResponse, target: PeerTarget): void {
    const route = relayRouteFor(req, { kube: this.#options.kubeDomain, gateway: this.#options.gatewayDomain });
    const form = route?.form ?? 'api';
    if (!this.#acquire(target.replicaId)) {
      this.#count('request', 'busy');
      refuseRequest(res, this.#busy(target), form);
      return;
    }
    // The peer whose slot the request holds: a resumed watch moves to the next holder, or lets go.
    let holder: string | undefined = target.replicaId;
    const stream = route?.form === 'kube' ? this.#streamOf(req) : undefined;
    const { locate } = this.#options;
    // A kubectl body is the API server's to time, as when this replica forwards it itself; an API route's is not.
    const untime = route?.form === 'kube' ? this.#options.forwardedBodies?.exempt(req, res) : undefined;
    const bytes = this.#bytes();
    relayPlainRequest({
      req, res, target, form, connections: this.#connections, connectTimeoutMs: this.#connectTimeoutMs(),
      headers: this.#headers(req, target, false),
      ...(stream === undefined ? {} : {
        watch: {
          ...stream,
          ...(locate === undefined || route === undefined ? {} : {
            resume: {
              cluster: route.cluster, path: req.url ?? '/', locate, withinMs: this.#options.resumeWithinMs ?? RESUME_WITHIN_MS,
              log: this.#options.log,
              onOutcome: (outcome) => { this.#options.metrics?.peerRelayResumes.inc({ outcome }); },
              moveSlot: (next) => {
                if (holder !== undefined) this.#release(holder);
                holder = this.#acquire(next.replicaId) ? next.replicaId : undefined;
                return holder !== undefined;
              },
            },
          }),
        },
      }),
      ...(locate === undefined || route === undefined ? {} : {
        // The holder was gone or had let the link go: the next holder, once the cluster is linked again.
        retry: async (failed: PeerTarget) => {
          const next = await locate(route.cluster, { signal: AbortSignal.timeout(this.#options.resumeWithinMs ?? RESUME_WITHIN_MS), failed });
          if (next === undefined) return undefined;
          if (holder !== undefined) this.#release(holder);
          holder = this.#acquire(next.replicaId) ? next.replicaId : undefined;
          return holder === undefined ? undefined : next;
        },
      }),
      onBytes: bytes.add,
      done: (outcome) => {
        bytes.flush();
        untime?.();
        if (holder !== undefined) this.#release(holder);
        this.#count('request', outcome);
      },
    });
  }

  /** Relays an upgrade (exec, attach, port-forward) to `target`. Answers the client itself in every case; never throws. */
  relayUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, target: PeerTarget): void {
    if (!this.#acquire(target.replicaId)) {
      this.#count('upgrade', 'busy');
      refuseUpgrade(socket, this.#busy(target));
      return;
    }
    const bytes = this.#bytes();
    relayUpgradeRequest({
      req, socket, head, target, connections: this.#connections, connectTimeoutMs: this.#connectTimeoutMs(),
      headers: this.#headers(req, target, true),
      onBytes: bytes.add,
      done: (outcome) => {
        bytes.flush();
        this.#release(target.replicaId);
        this.#count('upgrade', outcome);
      },
    });
  }

  /** Requests and upgrades being relayed now, to one peer or to all. */
  openStreams(replicaId?: string): number {
    if (replicaId !== undefined) return this.#streams.get(replicaId) ?? 0;
    let total = 0;
    for (const count of this.#streams.values()) total += count;
    return total;
  }

  /** New connections to peers use these credentials (a renewed peer certificate). */
  setCredentials(credentials: PeerCredentials): void {
    this.#connections.setCredentials(credentials);
  }

  /** Closes idle connections to peers; relayed streams end with their clients or peers. */
  close(): void {
    this.#connections.close();
  }

  #headers(req: IncomingMessage, target: PeerTarget, upgrade: boolean): string[] {
    return relayRequestHeaders({
      rawHeaders: req.rawHeaders, headers: req.headers, clientAddress: clientAddressOf(req), fallbackHost: this.#connections.hostOf(target), upgrade,
    });
  }

  /** How a kubectl watch or followed log is read as it passes, so it can go on through another replica; undefined for anything else. */
  #streamOf(req: IncomingMessage): { track: (contentType: string) => ResumableTrack | undefined; upstreamPath?: string } | undefined {
    let apiPath: string;
    try {
      ({ apiPath } = kubeAddressOf(req, this.#options.kubeDomain));
    } catch {
      return undefined;
    }
    const method = req.method ?? 'GET';
    // Most requests are neither: one cheap read of the path tells, before either plan reads the query.
    const info = method === 'GET' ? streamKindOf(apiPath) : undefined;
    if (info === undefined) return undefined;
    const watch = info === 'watch' ? watchPlanOf(method, apiPath) : undefined;
    if (watch !== undefined) return { track: (type) => (type.includes('json') ? new WatchLines(watch.resourceVersion) : undefined) };
    const log = info === 'log' ? logPlanOf(method, apiPath) : undefined;
    if (log === undefined) return undefined;
    return { track: () => new LogLines(log), upstreamPath: timestampedPath(req.url ?? '/') };
  }

  /** One stream's byte counts, added to the metric in batches (BYTES_BATCH). */
  #bytes(): { add: (direction: RelayDirection, bytes: number) => void; flush: () => void } {
    const metric = this.#options.metrics?.peerRelayBytes;
    const pending = { to_peer: 0, from_peer: 0 };
    const flush = (): void => {
      for (const direction of RELAY_DIRECTIONS) {
        if (pending[direction] === 0) continue;
        metric?.inc({ direction }, pending[direction]);
        pending[direction] = 0;
      }
    };
    return {
      add: (direction, bytes) => {
        pending[direction] += bytes;
        if (pending[direction] >= BYTES_BATCH) flush();
      },
      flush,
    };
  }

  #connectTimeoutMs(): number {
    return this.#options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  }

  #busy(target: PeerTarget): RelayRefusal {
    return {
      code: 'PEER_BUSY', retryAfterSeconds: BUSY_RETRY_AFTER_SECONDS,
      message: `this hub replica relays ${this.#maxStreams} requests to hub replica "${target.replicaId}", which holds the cluster's link, the most it allows; retry shortly`,
    };
  }

  #acquire(replicaId: string): boolean {
    const open = this.#streams.get(replicaId) ?? 0;
    if (open >= this.#maxStreams) return false;
    this.#streams.set(replicaId, open + 1);
    this.#options.metrics?.peerRelayStreams.inc();
    return true;
  }

  #release(replicaId: string): void {
    const open = (this.#streams.get(replicaId) ?? 0) - 1;
    if (open <= 0) this.#streams.delete(replicaId);
    else this.#streams.set(replicaId, open);
    this.#options.metrics?.peerRelayStreams.dec();
  }

  #count(kind: 'request' | 'upgrade', outcome: RelayOutcome): void {
    this.#options.metrics?.peerRelays.inc({ kind, outcome });
  }
}

/** What a watch (`watch` in the query or the legacy path) or a log (`/log`) path holds, escaped or not. */
const MAY_STREAM = /watch|\/log|%/;

type RelayDirection = 'to_peer' | 'from_peer';
const RELAY_DIRECTIONS: readonly RelayDirection[] = ['to_peer', 'from_peer'];

/** Whether a GET of `apiPath` is a watch or a pod log (either may be resumable); undefined for anything else. Never throws. */
function streamKindOf(apiPath: string): 'watch' | 'log' | undefined {
  // Neither can be without one of these in the path as sent (an escaped name has a %): most requests are told apart without parsing.
  if (!MAY_STREAM.test(apiPath)) return undefined;
  try {
    const info = parseKubeRequest('GET', apiPath);
    if (info.verb === 'watch') return 'watch';
    return info.resource === 'pods' && info.subresource === 'log' ? 'log' : undefined;
  } catch {
    return undefined;
  }
}
