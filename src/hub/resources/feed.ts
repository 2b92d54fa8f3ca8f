// The live feed: the agent's NDJSON watch relayed to the client as
// server-sent events. The hub never buffers without bound: a client that
// reads slower than changes arrive is dropped with an ERROR event (it should
// reconnect and resync), and every end of the feed the client did not cause
// is announced with an ERROR naming the reason.
import http2 from 'node:http2';
import type { ServerResponse } from 'node:http';
import { MAX_EVENT_LINE_BYTES } from '../../link/protocol.ts';
import { NdjsonDecoder } from '../../link/ndjson.ts';
import type { ResourceChange } from '../../link/resources.ts';
import { tieStreamToClient } from '../kube/stream-lifecycle.ts';
import type { ResourceOutcome } from '../metrics.ts';
import { SSE_HEADERS, SSE_KEEPALIVE, encodeSseEvent } from './sse.ts';
import type { ClusterSummary } from './target.ts';

/** Bytes a client may leave unread before its feed is dropped. */
export const MAX_CLIENT_BACKLOG_BYTES = 4 * 1024 * 1024;
/** How often an idle feed sends a comment, under common proxy idle timeouts (60 s). */
export const FEED_KEEPALIVE_MS = 15_000;
/** How long an ended feed may take to drain to a stuck client before its socket is cut. */
const DRAIN_GRACE_MS = 10_000;

const CHANGE_TYPES = new Set(['ADDED', 'MODIFIED', 'DELETED', 'SYNCED', 'ERROR']);

export interface FeedRelayOptions {
  /** The agent's watch stream, answered 200. */
  stream: http2.ClientHttp2Stream;
  /** The client's response; nothing written yet. */
  res: ServerResponse;
  clusterName: string;
  /** The cluster's state now, added to the SYNCED event. */
  summary: () => ClusterSummary;
  linkOpen: () => boolean;
  /** False for callers who may not read Secrets: a Secret row ends the feed. */
  allowSecrets: boolean;
  maxBacklogBytes?: number;
  keepaliveMs?: number;
  /** Called once when the feed is over, with how it ended. */
  done: (outcome: ResourceOutcome) => void;
}

function isChange(value: unknown): value is ResourceChange {
  return typeof value === 'object' && value !== null && CHANGE_TYPES.has((value as { type?: unknown }).type as string);
}

function errorEvent(message: string): string {
  return encodeSseEvent('ERROR', { type: 'ERROR', at: new Date().toISOString(), message } satisfies ResourceChange);
}

/**
 * Relays a watch to the client as server-sent events until either side ends
 * it. Returns a function that ends the feed with an ERROR event giving the
 * reason (a revoked access).
 */
export function relayFeed(options: FeedRelayOptions): (message: string) => void {
  const { stream, res } = options;
  const maxBacklog = options.maxBacklogBytes ?? MAX_CLIENT_BACKLOG_BYTES;
  let outcome: ResourceOutcome | undefined;
  let agentSentError = false;
  res.writeHead(200, SSE_HEADERS);
  res.flushHeaders();

  /** Ends the feed once: an ERROR event when given a reason, then the end; the agent stream is cancelled. */
  const finish = (why: ResourceOutcome, message?: string): void => {
    outcome ??= why;
    if (!stream.closed) stream.close(http2.constants.NGHTTP2_CANCEL);
    if (res.writableEnded || res.destroyed) return;
    if (message !== undefined) res.write(errorEvent(message));
    res.end();
    setTimeout(() => { res.destroy(); }, DRAIN_GRACE_MS).unref();
  };
  const send = (text: string): void => {
    if (res.writableEnded || res.destroyed) return;
    res.write(text);
    if (res.writableLength > maxBacklog) {
      finish('too_slow', `client too slow: more than ${maxBacklog} bytes of changes unread; reconnect to resync`);
    }
  };

  const keepalive = setInterval(() => { send(SSE_KEEPALIVE); }, options.keepaliveMs ?? FEED_KEEPALIVE_MS);
  const decoder = new NdjsonDecoder(MAX_EVENT_LINE_BYTES);
  stream.on('data', (chunk: Buffer) => {
    let changes: unknown[];
    try {
      changes = decoder.push(chunk);
    } catch (error) {
      finish('agent_error', `the agent of cluster '${options.clusterName}' sent a bad feed: ${(error as Error).message}`);
      return;
    }
    for (const change of changes) {
      if (outcome !== undefined) return;
      // Unknown types are newer agents' additions; an older hub skips them.
      if (!isChange(change)) continue;
      if (change.type !== 'SYNCED' && change.type !== 'ERROR' && !options.allowSecrets && change.row.kind === 'Secret') {
        finish('forbidden', 'reading secrets needs the edit or admin role on this cluster');
        return;
      }
      if (change.type === 'ERROR') agentSentError = true;
      send(encodeSseEvent(change.type, change.type === 'SYNCED' ? { ...change, cluster: options.summary() } : change));
    }
  });
  tieStreamToClient({
    stream,
    client: res,
    linkOpen: options.linkOpen,
    onEnd: () => {
      if (agentSentError) finish('ok');
      else finish('link_failed', `the agent of cluster '${options.clusterName}' ended the feed; reconnect to resync`);
    },
    onBroken: () => { finish('link_failed', `the link to cluster '${options.clusterName}' closed; reconnect to resync`); },
    done: () => {
      clearInterval(keepalive);
      options.done(outcome ?? 'ok');
    },
  });
  return (message) => { finish('forbidden', message); };
}
