// An upgrade (exec, attach, port-forward; SPDY/3.1 or WebSocket) over the
// link. The agent makes the upgrade request to the API server; on its 101
// the hub answers the client with the same 101 and from then on both sides
// are spliced as raw bytes. Any other answer goes back to the client at once,
// so kubectl can fall back to another protocol.
import http from 'node:http';
import type http2 from 'node:http2';
import type { Duplex } from 'node:stream';
import { forwardedResponseHeaders, kubeStatus } from '../../kube/headers.ts';
import { KUBE_UPGRADE_HEADERS } from '../../link/protocol.ts';
import type { Logger } from '../../util/logger.ts';
import type { ForwardOutcome } from './forward-request.ts';
import type { KubeTarget } from './proxy.ts';
import { openLinkStream } from './link-head.ts';
import { spliceRaw } from '../../util/splice-raw.ts';
import { execExitReaderFor, type ExecExitReader } from '../../kube/exec-exit-reader.ts';
import { tieStreamToClient } from './stream-lifecycle.ts';

export interface ForwardUpgradeOptions {
  socket: Duplex;
  head: Buffer;
  target: KubeTarget;
  log: Logger;
  done: (outcome: ForwardOutcome) => void;
}

/** Serialises a status line and headers as HTTP/1.1. */
export function http1Head(status: number, headers: Record<string, string | string[] | number | undefined>): string {
  const lines = [`HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? 'Unknown'}`];
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    for (const item of Array.isArray(value) ? value : [value]) lines.push(`${name}: ${String(item)}`);
  }
  return `${lines.join('\r\n')}\r\n\r\n`;
}

export function forwardUpgrade(options: ForwardUpgradeOptions): void {
  const { socket, head, target } = options;
  const outcome: ForwardOutcome = { status: 0, bytesIn: 0, bytesOut: 0 };
  let stream: http2.ClientHttp2Stream;
  try {
    stream = openLinkStream(target, false); // the stream carries the client's bytes after the 101
  } catch {
    socket.end(http1Head(503, { 'content-type': 'application/json', connection: 'close' })
      + kubeStatus(503, 'ServiceUnavailable', `the link to cluster "${target.cluster.name}" closed`));
    options.done(outcome);
    return;
  }
  if (head.length > 0) stream.write(head);
  let exit: ExecExitReader | undefined;
  stream.on('response', (headers) => {
    const switched = headers[KUBE_UPGRADE_HEADERS.switched] === '1';
    // An exec's exit code is in the API server's last message: read on the way, for the audit row.
    if (switched && target.info.subresource === 'exec') exit = execExitReaderFor(firstValue(headers['sec-websocket-protocol']));
    outcome.status = switched ? 101 : Number(headers[':status']);
    const upgrade = String(headers[KUBE_UPGRADE_HEADERS.upgrade] ?? '');
    socket.write(switched
      ? http1Head(101, { upgrade, connection: 'Upgrade', ...forwardedResponseHeaders(headers) })
      : http1Head(outcome.status, { ...forwardedResponseHeaders(headers), connection: 'close' }));
    // Each turn's chunks in one write (one TLS record run, one syscall), not one per DATA frame.
    if (switched) spliceRaw({ from: socket, to: stream, onChunk: (chunk) => { outcome.bytesIn += chunk.length; } });
    // Ended by tieStreamToClient, which tells a real end from a dropped link.
    spliceRaw({ from: stream, to: socket, onChunk: (chunk) => { outcome.bytesOut += chunk.length; exit?.push(chunk); }, end: false });
  });
  const broken = (): void => {
    if (outcome.status === 0 && socket.writable) {
      socket.end(http1Head(502, { 'content-type': 'application/json', connection: 'close' })
        + kubeStatus(502, 'ServiceUnavailable', `the link to cluster "${target.cluster.name}" closed`));
    } else {
      socket.destroy();
    }
  };
  const finished = (): void => {
    if (exit?.exit !== undefined) Object.assign(outcome, { exitCode: exit.exit.exitCode, exitReason: exit.exit.reason });
    options.done(outcome);
  };
  tieStreamToClient({ stream, linkOpen: () => target.session.isOpen, client: socket, onEnd: () => { socket.end(); }, onBroken: broken, done: finished });
}

function firstValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
