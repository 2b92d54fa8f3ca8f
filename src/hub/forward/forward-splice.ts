// The bytes of one forward on the hub: a link stream to the agent's
// AGENT_PATHS.forward opened with the target and the user's impersonation;
// on the agent's 200 the client gets `101 Switching Protocols` and both sides
// are spliced as raw bytes, any other answer goes to the client as is.
import type http2 from 'node:http2';
import type { Duplex } from 'node:stream';
import type { OutgoingHttpHeaders } from 'node:http';
import type { HubSession } from '../../link/hub-session.ts';
import { FORWARD_UPGRADE } from '../../link/forward.ts';
import { spliceRaw } from '../../util/splice-raw.ts';
import { tieStreamToClient } from '../kube/stream-lifecycle.ts';
import { relayedRefusal, upgradeRefusal } from './answers.ts';

/** Largest error answer of the agent relayed to the client. */
const MAX_AGENT_ANSWER_BYTES = 16 * 1024;

/** What a forward carried, for its audit row: the agent's status (101 once spliced, 0 when the link failed first) and bytes each way. */
export interface ForwardOutcome {
  status: number;
  bytesIn: number;
  bytesOut: number;
}

export interface SpliceForwardOptions {
  session: HubSession;
  /** The link stream's headers: path, target, impersonation. */
  headers: OutgoingHttpHeaders;
  socket: Duplex;
  head: Buffer;
  clusterName: string;
  done: (outcome: ForwardOutcome) => void;
}

/** Opens the link stream and splices it to the client's socket; `done` is called exactly once. */
export function spliceForward(options: SpliceForwardOptions): void {
  const { socket, session } = options;
  const outcome: ForwardOutcome = { status: 0, bytesIn: 0, bytesOut: 0 };
  let stream: http2.ClientHttp2Stream;
  try {
    stream = session.request(options.headers, { endStream: false });
  } catch {
    socket.end(upgradeRefusal('CLUSTER_OFFLINE', `the link to cluster "${options.clusterName}" closed`));
    options.done(outcome);
    return;
  }
  if (options.head.length > 0) stream.write(options.head);
  // Whatever the client sends before the 101 waits in the socket until the splice reads it.
  socket.pause();
  let answer = '';
  let answered = false;
  const refused = (): void => {
    if (answered) return;
    answered = true;
    socket.end(relayedRefusal(answer));
  };
  stream.on('response', (headers) => {
    outcome.status = Number(headers[':status']);
    if (outcome.status !== 200) {
      // The agent's JSON refusal, read whole (bounded) and passed on; our side of
      // the stream ends too, or the stream would never close.
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => { if (answer.length < MAX_AGENT_ANSWER_BYTES) answer += chunk; });
      stream.on('end', refused);
      stream.end();
      return;
    }
    outcome.status = 101;
    // A client that half-closes (it sent everything) still reads the answer.
    (socket as Duplex & { allowHalfOpen: boolean }).allowHalfOpen = true;
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: ${FORWARD_UPGRADE}\r\nConnection: Upgrade\r\n\r\n`);
    // Each turn's chunks in one write (one TLS record run, one syscall), not one per DATA frame.
    spliceRaw({ from: socket, to: stream, onChunk: (chunk) => { outcome.bytesIn += chunk.length; } });
    // The agent's end (the endpoint half-closed) ends the client's side while the
    // link is up; a dropped link is told apart at 'close' (tieStreamToClient).
    spliceRaw({ from: stream, to: socket, onChunk: (chunk) => { outcome.bytesOut += chunk.length; }, end: false });
    stream.on('end', () => { if (session.isOpen) socket.end(); });
    socket.resume();
  });
  tieStreamToClient({
    stream, linkOpen: () => session.isOpen, client: socket,
    onEnd: () => {
      if (outcome.status === 101) socket.end();
      else refused();
    },
    onBroken: () => {
      if (outcome.status === 0 && socket.writable) socket.end(upgradeRefusal('LINK_CLOSED', `the link to cluster "${options.clusterName}" closed`));
      else if (outcome.status !== 101 && answer !== '' && !answered && socket.writable) refused();
      else socket.destroy();
    },
    done: () => { options.done(outcome); },
  });
}
